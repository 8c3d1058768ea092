"""SQLite storage (``storage.Storage``): the append-only ``entries`` table and version tables.

``entries`` is the ledger; each record type also has a ``<type>_versions`` table, one row per
entry with the record's fields as columns, which answers current and as-of reads quickly.
Triggers refuse UPDATE, DELETE and replacing INSERTs, even from raw SQL.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from itertools import chain
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..chain import (
    ENTRY_COLUMNS,
    GENESIS_HASH,
    ChainRow,
    Digest,
    Entry,
    Head,
    UnreadableEntry,
    VerifyResult,
    chain_hash,
    walk_chain,
)
from ..collector import collector_paused
from ..convert import (
    format_time,
    parse_time,
)
from ..errors import LedgerBusyError, NotALedgerError, StorageError
from ..records import (
    DERIVED_ID_DIGITS,
    DERIVED_ID_PREFIX,
    PERSONAL_FIELDS,
    Creator,
    Erasure,
    Person,
    Post,
    Record,
    RoleGrant,
    SparkAuthorization,
)
from . import DEFAULT_BUSY_TIMEOUT, schema
from .filters import After, All, AnyOf, AtMost, CustomId, Equals, Filter, Missing, Not, OneOf
from .schema import TABLES, VersionTable
from .sql import SqlReads, last_version, visible
from .sql import short as _short

if TYPE_CHECKING:
    import sqlite_utils

R = TypeVar("R", bound=Record)

__all__ = ["GENESIS_HASH", "Digest", "Entry", "Store", "VerifyResult", "chain_hash"]

APPLICATION_ID = 0x444C4752  # "DLGR": marks a file as a delvia_ledger database
#: 2: SparkBinding, Notice, two fields; 3: guards on INSERT and supersede; 4: sources, salts,
#: Erasure and the redaction its guards allow, guards that watch every UPDATE (rowid aliases).
#: 5: a code's retirement (SparkAuthorization.retired_at, retired_reason); 6: who holds access
#: at TikTok (Person.tiktok_user_id, RoleGrant.source, PendingInvite, AccessReview).
#: 7: a person's chat handle (Person.chat_id); every guard made again from the current
#: generator (old files' guards, whatever their names, are dropped by the migration).
#: 8: the sparse columns' indexes (``schema._SPARSE_INDEXES``) hold only the rows that set them.
SCHEMA_VERSION = 8
#: Older schema versions whose files read correctly as they are (only guards, columns no
#: entry of theirs fills, and the Erasure table no such file needs, are missing; version 7
#: indexes its sparse columns whole), so a read-only copy can still be read and verified
#: without migrating it.
READABLE_UNMIGRATED = frozenset({2, 3, 6, 7})
#: The columns schema version 5 adds to the authorizations' version table.
RETIREMENT_COLUMNS = (("retired_at", "INTEGER"), ("retired_reason", "TEXT"))
#: The version-table columns schema versions after 3 added (a file read without migrating may
#: lack them), and the record types whose tables they added.
_LATER_COLUMNS: dict[str, set[str]] = {
    TABLES[SparkAuthorization].name: {name for name, _ in RETIREMENT_COLUMNS},
    TABLES[Person].name: {"tiktok_user_id", "chat_id"},
    TABLES[RoleGrant].name: {"source"},
}
_LATER_TABLES = frozenset(
    TABLES[cls].type
    for cls in TABLES
    if cls.__name__ in ("Erasure", "PendingInvite", "AccessReview")
)
SQLITE_MAGIC = b"SQLite format 3\x00"
#: What the driver raises: its own errors, and UnicodeDecodeError when a message it builds
#: from a damaged file is not valid UTF-8.
DRIVER_ERRORS = (sqlite3.Error, UnicodeDecodeError)
_INSERT_ENTRY = f"INSERT INTO entries VALUES ({','.join('?' * len(ENTRY_COLUMNS))})"
#: A transaction that appends this many entries lifts the INSERT guards for the rest of it
#: (:meth:`Store._lift`): below it, dropping and making them again costs more than their
#: frames save, and every lifted commit makes other connections re-read the schema
#: (measured: benchmarks/README.md, issue 27).
LIFT_AT = 200


def custom_id_sql(alias: str = "v") -> str:
    """SQL true for an authorization recorded under an id other than the one its code derives.

    Only those need a code index (a partial one): the rest are found by their derived id
    (``records.derived_authorization_id``, which this SQL mirrors), so a bulk import of codes
    maintains one index fewer.
    """
    prefix = f"{alias}." if alias else ""
    digits = f"%0{DERIVED_ID_DIGITS}x"  # code_key's 64 bits, as derived_authorization_id cuts them
    return f"{prefix}id != printf('{DERIVED_ID_PREFIX}{digits}', {prefix}code_key)"


_DAMAGED = "restore it from a backup, or ask whoever keeps its saved digest"


def ledger_path(path: object) -> str:
    """A ledger's file name from a ``str``, ``bytes`` or ``os.PathLike``.

    Refuses what would not be a file that outlives the process: an empty name (an unset
    variable?), SQLite's ``:memory:`` and its ``file:`` URIs.

    >>> ledger_path(b"access.db")
    'access.db'
    """
    if not isinstance(path, str | bytes | os.PathLike):
        raise ValueError(
            "a ledger path must be a file name (str, bytes or os.PathLike), "
            f"not {type(path).__name__}"
        )
    name = os.fsdecode(path)
    if not name.strip():
        raise ValueError("the ledger path is empty (an unset variable?): give its file name")
    if name == ":memory:":
        raise ValueError(
            "':memory:' names a database kept in memory and lost when it closes; a ledger "
            "must be a file: give a file name"
        )
    if name.startswith("file:"):
        raise ValueError(
            f"'{name}' is an SQLite URI, which can name a database kept only in memory; "
            f"give a plain file path (for a file really named so, './{name}')"
        )
    if "\x00" in name:
        raise ValueError("the ledger path contains a NUL character")
    return name


def _refuse_what_is_not_sqlite(path: str) -> None:
    """Refuse, before SQLite opens it, an existing file that is not an SQLite database.

    SQLite takes any file shorter than a page for an empty database, and would write over it.
    """
    if os.path.isdir(path):
        raise NotALedgerError(f"{path}: is a directory, not a delvia_ledger database")
    if os.path.exists(path) and not os.path.isfile(path):
        raise NotALedgerError(f"{path}: not a delvia_ledger database (not a regular file)")
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return  # a new ledger
    except OSError as exc:
        raise StorageError(f"{path}: cannot read the file ({exc.strerror})") from exc
    if head and head != SQLITE_MAGIC:
        raise NotALedgerError(
            f"{path}: not a delvia_ledger database (not an SQLite file at all); "
            "give a new file name"
        )


def _code(exc: BaseException) -> int:
    """SQLite's primary result code for a driver error (-1 when it carries none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else -1


def storage_error(path: str, exc: BaseException, busy_timeout: float) -> StorageError:
    """The :class:`StorageError` that says what a database driver's error means."""
    if isinstance(exc, UnicodeDecodeError):  # SQLite quoted damaged bytes of the file
        return NotALedgerError(
            f"{path}: the ledger file is damaged (SQLite reported text that is not valid "
            f"UTF-8); {_DAMAGED}"
        )
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in detail:
        return StorageError(f"{path}: the ledger is closed; open it again with Ledger.open")
    code = _code(exc)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return LedgerBusyError(
            f"{path}: the ledger is locked by another process, which held it past the busy "
            f"timeout ({busy_timeout:g} s); nothing was written: try again once it has finished"
        )
    if code == sqlite3.SQLITE_FULL:
        return StorageError(
            f"{path}: the disk is full ({detail}); nothing was written: free some space and "
            "try again"
        )
    if code == sqlite3.SQLITE_IOERR:
        return StorageError(
            f"{path}: the operating system reported an I/O error ({detail}): the disk may be "
            "full or failing; nothing was written"
        )
    if code == sqlite3.SQLITE_READONLY:
        return StorageError(
            f"{path}: the ledger is read-only here (the file or its directory cannot be "
            "written): it can be read and verified, but nothing can be recorded"
        )
    if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return StorageError(
            f"{path}: cannot open the ledger file ({detail}); check that its directory exists, "
            "that you may read the file, and, to create a ledger, that you may write there"
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return NotALedgerError(
            f"{path}: not a delvia_ledger database, or the file is damaged ({detail}); {_DAMAGED}"
        )
    return StorageError(f"{path}: the ledger file could not be used ({detail})")


class Store(SqlReads):
    """A ledger file: owns the connection, the schema, the chain and every write.

    Every error of the database driver leaves this class as a :class:`StorageError`
    (:class:`LedgerBusyError`, :class:`NotALedgerError`) that says what happened. The reads
    it shares with PostgreSQL are :class:`~delvia_ledger.storage.sql.SqlReads`'.
    """

    PARAM, THING, REMEDY, TABLES = "?", "file", _DAMAGED, TABLES

    def __init__(
        self,
        path: str | bytes | PathLike[str] | PathLike[bytes],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.path = ledger_path(path)
        if (
            not isinstance(busy_timeout, int | float)
            or isinstance(busy_timeout, bool)
            or not math.isfinite(busy_timeout)
            or busy_timeout < 0
        ):
            raise ValueError(f"busy_timeout must be a number of seconds >= 0, not {busy_timeout!r}")
        self.busy_timeout = float(busy_timeout)
        #: Called with the last seq walked while a verification runs (None: nobody asked).
        self._progress: Callable[[int], object] | None = None
        self._depth = 0
        self._head: Head | None = None
        self._lifted: _Lifted | None = None
        self._appended = 0  # entries appended in the open transaction
        self._lost = False  # SQLite rolled the open transaction back from inside a savepoint
        _refuse_what_is_not_sqlite(self.path)  # before SQLite may write anything to the file
        try:
            self.conn = self._connect()
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc
        try:
            self.conn.execute("PRAGMA recursive_triggers=on")  # as sqlite-utils' Database sets it
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA cache_size=-131072")  # 128 MiB: imports touch many pages
            self._ensure_schema()
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, DRIVER_ERRORS):
                raise self.error(exc) from exc
            raise

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils on this connection, imported only when tables are made (its import
        loads pandas and numpy whenever they are installed)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn, execute_plugins=False)

    def close(self) -> None:
        self.conn.close()

    def backup(self, dest: str | PathLike[str]) -> None:
        """A consistent copy of the whole file at ``dest`` (SQLite's online backup), taken
        while other connections may write."""
        try:
            target = sqlite3.connect(dest)
            try:
                self.conn.backup(target)
            finally:
                target.close()
        except DRIVER_ERRORS as exc:
            folder = os.path.dirname(os.path.abspath(dest))
            if not os.path.isdir(folder):
                raise StorageError(
                    f"backup: {dest}: the folder {folder!r} does not exist; create it first"
                ) from None
            raise storage_error(os.fspath(dest), exc, self.busy_timeout) from None

    def _connect(self) -> sqlite3.Connection:
        """A read-write connection; a read-only one where the file or its directory is not
        writable (SQLite cannot create the WAL's ``-shm`` file beside it: as root that is a
        file it cannot open, as anyone else one it may not write)."""
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            if _code(exc) not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY) or not (
                os.path.isfile(self.path)
            ):
                raise
        uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro"
        wal = f"{self.path}-wal"
        if not os.path.exists(wal) or os.path.getsize(wal) == 0:
            # Nothing waits in a WAL and nobody can create one (the directory is not
            # writable): the file alone is the ledger, and it cannot change under us.
            uri += "&immutable=1"
        conn = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def error(self, exc: BaseException) -> StorageError:
        """The :class:`StorageError` to raise for a database driver's error."""
        return storage_error(self.path, exc, self.busy_timeout)

    # --- schema -----------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        """Use a ledger, migrating it if it is older; make an empty file one; refuse the rest.

        Nothing is written to a file that is refused: it is judged by reading it first.
        """
        app_id, version = self._identity()
        if app_id == APPLICATION_ID:
            if version in MIGRATIONS:
                self._migrate(version)
            elif version != SCHEMA_VERSION:
                raise NotALedgerError(
                    f"{self.path}: ledger schema version {version} is not supported "
                    f"(this delvia_ledger reads versions 1 to {SCHEMA_VERSION})"
                )
            self._use_wal()
            return
        self._refuse_unless_empty(app_id, version)
        with self.transaction():
            app_id, version = self._identity()
            if app_id == APPLICATION_ID:
                return  # another process created it while we waited for the lock
            self._refuse_unless_empty(app_id, version)
            self._create_schema()
        self._use_wal()

    def _identity(self) -> tuple[int, int]:
        """The file's ``application_id`` and ``user_version``."""
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        return app_id, self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _refuse_unless_empty(self, app_id: int, version: int) -> None:
        """Refuse an SQLite file that holds anything, or that another application marked."""
        not_ours = f"{self.path}: not a delvia_ledger database"
        if app_id:
            raise NotALedgerError(
                f"{not_ours}: it belongs to another application (application_id "
                f"{app_id:#x}); give a new file name"
            )
        kinds = [kind for (kind,) in self.conn.execute("SELECT DISTINCT type FROM sqlite_master")]
        if kinds:
            raise NotALedgerError(
                f"{self.path}: this SQLite file already holds other tables and is not a "
                f"delvia_ledger database (it has {', '.join(sorted(kinds))} objects); "
                "give a new file name"
            )
        if version:
            raise NotALedgerError(
                f"{not_ours}: another application set its user_version to {version}; "
                "give a new file name"
            )

    def _use_wal(self) -> None:
        """WAL lets readers go on while one process writes (it persists in the file)."""
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if _code(exc) != sqlite3.SQLITE_READONLY:
                raise

    def _migrate(self, version: int) -> None:
        """Bring an older file up to :data:`SCHEMA_VERSION`, once, in one transaction.

        Entries are never touched: only the derived version tables and the schema change.
        A read-only file whose version reads correctly as it is, is read without migrating.
        """
        try:
            with self.transaction():
                version = self.conn.execute("PRAGMA user_version").fetchone()[0]
                while version != SCHEMA_VERSION:  # another process may have migrated meanwhile
                    MIGRATIONS[version](self)
                    version += 1
                self._create_schema()  # idempotent: adds the tables, indexes and guards missing
        except StorageError as error:
            if "read-only" not in str(error):
                raise
            if version not in READABLE_UNMIGRATED:
                raise StorageError(
                    f"{self.path}: this ledger was written by an older delvia_ledger (schema "
                    f"version {version}) and must be upgraded once before it can be read; "
                    "that needs write access to the file and its directory"
                ) from error

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

    def _migrate_from_2(self) -> None:
        """Version 2 -> 3: guards refuse replacing inserts, version rows no entry made, and a
        version marked superseded by anything but its record's next version.

        :meth:`_create_schema`, which every migration ends with, adds them.
        """

    def _migrate_from_3(self) -> None:
        """Version 3 -> 4: the UPDATE guards watch every UPDATE (``UPDATE OF`` missed the rowid
        aliases) and allow the redaction an Erasure names; the Erasure table.

        The old guards are dropped here; :meth:`_create_schema` makes the new ones and the
        table. Entries keep their form (no salt, no source).
        """
        for name in ("entries", *(table.name for table in TABLES.values())):
            self.conn.execute(f"DROP TRIGGER IF EXISTS {name}_refuse_update")

    def _migrate_from_5(self) -> None:
        """Version 5 -> 6: who holds access at TikTok (DESIGN §8): ``Person.tiktok_user_id`` and
        ``RoleGrant.source`` columns; :meth:`_create_schema` adds the PendingInvite and
        AccessReview tables and their guards."""
        for cls, name in ((Person, "tiktok_user_id"), (RoleGrant, "source")):
            table = TABLES[cls].name
            have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            if have and name not in have:  # a table missing is made whole by _create_schema
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} TEXT")
        for cls in (Person, RoleGrant):  # remade by _create_schema, the new column watched too
            self.conn.execute(f"DROP TRIGGER IF EXISTS {TABLES[cls].name}_refuse_update")

    def _migrate_from_6(self) -> None:
        """Version 6 -> 7: the ``Person.chat_id`` column; every trigger on the ledger's tables
        dropped, whatever its name, so :meth:`_create_schema` makes all the guards again from
        the current generator (the redaction they allow follows ``PERSONAL_FIELDS``)."""
        table = TABLES[Person].name
        have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
        if have and "chat_id" not in have:  # a table missing is made whole by _create_schema
            self.conn.execute(f"ALTER TABLE {table} ADD COLUMN chat_id TEXT")
        ledger_tables = ["entries", *(t.name for t in TABLES.values())]
        marks = ", ".join("?" * len(ledger_tables))
        triggers = self.conn.execute(
            f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",
            ledger_tables,
        ).fetchall()
        for (name,) in triggers:
            self.conn.execute(f'DROP TRIGGER IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"')

    def _migrate_from_4(self) -> None:
        """Version 4 -> 5: the columns of a code's retirement; the authorizations' UPDATE guard
        is made again (by :meth:`_create_schema`) to cover them."""
        auths = TABLES[SparkAuthorization].name
        have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({auths})")}
        for column, kind in RETIREMENT_COLUMNS:
            if column not in have:  # a file a test rolled back to an older version has them
                self.conn.execute(f"ALTER TABLE {auths} ADD COLUMN {column} {kind}")
        self.conn.execute(f"DROP TRIGGER IF EXISTS {auths}_refuse_update")

    def _migrate_from_7(self) -> None:
        """Version 7 -> 8: each sparse column's full index dropped; :meth:`_create_schema`
        makes it again, partial (a version 7 file reads the same through the full one)."""
        for table in TABLES.values():
            for column in table.sparse:
                self.conn.execute(f"DROP INDEX IF EXISTS {_index_name(table, column)}")

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
            _refuse(  # every UPDATE (SET rowid too), but the redaction an Erasure names
                "entries",
                "UPDATE",
                "entries are append-only and cannot be changed",
                when=f"NOT ({_entry_redaction()})",
            ),
            # REPLACE deletes a conflicting row without firing DELETE triggers (unless
            # recursive_triggers is on, which is not stored in the file): refuse the insert.
            # An entry takes the next seq; max(seq) is one step down the table's b-tree.
            _refuse(
                "entries",
                "INSERT",
                _ENTRIES_APPEND_ONLY,
                when="NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM entries)",
            ),
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
            for column in table.sparse:  # partial indexes: sqlite-utils' has no WHERE
                self.db.execute(
                    f"CREATE INDEX IF NOT EXISTS {_index_name(table, column)} ON {table.name} "
                    f"({column}) WHERE {column} IS NOT NULL"
                )
            if table.codes:
                self.db.execute(
                    f"CREATE INDEX IF NOT EXISTS idx_{table.name}_custom_code_key ON {table.name} "
                    f"(code_key) WHERE {custom_id_sql('')}"
                )
            exists = f"EXISTS (SELECT 1 FROM {table.name} WHERE seq = NEW.seq)"
            allowed = _row_change_allowed(table)
            successor = (
                f"(SELECT min(w.seq) FROM {table.name} w WHERE w.id = OLD.id AND w.seq > OLD.seq)"
            )
            guards += [
                _refuse(table.name, "DELETE", f"{table.name} rows cannot be deleted"),
                _refuse(  # every UPDATE (SET rowid too): supersede, or redact what is erased
                    table.name,
                    "UPDATE",
                    _successor_only(table.name),  # it would hide the current version
                    when=f"NOT ({allowed}) OR NEW.superseded_by IS NOT OLD.superseded_by AND "
                    f"(OLD.superseded_by IS NOT NULL OR NEW.superseded_by IS NOT {successor})",
                    first=[
                        (f"NOT ({allowed})", f"{table.name} rows cannot be changed"),
                        (
                            "OLD.superseded_by IS NOT NULL",
                            f"{table.name}: a superseded version stays superseded",
                        ),
                    ],
                ),
                _refuse(  # append() adds a row just after its entry, never one superseded
                    table.name,
                    "INSERT",
                    _rows_need_entries(table.name),
                    when=f"NEW.superseded_by IS NOT NULL OR {exists} OR NOT EXISTS (SELECT 1 "
                    f"FROM entries WHERE seq = NEW.seq AND type = '{table.type}' "
                    "AND id = NEW.id)",
                    first=[(exists, f"{table.name} rows are append-only and never replaced")],
                ),
            ]
        for guard in guards:  # one by one: executescript would commit the transaction
            self.conn.execute(guard)
        self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # --- transactions and the chain head ------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; the outermost takes the write lock at once, nested ones join it.

        A driver error inside (disk full, lock timeout, ...) rolls back and is raised as a
        :class:`StorageError`.
        """
        if self._depth == 0:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except DRIVER_ERRORS as exc:
                raise self.error(exc) from exc
            self._depth = 1
            try:
                yield
                self._still_open()  # an inner block's error may have rolled it all back
                if self._lifted is not None:
                    self._restore(self._lifted)
                self.conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback()  # a lifted guard comes back with the rest (DDL is transactional)
                if isinstance(exc, DRIVER_ERRORS):
                    raise self.error(exc) from exc
                raise
            finally:
                self._depth = 0
                self._head = None
                self._lifted, self._appended, self._lost = None, 0, False
        else:
            saved = attrs.evolve(self._head) if self._head else None
            lifted = self._lifted.copy() if self._lifted else None
            changes = self.conn.total_changes
            name = f"delvia_{self._depth}"  # a savepoint: a refused inner block leaves the outer
            try:
                self.conn.execute(f"SAVEPOINT {name}")
            except DRIVER_ERRORS as exc:
                raise self.error(exc) from exc
            self._depth += 1
            try:
                yield
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            except BaseException as exc:
                self._head, self._lifted = saved, lifted  # the savepoint undoes a drop too
                if lifted is not None:  # what it undid was counted, and is gone
                    lifted.changes += self.conn.total_changes - changes
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                else:  # some errors (disk full, ...) roll it all back: the outer blocks too
                    self._lost = True
                if isinstance(exc, DRIVER_ERRORS):
                    raise self.error(exc) from exc
                raise
            finally:
                self._depth -= 1

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does after some errors)."""
        self._end("ROLLBACK")

    def _end(self, how: str) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute(how)
        except DRIVER_ERRORS:
            pass  # the error that brought us here, if any, is the one to report

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the file, even while other processes write to it.

        A deferred read transaction; inside a write transaction (or another snapshot) the
        state is already fixed, so it joins that. Driver errors inside become
        :class:`StorageError`.
        """
        try:
            joined = self.conn.in_transaction
            if not joined:
                self.conn.execute("BEGIN")
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc
        try:
            yield
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc
        finally:
            if not joined:
                self._end("COMMIT")  # read-only: just lets the snapshot go

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
            id_ = record.id
            payload_hash = sha256(payload.encode()).hexdigest()
            prev_hash = prev
            prev = chain_hash(prev_hash, seq, stamp, table.type, id_, payload_hash)
            entries.append((seq, stamp, table.type, id_, payload, payload_hash, prev_hash, prev))
            hashes.append(prev)
            rows = versions.get(table)
            if rows is None:
                rows = versions[table] = []
            rows.append(table.row(seq, record))
            if old_seq is not None:
                superseded.setdefault(table, []).append((seq, old_seq))
        self._appending(len(entries), {table.name: len(rows) for table, rows in versions.items()})
        lifted = self._lifted
        changes = self.conn.total_changes
        self.conn.executemany(_INSERT_ENTRY, entries)
        for table, rows in versions.items():
            self.conn.executemany(table.insert_sql, rows)
        for table, pairs in superseded.items():
            self.conn.executemany(f"UPDATE {table.name} SET superseded_by = ? WHERE seq = ?", pairs)
        if lifted is not None:
            lifted.changes += self.conn.total_changes - changes
        head.seq, head.hash, head.recorded_at = seq, prev, stamp
        return stamp, hashes

    # --- the INSERT guards, lifted for a large write ---------------------------------------------

    def _lift(self) -> _Lifted:
        """Start writing this transaction's entries without the INSERT guards' frames.

        Inside the write transaction (``BEGIN IMMEDIATE`` holds SQLite's write lock) the
        ``*_refuse_insert`` triggers of the tables written are dropped as they are first
        written; :meth:`_restore` checks what was appended since, set-wise, for everything
        those triggers refuse, and makes them again before the commit. DDL is transactional:
        no other connection ever sees the file without them, and a crash or a rollback
        (of a savepoint too) brings them back. The UPDATE and DELETE guards stay.
        """
        (head,) = self.conn.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()
        return _Lifted(head=head, changes=self.conn.total_changes)

    def _still_open(self) -> None:
        """Refuse to go on in a transaction SQLite has already rolled back: what followed
        would run in autocommit, each statement on its own (a lifted guard's DROP too)."""
        if self._lost or not self.conn.in_transaction:
            self._lost = True
            raise StorageError(
                f"{self.path}: an error inside this transaction made SQLite roll all of it "
                "back (the outer blocks too); nothing of it was written"
            )

    def _appending(self, entries: int, rows: dict[str, int]) -> None:
        self._still_open()  # before anything is written: both write paths come here first
        lifted = self._lifted
        self._appended += entries  # small batches (a sweep's pages) add up to a large write
        if lifted is None and self._appended >= LIFT_AT:
            lifted = self._lifted = self._lift()
        if lifted is not None:
            self._unguard(lifted, "entries", entries)
            for table, count in rows.items():
                self._unguard(lifted, table, count)

    def _unguard(self, lifted: _Lifted, table: str, rows: int) -> None:
        """Drop ``table``'s INSERT guard (once per transaction) and count ``rows`` appended."""
        if table not in lifted.rows:
            lifted.rows[table] = 0
            name = f"{table}_refuse_insert"
            found = self.conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ? "
                "AND tbl_name = ?",
                (name, table),
            ).fetchone()
            if found is not None:  # a file whose guard was removed by hand stays as it is
                self.conn.execute(f"DROP TRIGGER {name}")
                lifted.dropped[name] = found[0]
        lifted.rows[table] += rows

    def _restore(self, lifted: _Lifted) -> None:
        """Refuse what the lifted guards refuse, for every row appended since they were
        lifted, then make them again (as they were stored). Runs before the commit."""
        head = lifted.head
        if lifted.changes != self.conn.total_changes:  # a row written by a statement not ours
            raise sqlite3.IntegrityError(_ENTRIES_APPEND_ONLY)  # (an INSERT OR REPLACE, say)
        count, low, high = self.conn.execute(
            "SELECT count(*), min(seq), max(seq) FROM entries WHERE seq > ?", (head,)
        ).fetchone()
        appended = lifted.rows.get("entries", 0)  # each with the next seq: head + 1, ...
        wanted = (appended, head + 1, head + appended) if appended else (0, None, None)
        if (count, low, high) != wanted:
            raise sqlite3.IntegrityError(_ENTRIES_APPEND_ONLY)
        by_name = {table.name: table for table in TABLES.values()}
        for name, rows in lifted.rows.items():
            table = by_name.get(name)
            if table is None:
                continue
            found, orphans, superseded = self.conn.execute(
                f"SELECT count(*), total(NOT EXISTS (SELECT 1 FROM entries e WHERE e.seq = v.seq "
                f"AND e.type = '{table.type}' AND e.id = v.id)), total(CASE WHEN v.superseded_by "
                f"IS NULL THEN 0 ELSE v.superseded_by IS NOT (SELECT min(w.seq) FROM {name} w "
                f"WHERE w.id = v.id AND w.seq > v.seq) END) FROM {name} v WHERE v.seq > ?",
                (head,),
            ).fetchone()
            if found != rows or orphans:
                raise sqlite3.IntegrityError(_rows_need_entries(name))
            if superseded:
                raise sqlite3.IntegrityError(_successor_only(name))
        for sql in lifted.dropped.values():
            self.conn.execute(sql)
        self._lifted = None

    # --- reading ------------------------------------------------------------------------------
    # Every method here raises StorageError, never a driver error: they are called outside
    # transaction() and snapshot() too (get, history, entries, ...).

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc

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
        """The SQL and parameters of a read of ``cls``'s current versions.

        Where ``where`` asks for given ids, each id's current version is found by
        :func:`~delvia_ledger.storage.sql.last_version`; otherwise the visible versions are scanned.
        """
        table = TABLES[cls]
        names = schema.known_columns(table)
        picked = ", ".join(schema.column(names, c) for c in columns)
        params: list[Any] = []
        ids, rest = schema.ids_wanted(where)
        if ids is not None:
            params.append(_json_list(ids))
            sql = (
                f"SELECT {'DISTINCT ' if distinct else ''}{picked} FROM json_each(?) j "
                f"JOIN {table.name} v ON v.seq = {last_version(table, 'j.value', bound)}"
            )
        else:
            sql = f"SELECT {'DISTINCT ' if distinct else ''}{picked} FROM {table.name} v"
        if "e." in picked:
            sql += " JOIN entries e ON e.seq = v.seq"
        if ids is not None and since is not None:
            raise ValueError("current_rows: since= reads every version, not one per id")
        conditions = [] if ids is not None else [visible(bound, since=since)]
        if rest is not None:
            conditions.append(f"({_filter_sql(rest, names, params)})")
        sql += _where(conditions)
        if order_by:
            sql += " ORDER BY " + ", ".join(schema.column(names, c) for c in order_by)
        return sql, params

    def _filter(self, where: Filter, table: VersionTable, params: list[Any]) -> str:
        return _filter_sql(where, schema.known_columns(table), params)

    def _execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        changes = self.conn.total_changes
        self.conn.executemany(sql, rows)
        if self._lifted is not None:
            self._lifted.changes += self.conn.total_changes - changes

    _erasure_table = False  # known to exist (a table, once made, stays)

    def _has_erasures(self) -> bool:
        if not self._erasure_table:
            self._erasure_table = bool(
                self._fetch(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (TABLES[Erasure].name,),
                )
            )
        return self._erasure_table

    @contextmanager
    def erasing(self) -> Iterator[None]:
        """Redactions inside overwrite what they replace (``secure_delete``), and once the
        transaction is committed the WAL is checkpointed and truncated, so the erased bytes
        stay neither in the file's free space nor in its ``-wal``."""
        self.conn.execute("PRAGMA secure_delete = ON")
        try:
            yield
        finally:
            self.conn.execute("PRAGMA secure_delete = OFF")
        if not self._depth:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _stream_rows(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        try:
            cursor = self.conn.execute(sql, params)
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc
        return _translated(cursor, self.error)

    def current_entries(self, cls: type[Record], bound: int | None) -> Iterator[Entry]:
        """The entry of every record of type ``cls`` visible at ``bound``, by id, streamed."""
        yield from self._stream(
            "SELECT e.seq, e.recorded_at, e.type, e.payload, e.hash, e.payload_hash "
            f"FROM {TABLES[cls].name} v JOIN entries e ON e.seq = v.seq "
            f"WHERE {visible(bound)} ORDER BY v.id"
        )

    def entries(self, bound: int | None = None, after: int = 0) -> Iterator[Entry]:
        """Every entry after seq ``after`` (and up to ``bound``), oldest first, streamed."""
        yield from self._stream(
            "SELECT seq, recorded_at, type, payload, hash, payload_hash FROM entries "
            f"WHERE seq > {int(after)}"
            + ("" if bound is None else f" AND seq <= {int(bound)}")
            + " ORDER BY seq"
        )

    def _stream(self, sql: str) -> Iterator[Entry]:
        try:
            cursor = self.conn.execute(sql)
            while rows := cursor.fetchmany(2000):
                yield from map(self.entry_from_row, rows)
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc

    def seq_at(self, recorded_at: datetime) -> int:
        """The last seq recorded at or before ``recorded_at`` (0 if none): a binary search."""
        stamp = format_time(recorded_at)
        last = self.head.seq
        try:
            return bisect.bisect_right(range(1, last + 1), stamp, key=self._recorded_at_of)
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc

    def recorded_at(self, seq: int) -> datetime | None:
        """When entry ``seq`` was recorded (None if there is no such entry)."""
        try:
            stamp = self._recorded_at_of(seq)
        except DRIVER_ERRORS as exc:
            raise self.error(exc) from exc
        return parse_time(stamp) if stamp else None

    def _recorded_at_of(self, seq: int) -> str:
        row = self.conn.execute("SELECT recorded_at FROM entries WHERE seq = ?", (seq,)).fetchone()
        return str(row[0]) if row else ""

    # --- integrity ----------------------------------------------------------------------------

    def verify_versions(self, bound: int | None = None) -> VerifyResult:
        """Check that the version tables hold exactly what the entries say (``deep=True``).

        The checks read these tables, so a row edited behind the triggers' back would change
        what is flagged while the chain still verifies. Each entry's payload must be the
        canonical JSON of a valid record; its row is derived again as :meth:`append` derives
        it; each ``superseded_by`` must name the id's next version; and no row may exist that
        an entry of its type did not make. Run it inside one snapshot.
        """
        return self._checking(lambda: self._verify_versions(bound, self._columns()))

    def _checking(self, run: Callable[[], VerifyResult]) -> VerifyResult:
        """Run a verification: what the file cannot give is a failed result, not an error."""
        try:
            return run()
        except DRIVER_ERRORS as exc:
            error = self.error(exc)
            if isinstance(error, LedgerBusyError) or isinstance(
                exc, sqlite3.ProgrammingError | sqlite3.InterfaceError
            ):
                raise error from exc
            return VerifyResult(False, 0, None, f"the file cannot be read: {_short(exc)}")

    @contextmanager
    def _lenient(self) -> Iterator[None]:
        """Read text that is not valid UTF-8 (kept as surrogate escapes) instead of failing.

        A Python text factory costs per value, so the walks use it only once plain reading
        failed.
        """
        factory = self.conn.text_factory
        self.conn.text_factory = _lenient_text
        try:
            yield
        finally:
            self.conn.text_factory = factory

    def _columns(self) -> dict[str, set[str]]:
        """The columns the file has for ``entries`` and each version table (none: missing)."""
        with self._lenient():
            return {
                name: {row[1] for row in self.conn.execute(f"PRAGMA table_info({name})")}
                for name in ("entries", *(table.name for table in TABLES.values()))
            }

    def _table_problem(self, name: str, have: set[str], wanted: Sequence[str]) -> str | None:
        """What is wrong with a table's shape: a missing table or column, or a ``seq`` that
        is not the row id (its ``CREATE TABLE`` text damaged: the rows then read no seq)."""
        problem = schema.table_problem(name, have, wanted)
        if problem is not None:
            return problem
        with self._lenient():
            info = self.conn.execute(f"PRAGMA table_info({name})").fetchall()
        keys = [row for row in info if row[5]]
        declared = next((str(row[2]) for row in info if row[1] == "seq"), "")
        if [row[1] for row in keys] != ["seq"] or declared.upper() != "INTEGER":
            return (
                f"the table {name}'s schema text is damaged: its seq is declared "
                f"{declared!r}{' PRIMARY KEY' if keys and keys[0][1] == 'seq' else ''}, "
                "not INTEGER PRIMARY KEY"
            )
        return None

    def _verify(self, digest: Digest | None, bound: int | None, deep: bool) -> VerifyResult:
        columns = self._columns()
        problem = self._table_problem("entries", columns["entries"], ENTRY_COLUMNS)
        if problem:
            return VerifyResult(False, 0, None, problem)
        if not deep:
            return self._walk_chain(digest, bound)
        beside = _FileChecks.start(self, bound)
        try:
            chain, versions = self._walk_deep(digest, bound, columns, beside)
        except BaseException:
            if beside is not None:
                beside.plan_ready.set()  # let it end after its statement, not wait for us
            raise
        if beside is not None and beside.finish(self):
            structure = beside.structure
        else:
            structure = self._structure()
        structural = None
        if structure is not None:
            seq, reason = structure
            structural = VerifyResult(
                False,
                chain.checked if seq is None else min(seq - 1, chain.checked),
                seq,
                reason if seq is None else f"seq {seq}: {reason}",
            )
        found = [r for r in (chain, structural, versions) if r is not None and not r.ok]
        if not found:
            return chain
        # The earliest seq wins (at a tie, the chain); a damaged structure is always said.
        first = min(found, key=lambda r: (r.first_bad_seq is None, r.first_bad_seq or 0))
        if structure is not None and first is not structural:
            return attrs.evolve(first, reason=f"{first.reason}; also {structure[1]}")
        return first

    def _walk_deep(
        self,
        digest: Digest | None,
        bound: int | None,
        columns: dict[str, set[str]],
        beside: _FileChecks | None,
    ) -> tuple[VerifyResult, VerifyResult]:
        """The chain walk and the version walk in one read of the entries: each entry the
        chain walk has passed is compared with its version row, each version table read
        once beside them, in seq order. Entries before the chain's first bad seq are sound,
        so their rows can be checked.

        Where a version table cannot be read as it is (text that is not UTF-8, a damaged
        page), or the entries are read leniently, the version walk is left to a separate,
        lenient pass (:meth:`_verify_versions`) after the chain walk.
        """
        redactions = self.redactions()
        walk: _VersionWalk | None = None
        upto = "" if bound is None else f" AND v.seq <= {int(bound)}"
        try:
            plan = self._version_plan(columns)
            walk = _VersionWalk(self.conn, upto, plan, set(redactions), False)
        except DRIVER_ERRORS:  # the separate pass says what cannot be read
            walk = None
        rows = self.chain_rows(bound)
        try:
            with collector_paused():  # a million short-lived records: nothing cyclic to find
                chain = walk_chain(
                    rows if walk is None else self._alongside(rows, walk),
                    digest,
                    not_text=self._not_text,
                    redactions=redactions,
                )
        finally:
            rows.close()
        upto_seq = bound if chain.first_bad_seq is None else chain.first_bad_seq - 1
        try:
            if walk is None or walk.failed:
                return chain, self._verify_versions(upto_seq, columns)
            found = None if beside is None else beside.versions(self, walk.plan)
            return chain, self._version_result(
                upto_seq, walk.plan, walk.problems, walk.checked, found
            )
        except DRIVER_ERRORS as exc:
            return chain, VerifyResult(
                False, chain.checked, None, f"the version tables cannot be read: {_short(exc)}"
            )

    def _alongside(
        self, rows: Iterator[ChainRow], walk: _VersionWalk
    ) -> Generator[ChainRow, None, None]:
        """``rows``, each checked against its version row once the chain walk asks for the
        next one (so has passed it); an entry the chain walk stops at is never compared."""
        conn, default = self.conn, self.conn.text_factory
        check = walk.check
        for row in rows:
            yield row
            if walk.walking:
                if conn.text_factory is not default:  # read leniently: the separate pass
                    walk.give_up()
                    continue
                try:
                    check(row[0], row[2], row[4])
                except DRIVER_ERRORS:
                    walk.give_up()

    def chain_rows(self, bound: int | None = None) -> Generator[ChainRow, None, None]:
        """The entries, oldest first, as :data:`ENTRY_COLUMNS` (the chain walk's rows).

        A batch fails to read as a whole when one of its rows holds text that is not UTF-8 or
        sits on a damaged page: the rest is then read again one row at a time, leniently, so
        that the problem surfaces at the first entry that has it; a row that cannot be read
        even so raises :class:`UnreadableEntry`. Reports progress after each batch.
        """
        select = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
        bounded = [] if bound is None else [f"seq <= {int(bound)}"]
        after = None
        try:
            cursor = self.conn.execute(f"{select}{_where(bounded)} ORDER BY seq")
            while rows := cursor.fetchmany(5000):
                yield from rows
                after = rows[-1][0]
                if self._progress is not None:
                    self._progress(after)
            return
        except DRIVER_ERRORS:
            pass
        rest = bounded if after is None else [*bounded, f"seq > {int(after)}"]
        try:
            with self._lenient():
                cursor = self.conn.execute(f"{select}{_where(rest)} ORDER BY seq")
                while (row := cursor.fetchone()) is not None:
                    yield row
        except DRIVER_ERRORS as exc:
            raise UnreadableEntry(_short(exc)) from exc

    def _walk_chain(self, digest: Digest | None, bound: int | None) -> VerifyResult:
        """The chain walk (:func:`walk_chain`) over :meth:`chain_rows`."""
        redactions = self.redactions()
        rows = self.chain_rows(bound)
        try:
            return walk_chain(rows, digest, not_text=self._not_text, redactions=redactions)
        finally:
            rows.close()

    def _not_text(self, seq: int) -> str:
        """Which column of entry ``seq`` is not text, or not UTF-8 text, as the format says."""
        names = ENTRY_COLUMNS[1:]
        row = self.conn.execute(
            f"SELECT {', '.join(f'typeof({c})' for c in names)}, "
            f"{', '.join(f'CAST({c} AS BLOB)' for c in names)} FROM entries WHERE seq = ?",
            (seq,),
        ).fetchone()
        for column, kind, data in zip(names, row, row[len(names) :], strict=False):
            if kind != "text":
                return f"{column} is stored as a {kind}, not as text"
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return f"{column} is not valid UTF-8 text"
        return "the entry is not text as the file format says"

    def _structure(self) -> tuple[int | None, str] | None:
        """SQLite's own check of the file: every page, and every index against its table.

        A damaged index makes reads through it miss rows (``get()`` finds nothing) while the
        tables are whole, so only this sees it. Returns the first seq it names, and why.
        """
        with self._lenient():
            try:
                found = _integrity_check(self.conn)
            except DRIVER_ERRORS as exc:
                return None, f"the file's structure is damaged ({_short(exc)})"
            return self._structure_of(found)

    def _structure_of(self, found: list[str]) -> tuple[int | None, str] | None:
        """What the integrity check's messages say (None: the file is whole)."""
        if found == ["ok"]:
            return None
        with self._lenient():
            return self._name_damage(found)

    def _name_damage(self, found: list[str]) -> tuple[int | None, str]:
        """Which tables and indexes the integrity check's messages point at."""
        objects: list[tuple[str, str, str]] = self.conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
        ).fetchall()
        said = set(re.findall(r"[\w$]+", "\n".join(found).replace("# of entries", "#")))
        damaged = [item for item in objects if item[1] in said]
        if not damaged:  # a page-level problem: ask table by table (each with its indexes)
            damaged = [item for item in objects if item[0] == "table" and not self._whole(item[1])]
        where = ", ".join(
            f"index {name} (of table {table})" if kind == "index" else f"table {name}"
            for kind, name, table in damaged
        )
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        return (
            self._seq_of_row(found, objects),
            f"the file's structure is damaged in {where or 'its page lists'}: {found[0]}{more}",
        )

    def _whole(self, table: str) -> bool:
        """Whether SQLite's integrity check passes for one table and its indexes."""
        if not re.fullmatch(r"\w+", table):
            return True  # a name that is itself damaged: the schema check reports it
        try:
            return [row[0] for row in self.conn.execute(f"PRAGMA integrity_check({table})")] == [
                "ok"
            ]
        except DRIVER_ERRORS:
            return False

    def _seq_of_row(self, found: list[str], objects: list[tuple[str, str, str]]) -> int | None:
        """The seq of the first row the integrity check says an index lacks (``row N`` counts
        the table's rows in rowid order, and a ledger's rowid is the seq)."""
        of = {name: table for kind, name, table in objects if kind == "index"}
        ours = {"entries", *(table.name for table in TABLES.values())}
        seqs = []
        for line in found:
            match = re.fullmatch(r"row (\d+) missing from index (\w+)", line)
            if match and of.get(match[2]) in ours:
                row = self.conn.execute(
                    f"SELECT seq FROM {of[match[2]]} ORDER BY seq LIMIT 1 OFFSET ?",
                    (int(match[1]) - 1,),
                ).fetchone()
                if row and isinstance(row[0], int):  # a damaged schema text reads no seq
                    seqs.append(row[0])
        return min(seqs, default=None)

    def _version_plan(self, columns: dict[str, set[str]]) -> _VersionPlan:
        """Which version tables can be read, and which columns read as empty.

        A file of an older schema version, read without migrating (a read-only copy), lacks
        what later versions added; its entries cannot need it: those columns read as empty,
        those tables are not a problem unless an entry needs them.
        """
        columns = {name: set(have) for name, have in columns.items()}
        absent: dict[str, set[str]] = {}
        unneeded: set[str] = set()
        if self._identity()[1] < SCHEMA_VERSION:
            for table in TABLES.values():
                if not columns[table.name]:
                    if table.type in _LATER_TABLES:
                        unneeded.add(table.type)
                    continue
                later = _LATER_COLUMNS.get(table.name, set()) - columns[table.name]
                if later:
                    absent[table.name] = later
                    columns[table.name] |= later
        broken = {
            table.type: problem
            for table in TABLES.values()
            if (
                problem := self._table_problem(
                    table.name, columns[table.name], ("seq", "superseded_by", *table.columns)
                )
            )
        }
        return _VersionPlan(broken, absent, unneeded)

    def _verify_versions(self, bound: int | None, columns: dict[str, set[str]]) -> VerifyResult:
        """The version walk on its own pass over the entries (then leniently, where the
        file holds text that is not UTF-8 or a damaged page)."""
        upto = "" if bound is None else f" AND v.seq <= {int(bound)}"
        plan = self._version_plan(columns)
        redacted = set(self.redactions())
        try:  # first: at a tie, its reason wins
            with collector_paused():  # a million short-lived records: nothing cyclic to find
                walk = self._walk_versions(upto, plan, redacted, False)
        except DRIVER_ERRORS:  # text that is not UTF-8, or a damaged page: again, leniently
            with self._lenient(), collector_paused():
                walk = self._walk_versions(upto, plan, redacted, True)
        return self._version_result(bound, plan, walk.problems, walk.checked)

    def _version_result(
        self,
        bound: int | None,
        plan: _VersionPlan,
        problems: list[tuple[int, str]],
        checked: int,
        found: dict[str, tuple[int | None, int | None]] | None = None,
    ) -> VerifyResult:
        """The version walk's result, with what SQL finds beside it: rows no entry made and
        ``superseded_by`` values that do not name the next version (``found``: those seqs
        by record type, as :func:`_misplaced_rows` found them up to any bound at all)."""
        problems = list(problems)
        if found is None:
            found = _misplaced_rows(self.conn, bound, plan)
        for table in TABLES.values():
            if table.type in plan.broken:
                continue
            stray, wrong = (
                None if seq is None or (bound is not None and seq > bound) else seq
                for seq in found[table.type]
            )
            if stray is not None:
                problems.append((stray, f"{table.name} has a row no {table.type} entry made"))
            if wrong is not None:
                problems.append(
                    (wrong, f"{table.name}: superseded_by does not name the next version")
                )
        if problems:  # the chain verified (no gaps), so entries before the first bad seq are fine
            seq, problem = min(problems, key=lambda found: found[0])
            return VerifyResult(False, min(seq - 1, checked), seq, f"seq {seq}: {problem}")
        broken = plan.broken
        if (
            set(broken) - plan.unneeded
        ):  # a table no entry needs yet: the queries read it all the same
            return VerifyResult(
                False,
                checked,
                None,
                "; ".join(problem for name, problem in broken.items() if name not in plan.unneeded),
            )
        return VerifyResult(True, checked)

    def _walk_versions(
        self, upto: str, plan: _VersionPlan, redacted: set[int], lenient: bool
    ) -> _VersionWalk:
        """Compare each entry with its version row, up to the first that differs."""
        walk = _VersionWalk(self.conn, upto, plan, redacted, lenient)
        entries = self.conn.execute(
            f"SELECT seq, type, payload FROM entries v WHERE 1{upto} ORDER BY seq"
        )
        check = walk.check
        for seq, type_, payload in entries:
            check(seq, type_, payload)
            if not walk.walking:
                break
        return walk


@attrs.frozen
class _VersionPlan:
    """Which version tables the walk cannot read (by record type, with why), which columns
    of an unmigrated file read as empty, and which missing tables no entry can need."""

    broken: dict[str, str]
    absent: dict[str, set[str]]
    unneeded: set[str]


class _VersionWalk:
    """Each entry, in seq order, against its version row, up to the first that differs:
    each version table is read once, in seq order, beside the entries."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        upto: str,
        plan: _VersionPlan,
        redacted: set[int],
        lenient: bool,
    ) -> None:
        #: Per readable type: its table, the cursor over its rows, the row it is at and its
        #: quick check (``VersionTable.matches``; None: the long way for every entry).
        self.walks: dict[str, list[Any]] = {}
        for table in TABLES.values():
            if table.type not in plan.broken:
                missing = plan.absent.get(table.name, set())
                selected = [f"NULL AS {c}" if c in missing else c for c in table.columns]
                rows = conn.execute(
                    f"SELECT seq, superseded_by, {', '.join(selected)} FROM {table.name} v "
                    f"WHERE 1{upto} ORDER BY seq"
                )
                quick = None if lenient else table.matches
                self.walks[table.type] = [table, rows, next(rows, None), quick]
        self.plan = plan
        self.broken = plan.broken
        self.redacted = redacted
        self.lenient = lenient
        #: The first problem found (seq, why): the walk stops there.
        self.problems: list[tuple[int, str]] = []
        self.checked = 0
        #: Whether entries are still compared (no problem found, nothing unreadable).
        self.walking = True
        #: Whether a table could not be read as it is (the walk then is not the answer).
        self.failed = False

    def give_up(self) -> None:
        """Stop: what was read cannot be trusted to be what the file holds."""
        self.walking = False
        self.failed = True

    def check(self, seq: int, type_: str, payload: Any) -> None:
        """Compare entry ``seq`` with its version row (stop at the first problem)."""
        walk = self.walks.get(type_)
        if walk is None:  # an unknown type, or one whose table is broken
            if type_ in self.broken:
                self._stop(seq, self.broken[type_])
            else:
                self._stop(seq, f"unknown record type {type_!r}")
            return
        table: VersionTable = walk[0]
        rows = walk[1]
        row: tuple[Any, ...] | None = walk[2]
        while row is not None and row[0] < seq:  # a stray row: reported by the SQL beside
            row = next(rows, None)
        if row is None or row[0] != seq:
            walk[2] = row
            self._stop(seq, f"{table.name} has no row for this entry")
            return
        walk[2] = next(rows, None)
        quick = walk[3]
        if (
            quick is not None
            and seq not in self.redacted
            and type(payload) is str
            and quick(payload, row)
        ):  # the common case: the payload and the row agree
            self.checked += 1
            return
        expected = schema.derive_row(table, seq, payload, self.lenient, seq in self.redacted)
        if isinstance(expected, str):
            self._stop(seq, expected)
            return
        if row[2:] != tuple(expected[2:]):  # the common case, compared at once
            differs = [
                c for c, a, b in zip(table.columns, row[2:], expected[2:], strict=True) if a != b
            ]
            self._stop(seq, f"{table.name}.{differs[0]} differs from the entry")
            return
        self.checked += 1

    def _stop(self, seq: int, problem: str) -> None:
        self.problems.append((seq, problem))
        self.walking = False


def _integrity_check(conn: sqlite3.Connection) -> list[str]:
    """SQLite's integrity check of the whole file: its first 100 messages (``["ok"]``)."""
    return [str(row[0]) for row in conn.execute("PRAGMA integrity_check(100)")]


def _misplaced_rows(
    conn: sqlite3.Connection, bound: int | None, plan: _VersionPlan
) -> dict[str, tuple[int | None, int | None]]:
    """Per readable version table (by record type): the first row no entry of its type made,
    and the first whose ``superseded_by`` does not name the id's next row an entry made."""
    upto = "" if bound is None else f" AND v.seq <= {int(bound)}"
    found: dict[str, tuple[int | None, int | None]] = {}
    for table in TABLES.values():
        if table.type in plan.broken:
            continue
        stray = conn.execute(
            f"SELECT min(v.seq) FROM {table.name} v LEFT JOIN entries e ON e.seq = v.seq "
            f"WHERE (e.seq IS NULL OR e.type != ?){upto}",
            (table.type,),
        ).fetchone()[0]
        wrong = conn.execute(
            f"SELECT min(v.seq) FROM {table.name} v WHERE v.superseded_by IS NOT ("
            f"SELECT min(w.seq) FROM {table.name} w JOIN entries e ON e.seq = w.seq "
            f"WHERE w.id = v.id AND w.seq > v.seq AND e.type = ?){upto}",
            (table.type,),
        ).fetchone()[0]
        found[table.type] = (stray, wrong)
    return found


class _FileChecks:
    """The checks of a deep verify that SQLite makes alone (its integrity check of the file,
    the rows no entry made, the ``superseded_by`` that name no next version), run on a second,
    read-only connection in a thread while the walks read on the store's own: SQLite lets the
    interpreter go while it works, so a second core does them meanwhile.

    Their results count only when that connection saw the very state the store's connection
    sees (the same last entry and schema); otherwise, or if anything about the second
    connection fails, the store makes the checks itself afterwards, as it always did. Used only
    outside a write transaction (a reader must not wait for the store's own lock).
    """

    def __init__(
        self, path: str, bound: int | None, state: tuple[Any, ...], cache_size: int
    ) -> None:
        self.path, self.bound, self.state, self.cache_size = path, bound, state, cache_size
        self.seen: tuple[Any, ...] | None = None
        self.found: list[str] | None = None
        self.rows: dict[str, tuple[int | None, int | None]] | None = None
        self.plan: _VersionPlan | None = None
        self.plan_ready = threading.Event()
        self.structure: tuple[int | None, str] | None = None
        self.thread = threading.Thread(target=self._run, name="delvia-verify", daemon=True)

    @classmethod
    def start(cls, store: Store, bound: int | None) -> _FileChecks | None:
        if store._depth or not store.conn.in_transaction or not os.path.isfile(store.path):
            return None  # inside a write; or outside a snapshot, where two states could pair
        try:
            state = _state(store.conn)
            # SQLite's check of the file costs ~30% more CPU in its default 2 MiB cache than in
            # the store's 128 MiB; a second cache that large would hold as much again.
            cache_size = max(int(store.conn.execute("PRAGMA cache_size").fetchone()[0]), -32768)
        except DRIVER_ERRORS:
            return None
        checks = cls(store.path, bound, state, cache_size)
        checks.thread.start()
        return checks

    def _run(self) -> None:
        try:
            uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
        except DRIVER_ERRORS:
            return
        try:
            conn.text_factory = _lenient_text
            conn.execute(f"PRAGMA cache_size={self.cache_size}")
            conn.execute("BEGIN")
            self.seen = _state(conn)
            if self.seen != self.state:
                return
            self.found = _integrity_check(conn)
            self.plan_ready.wait()
            if self.plan is not None:
                self.rows = _misplaced_rows(conn, self.bound, self.plan)
        except DRIVER_ERRORS:
            pass  # the store's connection makes these checks again, and says what it finds
        finally:
            conn.close()

    def versions(
        self, store: Store, plan: _VersionPlan
    ) -> dict[str, tuple[int | None, int | None]] | None:
        """The misplaced rows the second connection found (None: the store must look)."""
        self.plan = plan
        self.plan_ready.set()
        self.thread.join()
        return self.rows if self.seen == self.state else None

    def finish(self, store: Store) -> bool:
        """Wait for the thread; whether its integrity check counts (then ``structure``)."""
        self.plan_ready.set()
        self.thread.join()
        if self.seen != self.state or self.found is None:
            return False
        self.structure = store._structure_of(self.found)
        return True


def _state(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """What a connection's snapshot is: the last entry and the schema's version."""
    head = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    return (head, conn.execute("PRAGMA schema_version").fetchone())


def _json_list(values: Sequence[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _filter_sql(where: Filter, names: dict[str, str], params: list[Any]) -> str:
    """SQL for a filter over the version table ``v``; its values are appended to ``params``.

    Every condition is two-valued as :class:`Filter` says: a comparison with NULL is false,
    so ``Not`` turns SQL's unknown into true.
    """
    if isinstance(where, AtMost | After | Equals):
        params.append(where.value)
        op = {AtMost: "<=", After: ">", Equals: "="}[type(where)]
        return f"{schema.version_column(names, where.column)} {op} ?"
    if isinstance(where, OneOf):
        params.append(_json_list(where.values))
        return f"{schema.version_column(names, where.column)} IN (SELECT value FROM json_each(?))"
    if isinstance(where, Missing):
        return f"{schema.version_column(names, where.column)} IS NULL"
    if isinstance(where, CustomId):
        if "code_key" not in names:
            raise ValueError("CustomId() applies to SparkAuthorization only")
        return custom_id_sql()
    if isinstance(where, Not):
        return f"NOT coalesce(({_filter_sql(where.filter, names, params)}), 0)"
    if isinstance(where, All):
        parts = [f"({_filter_sql(f, names, params)})" for f in where.filters]
        return " AND ".join(parts) if parts else "1"
    if isinstance(where, AnyOf):
        parts = [f"({_filter_sql(f, names, params)})" for f in where.filters]
        return " OR ".join(parts) if parts else "0"
    raise TypeError(f"not a storage filter: {where!r}")


def _translated(
    cursor: sqlite3.Cursor, error: Callable[[BaseException], StorageError]
) -> Iterator[tuple[Any, ...]]:
    """A cursor's rows, with driver errors raised as :class:`StorageError` (read in batches,
    so the rows pass through no Python frame of their own)."""
    return chain.from_iterable(_batches(cursor, error))


def _batches(
    cursor: sqlite3.Cursor, error: Callable[[BaseException], StorageError]
) -> Iterator[list[tuple[Any, ...]]]:
    try:
        while rows := cursor.fetchmany(1000):
            yield rows
    except DRIVER_ERRORS as exc:
        raise error(exc) from exc


def _where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _index_name(table: VersionTable, column: str) -> str:
    """The name of ``table``'s index of ``column``: the one sqlite-utils' create_index gives
    (which made the sparse columns' indexes whole before version 8)."""
    return f"idx_{table.name}_{column}"


def _lenient_text(data: bytes) -> str:
    """Text as verification reads it: bytes that are not UTF-8 kept as surrogate escapes."""
    return data.decode("utf-8", "surrogateescape")


#: How to bring a file of each older schema version one version up.
MIGRATIONS: dict[int, Callable[[Store], None]] = {
    1: Store._migrate_from_1,
    2: Store._migrate_from_2,
    3: Store._migrate_from_3,
    4: Store._migrate_from_4,
    5: Store._migrate_from_5,
    6: Store._migrate_from_6,
    7: Store._migrate_from_7,
}


_ENTRIES_APPEND_ONLY = (
    "entries are append-only: an entry is added once, with the next seq, and never replaced"
)


def _rows_need_entries(table: str) -> str:
    return f"{table}: a row is added only with the entry it derives from"


def _successor_only(table: str) -> str:
    return f"{table}: a version is superseded only by its record's next version"


@attrs.define
class _Lifted:
    """The INSERT guards one write transaction dropped (:meth:`Store._lift`), and what it
    appended since."""

    head: int  #: the last seq before they were lifted
    #: the connection's total_changes then, plus the rows the store's own statements changed
    #: since: its total_changes now, unless some other statement wrote
    changes: int
    dropped: dict[str, str] = attrs.Factory(dict)  #: trigger name -> its stored CREATE
    rows: dict[str, int] = attrs.Factory(dict)  #: table -> rows appended since

    def copy(self) -> _Lifted:
        return _Lifted(self.head, self.changes, dict(self.dropped), dict(self.rows))


def _named_by_erasure(seq: str) -> str:
    """SQL: an Erasure after entry ``seq`` names it (its ``seqs`` are a JSON list of decimal
    texts, so the quotes around a seq delimit it)."""
    table = TABLES[Erasure].name
    return (
        f"EXISTS (SELECT 1 FROM {table} w WHERE w.seq > {seq} "
        f"AND instr(w.seqs, '\"' || {seq} || '\"') > 0)"
    )


def _redacted_sql(type_: str, payload: str) -> str:
    """SQL for the redacted form of ``payload`` of a ``type_`` entry: what
    ``chain.redacted_payload`` gives, through SQLite's JSON functions (which keep the rest
    of the text as it is)."""
    cls = next(c for c in PERSONAL_FIELDS if c.__name__ == type_)
    required = {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    removed = ", ".join(
        f"'$.{name}'" for name in ("_salt", *PERSONAL_FIELDS[cls]) if name not in required
    )
    sql = f"json_remove({payload}, {removed})"
    for name in PERSONAL_FIELDS[cls]:
        if name in required:
            sql = f"json_set({sql}, '$.{name}', json('null'))"
    return sql


def _entry_redaction() -> str:
    """SQL true for an UPDATE of an entry into its redacted form, named by a later Erasure:
    every column but the payload unchanged (the rowid too)."""
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in ("rowid", *ENTRY_COLUMNS) if c != "payload")
    forms = " ".join(
        f"WHEN '{cls.__name__}' THEN {_redacted_sql(cls.__name__, 'OLD.payload')}"
        for cls in PERSONAL_FIELDS
    )
    return (
        f"{same} AND NEW.payload IS NOT OLD.payload AND NEW.payload IS (CASE OLD.type {forms} "
        f"END) AND {_named_by_erasure('OLD.seq')}"
    )


def _row_change_allowed(table: VersionTable) -> str:
    """SQL true for an UPDATE of a version row the ledger makes: one that changes nothing but
    ``superseded_by`` (its own guards check it), or that empties the personal columns of a
    row whose entry a later Erasure names."""
    personal = PERSONAL_FIELDS.get(table.cls, ())
    fixed = [c for c in ("rowid", "seq", *table.columns) if c not in personal]
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in fixed)
    if not personal:
        return same
    kept = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in personal)
    emptied = " AND ".join(f"NEW.{c} IS NULL" for c in personal)
    return f"{same} AND (({kept}) OR ({emptied} AND {_named_by_erasure('OLD.seq')}))"


def _refuse(
    table: str,
    event: str,
    message: str,
    when: str | None = None,
    *,
    first: Sequence[tuple[str, str]] = (),
) -> str:
    """The one trigger refusing ``event`` on ``table`` (``when`` it holds) with ``message``.

    ``first`` are (condition, message) pairs checked in order before, for a more precise
    message than ``message``, the one when none of them holds; they run only once the
    trigger fires, so the cost of every statement is that of ``when`` (one frame per row).
    """
    condition = f" WHEN {when}" if when else ""
    body = "".join(f"SELECT RAISE(ABORT, {_sql_text(said)}) WHERE {cond}; " for cond, said in first)
    body += f"SELECT RAISE(ABORT, {_sql_text(message)});"
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{event.lower()} BEFORE {event} ON "
        f"{table}{condition} BEGIN {body} END;"
    )


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- what storage.locate asks of this backend: a location without a URL scheme is a file ---

IS_FILE = True
checked = ledger_path


def shown(location: str) -> str:
    """A file's location as messages show it: as given."""
    return location


def opened(location: str, busy_timeout: float) -> Store:
    """The ledger file at ``location``, created if missing."""
    return Store(location, busy_timeout=busy_timeout)


def discard(location: str) -> None:
    """Remove the file at ``location`` and its journal files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{location}{suffix}").unlink(missing_ok=True)
