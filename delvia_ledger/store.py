"""SQLite persistence: the append-only ``entries`` table, its hash chain, and version tables.

``entries`` is the ledger; each record type also has a ``<type>_versions`` table, one row per
entry with the record's fields as columns, which answers current and as-of reads quickly.
Triggers refuse UPDATE and DELETE of entries, even from raw SQL.
"""

from __future__ import annotations

import bisect
import hashlib
import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from os import PathLike
from typing import Any, TypeVar, cast

import attrs
import sqlite_utils

from .convert import (
    RECORD_BY_NAME,
    canonical_json,
    converter,
    format_time,
    parse_time,
    record_from_json,
    to_micros,
)
from .errors import NotALedgerError
from .records import (
    RECORD_TYPES,
    Creator,
    Notice,
    Post,
    Record,
    RoleGrant,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
)

R = TypeVar("R", bound=Record)

__all__ = ["GENESIS_HASH", "Digest", "Entry", "Store", "VerifyResult", "chain_hash"]

#: The ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
APPLICATION_ID = 0x444C4752  # "DLGR": marks a file as a delvia_ledger database
SCHEMA_VERSION = 2  # 2: SparkBinding and Notice; Creator.tiktok_identity_id; Post.status
ENTRY_COLUMNS = ("seq", "recorded_at", "type", "id", "payload", "payload_hash", "prev_hash", "hash")


def chain_hash(
    prev_hash: str, seq: int, recorded_at: str, type_: str, id_: str, payload_hash: str
) -> str:
    """The ``hash`` of an entry: SHA-256 over its metadata and its payload's hash, one per line.

    >>> chain_hash("0" * 64, 1, "2026-11-24T09:30:00.000000Z", "Creator", "maya", "ab" * 32)[:12]
    '60b8be1f4e48'
    """
    text = f"{prev_hash}\n{seq}\n{recorded_at}\n{type_}\n{id_}\n{payload_hash}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class Entry:
    """One version of one record, as the ledger holds it."""

    seq: int
    recorded_at: datetime
    record: Record
    hash: str


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


@attrs.frozen(eq=False)  # compared and hashed by identity: one instance per record type
class VersionTable:
    """The ``<type>_versions`` table of one record type: which columns, and how to fill them.

    Columns hold the record's fields for fast queries (the record itself is the entry's
    payload): times as integer microseconds since the epoch, a Spark code as ``code_key``,
    the first 64 bits of its fingerprint. Small integer keys keep bulk inserts fast.
    """

    cls: type[Record]
    name: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    times: tuple[int, ...]  # positions of datetime fields
    codes: tuple[int, ...]  # positions of SparkCode fields
    lists: tuple[int, ...]  # positions of tuple fields (stored as canonical JSON text)
    indexes: tuple[tuple[str, ...], ...]

    @classmethod
    def of(
        cls, record_cls: type[Record], indexes: tuple[tuple[str, ...], ...] = ()
    ) -> VersionTable:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", record_cls.__name__).lower()
        fields = attrs.fields(cast(Any, record_cls))
        kinds = [str(f.type) for f in fields]
        codes = tuple(i for i, kind in enumerate(kinds) if "SparkCode" in kind)
        return cls(
            cls=record_cls,
            name=f"{snake}_versions",
            fields=tuple(f.name for f in fields),
            columns=tuple("code_key" if i in codes else f.name for i, f in enumerate(fields)),
            times=tuple(i for i, kind in enumerate(kinds) if "datetime" in kind),
            codes=codes,
            lists=tuple(i for i, kind in enumerate(kinds) if kind.startswith("tuple")),
            indexes=(("id",), *indexes),
        )

    @cached_property
    def type(self) -> str:
        """The record type's name, as the ``entries.type`` column holds it."""
        return self.cls.__name__

    @cached_property
    def insert_sql(self) -> str:
        names = ", ".join(("seq", "superseded_by", *self.columns))
        marks = ",".join("?" * (len(self.columns) + 2))
        return f"INSERT INTO {self.name} ({names}) VALUES ({marks})"

    @cached_property
    def unstructure(self) -> Callable[[Record], dict[str, Any]]:
        """The converter's hook for this record type (``record_to_dict``, looked up once)."""
        return cast(Callable[[Record], dict[str, Any]], converter.get_unstructure_hook(self.cls))

    @cached_property
    def _values(self) -> Callable[[Record], tuple[Any, ...]]:
        return operator.attrgetter(*self.fields)

    def row(self, seq: int, record: Record) -> list[Any]:
        """The table row for an entry: seq, superseded_by (None), then the columns."""
        values = [seq, None, *self._values(record)]
        for i in self.times:
            if values[i + 2] is not None:
                values[i + 2] = to_micros(values[i + 2])
        for i in self.codes:
            values[i + 2] = code_key(values[i + 2].fingerprint)
        for i in self.lists:
            values[i + 2] = canonical_json(list(values[i + 2]))
        return values


def code_key(fingerprint: str) -> int:
    """The first 64 bits of a code's fingerprint, as a signed (two's complement) SQLite integer.

    SQL's ``printf('%016x', code_key)`` gives those 16 hex digits back, which is how the
    code index below recognises an authorization recorded under its derived id.

    >>> fp = "9aa8eccc92a00ea1" + "0" * 48
    >>> hex(code_key(fp) % 2**64)
    '0x9aa8eccc92a00ea1'
    """
    key = int(fingerprint[:16], 16)
    return key - (1 << 64) if key >= 1 << 63 else key


def custom_id_sql(alias: str = "v") -> str:
    """SQL true for an authorization recorded under an id other than the one its code derives.

    Only those need a code index (a partial one): the rest are found by their derived id
    (``records.derived_authorization_id``, which this SQL mirrors), so a bulk import of codes
    maintains one index fewer.
    """
    prefix = f"{alias}." if alias else ""
    return f"{prefix}id != printf('auth_%016x', {prefix}code_key)"


_EXTRA_INDEXES: dict[type[Record], tuple[tuple[str, ...], ...]] = {
    Creator: (("tiktok_identity_id",),),
    SparkAuthorization: (("expires_at",), ("post_id",)),
    SparkBinding: (("ad_account_id",),),
    SparkAd: (("authorization_id",),),
    RoleGrant: (("scope",), ("person_id",)),
    Notice: (("person_id",),),
}

#: One version table per record type, with the indexes the checks need.
TABLES: dict[type[Record], VersionTable] = {
    cls: VersionTable.of(cls, _EXTRA_INDEXES.get(cls, ())) for cls in RECORD_TYPES
}


@attrs.define
class Head:
    """The last entry's seq, hash and recorded_at (the chain's tip)."""

    seq: int
    hash: str
    recorded_at: str


class Store:
    """A ledger file: owns the connection, the schema, the chain and every write."""

    def __init__(self, path: str | PathLike[str]) -> None:
        try:
            self.conn = sqlite3.connect(str(path), timeout=60, isolation_level=None)
            self.db = sqlite_utils.Database(self.conn, execute_plugins=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(
                "PRAGMA cache_size=-131072"
            )  # 128 MiB: bulk imports touch many index pages
            self._depth = 0
            self._head: Head | None = None
            self._ensure_schema(path)
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "conn"):
                self.conn.close()
            raise NotALedgerError(f"{path}: not a delvia_ledger database ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    def backup(self, dest: str | PathLike[str]) -> None:
        """A consistent copy of the whole file at ``dest`` (SQLite's online backup), taken
        while other connections may write."""
        target = sqlite3.connect(dest)
        try:
            self.conn.backup(target)
        finally:
            target.close()

    # --- schema -----------------------------------------------------------------------------

    def _ensure_schema(self, path: str | PathLike[str]) -> None:
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            if version in MIGRATIONS:
                self._migrate(version)
                return
            raise NotALedgerError(
                f"{path}: ledger schema version {version} is not supported "
                f"(this delvia_ledger reads versions 1 to {SCHEMA_VERSION})"
            )
        with self.transaction():
            if self.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                return  # another process created it while we waited for the lock
            if self.db.table_names():
                raise NotALedgerError(
                    f"{path}: this SQLite file already holds other tables and is not a "
                    "delvia_ledger database; give a new file name"
                )
            self._create_schema()

    def _migrate(self, version: int) -> None:
        """Bring an older file up to :data:`SCHEMA_VERSION`, once, in one transaction.

        Entries are never touched: only the derived version tables and the schema change.
        """
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            while version != SCHEMA_VERSION:  # another process may have migrated meanwhile
                MIGRATIONS[version](self)
                version += 1
            self._create_schema()  # idempotent: adds the tables, indexes and guards now missing

    def _migrate_from_1(self) -> None:
        """Version 1 -> 2: new optional columns; creator handles lose their ``@``."""
        self.conn.execute(f"ALTER TABLE {TABLES[Creator].name} ADD COLUMN tiktok_identity_id TEXT")
        self.conn.execute(f"ALTER TABLE {TABLES[Post].name} ADD COLUMN status TEXT")
        # Handles are stored without "@" from version 2 on. The entries keep the text they
        # were recorded with; the derived column follows what reading them back gives.
        creators = TABLES[Creator].name
        self.conn.execute(f"DROP TRIGGER IF EXISTS {creators}_refuse_update")
        self.conn.execute(
            f"UPDATE {creators} SET handle = NULLIF(trim(substr(trim(handle), 2)), '') "
            "WHERE trim(handle) LIKE '@%'"
        )

    def _create_schema(self) -> None:
        """Create every table, index and guard that is missing (safe to run again)."""
        self.db.table("entries").create(
            {column: int if column == "seq" else str for column in ENTRY_COLUMNS},
            pk="seq",
            not_null=set(ENTRY_COLUMNS),
            if_not_exists=True,
        )
        guards = [
            _refuse("entries", "DELETE", "entries are append-only and cannot be deleted"),
            _refuse("entries", "UPDATE", "entries are append-only and cannot be changed"),
        ]
        for table in TABLES.values():
            self.db.table(table.name).create(
                {
                    "seq": int,
                    "superseded_by": int,
                    **{
                        column: int if i in table.times or i in table.codes else str
                        for i, column in enumerate(table.columns)
                    },
                },
                pk="seq",
                not_null={"id"},
                if_not_exists=True,
            )
            for columns in table.indexes:
                self.db.table(table.name).create_index(columns, if_not_exists=True)
            if table.codes:  # a partial index: sqlite-utils' create_index has no WHERE
                self.db.execute(
                    f"CREATE INDEX IF NOT EXISTS idx_{table.name}_custom_code_key ON {table.name} "
                    f"(code_key) WHERE {custom_id_sql('')}"
                )
            fixed = ", ".join(c for c in ("seq", *table.columns))
            guards += [
                _refuse(table.name, "DELETE", f"{table.name} rows cannot be deleted"),
                _refuse(table.name, f"UPDATE OF {fixed}", f"{table.name} rows cannot be changed"),
                _refuse(
                    table.name,
                    "UPDATE OF superseded_by",
                    f"{table.name}: a superseded version stays superseded",
                    when="OLD.superseded_by IS NOT NULL",
                ),
            ]
        for guard in guards:  # one by one: executescript would commit the transaction
            self.conn.execute(guard)
        self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # --- transactions and the chain head ------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; the outermost takes the write lock at once, nested ones join it."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
                self._head = None
        else:
            saved = attrs.evolve(self._head) if self._head else None
            self._depth += 1
            try:
                with self.db.atomic():  # a savepoint: a refused inner block leaves the outer intact
                    yield
            except BaseException:
                self._head = saved
                raise
            finally:
                self._depth -= 1

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the file, even while other processes write to it.

        A deferred read transaction; inside a write transaction (or another snapshot) the
        state is already fixed, so it joins that.
        """
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")  # read-only: just lets the snapshot go

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _read_head(self) -> Head:
        row = self.conn.execute(
            "SELECT seq, hash, recorded_at FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return Head(*row) if row else Head(0, GENESIS_HASH, "")

    @property
    def head(self) -> Head:
        """The chain's tip (inside a write transaction: including what it has appended)."""
        if self._head is not None:
            return self._head
        head = self._read_head()
        if self._depth:  # under the write lock the tip only moves through append()
            self._head = head
        return head

    # --- writing ------------------------------------------------------------------------------

    def append(
        self,
        items: Sequence[tuple[VersionTable, Record, str, int | None]],
        recorded_at: datetime,
    ) -> tuple[str, list[str]]:
        """Append entries (table, record, payload, seq of the version it supersedes).

        Must run inside :meth:`transaction`. The entries take the next seqs in order
        (``head.seq + 1``, ...); returns their ``recorded_at`` text and their hashes.
        """
        assert self._depth, "append() runs inside Store.transaction()"
        head = self.head
        stamp = max(format_time(recorded_at), head.recorded_at)  # never decreasing
        sha256 = hashlib.sha256
        entries: list[tuple[Any, ...]] = []
        versions: dict[VersionTable, list[list[Any]]] = {}
        superseded: dict[VersionTable, list[tuple[int, int]]] = {}
        hashes: list[str] = []
        seq, prev = head.seq, head.hash
        for table, record, payload, old_seq in items:
            seq += 1
            payload_hash = sha256(payload.encode("utf-8")).hexdigest()
            prev_hash = prev
            prev = chain_hash(prev_hash, seq, stamp, table.type, record.id, payload_hash)
            entries.append(
                (seq, stamp, table.type, record.id, payload, payload_hash, prev_hash, prev)
            )
            hashes.append(prev)
            versions.setdefault(table, []).append(table.row(seq, record))
            if old_seq is not None:
                superseded.setdefault(table, []).append((seq, old_seq))
        self.conn.executemany(f"INSERT INTO entries VALUES ({','.join('?' * 8)})", entries)
        for table, rows in versions.items():
            self.conn.executemany(table.insert_sql, rows)
        for table, pairs in superseded.items():
            self.conn.executemany(f"UPDATE {table.name} SET superseded_by = ? WHERE seq = ?", pairs)
        head.seq, head.hash, head.recorded_at = seq, prev, stamp
        return stamp, hashes

    # --- reading ------------------------------------------------------------------------------

    @staticmethod
    def visible(bound: int | None, alias: str = "v") -> str:
        """SQL that keeps the versions current at ``bound`` (None: current now)."""
        if bound is None:
            return f"{alias}.superseded_by IS NULL"
        return (
            f"{alias}.seq <= {int(bound)} AND "
            f"({alias}.superseded_by IS NULL OR {alias}.superseded_by > {int(bound)})"
        )

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query and return plain tuples (the fast path for checks)."""
        return self.conn.execute(sql, params).fetchall()

    def lookup(
        self,
        table: VersionTable,
        values: Iterable[Any],
        *,
        by: str = "id",
        columns: str = "v.seq",
        where: str = "1",
    ) -> dict[Any, tuple[Any, ...]]:
        """Current versions whose ``by`` column is one of ``values``: value -> ``columns``.

        ``v`` is the version table and ``e`` its entry, e.g. ``columns="v.seq, e.payload"``;
        ``where`` narrows the rows further (SQL over ``v``).
        """
        found: dict[Any, tuple[Any, ...]] = {}
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT v.{by}, {columns} FROM {table.name} v JOIN entries e ON e.seq = v.seq "
                f"WHERE v.{by} IN ({marks}) AND {where} AND v.superseded_by IS NULL",
                chunk,
            ):
                found[row[0]] = row[1:]
        return found

    def current_records(
        self, cls: type[R], by: str, values: Iterable[Any], where: str = "1"
    ) -> list[R]:
        """The current records of type ``cls`` whose column ``by`` is one of ``values``.

        ``where`` narrows the rows further (SQL over ``v``, the version table).
        """
        table, found = TABLES[cast(type[Record], cls)], []
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for (payload,) in self.conn.execute(
                f"SELECT e.payload FROM {table.name} v JOIN entries e ON e.seq = v.seq "
                f"WHERE v.{by} IN ({','.join('?' * len(chunk))}) AND {where} "
                "AND v.superseded_by IS NULL",
                chunk,
            ):
                found.append(record_from_json(cls, payload))
        return found

    def _entries(self, where: str, params: Sequence[Any]) -> list[Entry]:
        return [
            self.entry_from_row(row)
            for row in self.conn.execute(
                "SELECT seq, recorded_at, type, payload, hash FROM entries "
                f"WHERE {where} ORDER BY seq",
                params,
            )
        ]

    @staticmethod
    def entry_from_row(row: Sequence[Any]) -> Entry:
        seq, recorded_at, type_name, payload, hash_ = row
        record = record_from_json(RECORD_BY_NAME[type_name], payload)
        return Entry(seq=seq, recorded_at=parse_time(recorded_at), record=record, hash=hash_)

    def latest(self, cls: type[Record], id_: str, bound: int | None) -> Entry | None:
        table = TABLES[cls]
        found = self._entries(
            f"seq = (SELECT v.seq FROM {table.name} v WHERE v.id = ? AND {self.visible(bound)})",
            (id_,),
        )
        return found[0] if found else None

    def history(self, cls: type[Record], id_: str, bound: int | None) -> list[Entry]:
        table = TABLES[cls]
        limit = "" if bound is None else f" AND seq <= {int(bound)}"
        return self._entries(f"seq IN (SELECT seq FROM {table.name} WHERE id = ?){limit}", (id_,))

    def current_entries(self, cls: type[Record], bound: int | None) -> Iterator[Entry]:
        """The entry of every record of type ``cls`` visible at ``bound``, by id, streamed."""
        yield from self._stream(
            "SELECT e.seq, e.recorded_at, e.type, e.payload, e.hash "
            f"FROM {TABLES[cls].name} v JOIN entries e ON e.seq = v.seq "
            f"WHERE {self.visible(bound)} ORDER BY v.id"
        )

    def entries(self, bound: int | None = None) -> Iterator[Entry]:
        """Every entry, oldest first, streamed."""
        yield from self._stream(
            "SELECT seq, recorded_at, type, payload, hash FROM entries"
            + ("" if bound is None else f" WHERE seq <= {int(bound)}")
            + " ORDER BY seq"
        )

    def _stream(self, sql: str) -> Iterator[Entry]:
        cursor = self.conn.execute(sql)
        while rows := cursor.fetchmany(2000):
            yield from map(self.entry_from_row, rows)

    def seq_at(self, recorded_at: datetime) -> int:
        """The last seq recorded at or before ``recorded_at`` (0 if none): a binary search."""
        stamp = format_time(recorded_at)
        last = self.head.seq
        return bisect.bisect_right(range(1, last + 1), stamp, key=self._recorded_at_of)

    def _recorded_at_of(self, seq: int) -> str:
        row = self.conn.execute("SELECT recorded_at FROM entries WHERE seq = ?", (seq,)).fetchone()
        return str(row[0]) if row else ""

    # --- integrity ----------------------------------------------------------------------------

    def digest(self, bound: int | None = None) -> Digest:
        if bound is None:
            head = self.head
            return Digest(head.seq, head.hash)
        row = self.conn.execute("SELECT seq, hash FROM entries WHERE seq = ?", (bound,)).fetchone()
        return Digest(row[0], row[1]) if row else Digest(0, GENESIS_HASH)

    def verify(self, digest: Digest | None = None, bound: int | None = None) -> VerifyResult:
        """Check every link of the chain; name the first entry that does not hold."""
        expected_seq, prev = 1, GENESIS_HASH
        anchored = digest is None or digest.seq == 0
        if digest is not None and digest.seq == 0 and digest.hash != GENESIS_HASH:
            return VerifyResult(False, 0, 1, "the digest for seq 0 must carry the genesis hash")
        sha256 = hashlib.sha256
        cursor = self.conn.execute(
            "SELECT seq, recorded_at, type, id, payload, payload_hash, prev_hash, hash "
            "FROM entries"
            + ("" if bound is None else f" WHERE seq <= {int(bound)}")
            + " ORDER BY seq"
        )
        checked = 0
        while rows := cursor.fetchmany(5000):
            for seq, recorded_at, type_, id_, payload, payload_hash, prev_hash, hash_ in rows:
                problem = None
                if seq != expected_seq:
                    problem = f"entry {expected_seq} is missing (next entry is {seq})"
                    seq = expected_seq
                elif prev_hash != prev:
                    problem = "prev_hash does not match the previous entry's hash"
                elif sha256(payload.encode("utf-8")).hexdigest() != payload_hash:
                    problem = "payload does not match its payload_hash"
                elif chain_hash(prev, seq, recorded_at, type_, id_, payload_hash) != hash_:
                    problem = "hash does not match the entry's contents"
                if problem:
                    return VerifyResult(False, checked, seq, f"seq {seq}: {problem}")
                if digest is not None and seq == digest.seq:
                    if hash_ != digest.hash:
                        return VerifyResult(
                            False, checked, seq, f"seq {seq}: hash differs from the saved digest"
                        )
                    anchored = True
                prev, expected_seq = hash_, seq + 1
                checked += 1
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

    def verify_versions(self, bound: int | None = None) -> VerifyResult:
        """Check that the version tables hold exactly what the entries say (``deep=True``).

        The checks read these tables, so a row edited behind the triggers' back would change
        what is flagged while the chain still verifies. Each entry's row is derived again as
        :meth:`append` derives it; each ``superseded_by`` must name the id's next version; and
        no row may exist that an entry of its type did not make. Run it inside one snapshot.
        """
        upto = "" if bound is None else f" AND v.seq <= {int(bound)}"
        problems: list[tuple[int, str]] = []
        checked = self._walk_versions(upto, problems)  # first: at a tie, its reason is kept
        for table in TABLES.values():
            stray = self.conn.execute(
                f"SELECT min(v.seq) FROM {table.name} v LEFT JOIN entries e ON e.seq = v.seq "
                f"WHERE (e.seq IS NULL OR e.type != ?){upto}",
                (table.type,),
            ).fetchone()[0]
            if stray is not None:
                problems.append((stray, f"{table.name} has a row no {table.type} entry made"))
            wrong = self.conn.execute(  # the next version: the id's next row an entry made
                f"SELECT min(v.seq) FROM {table.name} v WHERE v.superseded_by IS NOT ("
                f"SELECT min(w.seq) FROM {table.name} w JOIN entries e ON e.seq = w.seq "
                f"WHERE w.id = v.id AND w.seq > v.seq AND e.type = ?){upto}",
                (table.type,),
            ).fetchone()[0]
            if wrong is not None:
                problems.append(
                    (wrong, f"{table.name}: superseded_by does not name the next version")
                )
        if problems:  # the chain verified (no gaps), so entries before the first bad seq are fine
            seq, problem = min(problems, key=lambda found: found[0])
            return VerifyResult(False, min(seq - 1, checked), seq, f"seq {seq}: {problem}")
        return VerifyResult(True, checked)

    def _walk_versions(self, upto: str, problems: list[tuple[int, str]]) -> int:
        """Compare each entry with its version row, up to the first that differs."""
        cursors = {
            table.type: self.conn.execute(
                f"SELECT seq, superseded_by, {', '.join(table.columns)} FROM {table.name} v "
                f"WHERE 1{upto} ORDER BY seq"
            )
            for table in TABLES.values()
        }
        ahead: dict[str, tuple[Any, ...] | None] = {t: next(c, None) for t, c in cursors.items()}
        checked = 0
        entries = self.conn.execute(
            f"SELECT seq, type, payload FROM entries v WHERE 1{upto} ORDER BY seq"
        )
        for seq, type_, payload in entries:
            if type_ not in cursors:
                problems.append((seq, f"unknown record type {type_!r}"))
                break
            table = TABLES[RECORD_BY_NAME[type_]]
            row = ahead[type_]
            while row is not None and row[0] < seq:  # a stray row: reported above
                row = next(cursors[type_], None)
            if row is None or row[0] != seq:
                problems.append((seq, f"{table.name} has no row for this entry"))
                break
            ahead[type_] = next(cursors[type_], None)
            try:
                expected = table.row(seq, record_from_json(table.cls, payload))
            except (ValueError, TypeError, KeyError) as exc:
                problems.append((seq, f"the payload is not a valid {type_}: {exc}"))
                break
            differs = [
                c for c, a, b in zip(table.columns, row[2:], expected[2:], strict=True) if a != b
            ]
            if differs:
                problems.append((seq, f"{table.name}.{differs[0]} differs from the entry"))
                break
            checked += 1
        return checked


#: How to bring a file of each older schema version one version up.
MIGRATIONS: dict[int, Callable[[Store], None]] = {1: Store._migrate_from_1}


def _refuse(table: str, event: str, message: str, when: str | None = None) -> str:
    condition = f" WHEN {when}" if when else ""
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{event.split()[0].lower()}"
        f"{'_superseded' if 'superseded_by' in event else ''} BEFORE {event} ON {table}{condition} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
    )
