"""PostgreSQL storage: the same ``entries``, hash chain and version tables as the SQLite file, on
a server that writers on many hosts share (psycopg 3: ``pip install 'delvia-ledger[postgres]'``).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import math
import re
import urllib.parse
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from ..chain import (
    ENTRY_COLUMNS,
    ChainRow,
    Digest,
    Entry,
    Head,
    VerifyResult,
    chain_hash,
    walk_chain,
)
from ..collector import collector_paused
from ..convert import RECORD_BY_NAME, format_time, parse_time
from ..errors import LedgerBusyError, NotALedgerError, StorageError, docs_url
from ..records import (
    DERIVED_ID_DIGITS,
    DERIVED_ID_PREFIX,
    PERSONAL_FIELDS,
    AccessReview,
    Erasure,
    PendingInvite,
    Person,
    Record,
    RoleGrant,
    SparkAuthorization,
)
from . import DEFAULT_BUSY_TIMEOUT, schema
from .filters import After, All, AnyOf, AtMost, CustomId, Equals, Filter, Missing, Not, OneOf
from .schema import TABLES, VersionTable
from .sql import SqlReads, last_version, visible
from .sql import short as _short
from .sqlite import APPLICATION_ID, RETIREMENT_COLUMNS

if TYPE_CHECKING:
    import psycopg

R = TypeVar("R", bound=Record)

__all__ = ["URL_SCHEMES", "PostgresStore", "is_postgres_url", "redacted"]

#: How a ledger's location says it is on a PostgreSQL server.
URL_SCHEMES = ("postgresql://", "postgres://")
#: The schema version of a PostgreSQL ledger (``ledger_schema``). SQLite's file format went on
#: to 8 alone (its sparse columns' partial indexes); PostgreSQL's schema did not change, so its
#: tables' owner has nothing to run.
SCHEMA_VERSION = 7
#: Rows read per round trip by the streamed reads and the chain walk.
PAGE = 5000
_DAMAGED = "restore it from a backup (pg_dump), or ask whoever keeps its saved digest"
_INSTALL = "pip install 'delvia-ledger[postgres]'"


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL ledger (``postgresql://`` or ``postgres://``).

    >>> is_postgres_url("postgresql://app@db.internal/access"), is_postgres_url("access.db")
    (True, False)
    """
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def redacted(url: str) -> str:
    """``url`` without its password (in the user part or in the query), for messages and logs.

    Split as libpq splits a URI, not as ``urllib`` does: the user part ends at the ``@`` before
    the host, so a password holding ``/ ? # : %`` (a base64 one, say) is hidden whole; a
    password libpq itself could not read (a raw ``/`` or ``@``) is hidden up to the host too.

    >>> redacted("postgresql://app:s3cret@db.internal:5432/access?sslmode=require&password=x")
    'postgresql://app@db.internal:5432/access?sslmode=require'
    >>> redacted("postgresql://app:ab/c?d#e+f==@db.internal/access")
    'postgresql://app@db.internal/access'
    """
    scheme, hidden, rest = _split_credentials(url)
    if hidden is not None:
        user = hidden.partition(":")[0]
        scheme += f"{user if user and not set(user) & set('/?#@') else '…'}@"
    path, mark, query = rest.partition("?")
    kept = "&".join(pair for pair in query.split("&") if pair and not _is_password(pair))
    return scheme + path + (f"?{kept}" if mark and kept else "")


def _split_credentials(url: str) -> tuple[str, str | None, str]:
    """(``scheme://``, the user part to hide or None, the rest from the host on)."""
    prefix = next((p for p in URL_SCHEMES if url.lower().startswith(p)), "")
    rest = url[len(prefix) :]
    at = rest.find("@")
    if at == -1:
        return url[: len(prefix)], None, rest
    slash = rest.find("/", at)
    last = rest.rfind("@", 0, len(rest) if slash == -1 else slash)
    return url[: len(prefix)], rest[:last], rest[last + 1 :]


def _is_password(pair: str) -> bool:
    return urllib.parse.unquote(pair.partition("=")[0]).strip().lower() == "password"


def _secrets(url: str) -> list[str]:
    """The password(s) ``url`` holds, as typed and as decoded (and the pieces libpq would make
    of one it cannot read): never to be shown."""
    _, hidden, rest = _split_credentials(url)
    found = []
    if hidden is not None and ":" in hidden:
        password = hidden.partition(":")[2]
        found += [password, urllib.parse.unquote(password)]
        found += [piece for piece in re.split(r"[/@:?#]", password) if len(piece) >= 4]
    for pair in rest.partition("?")[2].split("&"):
        if _is_password(pair):
            value = pair.partition("=")[2]
            found += [value, urllib.parse.unquote(value)]
    return sorted({s for s in found if s}, key=len, reverse=True)


def _driver(location: str) -> Any:
    """The psycopg module, imported only when a PostgreSQL ledger is opened."""
    try:
        import psycopg
    except ImportError as exc:
        raise StorageError(
            f"{location}: a PostgreSQL ledger needs the psycopg driver, which is not "
            f"installed: {_INSTALL}"
        ) from exc
    return psycopg


def _pg_value(value: Any) -> Any:
    """A version-table value as PostgreSQL holds it: an enum member as its text; text with
    NUL characters (which PostgreSQL text cannot hold) with U+FFFD in their place.

    The entry's payload keeps the record exactly (JSON escapes NUL); only the query columns,
    which no filter compares with NUL, differ.
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _enum_positions(table: VersionTable) -> tuple[int, ...]:
    """Where ``table.row`` holds an enum member (after seq and superseded_by)."""
    kinds = [str(field.type) for field in attrs.fields(cast(Any, table.cls))]
    return tuple(i + 2 for i, kind in enumerate(kinds) if "enum" in kind)


_ENUMS = {table: _enum_positions(table) for table in TABLES.values()}


def _pg_row(table: VersionTable, row: list[Any], payload: str) -> list[Any]:
    """:func:`_pg_value` of each value of a version row, doing only what the row needs: its
    payload is JSON, which holds a NUL character of any field as ``\\u0000``."""
    if "\\u0000" in payload:
        return [_pg_value(value) for value in row]
    for i in _ENUMS[table]:
        if row[i] is not None:
            row[i] = row[i].value
    return row


class PostgresStore(SqlReads):
    """A ledger in one schema of a PostgreSQL database: owns the connection and every write.

    Every error of the driver leaves this class as a :class:`StorageError` (a lock wait past
    ``busy_timeout`` as :class:`LedgerBusyError`); the URL's password never appears in one.
    The reads it shares with SQLite are :class:`~delvia_ledger.storage.sql.SqlReads`'.
    """

    PARAM, THING, REMEDY, TABLES = "%s", "ledger", _DAMAGED, TABLES

    def __init__(self, url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        if not is_postgres_url(url):
            raise ValueError("a PostgreSQL ledger is named by a postgresql:// URL")
        if (
            not isinstance(busy_timeout, int | float)
            or isinstance(busy_timeout, bool)
            or not math.isfinite(busy_timeout)
            or busy_timeout < 0
        ):
            raise ValueError(f"busy_timeout must be a number of seconds >= 0, not {busy_timeout!r}")
        self.busy_timeout = float(busy_timeout)
        self.path = redacted(url)
        self._secrets = _secrets(url)
        self._progress: Callable[[int], object] | None = None
        self._depth = 0
        self._head: Head | None = None
        self._cursors = 0  # server-side cursors opened, for their names
        self._pg = _driver(self.path)
        self._driver_errors: tuple[type[BaseException], ...] = (self._pg.Error,)
        try:
            given = self._pg.conninfo.conninfo_to_dict(url)
            defaults = {"connect_timeout": 10, "application_name": "delvia_ledger"}
            self.conn: psycopg.Connection[tuple[Any, ...]] = self._pg.connect(
                url, autocommit=True, **{k: v for k, v in defaults.items() if k not in given}
            )
        except self._driver_errors as exc:
            raise self.error(exc, connecting=True) from None
        try:
            # A lock wait of 0 would wait forever in PostgreSQL: the shortest it allows instead.
            self._run(f"SET lock_timeout = {max(1, round(self.busy_timeout * 1000))}")
            schema = self._one("SELECT current_schema()")
            if schema is None:
                raise StorageError(
                    f"{self.path}: the connection has no schema to keep the ledger in (an empty "
                    "search_path): set one, e.g. ?options=-csearch_path%3Daccess"
                )
            self.schema = str(schema)
            self._lock_key = int(self._one("SELECT hashtext(current_schema())"))
            self._ensure_schema()
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, self._driver_errors):
                raise self.error(exc) from None
            raise

    def __repr__(self) -> str:
        return f"<PostgresStore {self.path} schema={self.schema!r}>"

    def close(self) -> None:
        self.conn.close()

    def backup(self, dest: object) -> None:
        raise StorageError(
            f"{self.path}: Ledger.backup copies SQLite files; back a PostgreSQL ledger up with "
            f"pg_dump, or copy it to a file with 'delvia-ledger copy URL {dest}'"
        )

    # --- errors -------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, exc: BaseException, *, connecting: bool = False) -> StorageError:
        """The :class:`StorageError` that says what a driver's error means (no password)."""
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None)  # without the CONTEXT lines
        detail = self._clean(_short(primary or exc).strip())
        state = getattr(diag, "sqlstate", None) or ""
        where = self.path
        if connecting:
            return StorageError(
                f"{where}: cannot connect to the PostgreSQL server ({detail}); check the host, "
                "port, database, user and password in the URL, and that the server is running"
            )
        if state in ("55P03", "40001", "40P01"):  # lock timeout, serialization, deadlock
            return LedgerBusyError(
                f"{where}: the ledger is locked by another writer, which held it past the busy "
                f"timeout ({self.busy_timeout:g} s); nothing was written: try again once it has "
                "finished"
            )
        if state == "P0001":  # one of the ledger's triggers refused the change
            return StorageError(f"{where}: the database refused the change: {detail}")
        if state.startswith("42501"):
            return StorageError(
                f"{where}: the database role may not do this ({detail}); an application role "
                f"needs SELECT and INSERT on the ledger's tables (see {docs_url('postgres')})"
            )
        if state in ("53100", "53200"):
            return StorageError(
                f"{where}: the database server is out of space or memory ({detail}); nothing "
                "was written"
            )
        if isinstance(exc, self._pg.InterfaceError | self._pg.OperationalError) and (
            self.conn.closed if hasattr(self, "conn") else False
        ):
            return StorageError(
                f"{where}: the ledger is closed, or its connection to the server was lost "
                f"({detail}); open it again with Ledger.open"
            )
        return StorageError(f"{where}: the PostgreSQL ledger could not be used ({detail})")

    # --- plain statements ---------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.conn.execute(sql, params)

    def _one(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _all(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._all(sql, params)
        except self._driver_errors as exc:
            raise self.error(exc) from None

    def _filter(self, where: Filter, table: VersionTable, params: list[Any]) -> str:
        return _filter_sql(where, schema.known_columns(table), params)

    def _contains(self, column: str) -> str:
        return f"strpos({column}, %s)"

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(sql, rows)
        except self._driver_errors as exc:
            raise self.error(exc) from None

    def _version_row(self, table: VersionTable, row: list[Any], payload: str) -> list[Any]:
        return _pg_row(table, row, payload)

    def _has_erasures(self) -> bool:
        return True  # every PostgreSQL ledger this version opens is of schema version 4

    @contextmanager
    def erasing(self) -> Iterator[None]:
        """Nothing more to do here: the old row versions stay in the table's files until
        VACUUM FULL rewrites them (see docs/privacy.md)."""
        yield

    # --- schema -------------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        """Use the ledger in the connection's schema; create it there if it has none."""
        if self._version() == SCHEMA_VERSION:
            return
        with self.transaction():  # the lock: two processes creating it at once make one
            version = self._version()
            if version == SCHEMA_VERSION:
                return
            made = self._one(f"SELECT to_regclass('{TABLES[AccessReview].name}')") is not None
            tables = [] if made else _access_tables()
            steps: list[str] = []
            if version == 3:  # the owner's connection upgrades it, once
                steps = [*_retirement_columns(), *_access_columns(), *tables, *migration_from_3()]
            elif version in (4, 5):
                steps = migration_from_4() if version == 4 else []
                steps += migration_from_5(not made)
            if version in (3, 4, 5, 6):  # every path ends with version 6 -> 7
                if steps:  # the older steps' guards may name the column version 7 adds
                    self._run(";\n".join([_chat_id_column(), *steps]))
                self._run(";\n".join(migration_from_6(self._guard_triggers())))
                return
            if version is not None:
                raise NotALedgerError(
                    f"{self.path}: ledger schema version {version} in schema {self.schema!r} is "
                    f"not supported (this delvia_ledger reads version {SCHEMA_VERSION})"
                )
            if self._one("SELECT to_regclass('entries')") is not None:
                raise NotALedgerError(
                    f"{self.path}: schema {self.schema!r} already holds a table named entries "
                    "that is not a delvia_ledger's; keep the ledger in a schema of its own "
                    "(?options=-csearch_path%3Daccess)"
                )
            self._run(";\n".join(schema_sql()))  # one round trip

    def _guard_triggers(self) -> list[tuple[str, str]]:
        """(trigger, table) of every trigger on the ledger's tables in this schema, whatever
        its name: what :func:`migration_from_6` drops before making the guards again."""
        tables = ["entries", "ledger_schema", *(t.name for t in TABLES.values())]
        rows = self._all(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace "
            "AND c.relname = ANY(%s) ORDER BY c.relname, t.tgname",
            (tables,),
        )
        return [(str(name), str(table)) for name, table in rows]

    def _version(self) -> int | None:
        if self._one("SELECT to_regclass('ledger_schema')") is None:
            return None
        row = self._all("SELECT application_id, schema_version FROM ledger_schema")
        if len(row) != 1 or row[0][0] != APPLICATION_ID:
            raise NotALedgerError(
                f"{self.path}: schema {self.schema!r} holds a table ledger_schema that is not "
                "a delvia_ledger's; keep the ledger in a schema of its own"
            )
        return int(row[0][1])

    # --- transactions and the chain head ------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; the outermost takes the ledger's write lock at once (an advisory
        lock for this schema, held until it ends), nested ones are savepoints.

        Readers are never blocked. A driver error inside rolls back and is raised as a
        :class:`StorageError`.
        """
        if self._depth == 0:
            try:
                self._run("BEGIN ISOLATION LEVEL READ COMMITTED")
                self._run("SELECT pg_advisory_xact_lock(%s, %s)", (APPLICATION_ID, self._lock_key))
            except self._driver_errors as exc:
                self._end("ROLLBACK")
                raise self.error(exc) from None
            self._depth = 1
            try:
                yield
                self._run("COMMIT")
            except BaseException as exc:
                self._end("ROLLBACK")
                if isinstance(exc, self._driver_errors):
                    raise self.error(exc) from None
                raise
            finally:
                self._depth = 0
                self._head = None
        else:
            saved = attrs.evolve(self._head) if self._head else None
            name = f"delvia_{self._depth}"
            self._depth += 1
            try:
                self._run(f"SAVEPOINT {name}")
                yield
                self._run(f"RELEASE SAVEPOINT {name}")
            except BaseException as exc:
                self._head = saved
                self._end(f"ROLLBACK TO SAVEPOINT {name}")
                if isinstance(exc, self._driver_errors):
                    raise self.error(exc) from None
                raise
            finally:
                self._depth -= 1

    def _end(self, how: str) -> None:
        try:
            if self._in_server_transaction():
                self._run(how)
        except self._driver_errors:
            pass  # the error that brought us here, if any, is the one to report

    def _in_server_transaction(self) -> bool:
        status = self.conn.info.transaction_status
        return bool(status != self._pg.pq.TransactionStatus.IDLE)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the ledger while other hosts write (a REPEATABLE READ,
        READ ONLY transaction); inside a transaction or another snapshot, joins it."""
        try:
            joined = self._in_server_transaction()
            if not joined:
                self._run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except self._driver_errors as exc:
            raise self.error(exc) from None
        try:
            yield
        except self._driver_errors as exc:
            raise self.error(exc) from None
        finally:
            if not joined:
                self._end("COMMIT")

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    # --- writing ------------------------------------------------------------------------------

    def append(
        self,
        items: Sequence[tuple[VersionTable, Record, str, int | None]],
        recorded_at: datetime,
    ) -> tuple[str, list[str]]:
        """Append entries (table, record, payload, seq of the version it supersedes).

        Must run inside :meth:`transaction`; the entries take the next seqs in order. Rows go
        in with ``COPY`` (faster than batched INSERTs here: see benchmarks/bench_postgres.py).
        """
        assert self._depth, "append() runs inside PostgresStore.transaction()"
        head = self.head
        stamp = max(format_time(recorded_at), head.recorded_at)  # never decreasing
        sha256 = hashlib.sha256
        entries: list[tuple[Any, ...]] = []
        versions: dict[VersionTable, list[list[Any]]] = {}
        superseded: dict[VersionTable, tuple[list[int], list[int]]] = {}
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
            versions.setdefault(table, []).append(_pg_row(table, table.row(seq, record), payload))
            if old_seq is not None:
                pair = superseded.setdefault(table, ([], []))
                pair[0].append(seq)
                pair[1].append(old_seq)
        try:
            self._copy("entries", ENTRY_COLUMNS, entries)
            for table, rows in versions.items():
                self._copy(table.name, ("seq", "superseded_by", *table.columns), rows)
            for table, (new, old) in superseded.items():
                self._run(
                    f"UPDATE {table.name} AS v SET superseded_by = s.new FROM unnest("
                    "%s::bigint[], %s::bigint[]) AS s(new, old) WHERE v.seq = s.old",
                    (new, old),
                )
        except self._driver_errors as exc:
            raise self.error(exc) from None
        head.seq, head.hash, head.recorded_at = seq, prev, stamp
        return stamp, hashes

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)

    # --- reading ------------------------------------------------------------------------------

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
        """The SQL and parameters of a read of ``cls``'s current versions (as SQLite's)."""
        table = TABLES[cls]
        names = schema.known_columns(table)
        picked = ", ".join(schema.column(names, c) for c in columns)
        params: list[Any] = []
        ids, rest = schema.ids_wanted(where)
        head = f"SELECT {'DISTINCT ' if distinct else ''}{picked}"
        if ids is not None:
            params.append([_pg_value(i) for i in ids])
            sql = (
                f"{head} FROM unnest(%s::text[]) WITH ORDINALITY AS j(value, n) JOIN "
                f"{table.name} v ON v.seq = {last_version(table, 'j.value', bound)}"
            )
        else:
            sql = f"{head} FROM {table.name} v"
        if "e." in picked:
            sql += " JOIN entries e ON e.seq = v.seq"
        if ids is not None and since is not None:
            raise ValueError("current_rows: since= reads every version, not one per id")
        conditions = [] if ids is not None else [visible(bound, since=since)]
        if rest is not None:
            conditions.append(f"({_filter_sql(rest, names, params)})")
        if conditions:
            sql += f" WHERE {' AND '.join(conditions)}"
        # Ties (and reads with no order) come in SQLite's order: that of the ids asked for,
        # else of the seqs; so both backends give the same lists, ties included.
        order = [schema.column(names, c) for c in order_by]
        if not distinct:
            order.append("j.n" if ids is not None else "v.seq")
        if order:
            sql += " ORDER BY " + ", ".join(order)
        return sql, params

    def _stream_rows(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """Rows of a query: inside a transaction through a server-side cursor, a page at a
        time (other queries may run between pages); outside one, read at once."""
        try:
            if not self._in_server_transaction():
                return iter(self._all(sql, params))
            self._cursors += 1
            cursor = self.conn.cursor(name=f"delvia_rows_{self._cursors}")
            cursor.itersize = PAGE
            cursor.execute(sql, params)
        except self._driver_errors as exc:
            raise self.error(exc) from None
        return self._translated(cursor)

    def _translated(self, cursor: psycopg.ServerCursor[tuple[Any, ...]]) -> Iterator[Any]:
        try:
            yield from cursor
        except self._driver_errors as exc:
            raise self.error(exc) from None
        finally:
            with contextlib.suppress(*self._driver_errors):  # its transaction may have ended
                cursor.close()

    def current_entries(self, cls: type[Record], bound: int | None) -> Iterator[Entry]:
        """The entry of every record of type ``cls`` visible at ``bound``, by id, streamed.

        Read a page at a time (by id), so other reads may run between pages; the bound is
        fixed first, so the pages show one state.
        """
        bound = self.head.seq if bound is None else bound
        select = (
            "SELECT v.id, e.seq, e.recorded_at, e.type, e.payload, e.hash, e.payload_hash "
            f"FROM {TABLES[cls].name} v JOIN entries e ON e.seq = v.seq "
            f"WHERE {visible(bound)} AND v.id > %s ORDER BY v.id LIMIT {PAGE}"
        )
        after = ""
        while True:
            try:
                rows = self._all(select, (after,))
            except self._driver_errors as exc:
                raise self.error(exc) from None
            for row in rows:
                yield self.entry_from_row(row[1:])
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def entries(self, bound: int | None = None, after: int = 0) -> Iterator[Entry]:
        """Every entry after seq ``after`` (and up to ``bound``), oldest first, streamed."""
        bound = self.head.seq if bound is None else bound
        for rows in self._pages(
            "SELECT seq, recorded_at, type, payload, hash, payload_hash FROM entries", bound, after
        ):
            yield from map(self.entry_from_row, rows)

    def _pages(
        self, select: str, bound: int, after: int = 0
    ) -> Generator[list[tuple[Any, ...]], None, None]:
        """``select`` over entries ``after`` < seq <= ``bound``, a page at a time."""
        while after < bound:
            try:
                rows = self._all(
                    f"{select} WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT {PAGE}",
                    (after, bound),
                )
            except self._driver_errors as exc:
                raise self.error(exc) from None
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def seq_at(self, recorded_at: datetime) -> int:
        """The last seq recorded at or before ``recorded_at`` (0 if none)."""
        stamp = format_time(recorded_at)
        try:  # recorded_at never decreases along the seqs: a binary search, as on SQLite
            return bisect.bisect_right(
                range(1, self.head.seq + 1), stamp, key=lambda seq: self._stamp_of(seq)
            )
        except self._driver_errors as exc:
            raise self.error(exc) from None

    def recorded_at(self, seq: int) -> datetime | None:
        """When entry ``seq`` was recorded (None if there is no such entry)."""
        try:
            stamp = self._stamp_of(seq)
        except self._driver_errors as exc:
            raise self.error(exc) from None
        return parse_time(stamp) if stamp else None

    def _stamp_of(self, seq: int) -> str:
        return str(self._one("SELECT recorded_at FROM entries WHERE seq = %s", (seq,)) or "")

    # --- integrity ----------------------------------------------------------------------------

    def verify_versions(self, bound: int | None = None) -> VerifyResult:
        """Check that the version tables hold exactly what the entries say (``deep=True``)."""
        return self._checking(lambda: self._verify_versions(bound, self._columns()))

    def _checking(self, run: Callable[[], VerifyResult]) -> VerifyResult:
        try:
            return run()
        except self._driver_errors as exc:
            error = self.error(exc)
            if isinstance(error, LedgerBusyError) or self.conn.closed:
                raise error from None
            return VerifyResult(False, 0, None, f"the ledger cannot be read: {error}")

    def _columns(self) -> dict[str, set[str]]:
        """The columns the schema has for ``entries`` and each version table (none: missing)."""
        names = ["entries", *(table.name for table in TABLES.values())]
        found: dict[str, set[str]] = {name: set() for name in names}
        for table, column in self._all(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(%s)",
            (names,),
        ):
            found[table].add(column)
        return found

    def _verify(self, digest: Digest | None, bound: int | None, deep: bool) -> VerifyResult:
        columns = self._columns()
        problem = schema.table_problem("entries", columns["entries"], ENTRY_COLUMNS)
        if problem:
            return VerifyResult(False, 0, None, problem)
        chain = self._walk_chain(digest, bound)
        if not deep:
            return chain
        upto = bound if chain.first_bad_seq is None else chain.first_bad_seq - 1
        versions = self._verify_versions(upto, columns)
        found = [r for r in (chain, versions) if not r.ok]
        if not found:
            return chain
        return min(found, key=lambda r: (r.first_bad_seq is None, r.first_bad_seq or 0))

    def chain_rows(self, bound: int | None = None) -> Generator[ChainRow, None, None]:
        """The entries, oldest first, as :data:`ENTRY_COLUMNS` (the chain walk's rows), a
        page at a time; reports progress after each page."""
        last = int(self._one("SELECT coalesce(max(seq), 0) FROM entries"))
        for rows in self._pages(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries",
            last if bound is None else min(int(bound), last),
        ):
            yield from rows
            if self._progress is not None:
                self._progress(rows[-1][0])

    def _walk_chain(self, digest: Digest | None, bound: int | None) -> VerifyResult:
        """The chain walk (:func:`walk_chain`) over :meth:`chain_rows`."""
        redactions = self.redactions()
        rows = self.chain_rows(bound)
        try:
            return walk_chain(rows, digest, redactions=redactions)
        finally:
            rows.close()

    def _verify_versions(self, bound: int | None, columns: dict[str, set[str]]) -> VerifyResult:
        upto = "" if bound is None else f" AND v.seq <= {int(bound)}"
        broken = {
            table.type: problem
            for table in TABLES.values()
            if (
                problem := schema.table_problem(
                    table.name, columns[table.name], ("seq", "superseded_by", *table.columns)
                )
            )
        }
        problems: list[tuple[int, str]] = []
        with collector_paused():  # many short-lived records: nothing cyclic to find
            checked = self._walk_versions(bound, broken, problems)
        for table in TABLES.values():
            if table.type in broken:
                continue
            stray = self._one(
                f"SELECT min(v.seq) FROM {table.name} v LEFT JOIN entries e ON e.seq = v.seq "
                f"WHERE (e.seq IS NULL OR e.type <> %s){upto}",
                (table.type,),
            )
            if stray is not None:
                problems.append((stray, f"{table.name} has a row no {table.type} entry made"))
            wrong = self._one(
                f"SELECT min(v.seq) FROM {table.name} v WHERE v.superseded_by IS DISTINCT FROM ("
                f"SELECT min(w.seq) FROM {table.name} w JOIN entries e ON e.seq = w.seq "
                f"WHERE w.id = v.id AND w.seq > v.seq AND e.type = %s){upto}",
                (table.type,),
            )
            if wrong is not None:
                problems.append(
                    (wrong, f"{table.name}: superseded_by does not name the next version")
                )
        if problems:
            seq, problem = min(problems, key=lambda found: found[0])
            return VerifyResult(False, min(seq - 1, checked), seq, f"seq {seq}: {problem}")
        if broken:
            return VerifyResult(False, checked, None, "; ".join(broken.values()))
        return VerifyResult(True, checked)

    def _walk_versions(
        self, bound: int | None, broken: dict[str, str], problems: list[tuple[int, str]]
    ) -> int:
        """Compare each entry with its version row, up to the first that differs."""
        last = int(self._one("SELECT coalesce(max(seq), 0) FROM entries"))
        bound = last if bound is None else min(bound, last)
        pages = {
            table.type: self._version_rows(table, bound)
            for table in TABLES.values()
            if table.type not in broken
        }
        ahead: dict[str, tuple[Any, ...] | None] = {t: next(p, None) for t, p in pages.items()}
        checked = 0
        redacted = self.redactions()
        for rows in self._pages("SELECT seq, type, payload FROM entries", bound):
            for seq, type_, payload in rows:
                cls = RECORD_BY_NAME.get(type_)
                if cls is None:
                    problems.append((seq, f"unknown record type {type_!r}"))
                    return checked
                if type_ in broken:
                    problems.append((seq, broken[type_]))
                    return checked
                table = TABLES[cls]
                row = ahead[type_]
                while row is not None and row[0] < seq:  # a stray row: reported by the caller
                    row = next(pages[type_], None)
                if row is None or row[0] != seq:
                    problems.append((seq, f"{table.name} has no row for this entry"))
                    return checked
                ahead[type_] = next(pages[type_], None)
                expected = schema.derive_row(table, seq, payload, False, seq in redacted)
                if isinstance(expected, str):
                    problems.append((seq, expected))
                    return checked
                differs = [
                    c
                    for c, a, b in zip(table.columns, row[2:], expected[2:], strict=True)
                    if a != _pg_value(b)
                ]
                if differs:
                    problems.append((seq, f"{table.name}.{differs[0]} differs from the entry"))
                    return checked
                checked += 1
        return checked

    def _version_rows(self, table: VersionTable, bound: int) -> Iterator[tuple[Any, ...]]:
        select = f"SELECT seq, superseded_by, {', '.join(table.columns)} FROM {table.name}"
        after = 0
        while True:
            rows = self._all(
                f"{select} WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT {PAGE}", (after, bound)
            )
            yield from rows
            if len(rows) < PAGE:
                return
            after = rows[-1][0]


def _filter_sql(where: Filter, names: dict[str, str], params: list[Any]) -> str:
    """SQL for a filter over the version table ``v``; its values are appended to ``params``.

    Two-valued as :class:`~delvia_ledger.storage.Filter` says: a comparison with NULL is
    false, so ``Not`` turns SQL's unknown into true.
    """
    if isinstance(where, AtMost | After | Equals):
        params.append(_pg_value(where.value))
        op = {AtMost: "<=", After: ">", Equals: "="}[type(where)]
        return f"{schema.version_column(names, where.column)} {op} %s"
    if isinstance(where, OneOf):
        params.append([_pg_value(v) for v in where.values])
        return f"{schema.version_column(names, where.column)} = ANY(%s)"
    if isinstance(where, Missing):
        return f"{schema.version_column(names, where.column)} IS NULL"
    if isinstance(where, CustomId):
        if "code_key" not in names:
            raise ValueError("CustomId() applies to SparkAuthorization only")
        return _CUSTOM_ID.replace("id", "v.id").replace("code_key", "v.code_key")
    if isinstance(where, Not):
        return f"NOT coalesce(({_filter_sql(where.filter, names, params)}), false)"
    if isinstance(where, All):
        parts = [f"({_filter_sql(f, names, params)})" for f in where.filters]
        return " AND ".join(parts) if parts else "true"
    if isinstance(where, AnyOf):
        parts = [f"({_filter_sql(f, names, params)})" for f in where.filters]
        return " OR ".join(parts) if parts else "false"
    raise TypeError(f"not a storage filter: {where!r}")


#: An authorization recorded under an id other than the one its code derives (as
#: ``records.derived_authorization_id`` and SQLite's ``custom_id_sql`` say it).
_CUSTOM_ID = f"id <> '{DERIVED_ID_PREFIX}' || lpad(to_hex(code_key), {DERIVED_ID_DIGITS}, '0')"


def schema_sql() -> list[str]:
    """The statements that make an empty schema a ledger: tables, indexes and guards.

    The same columns as the SQLite file (text compared byte by byte, as SQLite does); the
    triggers refuse what SQLite's refuse, and TRUNCATE too.
    """
    statements = [
        "CREATE TABLE entries (seq bigint PRIMARY KEY, "
        + ", ".join(f"{column} {_TEXT} NOT NULL" for column in ENTRY_COLUMNS[1:])
        + ")",
    ]
    for table in TABLES.values():
        statements += _version_table_sql(table)
    statements += [
        "CREATE TABLE ledger_schema (application_id bigint NOT NULL, schema_version integer "
        "NOT NULL)",
        f"INSERT INTO ledger_schema VALUES ({APPLICATION_ID}, {SCHEMA_VERSION})",
        *guards_sql(),
    ]
    return statements


def guards_sql() -> list[str]:
    """Every guard of the ledger's tables (the triggers and the functions they run), for
    tables that have none: made with the schema, and again by :func:`migration_from_6`."""
    statements = [
        "CREATE OR REPLACE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$",
        *_entries_update_guard(),
        *_refusals("entries", None, "entries are append-only and cannot be deleted", update=False),
        *_checked_insert(  # the rows of one statement: the next seqs, with none above
            "entries",
            "DECLARE lo bigint; hi bigint; n bigint; BEGIN "
            "SELECT min(seq), max(seq), count(*) INTO lo, hi, n FROM added; "
            "IF n > 0 AND (hi - lo + 1 <> n OR hi <> (SELECT max(seq) FROM entries) OR lo <> "
            "coalesce((SELECT max(seq) FROM entries WHERE seq < lo), 0) + 1) THEN "
            "RAISE EXCEPTION 'entries are append-only: an entry is added once, with the next "
            "seq, and never replaced'; END IF;",
        ),
    ]
    for table in TABLES.values():
        statements += _version_table_guards(table)
    return [*statements, *_ledger_schema_guards()]


_TEXT = 'text COLLATE "C"'


def _ledger_schema_guards() -> list[str]:
    """ledger_schema is written once, when the ledger is made: then nobody may add a row
    (one more row would make every later open refuse the ledger), change or delete one."""
    return [
        *_refusals(
            "ledger_schema",
            "ledger_schema is changed only by delvia_ledger",
            "ledger_schema rows cannot be deleted",
        ),
        "CREATE TRIGGER ledger_schema_refuse_insert BEFORE INSERT ON ledger_schema FOR EACH ROW "
        "EXECUTE FUNCTION ledger_refuse('ledger_schema is written only when the ledger is made')",
    ]


def _named_by_erasure(seq: str, payload_hash: str | None = None) -> str:
    """SQL: an Erasure after entry ``seq`` names it (with ``payload_hash``: and recorded that
    SHA-256 for its redacted payload, at the same place in its ``hashes``)."""
    table = TABLES[Erasure].name
    named = f"strpos(w.seqs, '\"' || {seq} || '\"') > 0"
    if payload_hash is not None:
        named = (
            f"(w.hashes::jsonb ->> (SELECT (s.n - 1)::int FROM jsonb_array_elements_text("
            f"w.seqs::jsonb) WITH ORDINALITY AS s(v, n) WHERE s.v = {seq}::text LIMIT 1)) "
            f"= {payload_hash}"
        )
    return f"EXISTS (SELECT 1 FROM {table} w WHERE w.seq > {seq} AND {named})"


def _entries_update_guard() -> list[str]:
    """Every UPDATE of an entry is refused but a redaction: only the payload changes, into
    the redacted payload whose SHA-256 a later Erasure recorded for that seq."""
    same = " AND ".join(f"NEW.{c} = OLD.{c}" for c in ENTRY_COLUMNS if c != "payload")
    personal = ", ".join(f"'{cls.__name__}'" for cls in PERSONAL_FIELDS)
    digest = "encode(sha256(convert_to(NEW.payload, 'UTF8')), 'hex')"
    return [
        "CREATE OR REPLACE FUNCTION entries_check_update() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN "
        f"IF {same} AND NEW.payload <> OLD.payload AND OLD.type IN ({personal}) AND "
        f"{_named_by_erasure('OLD.seq', digest)} THEN RETURN NEW; END IF; "
        "RAISE EXCEPTION 'entries are append-only and cannot be changed'; END $$",
        "CREATE TRIGGER entries_refuse_update BEFORE UPDATE ON entries FOR EACH ROW "
        "EXECUTE FUNCTION entries_check_update()",
    ]


def _version_table_sql(table: VersionTable) -> list[str]:
    """A version table and its indexes (its guards: :func:`_version_table_guards`)."""
    columns = ", ".join(
        f"{column} {'bigint' if i in table.times or i in table.codes else _TEXT}"
        + (" NOT NULL" if column == "id" else "")
        for i, column in enumerate(table.columns)
    )
    name = table.name
    statements = [f"CREATE TABLE {name} (seq bigint PRIMARY KEY, superseded_by bigint, {columns})"]
    # SQLite's index entries end with the rowid, the seq; PostgreSQL keeps full indexes of
    # the sparse columns (as its schemas always had: no migration of a PostgreSQL ledger)
    for index in (*table.indexes, *((c,) for c in table.sparse)):
        statements.append(
            f"CREATE INDEX idx_{name}_{'_'.join(index)} ON {name} ({', '.join(index)}, seq)"
        )
    if table.codes:  # mirrors store.custom_id_sql: only these need the code index
        statements.append(
            f"CREATE INDEX idx_{name}_custom_code_key ON {name} (code_key) WHERE {_CUSTOM_ID}"
        )
    return statements


def _version_table_guards(table: VersionTable) -> list[str]:
    """The guards of a version table (:func:`guards_sql` makes them with every other)."""
    name = table.name
    return [
        *_version_update_guards(table),
        *_refusals(name, None, f"{name} rows cannot be deleted", update=False),
        *_checked_insert(  # append() adds a row just after its entry, never superseded
            name,
            "BEGIN IF EXISTS (SELECT 1 FROM added a WHERE a.superseded_by IS NOT NULL OR NOT "
            "EXISTS (SELECT 1 FROM entries e WHERE e.seq = a.seq AND e.type = "
            f"'{table.type}' AND e.id = a.id)) THEN RAISE EXCEPTION "
            f"'{name}: a row is added only with the entry it derives from'; END IF;",
        ),
        _successor_check(name),
        f"CREATE TRIGGER {name}_refuse_wrong_successor AFTER UPDATE ON {name} "
        "REFERENCING OLD TABLE AS before NEW TABLE AS after FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {name}_check_successor()",
    ]


def _successor_check(name: str) -> str:
    """The function behind ``<table>_refuse_wrong_successor``: a superseded version stays
    superseded by the same version (a redaction may update it), and a version is superseded
    only by its record's next version."""
    return (
        f"CREATE OR REPLACE FUNCTION {name}_check_successor() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN IF EXISTS (SELECT 1 FROM before b JOIN after a ON a.seq = b.seq WHERE "
        "b.superseded_by IS NOT NULL AND a.superseded_by IS DISTINCT FROM b.superseded_by) THEN "
        f"RAISE EXCEPTION '{name}: a superseded version stays superseded'; END IF; "
        "IF EXISTS (SELECT 1 FROM after a WHERE a.superseded_by IS DISTINCT FROM (SELECT "
        f"min(w.seq) FROM {name} w WHERE w.id = a.id AND w.seq > a.seq)) THEN RAISE "
        f"EXCEPTION '{name}: a version is superseded only by its record''s next version'; "
        "END IF; RETURN NULL; END $$"
    )


def _version_update_guards(table: VersionTable) -> list[str]:
    """UPDATE of a version row's fixed columns refused; of its personal columns, allowed
    only to empty them all for a seq a later Erasure names."""
    name, personal = table.name, PERSONAL_FIELDS.get(table.cls, ())
    fixed = ", ".join(c for c in ("seq", *table.columns) if c not in personal)
    statements = [
        f"CREATE TRIGGER {name}_refuse_update BEFORE UPDATE OF {fixed} ON {name} FOR EACH ROW "
        f"EXECUTE FUNCTION ledger_refuse({_literal(f'{name} rows cannot be changed')})"
    ]
    if personal:
        emptied = " AND ".join(f"NEW.{c} IS NULL" for c in personal)
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}_check_redaction() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN IF {emptied} AND {_named_by_erasure('OLD.seq')} "
            "THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{name} rows cannot be changed'; END $$",
            f"CREATE TRIGGER {name}_refuse_redaction BEFORE UPDATE OF {', '.join(personal)} "
            f"ON {name} FOR EACH ROW EXECUTE FUNCTION {name}_check_redaction()",
        ]
    return statements


#: The tables schema version 6 adds (DESIGN §8: invitations and access reviews).
NEW_IN_6 = (PendingInvite, AccessReview)


def _access_columns() -> list[str]:
    """``Person.tiktok_user_id`` (indexed) and ``RoleGrant.source`` (schema version 6)."""
    person, grants = TABLES[Person].name, TABLES[RoleGrant].name
    return [
        f"ALTER TABLE {person} ADD COLUMN IF NOT EXISTS tiktok_user_id {_TEXT}",
        f"CREATE INDEX IF NOT EXISTS idx_{person}_tiktok_user_id ON {person} (tiktok_user_id, seq)",
        f"ALTER TABLE {grants} ADD COLUMN IF NOT EXISTS source {_TEXT}",
    ]


def _access_tables() -> list[str]:
    """The PendingInvite and AccessReview tables with their guards (schema version 6)."""
    return [statement for cls in NEW_IN_6 for statement in _version_table_sql(TABLES[cls])]


def migration_from_6(triggers: Sequence[tuple[str, str]]) -> list[str]:
    """Schema version 6 -> 7 (run by the tables' owner, once; the last step of every older
    version's path): the ``Person.chat_id`` column, and every guard made again from the
    current generators — the ``triggers`` (name, table) the ledger's tables have, whatever
    their names, are dropped first."""
    return [
        _chat_id_column(),
        *(f"DROP TRIGGER IF EXISTS {_ident(name)} ON {_ident(table)}" for name, table in triggers),
        f"UPDATE ledger_schema SET schema_version = {SCHEMA_VERSION}",
        *guards_sql(),
    ]


def _chat_id_column() -> str:
    """``Person.chat_id`` (schema version 7), added to an older ledger."""
    return f"ALTER TABLE {TABLES[Person].name} ADD COLUMN IF NOT EXISTS chat_id {_TEXT}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def migration_from_5(tables: bool = True) -> list[str]:
    """Schema version 5 -> 6 (run by the tables' owner, once): who holds access at TikTok —
    the new columns (their UPDATE guards made again to watch them) and, unless ``tables`` is
    False (they exist), the new tables."""
    statements = _access_columns()
    for changed in (TABLES[Person], TABLES[RoleGrant]):
        statements.append(f"DROP TRIGGER IF EXISTS {changed.name}_refuse_update ON {changed.name}")
        statements += _version_update_guards(changed)[:1]  # the redaction check stays
    return [
        *statements,
        *(_access_tables() if tables else []),
        "ALTER TABLE ledger_schema DISABLE TRIGGER ledger_schema_refuse_update",
        f"UPDATE ledger_schema SET schema_version = {SCHEMA_VERSION}",
        "ALTER TABLE ledger_schema ENABLE TRIGGER ledger_schema_refuse_update",
    ]


def _retirement_columns() -> list[str]:
    """The columns of a code's retirement (schema version 5) and their index, added to an
    older ledger."""
    table = TABLES[SparkAuthorization]
    kinds = {"INTEGER": "bigint", "TEXT": _TEXT}
    return [
        *(
            f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {column} {kinds[kind]}"
            for column, kind in RETIREMENT_COLUMNS
        ),
        f"CREATE INDEX IF NOT EXISTS idx_{table.name}_retired_at ON {table.name} (retired_at, seq)",
    ]


def migration_from_4() -> list[str]:
    """Schema version 4 -> 5 (run by the tables' owner, once): a code's retirement columns,
    and the authorizations' UPDATE guard made again to cover them."""
    table = TABLES[SparkAuthorization]
    return [
        *_retirement_columns(),
        f"DROP TRIGGER IF EXISTS {table.name}_refuse_update ON {table.name}",
        *_version_update_guards(table),
        "ALTER TABLE ledger_schema DISABLE TRIGGER ledger_schema_refuse_update",
        f"UPDATE ledger_schema SET schema_version = {SCHEMA_VERSION}",
        "ALTER TABLE ledger_schema ENABLE TRIGGER ledger_schema_refuse_update",
    ]


def migration_from_3() -> list[str]:
    """Schema version 3 -> 4 (run by the tables' owner, once): the Erasure table, the guards
    that allow a redaction an Erasure names, and ledger_schema closed to inserts."""
    statements = [
        "DROP TRIGGER entries_refuse_update ON entries",
        *_entries_update_guard(),
    ]
    for table in TABLES.values():
        if table.cls in NEW_IN_6:
            continue  # made before, by _access_tables
        if table.cls is Erasure:
            statements += _version_table_sql(table)
        else:
            statements += [
                f"DROP TRIGGER {table.name}_refuse_update ON {table.name}",
                *_version_update_guards(table),
                _successor_check(table.name),
            ]
    return [
        *statements,
        "ALTER TABLE ledger_schema DISABLE TRIGGER ledger_schema_refuse_update",
        f"UPDATE ledger_schema SET schema_version = {SCHEMA_VERSION}",
        "ALTER TABLE ledger_schema ENABLE TRIGGER ledger_schema_refuse_update",
        "CREATE TRIGGER ledger_schema_refuse_insert BEFORE INSERT ON ledger_schema FOR EACH ROW "
        "EXECUTE FUNCTION ledger_refuse('ledger_schema is written only when the ledger is made')",
    ]


def _refusals(table: str, changed: str | None, deleted: str, *, update: bool = True) -> list[str]:
    """Triggers refusing UPDATE (unless ``update`` is False), DELETE and TRUNCATE of
    ``table``."""
    truncated = deleted.replace("deleted", "truncated")
    statements = []
    if update:
        statements.append(
            f"CREATE TRIGGER {table}_refuse_update BEFORE UPDATE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION ledger_refuse({_literal(changed or '')})"
        )
    return [
        *statements,
        f"CREATE TRIGGER {table}_refuse_delete BEFORE DELETE ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION ledger_refuse({_literal(deleted)})",
        f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION ledger_refuse({_literal(truncated)})",
    ]


def _checked_insert(table: str, checks: str) -> list[str]:
    """A trigger running ``checks`` (PL/pgSQL, from its BEGIN) once per statement that inserts
    into ``table``, over the rows it added (``added``): one check per batch, not per row."""
    return [
        f"CREATE OR REPLACE FUNCTION {table}_check_insert() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"{checks} RETURN NULL; END $$",
        f"CREATE TRIGGER {table}_refuse_insert AFTER INSERT ON {table} REFERENCING NEW TABLE "
        f"AS added FOR EACH STATEMENT EXECUTE FUNCTION {table}_check_insert()",
    ]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- what storage.locate asks of this backend (postgresql:// and postgres:// URLs) ---------

IS_FILE = False
shown = redacted


def checked(location: object) -> str:
    """A PostgreSQL URL, refused unless it is one."""
    if not is_postgres_url(location):
        raise ValueError("a PostgreSQL ledger is named by a postgresql:// URL")
    return str(location)


def opened(location: str, busy_timeout: float) -> PostgresStore:
    """The ledger in the schema ``location`` names, its tables created if missing."""
    return PostgresStore(location, busy_timeout=busy_timeout)


def discard(location: str) -> None:
    """Nothing: on a server a failed copy was one transaction, and kept nothing."""
