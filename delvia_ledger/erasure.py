"""Erasure and retention (DESIGN §16): a person's data redacted from every version that holds
it, with the proof (who asked, why, which entries) kept in the chain; and ids that look personal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import attrs
from dateutil.relativedelta import relativedelta

from .arguments import aware, source_arg, text_arg, text_value
from .chain import compose_payload, redacted_payload
from .convert import record_from_json
from .errors import ErasedSubjectError, LedgerError, MissingReferenceError, StorageError
from .records import (
    EMAIL_ROUTE,
    PERSONAL_FIELDS,
    PERSONAL_OWNER,
    Creator,
    Erasure,
    Notice,
    Person,
    Post,
    Record,
    RoleGrant,
    SparkAuthorization,
    holds_personal_data,
    shown,
)
from .storage import All, Equals, Missing, OneOf, Storage
from .storage.schema import TABLES

__all__ = [
    "ErasureMethods",
    "ErasureResult",
    "LooksPersonal",
    "Redacted",
    "RetentionResult",
    "check_erased",
    "erase",
    "looks_personal",
    "retention",
    "retention_age",
]

#: The reason retention records (DESIGN §16).
RETENTION = "retention"


@attrs.frozen
class Redacted:
    """One entry an erasure redacts (or, in a dry run, would): its seq, record type and id,
    and the personal fields it held."""

    seq: int
    type: str
    id: str
    fields: tuple[str, ...]


@attrs.frozen
class ErasureResult:
    """What :func:`erase` did: the ``Erasure`` recorded (None in a dry run) and the entries it
    redacted (would redact), oldest first."""

    subject_type: str
    subject_id: str
    redacted: tuple[Redacted, ...]
    erasure: Erasure | None = None
    seq: int | None = None  # the Erasure's entry


@attrs.frozen
class RetentionResult:
    """What :func:`retention` did: one :class:`ErasureResult` per subject erased (would be)."""

    cutoff: datetime
    erased: tuple[ErasureResult, ...]


def erase(
    store: Storage,
    cls: type[Record],
    id_: str,
    *,
    reason: str,
    by: str,
    at: datetime,
    now: datetime,
    source: str,
    dry_run: bool = False,
) -> ErasureResult:
    """Redact the personal data of ``cls`` ``id_`` from every version of it (and of a
    creator's posts), recording an :class:`Erasure` first, all in one transaction.

    The facade (``Ledger.erase``) checks the arguments; this decides and writes.
    """
    subject = _subject_type(cls)
    if dry_run:
        with store.snapshot():
            plan = _plan(store, cls, id_)
        return ErasureResult(subject, id_, tuple(r for r, _ in plan))
    if not store.can_erase():
        raise StorageError(
            f"{store.path}: the ledger is read-only here (written by an older delvia_ledger, "
            "read without upgrading it): it can be read and verified, but nothing can be erased"
        )
    with store.erasing(), store.transaction():
        plan = _plan(store, cls, id_)
        erasure = Erasure(
            subject_type=subject,
            subject_id=id_,
            seqs=tuple(str(r.seq) for r, _ in plan),
            hashes=tuple(hashlib.sha256(p.encode("utf-8")).hexdigest() for _, p in plan),
            reason=reason,
            requested_by=by,
            erased_at=at,
        )
        table = TABLES[Erasure]
        if store.current_by(Erasure, "id", [erasure.id]):
            raise LedgerError(
                f"erase: {subject} {id_!r} was already erased at {at.isoformat()}; give another at="
            )
        store.append([(table, erasure, compose_payload(table.payload(erasure), source), None)], now)
        seq = store.head.seq
        by_type: dict[str, list[tuple[int, str]]] = {}
        for redacted, payload in plan:
            by_type.setdefault(redacted.type, []).append((redacted.seq, payload))
        for cls_ in PERSONAL_FIELDS:
            if cls_.__name__ in by_type:
                store.redact(cls_, by_type[cls_.__name__])
    return ErasureResult(subject, id_, tuple(r for r, _ in plan), erasure, seq)


def _subject_type(cls: object) -> str:
    if cls not in (Creator, Person):
        raise ValueError(
            f"erase: {shown(getattr(cls, '__name__', cls))} cannot be erased; erase a Creator "
            "(with its posts' captions) or a Person"
        )
    return str(getattr(cls, "__name__", ""))


def _plan(store: Storage, cls: type[Record], id_: str) -> list[tuple[Redacted, str]]:
    """Every entry of the subject (and of a creator's posts) that holds personal data, with
    its redacted payload, oldest first."""
    if store.latest(cls, id_, None) is None:
        raise MissingReferenceError(
            f"{cls.__name__} {id_!r} is not in the ledger; nothing was erased"
        )
    versions: list[tuple[type[Record], int, str, str]] = [
        (cls, *row) for row in store.versions_of(cls, [id_])
    ]
    if cls is Creator:
        posts = [
            post_id
            for (post_id,) in store.current_rows(Post, ("id",), where=Equals("creator_id", id_))
        ]
        versions += [(Post, *row) for row in store.versions_of(Post, posts)]
    if cls is Person:  # the notices whose channel names them (recorded before schema 7)
        notices = [
            notice_id
            for notice_id, channel in store.current_rows(
                Notice, ("id", "channel"), where=Equals("person_id", id_)
            )
            if channel is not None and channel.startswith(EMAIL_ROUTE)
        ]
        versions += [
            (Notice, *row)
            for row in store.versions_of(Notice, notices)
            if record_from_json(Notice, row[2]).names_recipient
        ]
    plan = []
    for type_, seq, record_id, payload in sorted(versions, key=lambda v: v[1]):
        redacted = redacted_payload(type_.__name__, payload)
        if redacted != payload:
            plan.append((Redacted(seq, type_.__name__, record_id, _held(type_, payload)), redacted))
    return plan


def _held(cls: type[Record], payload: str) -> tuple[str, ...]:
    """The personal fields a stored payload holds a value for."""
    return tuple(
        name
        for name in PERSONAL_FIELDS[cls]
        if f'"{name}":' in payload and f'"{name}":null' not in payload
    )


# --- what an erased subject's records may say again ----------------------------------------------


def check_erased(
    store: Storage, records: Sequence[Record], source: str | None, force: bool
) -> list[Record]:
    """``records`` with what would bring erased data back dealt with: from TikTok, the
    personal fields of an erased subject are left out (TikTok says them again every sync);
    from anywhere else such a record is refused (:class:`ErasedSubjectError`) unless
    ``force`` (a new consent)."""
    if force or not store.any_erasure():  # the common case: one short query a batch
        return records if isinstance(records, list) else list(records)
    owners: dict[str, dict[str, list[int]]] = {"Creator": {}, "Person": {}}
    for n, record in enumerate(records):
        if not holds_personal_data(record):
            continue
        owner = PERSONAL_OWNER.get(type(record))
        subject, subject_id = (
            (type(record).__name__, record.id)
            if owner is None
            else (owner[0].__name__, getattr(record, owner[1]))
        )
        if subject_id is not None:  # a notice to nobody belongs to no subject
            owners[subject].setdefault(subject_id, []).append(n)
    if force or not (owners["Creator"] or owners["Person"]):
        return list(records)
    kept = list(records)
    for subject, ids in owners.items():
        if not ids:
            continue
        erased = store.current_rows(
            Erasure,
            ("subject_id", "erased_at", "id"),
            where=All(Equals("subject_type", subject), OneOf("subject_id", list(ids))),
        )
        for subject_id, _, erasure_id in erased:
            for n in ids.get(subject_id, ()):
                record = kept[n]
                if source == "tiktok":
                    blank: dict[str, Any] = {
                        f: None
                        for f in PERSONAL_FIELDS[type(record)]
                        if attrs.fields_dict(type(record))[f].default is None
                    }
                    kept[n] = attrs.evolve(cast(Any, record), **blank)
                    continue
                error = ErasedSubjectError(
                    f"{type(record).__name__} {record.id!r}: {subject} {subject_id!r} was "
                    f"erased ({erasure_id}); recording its personal data again needs "
                    "force=True (--force), for a new consent"
                )
                error.record = record
                raise error
    return kept


# --- retention ---------------------------------------------------------------------------------


_AGE = re.compile(r"\s*(\d{1,4})\s*(d|w|mo|y)\s*")
_AGE_UNITS = {"d": "days", "w": "weeks", "mo": "months", "y": "years"}


def retention_age(older_than: relativedelta | str) -> relativedelta:
    """A retention policy's age: a relativedelta, or ``"3y"``, ``"18mo"``, ``"6w"``, ``"400d"``."""
    if isinstance(older_than, relativedelta):
        return older_than
    match = _AGE.fullmatch(older_than) if isinstance(older_than, str) else None
    if match is None or int(match[1]) == 0:
        raise ValueError(
            f"older_than={shown(older_than)}: use a number and a unit, e.g. '3y', "
            "'18mo', '6w' or '400d'"
        )
    return relativedelta(**{_AGE_UNITS[match[2]]: int(match[1])})  # type: ignore[arg-type]


def retention(
    store: Storage,
    older_than: relativedelta | str,
    *,
    now: datetime,
    source: str,
    by: str,
    dry_run: bool = False,
) -> RetentionResult:
    """Erase (reason ``retention``) every creator and person who still has personal data,
    nothing active at ``now``, and nothing changed since ``now - older_than``.

    A creator is active while one of its codes is neither revoked nor expired; a person
    while they have not left, or hold a role grant not ended. Changed: any version of the
    subject, of a creator's posts and codes, or of a person's grants.
    """
    try:
        cutoff = now - retention_age(older_than)
    except (OverflowError, ValueError) as error:
        if isinstance(error, ValueError) and "older_than=" in str(error):
            raise
        raise ValueError(f"older_than={shown(older_than)} is too long") from None
    with store.snapshot():
        due: list[tuple[type[Record], str]] = [
            (Creator, i) for i in _quiet_creators(store, now, cutoff)
        ]
        due += [(Person, i) for i in _quiet_people(store, now, cutoff)]
    results = []
    for cls, id_ in due:
        results.append(
            erase(
                store,
                cls,
                id_,
                reason=RETENTION,
                by=by,
                at=now,
                now=now,
                source=source,
                dry_run=dry_run,
            )
        )
    return RetentionResult(cutoff, tuple(r for r in results if r.redacted))


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _quiet_creators(store: Storage, now: datetime, cutoff: datetime) -> list[str]:
    last: dict[str, datetime] = {}
    held: set[str] = set()
    for id_, stamp, payload in store.current_rows(Creator, ("id", "recorded_at", "payload")):
        last[id_] = _stamp(stamp)
        if _holds_personal(Creator, payload):
            held.add(id_)
    posts: dict[str, str] = {}
    for id_, creator, stamp, payload in store.current_rows(
        Post, ("id", "creator_id", "recorded_at", "payload")
    ):
        posts[id_] = creator
        last[creator] = max(last.get(creator, cutoff), _stamp(stamp))
        if _holds_personal(Post, payload):
            held.add(creator)
    active: set[str] = set()
    micros = int((now - datetime.fromisoformat("1970-01-01T00:00:00+00:00")).total_seconds() * 1e6)
    for creator, expires, revoked, stamp in store.current_rows(
        SparkAuthorization, ("creator_id", "expires_at", "revoked_at", "recorded_at")
    ):
        last[creator] = max(last.get(creator, cutoff), _stamp(stamp))
        if revoked is None and expires > micros:
            active.add(creator)
    return sorted(i for i in held if i not in active and last.get(i, cutoff) < cutoff)


def _quiet_people(store: Storage, now: datetime, cutoff: datetime) -> list[str]:
    last: dict[str, datetime] = {}
    held: set[str] = set()
    active: set[str] = set()
    for id_, left, stamp, payload in store.current_rows(
        Person, ("id", "left_at", "recorded_at", "payload")
    ):
        last[id_] = _stamp(stamp)
        if left is None:
            active.add(id_)
        if _holds_personal(Person, payload):
            held.add(id_)
    for person, channel in store.current_rows(Notice, ("person_id", "channel")):
        if person is not None and channel is not None and channel.startswith(EMAIL_ROUTE):
            held.add(person)  # a notice naming their address (recorded before schema 7)
    for person, stamp in store.current_rows(
        RoleGrant, ("person_id", "recorded_at"), where=Missing("ended_at")
    ):
        active.add(person)
        last[person] = max(last.get(person, cutoff), _stamp(stamp))
    return sorted(i for i in held if i not in active and last.get(i, cutoff) < cutoff)


def _holds_personal(cls: type[Record], payload: str) -> bool:
    return redacted_payload(cls.__name__, payload) != payload


# --- ids that look like personal data ----------------------------------------------------------


@attrs.frozen
class LooksPersonal:
    """An id that looks like personal data (an email address or a TikTok handle)."""

    type: str
    id: str
    why: str


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HANDLE = re.compile(r"@?[A-Za-z0-9_.]{2,24}")


def looks_personal(store: Storage, types: Iterable[type[Record]] = (Creator, Person)) -> list[Any]:
    """Ids of ``types`` that look like an email address, or (creators) like their handle or
    an @handle; ids are in the chain's hash and cannot be erased (DESIGN §16)."""
    found = []
    for cls in types:
        columns = ("id", "handle") if cls is Creator else ("id",)
        for row in store.current_rows(cls, columns, order_by=("id",)):
            id_ = row[0]
            if _EMAIL.fullmatch(id_):
                found.append(LooksPersonal(cls.__name__, id_, "looks like an email address"))
            elif cls is Creator and (
                id_.startswith("@") or (row[1] is not None and id_.lstrip("@") == row[1])
            ):
                found.append(LooksPersonal(cls.__name__, id_, "is the creator's handle"))
            elif cls is Creator and id_.startswith("@") and _HANDLE.fullmatch(id_):
                found.append(LooksPersonal(cls.__name__, id_, "looks like a TikTok handle"))
    return found


class ErasureMethods:
    """The Ledger's erasure and retention methods (DESIGN §16), a mixin: each checks its
    arguments and makes one call into this module."""

    _store: Storage

    if TYPE_CHECKING:

        def now(self) -> datetime: ...

    def erase(
        self,
        cls: type[Creator] | type[Person],
        id: str,
        *,
        reason: str,
        by: str,
        at: datetime | str | None = None,
        dry_run: bool = False,
        source: str = "api",
    ) -> ErasureResult:
        """Erase the personal data of a creator (and its posts' captions) or a person from
        every version that holds it, recording an :class:`~delvia_ledger.Erasure` (who asked,
        ``by``; why, ``reason``; when, ``at``; which entries) in the same transaction. The
        chain, ``digest()`` and digests kept before still verify; ``dry_run`` only lists what
        would be redacted.
        """
        id = text_arg(id, "erase(id=...)")
        reason = text_value(reason, "erase(reason=...)")
        by = text_value(by, "erase(by=...)")
        moment = self.now() if at is None else aware(at, "erase: at")
        source = source_arg(source, "erase")
        return erase(
            self._store,
            cls,
            id,
            reason=reason,
            by=by,
            at=moment,
            now=self.now(),
            source=source,
            dry_run=dry_run is True,
        )

    def retention(
        self,
        older_than: Any,
        *,
        by: str = "retention",
        now: datetime | str | None = None,
        dry_run: bool = False,
        source: str = "api",
    ) -> RetentionResult:
        """Erase (reason ``retention``) every creator and person with personal data, nothing
        active and nothing changed for longer than ``older_than`` (``"3y"``, ``"18mo"``, a
        relativedelta): a policy to run from cron. ``dry_run`` only lists them."""
        moment = self.now() if now is None else aware(now, "retention: now")
        return retention(
            self._store,
            older_than,
            now=moment,
            source=source_arg(source, "retention"),
            by=text_value(by, "retention(by=...)"),
            dry_run=dry_run is True,
        )

    def check_ids(self) -> list[LooksPersonal]:
        """Creator and person ids that look like personal data (an email address, a handle):
        ids are in the chain's hash and cannot be erased, so record new ones that are not
        (the TikTok identity id, a short id of your own)."""
        with self._store.snapshot():
            return looks_personal(self._store)
