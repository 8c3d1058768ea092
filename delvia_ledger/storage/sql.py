"""What the SQL backends say alike: the reads of current versions and of entries, and what a
stored entry that does not read back means, written once over each backend's few primitives.

A backend (:class:`~delvia_ledger.storage.sqlite.Store`,
:class:`~delvia_ledger.storage.postgres.PostgresStore`) gives its dialect: how a query's
parameter is written (``PARAM``), its SQL of one read of current versions (``_select``), of a
filter (``_filter``), and how rows are fetched (``_fetch``: all at once; ``_stream_rows``:
streamed), each raising :class:`~delvia_ledger.errors.StorageError`, never a driver error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from ..chain import (
    ENTRY_COLUMNS,
    GENESIS_HASH,
    SOURCES,
    ChainRow,
    Digest,
    Entry,
    Head,
    Redaction,
    VerifyResult,
    chain_hash,
    payload_source,
)
from ..convert import RECORD_BY_NAME, parse_time, record_from_json
from ..errors import NotALedgerError, StorageError
from ..records import (
    PERSONAL_FIELDS,
    Erasure,
    Record,
    SparkAuthorization,
    SparkBinding,
    derived_authorization_id,
)
from .filters import All, AnyOf, CustomId, Filter, OneOf

if TYPE_CHECKING:
    from .schema import VersionTable

R = TypeVar("R", bound=Record)

__all__ = ["SqlReads", "last_version", "short", "visible"]


def visible(bound: int | None, alias: str = "v", since: int | None = None) -> str:
    """SQL that keeps the versions current at ``bound`` (None: current now), or with
    ``since``, at some point from ``since`` to ``bound``."""
    if bound is None:
        if since is None:
            return f"{alias}.superseded_by IS NULL"
        return f"({alias}.superseded_by IS NULL OR {alias}.superseded_by > {int(since)})"
    later = int(bound if since is None else since)  # superseded after this
    return (
        f"{alias}.seq <= {int(bound)} AND "
        f"({alias}.superseded_by IS NULL OR {alias}.superseded_by > {later})"
    )


def last_version(table: VersionTable, id_sql: str, bound: int | None) -> str:
    """SQL for the seq of the version of id ``id_sql`` current at ``bound``.

    One step down the id index (its entries end with the seq), whatever the number of
    versions: ``superseded_by IS NULL`` would walk every version of the id.
    """
    upto = "" if bound is None else f" AND w.seq <= {int(bound)}"
    return (
        f"(SELECT w.seq FROM {table.name} w WHERE w.id = {id_sql}{upto} "
        "ORDER BY w.seq DESC LIMIT 1)"
    )


def short(exc: BaseException) -> str:
    """An exception's message, short and printable (damaged text can be anything)."""
    text = str(exc) or type(exc).__name__
    text = text if len(text) <= 200 else text[:199] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class SqlReads:
    """The reads both SQL backends share (mixed into each; see the module's docstring)."""

    #: How the backend's driver writes a query parameter.
    PARAM: ClassVar[str]
    #: What the ledger is called in a message about damage ("file", "ledger").
    THING: ClassVar[str]
    #: What to do about a damaged ledger, in a message.
    REMEDY: ClassVar[str]
    #: The version table of each record type.
    TABLES: ClassVar[Mapping[type[Record], VersionTable]]

    path: str
    _head: Head | None  # the tip, while a write transaction holds the lock
    _depth: int  # how deep in transaction() we are (0: outside)
    _progress: Callable[[int], object] | None  # verify()'s progress callback, while it runs

    # --- the backend's primitives -------------------------------------------------------------

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _stream_rows(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        raise NotImplementedError

    def _filter(self, where: Filter, table: VersionTable, params: list[Any]) -> str:
        """SQL for ``where`` over ``table``'s version rows ``v``; its values go to ``params``."""
        raise NotImplementedError

    def _checking(self, run: Callable[[], VerifyResult]) -> VerifyResult:
        """``run()``, a driver error while it reads being a result (a lock or a closed
        connection still raises)."""
        raise NotImplementedError

    def _verify(self, digest: Digest | None, bound: int | None, deep: bool) -> VerifyResult:
        raise NotImplementedError

    def _select(
        self,
        cls: type[Record],
        columns: Sequence[str],
        bound: int | None,
        where: Filter | None,
        order_by: Sequence[str] = (),
        distinct: bool = False,
        since: int | None = None,
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError

    # --- the chain ----------------------------------------------------------------------------

    def _read_head(self) -> Head:
        row = self._fetch("SELECT seq, hash, recorded_at FROM entries ORDER BY seq DESC LIMIT 1")
        return Head(*row[0]) if row else Head(0, GENESIS_HASH, "")

    @property
    def head(self) -> Head:
        """The chain's tip (inside a write transaction: including what it has appended)."""
        if self._head is not None:
            return self._head
        head = self._read_head()
        if self._depth:  # under the write lock the tip only moves through append()
            self._head = head
        return head

    def verify(
        self,
        digest: Digest | None = None,
        bound: int | None = None,
        *,
        deep: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> VerifyResult:
        """Check every link of the chain; name the first entry that does not hold.

        ``deep`` also checks the storage itself (SQLite's integrity check of the file) and the
        version tables against the entries (``verify_versions``); the earliest problem found
        is named. Damage is a result, never an exception: only a lock held past the busy
        timeout (:class:`~delvia_ledger.errors.LedgerBusyError`) and a closed ledger raise.
        Run it inside one snapshot.
        """
        self._progress = progress
        try:
            return self._checking(lambda: self._verify(digest, bound, deep))
        finally:
            self._progress = None

    # --- current versions ---------------------------------------------------------------------

    def current_rows(
        self,
        cls: type[Record],
        columns: Sequence[str],
        *,
        bound: int | None = None,
        where: Filter | None = None,
        order_by: Sequence[str] = (),
        distinct: bool = False,
        since: int | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """The current versions of ``cls`` at ``bound`` (with ``since``: at some point from
        ``since`` to ``bound``) that ``where`` keeps, as tuples of ``columns`` (see
        :class:`~delvia_ledger.storage.Storage`), streamed."""
        sql, params = self._select(cls, columns, bound, where, order_by, distinct, since)
        return self._stream_rows(sql, params)

    def current_by(
        self,
        cls: type[Record],
        by: str,
        values: Iterable[Any],
        *,
        columns: Sequence[str] = ("seq", "payload"),
        where: Filter | None = None,
        bound: int | None = None,
    ) -> dict[Any, tuple[Any, ...]]:
        """Current versions whose column ``by`` is one of ``values``: value -> ``columns``."""
        wanted = list(dict.fromkeys(values))
        if not wanted:
            return {}
        keep = OneOf(by, wanted) if where is None else All(OneOf(by, wanted), where)
        sql, params = self._select(cls, (by, *columns), bound, keep)
        return {row[0]: row[1:] for row in self._fetch(sql, params)}

    def current_records(
        self,
        cls: type[R],
        by: str,
        values: Iterable[Any],
        *,
        where: Filter | None = None,
        bound: int | None = None,
    ) -> list[R]:
        """The current records of type ``cls`` whose column ``by`` is one of ``values``."""
        return [record for _, record in self.current_versions(cls, by, values, where, bound)]

    def current_versions(
        self,
        cls: type[R],
        by: str,
        values: Iterable[Any],
        where: Filter | None = None,
        bound: int | None = None,
    ) -> list[tuple[int, R]]:
        """:meth:`current_records` with the seq of each record's version: (seq, record)."""
        wanted = list(dict.fromkeys(values))
        if not wanted:
            return []
        keep = OneOf(by, wanted) if where is None else All(OneOf(by, wanted), where)
        sql, params = self._select(cast(type[Record], cls), ("seq", "payload"), bound, keep)
        return [(seq, self._record(cls, seq, payload)) for seq, payload in self._fetch(sql, params)]

    def authorization_by_fingerprint(
        self, fingerprint: str, bound: int | None
    ) -> tuple[int, SparkAuthorization] | None:
        """The authorization current at ``bound`` whose code has ``fingerprint`` (held under its
        derived id first, else under a custom id) and the seq of its version; one read."""
        return self.authorizations_by_fingerprint([fingerprint], bound).get(fingerprint)

    def authorizations_by_fingerprint(
        self, fingerprints: Iterable[str], bound: int | None = None, *, derived: bool = True
    ) -> dict[str, tuple[int, SparkAuthorization]]:
        """fingerprint -> (seq, authorization) for each code held at ``bound``: under its
        derived id first, else under a custom id; ``derived=False`` looks at custom ids only
        (for a caller that read the derived ones). One statement for one code, two for many."""
        from .schema import code_key  # schema imports this module

        wanted = set(fingerprints)
        if not wanted:
            return {}
        custom = All(OneOf("code_key", [code_key(fp) for fp in wanted]), CustomId())
        ways: list[Filter] = [custom]
        if derived:
            ids = OneOf("id", [derived_authorization_id(fp) for fp in wanted])
            # one statement for one code; for many, one per index beats their OR (measured)
            ways = [AnyOf(ids, custom)] if len(wanted) == 1 else [ids, custom]
        rows: list[tuple[Any, ...]] = []
        for where in ways:
            sql, params = self._select(SparkAuthorization, ("seq", "payload"), bound, where)
            rows += self._fetch(sql, params)
        found: dict[str, tuple[int, SparkAuthorization]] = {}
        for seq, payload in rows:
            auth = self._record(SparkAuthorization, seq, payload)
            fingerprint = auth.code.fingerprint  # a key is 64 bits of the fingerprint
            if fingerprint in wanted and (
                fingerprint not in found or auth.id == derived_authorization_id(fingerprint)
            ):
                found[fingerprint] = seq, auth
        return found

    def latest_records(
        self, wanted: Iterable[tuple[type[Record], str]], bound: int | None
    ) -> dict[tuple[type[Record], str], tuple[int, Record]]:
        """(type, id) -> (seq, record) of each wanted record current at ``bound`` (ids not
        recorded are left out); one read, whatever the types."""
        keys = list(dict.fromkeys(wanted))
        if not keys:
            return {}
        seqs = ", ".join(last_version(self.TABLES[cls], self.PARAM, bound) for cls, _ in keys)
        sql = f"SELECT seq, type, payload FROM entries WHERE seq IN ({seqs})"
        found: dict[tuple[type[Record], str], tuple[int, Record]] = {}
        for seq, type_name, payload in self._fetch(sql, [id_ for _, id_ in keys]):
            cls = RECORD_BY_NAME[type_name]
            record = self._record(cls, seq, payload)
            found[cls, record.id] = seq, record
        return found

    def bound_accounts(self, bound: int | None, where: Filter) -> Iterator[tuple[str, str]]:
        """Distinct (creator_id, ad_account_id) of current bindings ``where`` keeps, joined to
        the current authorization each binds."""
        bindings, codes = self.TABLES[SparkBinding], self.TABLES[SparkAuthorization]
        params: list[Any] = []
        condition = self._filter(where, bindings, params)
        sql = (
            f"SELECT DISTINCT a.creator_id, v.ad_account_id FROM {bindings.name} v "
            f"JOIN {codes.name} a ON a.id = v.authorization_id "
            f"WHERE {visible(bound, 'v')} AND {visible(bound, 'a')} AND ({condition})"
        )
        return cast(Iterator[tuple[str, str]], self._stream_rows(sql, params))

    def bindings_with_codes(
        self, bound: int | None, binding_columns: Sequence[str], code_columns: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """Every binding current at ``bound`` joined to the authorization current at ``bound``
        it binds: its ``binding_columns`` then the code's ``code_columns``, in no given order
        (bindings of no code are left out)."""
        from .schema import column, known_columns  # schema imports this module

        bindings, codes = self.TABLES[SparkBinding], self.TABLES[SparkAuthorization]
        names_b, names_a = known_columns(bindings), known_columns(codes)
        picked = [column(names_b, c) for c in binding_columns]
        picked += [column(names_a, c).replace("v.", "a.", 1) for c in code_columns]
        sql = (
            f"SELECT {', '.join(picked)} FROM {bindings.name} v "
            f"JOIN {codes.name} a ON a.id = v.authorization_id "
            f"WHERE {visible(bound, 'v')} AND {visible(bound, 'a')}"
        )
        return self._stream_rows(sql, [])

    # --- entries ------------------------------------------------------------------------------

    def _record(self, cls: type[R], seq: int, payload: str) -> R:
        """The record an entry's payload holds; a payload that does not read is damage."""
        try:
            return record_from_json(cls, payload)
        except Exception as exc:  # whatever the converter raises on a damaged payload
            raise NotALedgerError(
                f"{self.path}: seq {seq}: the stored {cls.__name__} cannot be read "
                f"({short(exc)}): the {self.THING} is damaged; run 'delvia-ledger verify "
                f"--deep', and {self.REMEDY}"
            ) from exc

    def entry_from_row(self, row: Sequence[Any]) -> Entry:
        """The entry a (seq, recorded_at, type, payload, hash, payload_hash) row holds, or
        damage."""
        seq, recorded_at, type_name, payload, hash_, payload_hash = row
        cls = RECORD_BY_NAME.get(type_name)
        if cls is None:
            raise NotALedgerError(
                f"{self.path}: seq {seq}: unknown record type {type_name!r}: the {self.THING} "
                f"is damaged; {self.REMEDY}"
            )
        record = self._record(cls, seq, payload)
        try:
            stamp = parse_time(recorded_at)
        except (TypeError, ValueError) as exc:
            raise NotALedgerError(
                f"{self.path}: seq {seq}: recorded_at is not a time ({short(exc)}): the "
                f"{self.THING} is damaged; {self.REMEDY}"
            ) from exc
        source = payload_source(payload) if type(payload) is str else None
        return Entry(
            seq=seq,
            recorded_at=stamp,
            record=record,
            hash=hash_,
            source=source,
            payload=payload,
            payload_hash=payload_hash,
        )

    def _entries(self, where: str, params: Sequence[Any]) -> list[Entry]:
        rows = self._fetch(
            "SELECT seq, recorded_at, type, payload, hash, payload_hash FROM entries "
            f"WHERE {where} ORDER BY seq",
            params,
        )
        return [self.entry_from_row(row) for row in rows]

    def latest(self, cls: type[Record], id_: str, bound: int | None) -> Entry | None:
        """The entry of record ``id_``'s version current at ``bound`` (one index step)."""
        found = self._entries(f"seq = {last_version(self.TABLES[cls], self.PARAM, bound)}", (id_,))
        return found[0] if found else None

    def history(self, cls: type[Record], id_: str, bound: int | None) -> list[Entry]:
        """Every version of record ``id_`` up to ``bound``, oldest first."""
        table, limit = self.TABLES[cls], "" if bound is None else f" AND seq <= {int(bound)}"
        where = f"seq IN (SELECT seq FROM {table.name} WHERE id = {self.PARAM}){limit}"
        return self._entries(where, (id_,))

    def current_with(self, cls: type[R], field: str, bound: int | None = None) -> list[R]:
        """The current records of ``cls`` at ``bound`` whose payload holds ``field``."""
        if not isinstance(field, str) or not field.isidentifier():
            raise ValueError(f"current_with: {field!r} is not a field name")
        table = self.TABLES[cast(type[Record], cls)]
        # A key is the only place the text '"field":' can be: a quote inside a string is
        # escaped ('\"'), so it is never followed by the field's name and a bare quote.
        rows = self._fetch(
            f"SELECT e.seq, e.payload FROM {table.name} v JOIN entries e ON e.seq = v.seq "
            f"WHERE {visible(bound)} AND {self._contains('e.payload')} > 0 ORDER BY v.seq",
            [f'"{field}":'],
        )
        return [self._record(cls, seq, payload) for seq, payload in rows]

    def last_from(
        self, source: str, cls: type[R], ids: Iterable[str], bound: int | None = None
    ) -> dict[str, tuple[R, datetime]]:
        """For each of ``ids``, the last version of record ``cls`` recorded from ``source``
        (one of :data:`~delvia_ledger.chain.SOURCES`) up to ``bound``, and when it was recorded:
        id -> (record, recorded_at). Ids never recorded from ``source`` are left out."""
        if source not in SOURCES:
            raise ValueError(f"last_from: source={source!r} is not one of {', '.join(SOURCES)}")
        table = self.TABLES[cast(type[Record], cls)]
        wanted = list(dict.fromkeys(ids))
        # The key can only be the reserved one: a quote inside a JSON string is escaped.
        marker = f'"_source":"{source}",'
        upto = "" if bound is None else f" AND v.seq <= {int(bound)}"
        found: dict[str, tuple[R, datetime]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join([self.PARAM] * len(chunk))
            rows = self._fetch(
                f"SELECT v.id, e.seq, e.recorded_at, e.payload FROM {table.name} v "
                f"JOIN entries e ON e.seq = v.seq WHERE v.id IN ({marks}){upto} "
                f"AND {self._contains('e.payload')} > 0 ORDER BY e.seq",
                [*chunk, marker],
            )
            for id_, seq, stamp, payload in rows:  # the last one of each id wins
                found[id_] = (self._record(cls, seq, payload), parse_time(stamp))
        return found

    # --- erasure (DESIGN §16) --------------------------------------------------------------------

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one writing statement for each of ``rows`` (inside a transaction)."""
        raise NotImplementedError

    def _has_erasures(self) -> bool:
        """Whether the store has the Erasure table (a read-only file of schema version 3 or
        older, read without migrating, has none, and so no erasure either)."""
        raise NotImplementedError

    def redactions(self) -> dict[int, Redaction]:
        """Every seq an Erasure of the whole ledger names, with what the chain walk needs of
        it (the redacted payloads are what is stored, whatever view is verified)."""
        if not self._has_erasures():
            return {}
        found: dict[int, Redaction] = {}
        try:
            for seq, payload in self._fetch(
                f"SELECT e.seq, e.payload FROM {self.TABLES[Erasure].name} v "
                "JOIN entries e ON e.seq = v.seq AND e.type = 'Erasure' ORDER BY e.seq"
            ):
                try:
                    erasure = record_from_json(Erasure, payload)
                except Exception:  # a damaged Erasure: the chain walk names its seq
                    continue
                for named, digest in erasure.redacted.items():
                    found.setdefault(
                        named, Redaction(seq, erasure.subject_type, erasure.subject_id, digest)
                    )
        except StorageError:
            # a payload the driver cannot even read (not UTF-8): no Erasure is trusted, and the
            # chain walk names the damaged entry (verify never raises)
            pass
        return found

    def can_erase(self) -> bool:
        """Whether the store has what an erasure writes (an unmigrated read-only file has
        not)."""
        return self._has_erasures()

    def any_erasure(self) -> bool:
        """Whether the ledger holds an Erasure (one index step)."""
        return self._has_erasures() and bool(
            self._fetch(f"SELECT 1 FROM {self.TABLES[Erasure].name} LIMIT 1")
        )

    def versions_of(self, cls: type[Record], ids: Iterable[str]) -> list[tuple[int, str, str]]:
        """Every version of the records ``ids`` of ``cls``: (seq, id, stored payload), by seq."""
        table = self.TABLES[cls]
        wanted = list(dict.fromkeys(ids))
        rows: list[tuple[int, str, str]] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join([self.PARAM] * len(chunk))
            rows += cast(
                list[tuple[int, str, str]],
                self._fetch(
                    f"SELECT v.seq, v.id, e.payload FROM {table.name} v JOIN entries e "
                    f"ON e.seq = v.seq WHERE v.id IN ({marks})",
                    chunk,
                ),
            )
        return sorted(rows)

    def redact(self, cls: type[Record], items: Sequence[tuple[int, str]]) -> None:
        """Replace the payloads of entries (seq, redacted payload) of ``cls`` and empty the
        personal columns of their version rows, inside :meth:`transaction`, after the Erasure
        naming them was appended (the stored guards allow nothing else)."""
        assert self._depth, "redact() runs inside transaction()"
        if not items:
            return
        table, personal = self.TABLES[cls], PERSONAL_FIELDS[cls]
        self._execute_many(
            f"UPDATE entries SET payload = {self.PARAM} WHERE seq = {self.PARAM}",
            [(payload, seq) for seq, payload in items],
        )
        self._execute_many(
            f"UPDATE {table.name} SET {', '.join(f'{c} = NULL' for c in personal)} "
            f"WHERE seq = {self.PARAM}",
            [(seq,) for seq, _ in items],
        )

    def _appending(self, entries: int, rows: dict[str, int]) -> None:
        """Told, inside :meth:`transaction`, before ``entries`` entries and ``rows`` version
        rows (by table name) are inserted: SQLite lifts its INSERT guards for a large write
        (checked set-wise before the commit); PostgreSQL's already check once per statement."""

    def _version_row(self, table: VersionTable, row: list[Any], payload: str) -> list[Any]:
        """A version row as the backend stores it (PostgreSQL: enum members as text)."""
        return row

    def append_rows(self, rows: Sequence[ChainRow]) -> None:
        """Append entries exactly as another ledger stores them (``ENTRY_COLUMNS``), with their
        version rows, inside :meth:`transaction`: what a copy writes. Each must take the next
        seq and extend the chain (its ``prev_hash`` and ``hash`` hold): refused otherwise, so
        nothing of a copy that does not verify is kept. A redacted payload (one that no longer
        hashes to its ``payload_hash``) gets its version row's personal columns empty."""
        assert self._depth, "append_rows() runs inside transaction()"
        head = self.head
        entries: list[tuple[Any, ...]] = []
        versions: dict[VersionTable, list[list[Any]]] = {}
        superseded: dict[VersionTable, list[tuple[int, int]]] = {}
        pending: dict[tuple[VersionTable, str], int] = {}
        for seq, stamp, type_, id_, payload, payload_hash, prev_hash, hash_ in rows:
            cls = RECORD_BY_NAME.get(type_)
            if (
                seq != head.seq + 1
                or prev_hash != head.hash
                or stamp < head.recorded_at
                or cls is None
                or chain_hash(prev_hash, seq, stamp, type_, id_, payload_hash) != hash_
            ):
                raise NotALedgerError(
                    f"{self.path}: entry {seq} differs from the source's: it does not extend "
                    f"the chain (expected seq {head.seq + 1} after hash {head.hash[:12]}…; an "
                    "edited export, or an entry written by an older encoder); nothing was kept"
                )
            table = self.TABLES[cls]
            record = self._record(cls, seq, payload)
            row = table.row(seq, record)
            if hashlib.sha256(payload.encode("utf-8")).hexdigest() != payload_hash:
                for name in PERSONAL_FIELDS.get(cls, ()):
                    row[2 + table.columns.index(name)] = None
            entries.append((seq, stamp, type_, id_, payload, payload_hash, prev_hash, hash_))
            versions.setdefault(table, []).append(self._version_row(table, row, payload))
            old = pending.get((table, id_))
            if old is None:
                found = self.current_by(cls, "id", [id_], columns=("seq",))
                old = found[id_][0] if found else None
            if old is not None:
                superseded.setdefault(table, []).append((seq, old))
            pending[(table, id_)] = seq
            head.seq, head.hash, head.recorded_at = seq, hash_, stamp
        self._appending(len(entries), {t.name: len(r) for t, r in versions.items()})
        marks = ", ".join([self.PARAM] * len(ENTRY_COLUMNS))
        self._execute_many(f"INSERT INTO entries VALUES ({marks})", entries)
        for table, table_rows in versions.items():
            names = ", ".join(("seq", "superseded_by", *table.columns))
            marks = ", ".join([self.PARAM] * (len(table.columns) + 2))
            self._execute_many(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", table_rows)
        for table, pairs in superseded.items():
            self._execute_many(
                f"UPDATE {table.name} SET superseded_by = {self.PARAM} WHERE seq = {self.PARAM}",
                pairs,
            )

    def _contains(self, column: str) -> str:
        """SQL for the position of the last parameter's text in ``column`` (0: absent)."""
        return f"instr({column}, {self.PARAM})"

    def digest(self, bound: int | None = None) -> Digest:
        """The chain's (seq, hash) at ``bound`` (None: the tip; 0 and genesis if none)."""
        if bound is None:
            head = self.head
            return Digest(head.seq, head.hash)
        row = self._fetch(f"SELECT seq, hash FROM entries WHERE seq = {self.PARAM}", (bound,))
        return Digest(row[0][0], row[0][1]) if row else Digest(0, GENESIS_HASH)
