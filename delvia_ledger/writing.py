"""The write path: every new version checked against the rules (references, identity fields,
one-way changes, one code per authorization) and appended in batches by the :class:`Writer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from datetime import datetime
from itertools import islice
from operator import attrgetter
from typing import Any, cast

import attrs

from . import erasure
from .chain import Entry, compose_payload, new_salt, payload_content
from .collector import collector_paused
from .convert import generated, parse_time, record_from_json
from .errors import (
    DuplicateCodeError,
    ImmutableFieldError,
    InconsistentReferenceError,
    InvalidRecordError,
    IrreversibleChangeError,
    LedgerError,
    MissingReferenceError,
)
from .records import (
    NO_CODE,
    PERSONAL_FIELDS,
    RECORD_TYPES,
    AccessReview,
    AdAccount,
    Creator,
    Erasure,
    Notice,
    PendingInvite,
    Person,
    Post,
    Record,
    RegionRule,
    RoleGrant,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
    SparkCode,
    derived_authorization_id,
    holds_personal_data,
    shown,
)
from .storage import Storage
from .storage.schema import TABLES, VersionTable

__all__ = ["BATCH_SIZE", "IDENTITY", "ONE_WAY", "REFERENCES", "Held", "RecordAllResult", "Writer"]

# --- the rules every new version must satisfy (one place for each) ------------------------------

#: Fields that refer to another record: (field, referenced type). None values refer to nothing.
REFERENCES: dict[type[Record], tuple[tuple[str, type[Record]], ...]] = {
    Post: (("creator_id", Creator),),
    SparkAuthorization: (
        ("creator_id", Creator),
        ("post_id", Post),
        ("ad_account_id", AdAccount),
        ("owner_id", Person),
    ),
    SparkAd: (
        ("ad_account_id", AdAccount),
        ("authorization_id", SparkAuthorization),
        ("intended_post_id", Post),
        ("owner_id", Person),
    ),
    RoleGrant: (("person_id", Person), ("granted_by", Person)),
    SparkBinding: (("authorization_id", SparkAuthorization), ("ad_account_id", AdAccount)),
    Notice: (("person_id", Person),),
    PendingInvite: (("person_id", Person),),
    AccessReview: (("reviewer_id", Person),),
}

#: Reference values that refer to nothing, as None does: an ad with no code (DESIGN §12).
NO_REFERENCE: dict[tuple[type[Record], str], str] = {(SparkAd, "authorization_id"): NO_CODE}

#: The record a RoleGrant scope points at ("business_center:" scopes name no record).
SCOPE_TARGETS: dict[str, type[Record]] = {
    "ad_account": AdAccount,
    "creator": Creator,
    "authorization": SparkAuthorization,
}

#: Fields that identify a record and never change across its versions.
IDENTITY: dict[type[Record], tuple[str, ...]] = {
    Post: ("creator_id",),
    AdAccount: ("region",),
    RoleGrant: ("person_id", "scope", "role", "source"),
    PendingInvite: ("person_id", "scope"),
    AccessReview: ("reviewer_id", "scope", "digest"),
    SparkAuthorization: ("code", "creator_id", "post_id"),
    SparkAd: ("ad_account_id",),
    RegionRule: ("creator_region", "account_region"),
}

#: Times that, once set, can be neither cleared nor moved.
ONE_WAY: dict[type[Record], tuple[str, ...]] = {
    SparkAuthorization: ("revoked_at",),
    Person: ("left_at",),
    RoleGrant: ("ended_at",),
    PendingInvite: ("ended_at",),
}

#: Records checked and written per round trip of ``record_all``: measured, not guessed (see
#: benchmarks/README.md); smaller batches keep the working set in cache, larger pay SQL per call.
BATCH_SIZE = 500

#: Records the ledger holds, cached during one call (references resolve against it):
#: (type, id) -> its row from the version table (``(creator_id,)`` for a Post).
Known = dict[tuple[type[Record], str], Any]
KNOWN_LIMIT = 200_000

#: Current versions by (type, id): (seq, payload, the record if already at hand); the payload
#: may be None where the record is at hand (a version a caller read, see :class:`Held`).
Versions = dict[tuple[type[Record], str], tuple[int, str | None, Record | None]]

#: What a record refers to: (referenced type, id) pairs.
References = tuple[tuple[type[Record], str], ...]

#: A record on its way in: (record, its table, what it refers to, its canonical JSON).
Prepared = list[tuple[Record, VersionTable, References, str]]


@attrs.frozen
class Held:
    """What a caller read from the ledger just before writing, inside the same transaction,
    so that the writer does not read it again (an import that reconciled a page first).

    ``versions``: (type, id) -> (seq, record) of the current version, or None where the caller
    looked the id up and found nothing; ``codes``: a code's fingerprint -> the id of the
    authorization holding it, or None where the ledger holds no such code. What is left out
    is read as usual.
    """

    versions: Mapping[tuple[type[Record], str], tuple[int, Record] | None]
    codes: Mapping[str, str | None]


@attrs.frozen
class RecordAllResult:
    """What :meth:`Ledger.record_all` did: entries written, records already current."""

    written: int
    unchanged: int
    last_seq: int


class Writer:
    """Appends records to ``store``: each batch checked against the rules, then written.

    ``now`` stamps each batch's entries (the ledger's clock; a replay's recorded times).
    """

    def __init__(self, store: Storage, now: Callable[[], datetime]) -> None:
        self._store = store
        self.now = now

    def record(self, record: Record, source: str, force: bool = False) -> Entry:
        """Append a new version of ``record`` (none if unchanged) from ``source``; the entry
        now holding it. ``force``: personal data of an erased subject is kept (a new consent).
        """
        with self._store.transaction():
            stamp, hashes = self.record_batch([record], {}, source, force)
            seq = self._store.head.seq
        if hashes:
            (hash_,) = hashes
            return Entry(
                seq=seq, recorded_at=parse_time(stamp), record=record, hash=hash_, source=source
            )
        entry = self._store.latest(type(record), record.id, None)
        assert entry is not None
        return entry

    def record_all(
        self,
        records: Iterable[Record],
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], object] | None = None,
        known: Known | None = None,
        *,
        source: str | None = "api",
        force: bool = False,
        joined: bool = False,
        held: Held | None = None,
    ) -> RecordAllResult:
        """Record ``records`` in one transaction, ``batch_size`` at a time; ``progress`` is
        called after each batch with the number read. ``known``: records the caller has read
        already (as :data:`Known` holds them), so that their references are not read again.
        ``source`` is recorded in each entry (None: none); ``force`` as for :meth:`record`.

        ``joined``: the caller's open transaction already makes this call all or nothing (an
        error raised here leaves the caller's block, which undoes it all), so no savepoint of
        its own is taken: writes inside a SQLite savepoint cost about twice as much (each page
        first touched there is copied to the sub-journal; measured in benchmarks/README.md).
        ``held``: what the caller read just before (:class:`Held`), not read again."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(
                f"record_all(batch_size={shown(batch_size)}): batch_size must be a whole "
                f"number >= 1 (default {BATCH_SIZE})"
            )
        if progress is not None and not callable(progress):
            raise ValueError(
                f"record_all(progress=...): expected a function, got {shown(progress)}"
            )
        if isinstance(records, str | bytes) or not hasattr(records, "__iter__"):
            raise InvalidRecordError(
                f"record_all: expected records (a list or an iterator of them), got "
                f"{type(records).__name__}"
            )
        written = unchanged = 0
        known = {} if known is None else known
        # copies, kept up to date with what this call writes (a later batch sees it)
        versions = None if held is None else dict(held.versions)
        codes = None if held is None else dict(held.codes)
        joining = joined and self._store.in_transaction
        with nullcontext() if joining else self._store.transaction():
            iterator = iter(records)
            while True:
                batch = list(islice(iterator, batch_size))  # the caller's code, as they left it
                if not batch:
                    break
                with collector_paused():  # a batch makes no cycles; its objects are many
                    done = self.record_batch(batch, known, source, force, versions, codes)
                    count = len(done[1])
                written += count
                unchanged += len(batch) - count
                if progress is not None:
                    progress(written + unchanged)
            last = self._store.head.seq
        return RecordAllResult(written=written, unchanged=unchanged, last_seq=last)

    def record_batch(
        self,
        batch: list[Record],
        known: Known,
        source: str | None,
        force: bool = False,
        versions: dict[tuple[type[Record], str], tuple[int, Record] | None] | None = None,
        codes: dict[str, str | None] | None = None,
    ) -> tuple[str, list[str]]:
        """Check a batch against the rules and append what changed (inside a transaction),
        each entry recording ``source`` (None: none, as entries before schema version 4).
        ``versions`` and ``codes``: what the caller read (as :class:`Held` holds them), brought
        up to date with what the batch writes.

        Returns the entries' ``recorded_at`` text and their hashes, in order (none if nothing
        changed).
        """
        prepared: Prepared = []
        batch = erasure.check_erased(self._store, batch, source, force)
        for record in batch:
            how = _WRITERS.get(type(record))
            if how is None:
                if isinstance(record, Erasure):
                    raise InvalidRecordError(
                        f"cannot record {_name(record)} directly: ledger.erase() records an "
                        "Erasure and the redaction it names together"
                    )
                names = ", ".join(c.__name__ for c in RECORD_TYPES)
                raise InvalidRecordError(f"cannot record {record!r}: not one of {names}")
            table, content_of, references_of = how
            prepared.append((record, table, references_of(record), content_of(record)))

        currents = self._currents(prepared, versions)
        self._references(prepared, known, currents)
        in_use = self._codes_in_use(prepared, codes)
        items: list[tuple[VersionTable, Record, str, int | None]] = []
        next_seq = self._store.head.seq + 1  # append() numbers the items from here, in order
        pending: Versions = {}  # versions written by this batch, as currents holds them
        head = compose_payload("{}", source)[:-1]  # the payload's reserved keys, then the record
        for record, table, refs, content in prepared:
            key = (table.cls, record.id)
            old = pending.get(key) or currents.get(key)
            try:
                if old is not None:
                    if old[1] is not None and payload_content(old[1]) == content:
                        continue  # the same record: source aside
                    before = old[2] or record_from_json(table.cls, cast(str, old[1]))
                    if before == record:  # the same record in an older encoding (a migrated file)
                        continue
                    _check_versions(before, record)
                self._check_references(record, refs, known, pending)
                if isinstance(record, SparkAuthorization):
                    holder = in_use.setdefault(record.code.fingerprint, record.id)
                    if holder != record.id:
                        raise DuplicateCodeError(
                            f"SparkAuthorization {record.id!r}: code {record.code.hint} is "
                            f"already recorded as authorization {holder!r}; record a new "
                            "version of that one"
                        )
            except LedgerError as error:
                error.record = record  # lets importers name the line that was refused
                raise
            salted = _SALTED.get(table.cls)  # personal data: the payload gets a salt
            if salted is not None and salted(record):
                payload = f'{{"_salt":"{new_salt()}",{head[1:]}{content[1:]}'
            else:
                payload = head + content[1:]  # chain.compose_payload, inlined: the hot path
            pending[key] = (next_seq + len(items), payload, record)
            items.append((table, record, payload, old[0] if old else None))
        if not items:
            return "", []
        if versions is not None:
            for key, (seq, _, written) in pending.items():
                versions[key] = (seq, cast(Record, written))
        if codes is not None:
            for _, written, _, _ in items:
                if isinstance(written, SparkAuthorization):
                    codes[written.code.fingerprint] = written.id
        return self._store.append(items, self.now())

    def _currents(
        self,
        prepared: Prepared,
        versions: Mapping[tuple[type[Record], str], tuple[int, Record] | None] | None,
    ) -> Versions:
        """The batch's current versions: those ``versions`` holds, the rest read."""
        given = versions or {}
        found: Versions = {}
        by_table: dict[VersionTable, list[str]] = {}
        for record, table, _, _ in prepared:
            key = (table.cls, record.id)
            if key in given:
                held = given[key]
                if held is not None:
                    found[key] = (held[0], None, held[1])
            else:
                by_table.setdefault(table, []).append(record.id)
        for table, ids in by_table.items():
            for id_, (seq, payload) in self._store.current_by(table.cls, "id", ids).items():
                found[table.cls, id_] = (seq, payload, None)
        return found

    def _references(self, prepared: Prepared, known: Known, currents: Versions) -> None:
        """Add to ``known`` every record the batch refers to that the ledger holds. The
        batch's own records were just read (``currents``, by id): one the ledger holds is
        known from there, one it lacks is not looked for again."""
        if len(known) > KNOWN_LIMIT:
            known.clear()
        own = {(table.cls, record.id) for record, table, _, _ in prepared}
        wanted: dict[type[Record], set[str]] = {}
        for _, _, refs, _ in prepared:
            for key in refs:
                if key in known:
                    continue
                if key in own:
                    current = currents.get(key)
                    if current is None:
                        continue  # the ledger lacks it: only this batch can bring it
                    if current[2] is not None or key[0] is not Post:  # a Post: its creator
                        known[key] = current[2] or (current[0],)
                        continue
                wanted.setdefault(key[0], set()).add(key[1])
        for target, ids in wanted.items():
            columns = ("creator_id",) if target is Post else ("seq",)
            for id_, row in self._store.current_by(target, "id", ids, columns=columns).items():
                known[(target, id_)] = row

    def _codes_in_use(
        self, prepared: Prepared, codes: Mapping[str, str | None] | None
    ) -> dict[str, str]:
        """The batch's codes the ledger already holds: fingerprint -> authorization id (those
        ``codes`` holds, the rest read).

        A record under its own derived id needs no derived lookup here: its current version
        (read with the batch) must hold the same code, as ``code`` is an identity field.
        """
        auths = [r for r, *_ in prepared if isinstance(r, SparkAuthorization)]
        if not auths:
            return {}
        given: dict[str, str] = {}
        if codes is not None:
            unknown = []
            for auth in auths:
                fingerprint = auth.code.fingerprint
                if fingerprint not in codes:
                    unknown.append(auth)
                elif (holder := codes[fingerprint]) is not None:
                    given[fingerprint] = holder
            if not unknown:
                return given
            auths = unknown
        find = self._store.authorizations_by_fingerprint
        held = find((r.code.fingerprint for r in auths), derived=False)
        elsewhere = [
            r.code.fingerprint
            for r in auths
            if r.id != derived_authorization_id(r.code.fingerprint)
        ]
        if elsewhere:
            held.update(find(elsewhere))
        given.update((fingerprint, auth.id) for fingerprint, (_, auth) in held.items())
        return given

    @staticmethod
    def _check_references(
        record: Record,
        refs: References,
        known: Known,
        batch: Versions,
    ) -> None:
        """Each reference must be in the ledger (``known``) or earlier in this ``batch``."""
        for key in refs:
            if key not in known and key not in batch:
                target, id_ = key
                field = _ref_field(record, target, id_)
                raise MissingReferenceError(
                    f"{_name(record)}: {field}={id_!r} refers to a {target.__name__} that is "
                    f"not in the ledger; record the {target.__name__} first"
                )
        if isinstance(record, SparkAuthorization):
            post = (Post, record.post_id)
            row = known[post] if post in known else batch[post][2]  # a Post or (creator_id,)
            post_creator = row.creator_id if isinstance(row, Post) else cast(Any, row)[0]
            if post_creator != record.creator_id:
                raise InconsistentReferenceError(
                    f"{_name(record)}: post_id={record.post_id!r} belongs to creator "
                    f"{post_creator!r}, not creator_id={record.creator_id!r}; a code is tied to "
                    "its creator's post"
                )


def _name(record: Record) -> str:
    return f"{type(record).__name__} {record.id!r}"


def _references_of(cls: type[Record]) -> Callable[[Record], References]:
    """A function giving what a record of type ``cls`` refers to (generated once per type):
    each field of :data:`REFERENCES` that is not None, and a RoleGrant's scope target."""
    lines = [f"def references_of_{cls.__name__}(record):", "    refs = []"]
    namespace: dict[str, Any] = {"_scopes": SCOPE_TARGETS}
    for n, (field, target) in enumerate(REFERENCES.get(cls, ())):
        namespace[f"_t{n}"] = target
        nothing = NO_REFERENCE.get((cls, field))  # a value that, like None, refers to nothing
        lines += [
            f"    v = record.{field}",
            f"    if v is not None{f' and v != {nothing!r}' if nothing else ''}: "
            f"refs.append((_t{n}, v))",
        ]
    if cls is RoleGrant:
        lines += [
            "    target = _scopes.get(record.scope_kind)",
            "    if target is not None: refs.append((target, record.scope_id))",
        ]
    lines.append("    return tuple(refs)")
    name = f"references_of_{cls.__name__}"
    made = generated("\n".join(lines) + "\n", name, f"references of {cls.__name__}", namespace)
    return cast(Callable[[Record], References], made)


#: For each record type: its version table, its canonical JSON and its references.
_WRITERS: dict[type[Record], tuple[VersionTable, Callable[[Record], str], Any]] = {
    cls: (table, table.payload, _references_of(cls))
    for cls, table in TABLES.items()
    if cls is not Erasure  # only erase() records one
}


def _holds_personal_data(cls: type[Record]) -> Callable[[Record], bool]:
    """Whether a record of ``cls`` holds any personal data (then its payload gets a salt)."""
    fields = PERSONAL_FIELDS[cls]
    get, nothing = attrgetter(*fields), (None,) * len(fields) if len(fields) > 1 else None
    return lambda record: bool(get(record) != nothing)


_SALTED = {cls: _holds_personal_data(cls) for cls in PERSONAL_FIELDS}
_SALTED[Notice] = holds_personal_data  # only a channel that names its recipient


def _ref_field(record: Record, target: type[Record], id_: str) -> str:
    for field, cls in REFERENCES.get(type(record), ()):
        if cls is target and getattr(record, field) == id_:
            return field
    return "scope"


def _check_versions(old: Record, new: Record) -> None:
    """Refuse a new version that changes an identity field or undoes a one-way change."""
    name = f"{type(new).__name__} {new.id!r}"
    for field in IDENTITY.get(type(new), ()):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            raise ImmutableFieldError(
                f"{name}: {field} cannot change ({_show(before)} -> {_show(after)}); it "
                f"identifies the record, so record a new {type(new).__name__} instead"
            )
    for field in ONE_WAY.get(type(new), ()):
        before, after = getattr(old, field), getattr(new, field)
        if before is not None and before != after:
            raise IrreversibleChangeError(
                f"{name}: {field} was set to {_show(before)} and cannot be "
                f"{'cleared' if after is None else 'moved to ' + _show(after)}; "
                "this change cannot be undone"
            )


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, SparkCode):
        return f"code {value.hint}"  # never the raw code (which we do not have anyway)
    return repr(value)


def content_of(record: Record) -> str:
    """A record's canonical JSON, as its entry's payload holds it (without source or salt)."""
    return TABLES[type(record)].payload(record)
