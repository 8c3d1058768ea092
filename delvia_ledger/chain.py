"""The hash chain, free of any storage backend: entries, digests, the hash and the chain walk.

Every backend stores the same entry columns; :func:`walk_chain` checks them whatever holds them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .convert import canonical_json
from .records import PERSONAL_FIELDS, PERSONAL_OWNER, Record

__all__ = [
    "ENTRY_COLUMNS",
    "GENESIS_HASH",
    "SOURCES",
    "ChainRow",
    "Digest",
    "Entry",
    "Head",
    "Redaction",
    "UnreadableEntry",
    "VerifyResult",
    "chain_hash",
    "compose_payload",
    "new_salt",
    "payload_content",
    "payload_source",
    "rebuilt_payload",
    "redacted_payload",
    "split_payload",
    "walk_chain",
]

#: The ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
#: The columns of an entry, in the order every backend stores and returns them.
ENTRY_COLUMNS = ("seq", "recorded_at", "type", "id", "payload", "payload_hash", "prev_hash", "hash")
#: One entry as the chain walk reads it: the :data:`ENTRY_COLUMNS`, in that order. A damaged
#: store may hand back anything in a cell (a number, bytes), which the walk reports.
ChainRow = tuple[Any, ...]


def chain_hash(
    prev_hash: str, seq: int, recorded_at: str, type_: str, id_: str, payload_hash: str
) -> str:
    """The ``hash`` of an entry: SHA-256 over its metadata and its payload's hash, one per line.

    >>> chain_hash("0" * 64, 1, "2026-11-24T09:30:00.000000Z", "Creator", "maya", "ab" * 32)[:12]
    '60b8be1f4e48'
    """
    text = f"{prev_hash}\n{seq}\n{recorded_at}\n{type_}\n{id_}\n{payload_hash}"
    return _sha256(text.encode()).hexdigest()  # str.encode() is UTF-8


_sha256 = hashlib.sha256

#: Where an entry came from (DESIGN §9): a sync or TikTok import, a sheet, a CSV import, the
#: command line, or a direct ``record`` call from Python (the default).
SOURCES = ("tiktok", "sheet", "csv", "cli", "api")

# A payload of schema version 4 on starts with reserved keys, which sort before every field
# name (they start with "_"): the record's salt (personal records only) and its source.
_SALT_KEY = '{"_salt":"'
_SALT_LENGTH = 32  # hex digits: 128 random bits
_SOURCE_KEY = '{"_source":"'


def compose_payload(content: str, source: str | None, salt: str | None = None) -> str:
    """An entry's payload: the record's canonical JSON ``content`` with its ``_salt`` and
    ``_source`` keys (each left out when None), still canonical JSON (they sort first).

    >>> compose_payload('{"id":"69","name":"Brand","region":"US"}', "csv")
    '{"_source":"csv","id":"69","name":"Brand","region":"US"}'
    """
    head = "{"
    if salt is not None:
        head += f'"_salt":"{salt}",'
    if source is not None:
        head += f'"_source":"{source}",'
    return head + content[1:]


def split_payload(payload: str) -> tuple[str | None, str | None, str]:
    """A payload's (salt, source, content): :func:`compose_payload` undone.

    Payloads written before schema version 4 have neither key: (None, None, payload).
    Text that is not such a payload comes back as its own content.
    """
    salt = source = None
    if payload.startswith(_SALT_KEY) and payload[42:44] == '",':
        salt, payload = payload[10:42], "{" + payload[44:]
    if payload.startswith(_SOURCE_KEY):
        end = payload.find('",', 12)
        if end > 12:
            source, payload = payload[12:end], "{" + payload[end + 2 :]
    return salt, source, payload


def payload_content(payload: str) -> str:
    """The record's canonical JSON inside ``payload`` (without its salt and source): two
    versions are the same record when their contents are equal."""
    return payload if payload[:3] != '{"_' else split_payload(payload)[2]


def payload_source(payload: str) -> str | None:
    """The source a payload records (None for entries written before schema version 4)."""
    return None if payload[:3] != '{"_' else split_payload(payload)[1]


def new_salt() -> str:
    """A random salt for a personal record's payload: 128 bits as 32 hex digits, so a kept
    ``payload_hash`` cannot confirm a guess of erased data (DESIGN §16).

    Drawn from ``os.urandom`` 256 at a time (one system call each, not one a record); a
    forked process starts with none of its parent's.
    """
    if not _SALTS:
        data = os.urandom(16 * 256).hex()
        _SALTS.extend(data[i : i + 32] for i in range(0, len(data), 32))
    return _SALTS.pop()


_SALTS: list[str] = []
os.register_at_fork(after_in_child=_SALTS.clear)


#: Personal fields by the record type's name, as ``entries.type`` holds it.
_PERSONAL = {cls.__name__: fields for cls, fields in PERSONAL_FIELDS.items()}
#: Whose personal data an entry of a type that is not a subject holds: (subject type, the
#: payload's field with the subject's id).
_OWNER = {cls.__name__: (owner.__name__, field) for cls, (owner, field) in PERSONAL_OWNER.items()}
_REQUIRED_PERSONAL = {
    cls.__name__: {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    for cls in PERSONAL_FIELDS
}


def redacted_payload(type_: str, payload: str) -> str:
    """The redacted form of an entry's payload (DESIGN §16): its canonical JSON without the
    ``_salt`` and the personal fields (a required one, such as ``Person.name``, kept as
    ``null``); every other key, ``_source`` included, as it was. The payload itself for a
    record type without personal data.

    >>> redacted_payload("Creator", '{"_salt":"' + "0" * 32 + '","_source":"api",'
    ...                  '"handle":"maya.makes","id":"c1","region":"US"}')
    '{"_source":"api","id":"c1","region":"US"}'
    >>> redacted_payload("Person", '{"email":"ana@brand.example","id":"p1","name":"Ana"}')
    '{"id":"p1","name":null}'
    """
    personal = _PERSONAL.get(type_)
    if personal is None:
        return payload
    data = json.loads(payload)
    data.pop("_salt", None)
    for name in personal:
        if name in _REQUIRED_PERSONAL[type_]:
            data[name] = None
        else:
            data.pop(name, None)
    return canonical_json(data)


@attrs.frozen
class Redaction:
    """What the chain walk needs of an entry an :class:`~delvia_ledger.records.Erasure`
    redacted: the Erasure's seq and subject, and the SHA-256 it recorded for the redacted
    payload."""

    erasure_seq: int
    subject_type: str
    subject_id: str
    payload_hash: str


@attrs.frozen
class Entry:
    """One version of one record, as the ledger holds it, and where it came from
    (``source``: one of :data:`SOURCES`; None for entries recorded before sources were)."""

    seq: int
    recorded_at: datetime
    record: Record
    hash: str
    source: str | None = None
    #: The payload and payload hash as stored (None where the entry was built otherwise):
    #: what a copy needs to write the very same entry (a salt, a redaction).
    payload: str | None = attrs.field(default=None, repr=False, eq=False)
    payload_hash: str | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def salt(self) -> str | None:
        """The salt of the stored payload (personal records from schema version 4 on)."""
        return None if self.payload is None else split_payload(self.payload)[0]

    @property
    def redacted(self) -> bool:
        """Whether the stored payload was redacted by an erasure (it no longer hashes to its
        ``payload_hash``); False where the stored payload is not at hand."""
        if self.payload is None or self.payload_hash is None:
            return False
        return _sha256(self.payload.encode("utf-8")).hexdigest() != self.payload_hash


def rebuilt_payload(
    content: str, type_: str, source: str | None, salt: str | None, payload_hash: str | None
) -> tuple[str, str]:
    """An entry's stored payload and payload hash from what an export keeps of it: the
    record's canonical JSON ``content``, its source and salt, and for a redacted entry
    (``payload_hash`` given) the original's hash."""
    payload = compose_payload(content, source, salt)
    if payload_hash is not None:
        return redacted_payload(type_, payload), payload_hash
    return payload, _sha256(payload.encode("utf-8")).hexdigest()


@attrs.frozen
class Digest:
    """A small, printable commitment to the ledger's state: the last ``seq`` and its ``hash``.

    Keep it somewhere else (a ticket, a chat message); ``verify(digest=...)`` later proves the
    ledger still extends it.

    >>> d = Digest.parse("12:" + "ab" * 32)
    >>> d.seq, str(d) == "12:" + "ab" * 32
    (12, True)
    """

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Read a digest printed by ``str(digest)``."""
        match = re.fullmatch(r"\s*(\d+):([0-9a-f]{64})\s*", text)
        if not match:
            raise ValueError(f"digest {text!r} is not of the form '<seq>:<64 hex digits>'")
        return cls(int(match[1]), match[2])


@attrs.frozen
class VerifyResult:
    """The outcome of walking the hash chain; ``first_bad_seq`` names the first broken entry."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok


@attrs.define
class Head:
    """The last entry's seq, hash and recorded_at (the chain's tip)."""

    seq: int
    hash: str
    recorded_at: str


class UnreadableEntry(Exception):
    """Raised by a backend's row stream where the next entry cannot be read (a damaged page);
    the walk reports it at the seq it expected, with ``detail`` as the reason."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def walk_chain(
    rows: Iterable[ChainRow],
    digest: Digest | None = None,
    *,
    not_text: Callable[[int], str] | None = None,
    redactions: Mapping[int, Redaction] | None = None,
) -> VerifyResult:
    """Check every link, payload hash and entry hash of ``rows`` (oldest first, from seq 1).

    With ``digest``, also prove the rows extend it. ``not_text(seq)`` says which column of
    entry ``seq`` is not UTF-8 text, when a cell is not (the walk alone can only say that one
    is not). Damage is a result, never an exception; :class:`UnreadableEntry` raised by
    ``rows`` ends the walk at the entry it could not read.

    ``redactions`` (from every Erasure in the ledger, by the seq each names) replaces, for
    those seqs only, "the payload hashes to ``payload_hash``" with "the payload is the
    redacted form its Erasure recorded, of an entry of its subject, and the Erasure comes
    later"; every link is still checked.
    """
    redactions = redactions or {}
    expected_seq, prev = 1, GENESIS_HASH
    anchored = digest is None or digest.seq == 0
    if digest is not None and digest.seq == 0 and digest.hash != GENESIS_HASH:
        return VerifyResult(False, 0, 1, "the digest for seq 0 must carry the genesis hash")
    saved = (-1, "") if digest is None else (digest.seq, digest.hash)
    sha256 = hashlib.sha256
    checked = 0
    try:
        for seq, stamp, type_, id_, payload, payload_hash, prev_hash, hash_ in rows:
            problem: str | None = None
            try:
                if seq != expected_seq:
                    problem = f"entry {expected_seq} is missing (next entry is {seq})"
                    seq = expected_seq
                elif prev_hash != prev:
                    problem = "prev_hash does not match the previous entry's hash"
                elif seq in redactions:  # instead of the payload's hash; the link still counts
                    problem = _redaction_problem(seq, type_, id_, payload, redactions[seq])
                elif sha256(payload.encode("utf-8")).hexdigest() != payload_hash:
                    problem = "payload does not match its payload_hash"
                if problem is None and chain_hash(prev, seq, stamp, type_, id_, payload_hash) != (
                    hash_
                ):
                    problem = "hash does not match the entry's contents"
            except (AttributeError, TypeError, UnicodeEncodeError):
                # a BLOB, a number, bytes not UTF-8
                problem = (
                    not_text(seq) if not_text else "the entry is not text as the file format says"
                )
            if problem:
                return VerifyResult(False, checked, seq, f"seq {seq}: {problem}")
            if seq == saved[0]:
                if hash_ != saved[1]:
                    return VerifyResult(
                        False, checked, seq, f"seq {seq}: hash differs from the saved digest"
                    )
                anchored = True
            prev, expected_seq = hash_, seq + 1
            checked += 1
    except UnreadableEntry as exc:
        return VerifyResult(
            False,
            checked,
            expected_seq,
            f"seq {expected_seq}: the entry cannot be read, the file is damaged here "
            f"({exc.detail})",
        )
    if not anchored:
        assert digest is not None
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"the ledger ends at seq {checked} but the saved digest is at seq {digest.seq}: "
            "entries were removed",
        )
    return VerifyResult(True, checked)


def _redaction_problem(
    seq: int, type_: str, id_: str, payload: str, redaction: Redaction
) -> str | None:
    """Why entry ``seq`` is not what the Erasure naming it says it redacted (None: it is)."""
    by = f"the Erasure at seq {redaction.erasure_seq}"
    if redaction.erasure_seq <= seq:
        return f"{by} names it, but an Erasure redacts only entries before it"
    if hashlib.sha256(payload.encode("utf-8")).hexdigest() != redaction.payload_hash:
        return f"payload is not the redacted form {by} recorded (nor its payload_hash)"
    if type_ not in _PERSONAL:
        return f"{by} names it, but a {type_} holds no personal data"
    subject, field = _OWNER.get(type_, (type_, None))
    try:
        owner = id_ if field is None else json.loads(payload).get(field)
    except ValueError:
        owner = None
    if redaction.subject_type != subject:
        return f"{by} erases a {redaction.subject_type}, not this {type_}"
    if owner != redaction.subject_id:
        return f"{by} erases {redaction.subject_id!r}, whose data this entry is not"
    if redacted_payload(type_, payload) != payload:
        return f"payload named by {by} still holds personal data"
    return None
