"""The one narrow interface every storage backend implements (DESIGN §14), and its filters.

Callers name record types, ids, columns and bounds; no SQL crosses this interface.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from os import PathLike
from typing import Any, Protocol, TypeVar, cast

import attrs

from ..chain import ChainRow, Digest, Entry, Head, Redaction, VerifyResult
from ..records import Record, SparkAuthorization
from .filters import (
    After,
    All,
    AnyOf,
    AtMost,
    CustomId,
    Equals,
    Filter,
    Missing,
    Not,
    OneOf,
    first_match,
    predicate,
)
from .schema import ENTRY_FIELDS, TABLES, VersionTable, code_key

__all__ = [
    "BACKENDS",
    "DEFAULT_BUSY_TIMEOUT",
    "ENTRY_FIELDS",
    "After",
    "All",
    "AnyOf",
    "AtMost",
    "CustomId",
    "Equals",
    "Filter",
    "Location",
    "Missing",
    "Not",
    "OneOf",
    "Storage",
    "code_key",
    "columns_of",
    "first_match",
    "locate",
    "predicate",
    "row_of",
]

R = TypeVar("R", bound=Record)

#: Seconds a write waits for another process's write lock, unless the caller says otherwise.
DEFAULT_BUSY_TIMEOUT = 60.0

#: The backend for each URL scheme: a module of this package, imported only when a location
#: names it. A location without a scheme ("") is a file. A new backend: one module, one line.
BACKENDS: dict[str, str] = {
    "": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


class Backend(Protocol):
    """What a backend module offers :func:`locate`, besides its :class:`Storage` class."""

    #: True when its ledgers are files on this machine (they can be missing, or removed).
    IS_FILE: bool

    def checked(self, location: str | bytes | PathLike[str] | PathLike[bytes]) -> str:
        """``location`` as text; a ``ValueError`` if no ledger can be there."""
        ...

    def shown(self, location: str) -> str:
        """``location`` as messages show it (without any password)."""
        ...

    def opened(self, location: str, busy_timeout: float) -> Storage:
        """The ledger at ``location``, created if missing."""
        ...

    def discard(self, location: str) -> None:
        """Remove what a failed copy or a replaced sample left at ``location``."""
        ...


@attrs.frozen
class Location:
    """Where a ledger is, as :func:`locate` read it: a file, or a URL naming a server's.

    ``text`` is the location as given (a URL may hold a password: show :attr:`shown`).
    """

    text: str = attrs.field(repr=False)
    backend: str
    shown: str

    def _module(self) -> Backend:
        return cast(Backend, importlib.import_module(f"{__name__}.{self.backend}"))

    @property
    def is_file(self) -> bool:
        """True for a ledger file on this machine (which may not exist yet)."""
        return self._module().IS_FILE

    def open(self, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Storage:
        """The ledger's storage, created if missing."""
        return self._module().opened(self.text, busy_timeout)

    def discard(self) -> None:
        """Remove the ledger (a file and its journal files; a server's is left alone: what a
        failed command began there was one transaction, and kept nothing)."""
        self._module().discard(self.text)


def locate(location: str | bytes | PathLike[str] | PathLike[bytes]) -> Location:
    """Where ``location`` (a file path, or a URL such as ``postgresql://…``) names a ledger;
    the backend is chosen by the URL's scheme in :data:`BACKENDS`. A ``ValueError`` says why
    no ledger can be there (an empty path, ``:memory:``).

    >>> locate("postgresql://app:s3cret@db.internal/access")
    Location(backend='postgres', shown='postgresql://app@db.internal/access')
    >>> locate("access.db").is_file
    True
    """
    found = _SCHEME.match(location) if isinstance(location, str) else None
    scheme = found.group(1).lower() if found else ""
    backend = BACKENDS.get(scheme, BACKENDS[""])  # another scheme: a file, as it always was
    module = cast(Backend, importlib.import_module(f"{__name__}.{backend}"))
    text = module.checked(location)
    return Location(text=text, backend=backend, shown=module.shown(text))


def columns_of(cls: type[Record]) -> tuple[str, ...]:
    """The columns a read of ``cls``'s current versions may name, filter or order by.

    ``seq`` (the entry that holds the version), ``superseded_by`` (the seq of the record's
    next version, or None), then the record's fields as the version
    columns hold them (times as integer microseconds since the epoch, a Spark code as
    ``code_key``, the first 64 bits of its fingerprint as a signed integer, tuples as
    canonical JSON text), then :data:`ENTRY_FIELDS`.

    >>> from delvia_ledger.records import Person
    >>> columns_of(Person)[:4]
    ('seq', 'superseded_by', 'id', 'name')
    """
    return ("seq", "superseded_by", *TABLES[cls].columns, *ENTRY_FIELDS)


def row_of(seq: int, record: Record, columns: Sequence[str]) -> tuple[Any, ...]:
    """The ``columns`` of the version row ``record`` has as entry ``seq``, as
    :meth:`Storage.current_rows` gives them (times in µs, a code as its key).

    >>> from delvia_ledger.records import Person
    >>> row_of(7, Person(id="ana", name="Ana"), ("seq", "name", "left_at"))
    (7, 'Ana', None)
    """
    table = TABLES[type(record)]
    row = table.row(seq, record)
    names = ("seq", "superseded_by", *table.columns)
    return tuple(row[names.index(column)] for column in columns)


class Storage(Protocol):
    """What the layers above storage call; SQLite (``storage.sqlite.Store``) and PostgreSQL
    each implement it once.

    Conventions for every method:

    - ``cls`` is one of ``records.RECORD_TYPES``; ``bound`` is a sequence bound: the state
      after entry ``bound`` (None: the current state, including what the open write
      transaction has appended).
    - Column names come from :func:`columns_of` (a name outside it is a ``ValueError``);
      values compare as the version columns hold them (times in integer microseconds).
    - Every error of the database driver leaves as a :class:`~delvia_ledger.StorageError`:
      :class:`~delvia_ledger.LedgerBusyError` for a lock wait past the timeout,
      :class:`~delvia_ledger.NotALedgerError` for a store that is not (or no longer) a ledger.
    - A stored payload that does not read back as its record is damage
      (:class:`~delvia_ledger.NotALedgerError` naming the seq), not a converter error.
    """

    @property
    def path(self) -> str:
        """Where the ledger is, as messages name it (a file path; a URL without password)."""
        ...

    def close(self) -> None:
        """Release the connection; any later call raises a ``StorageError`` saying so."""
        ...

    def backup(self, dest: str | PathLike[str]) -> None:
        """Write a consistent copy of the whole ledger to ``dest`` while others may write."""
        ...

    # --- transactions and the chain's tip ---------------------------------------------------

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing writing. The outermost takes the write lock at once (appends are
        serialised across processes and hosts, so seqs stay gap-free); nested ones join it and
        a refused inner block undoes only itself. A driver error inside rolls back and leaves
        as a ``StorageError``."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads inside see one state of the ledger while other processes write; inside a
        transaction (or another snapshot) it joins that. Never blocks writers."""
        ...

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` is open on this connection."""
        ...

    @property
    def head(self) -> Head:
        """The last entry's seq, hash and ``recorded_at`` text (seq 0 and the genesis hash
        for an empty ledger); inside a transaction, including what it appended."""
        ...

    def append(
        self,
        items: Sequence[tuple[VersionTable, Record, str, int | None]],
        recorded_at: datetime,
    ) -> tuple[str, list[str]]:
        """Append a batch of entries inside :meth:`transaction`.

        Each item is (version table, record, its canonical JSON payload, the seq of the
        version it supersedes or None). The entries take the next seqs in order
        (``head.seq + 1``, ...) and all carry ``recorded_at``; their version rows are written
        and superseded versions marked. Returns the ``recorded_at`` text and the hashes.
        """
        ...

    # --- entries ------------------------------------------------------------------------------

    def entries(self, bound: int | None = None, after: int = 0) -> Iterator[Entry]:
        """Every entry after seq ``after`` up to ``bound``, oldest first, streamed."""
        ...

    def latest(self, cls: type[Record], id_: str, bound: int | None) -> Entry | None:
        """The entry holding the version of record ``id_`` current at ``bound``, or None.

        O(log n) in the number of versions of ``id_`` (the last version at or before the
        bound, found through the id index)."""
        ...

    def history(self, cls: type[Record], id_: str, bound: int | None) -> list[Entry]:
        """Every version of record ``id_`` up to ``bound``, oldest first."""
        ...

    def current_entries(self, cls: type[Record], bound: int | None) -> Iterator[Entry]:
        """The entry of every record of type ``cls`` current at ``bound``, ordered by id,
        streamed."""
        ...

    def seq_at(self, recorded_at: datetime) -> int:
        """The last seq recorded at or before ``recorded_at`` (0 if none)."""
        ...

    def recorded_at(self, seq: int) -> datetime | None:
        """When entry ``seq`` was recorded (None if there is no such entry)."""
        ...

    # --- current versions, by keyword filters ---------------------------------------------------

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
        """The versions of ``cls`` current at ``bound`` that ``where`` keeps, as tuples of
        ``columns``, streamed (a million need not fit in memory at once).

        ``order_by`` names columns (ascending; ties in no given order unless ``seq`` is
        among them; no order given: any); ``distinct`` drops repeated tuples. With ``since``
        (a seq no later than ``bound``), every version current at some point from ``since``
        to ``bound``: two views' reads in one (``ledger.changes``).
        """
        ...

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
        """The current versions whose column ``by`` is one of ``values`` (and that ``where``
        keeps): value of ``by`` -> tuple of ``columns``. Where several versions share a value,
        one of them (``by`` is meant to be ``id`` or another key)."""
        ...

    def current_records(
        self,
        cls: type[R],
        by: str,
        values: Iterable[Any],
        *,
        where: Filter | None = None,
        bound: int | None = None,
    ) -> list[R]:
        """The current records of type ``cls`` whose column ``by`` is one of ``values`` and
        that ``where`` keeps, read back from their payloads."""
        ...

    def current_versions(
        self,
        cls: type[R],
        by: str,
        values: Iterable[Any],
        where: Filter | None = None,
        bound: int | None = None,
    ) -> list[tuple[int, R]]:
        """:meth:`current_records`, each with the seq of its version: (seq, record)."""
        ...

    def authorization_by_fingerprint(
        self, fingerprint: str, bound: int | None
    ) -> tuple[int, SparkAuthorization] | None:
        """The ``SparkAuthorization`` current at ``bound`` whose code has ``fingerprint`` (under
        its derived id first, else under a custom id), with the seq of that version; None if
        none. One read: :meth:`authorizations_by_fingerprint` for one code."""
        ...

    def authorizations_by_fingerprint(
        self, fingerprints: Iterable[str], bound: int | None = None, *, derived: bool = True
    ) -> dict[str, tuple[int, SparkAuthorization]]:
        """fingerprint -> (seq, authorization) for each code held at ``bound``, under its
        derived id first, else under a custom id (``derived=False``: custom ids only, for a
        caller that has read the derived ones). One statement for one code, two for many: the
        one place a code is found from its fingerprint."""
        ...

    def latest_records(
        self, wanted: Iterable[tuple[type[Record], str]], bound: int | None
    ) -> dict[tuple[type[Record], str], tuple[int, Record]]:
        """(type, id) -> (seq, record) for each wanted record current at ``bound``; ids with no
        record are left out. One read whatever the types (a code's neighbours, at once)."""
        ...

    def current_with(self, cls: type[R], field: str, bound: int | None = None) -> list[R]:
        """The current records of type ``cls`` at ``bound`` whose payload holds ``field`` (a
        field left at its default, None, is not in the payload), for a field that has no
        query column (``SparkAuthorization.retired_at``)."""
        ...

    def last_from(
        self, source: str, cls: type[R], ids: Iterable[str], bound: int | None = None
    ) -> dict[str, tuple[R, datetime]]:
        """For each of ``ids``, the last version of ``cls`` recorded from ``source`` (one of
        ``chain.SOURCES``) up to ``bound``, and its ``recorded_at``: id -> (record, time).
        Ids with no version from that source are left out. For precedence between sources
        (DESIGN §9): what TikTok last said of each record, and when."""
        ...

    def bound_accounts(self, bound: int | None, where: Filter) -> Iterator[tuple[str, str]]:
        """Distinct (creator_id, ad_account_id) pairs of the ``SparkBinding`` versions current
        at ``bound`` that ``where`` keeps (a filter over binding columns), each joined to the
        ``SparkAuthorization`` current at ``bound`` it binds (bindings of none are left out)."""
        ...

    def bindings_with_codes(
        self, bound: int | None, binding_columns: Sequence[str], code_columns: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """Every ``SparkBinding`` current at ``bound`` joined to the ``SparkAuthorization``
        current at ``bound`` it binds: the binding's ``binding_columns``, then the code's
        ``code_columns``, in no given order (bindings of no code are left out). One
        read for what the checks ask of bindings and their codes (a code replaced, ...)."""
        ...

    # --- erasure (DESIGN §16) and copies -------------------------------------------------------

    def erasing(self) -> AbstractContextManager[None]:
        """Around an erasure's transaction: what it replaces is overwritten, not only freed,
        and (SQLite) the WAL is emptied once it commits."""
        ...

    def redactions(self) -> dict[int, Redaction]:
        """Every seq an Erasure of the whole ledger names, with what the chain walk needs."""
        ...

    def can_erase(self) -> bool:
        """Whether the store has what an erasure writes (an unmigrated read-only file has
        not)."""
        ...

    def any_erasure(self) -> bool:
        """Whether the ledger holds an Erasure."""
        ...

    def versions_of(self, cls: type[Record], ids: Iterable[str]) -> list[tuple[int, str, str]]:
        """Every version of records ``ids`` of ``cls``: (seq, id, stored payload), by seq."""
        ...

    def redact(self, cls: type[Record], items: Sequence[tuple[int, str]]) -> None:
        """Store each (seq, redacted payload) of ``cls`` and empty its version row's personal
        columns (inside :meth:`transaction`, after the Erasure naming them)."""
        ...

    def append_rows(self, rows: Sequence[ChainRow]) -> None:
        """Append entries exactly as another ledger stores them, with their version rows,
        each extending the chain (a copy); inside :meth:`transaction`."""
        ...

    # --- integrity ----------------------------------------------------------------------------

    def digest(self, bound: int | None = None) -> Digest:
        """The seq and hash of the last entry up to ``bound`` (seq 0, genesis hash: none)."""
        ...

    def chain_rows(self, bound: int | None = None) -> Iterator[ChainRow]:
        """The rows :func:`~delvia_ledger.chain.walk_chain` needs: every entry up to
        ``bound`` as :data:`~delvia_ledger.chain.ENTRY_COLUMNS`, oldest first, cells as
        stored. An entry that cannot be read raises ``chain.UnreadableEntry`` from the
        iterator, so the walk names its seq."""
        ...

    def verify(
        self,
        digest: Digest | None = None,
        bound: int | None = None,
        *,
        deep: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> VerifyResult:
        """Walk the chain up to ``bound`` (:func:`~delvia_ledger.chain.walk_chain` over
        :meth:`chain_rows`), and with ``digest`` prove the ledger extends it. ``deep`` also
        checks the store's own structure and that every version row is what its entry
        derives; the earliest problem found is named. Damage is a result, never an exception
        (only a busy lock and a closed ledger raise). ``progress`` is called with the last seq
        walked, now and then. Run it inside one :meth:`snapshot`."""
        ...
