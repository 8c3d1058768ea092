"""The facade users hold: open a ledger, record versions, read them now or as of a moment.

>>> import delvia_ledger as dl, tempfile
>>> from pathlib import Path
>>> ledger = dl.Ledger.open(Path(tempfile.mkdtemp()) / "access.db")
>>> ledger.record(dl.Creator(id="maya", handle="@maya.makes", region="US")).seq
1
>>> ledger.get(dl.Creator, "maya").handle
'maya.makes'
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from itertools import islice
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import attrs

from . import erasure, io, reconcile, sheet, tiktok
from . import reminders as who_must_act
from .access import OffboardingPlan, active_grants, offboarding_plan
from .chain import (
    SOURCES,
    Digest,
    Entry,
    VerifyResult,
    compose_payload,
    new_salt,
    payload_content,
    rebuilt_payload,
)
from .checks import DEFAULT_WITHIN, Checks, Within
from .collector import collector_paused
from .convert import format_time, parse_time, record_from_json
from .diagnose import Diagnosis, about_the_connection, diagnose, diagnose_at_tiktok
from .errors import (
    DuplicateCodeError,
    ImmutableFieldError,
    InconsistentReferenceError,
    InvalidRecordError,
    IrreversibleChangeError,
    LedgerError,
    MissingReferenceError,
    NotALedgerError,
    PayloadError,
    TikTokAPIError,
)
from .findings import Finding
from .reconcile import ImportResult, SyncResult
from .records import (
    NO_CODE,
    PERSONAL_FIELDS,
    RECORD_TYPES,
    AdAccount,
    Creator,
    Erasure,
    Notice,
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
    fingerprint_of,
    shown,
    time_problem,
    to_utc,
)
from .storage import All, CustomId, Equals, Storage, code_key
from .storage.postgres import PostgresStore, is_postgres_url
from .storage.schema import TABLES, VersionTable
from .storage.sqlite import DEFAULT_BUSY_TIMEOUT, Store
from .world import World

if TYPE_CHECKING:  # sync sits below the ledger (DESIGN §3): the ledger only calls a client
    from .sync import TikTokClient, VideoPage

__all__ = ["ImportResult", "Ledger", "LedgerView", "RecordAllResult", "SyncResult"]

R = TypeVar("R", bound=Record)
T = TypeVar("T")
Clock = Callable[[], datetime]

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
    RoleGrant: ("person_id", "scope", "role"),
    SparkAuthorization: ("code", "creator_id", "post_id"),
    SparkAd: ("ad_account_id",),
    RegionRule: ("creator_region", "account_region"),
}

#: Times that, once set, can be neither cleared nor moved.
ONE_WAY: dict[type[Record], tuple[str, ...]] = {
    SparkAuthorization: ("revoked_at",),
    Person: ("left_at",),
    RoleGrant: ("ended_at",),
}

#: Records checked and written per round trip of ``record_all``: measured, not guessed (see
#: benchmarks/README.md); smaller batches keep the working set in cache, larger pay SQL per call.
BATCH_SIZE = 500

#: Records the ledger holds, cached during one call (references resolve against it):
#: (type, id) -> its row from the version table (``(creator_id,)`` for a Post).
Known = dict[tuple[type[Record], str], Any]
KNOWN_LIMIT = 200_000

#: Current versions by (type, id): (seq, payload, the record if already at hand).
Versions = dict[tuple[type[Record], str], tuple[int, str, Record | None]]

#: What a record refers to: (referenced type, id) pairs.
References = tuple[tuple[type[Record], str], ...]

#: A record on its way in: (record, its table, what it refers to, its canonical JSON).
Prepared = list[tuple[Record, VersionTable, References, str]]


@attrs.frozen
class RecordAllResult:
    """What :meth:`Ledger.record_all` did: entries written, records already current."""

    written: int
    unchanged: int
    last_seq: int


#: An authorization id as the ledger derives it (``auth_`` and 16 hex digits).
_AUTH_ID_SHAPE = re.compile(r"auth_[0-9a-f]{16}")


class _DryRun(Exception):
    """Raised inside a nested transaction to undo what a dry run wrote there."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LedgerView:
    """Read access to a ledger, either current or bounded to a sequence number (``as_of``)."""

    def __init__(self, store: Storage, clock: Clock, bound: int | None) -> None:
        self._store = store
        self._clock = clock
        self._bound = bound

    @property
    def seq(self) -> int:
        """The last sequence number this view sees (0 for an empty ledger)."""
        return self._store.head.seq if self._bound is None else self._bound

    def now(self) -> datetime:
        """The ledger clock's current time (aware, UTC)."""
        moment = self._clock()
        if moment.utcoffset() is None:
            raise ValueError(f"the ledger clock returned a naive datetime {moment!r}")
        return moment.astimezone(UTC)

    def get(self, cls: type[R], id: str) -> R | None:
        """The current version of record ``id`` of type ``cls``, or None."""
        entry = self._store.latest(_record_type(cls), id, self._bound)
        return entry.record if entry else None  # type: ignore[return-value]

    def _loader(self, cls: type[R]) -> Callable[[str], R | None]:
        return lambda id_: self.get(cls, id_)

    def history(self, cls: type[Record], id: str) -> list[Entry]:
        """Every version of ``id``, oldest first."""
        return self._store.history(_record_type(cls), id, self._bound)

    def entries(self) -> Iterator[Entry]:
        """Every entry this view sees, oldest first (streamed)."""
        return self._store.entries(self._bound)

    def records(self, cls: type[R]) -> Iterator[R]:
        """Every current record of type ``cls``, ordered by id (streamed)."""
        for entry in self._store.current_entries(_record_type(cls), self._bound):
            yield entry.record  # type: ignore[misc]

    def export_csv(self, cls: type[Record], out: io.Source) -> int:
        """Write the current records of ``cls`` as CSV (codes as fingerprint and hint only) to
        a path (replacing any file there) or an open text file; returns the row count."""
        return io.write_csv(self.records(cls), cls, out)

    def export_json(self, out: io.Source) -> int:
        """Write every entry this view sees as one JSON document, for other tools to embed, to
        a path (replacing any file there) or an open text file; returns the entry count."""
        return io.export_json(self.entries(), out)

    def authorization_for(self, code: str | SparkCode) -> SparkAuthorization | None:
        """The authorization recorded for a raw code (found by its fingerprint), or None.

        A code that is not text is refused with an :class:`InvalidRecordError`.
        """
        fingerprint = code.fingerprint if isinstance(code, SparkCode) else fingerprint_of(code)
        custom = self._store.current_rows(
            SparkAuthorization,
            ("id",),
            bound=self._bound,
            where=All(Equals("code_key", code_key(fingerprint)), CustomId()),
        )
        for id_ in [derived_authorization_id(fingerprint), *(id_ for (id_,) in custom)]:
            found = self.get(SparkAuthorization, id_)
            if found is not None and found.code.fingerprint == fingerprint:
                return found
        return None

    def digest(self) -> Digest:
        """A small printable commitment to everything this view sees."""
        return self._store.digest(self._bound)

    def verify(
        self,
        digest: Digest | str | None = None,
        *,
        deep: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> VerifyResult:
        """Walk the whole hash chain; with ``digest``, also prove the ledger extends it.

        ``deep=True`` also derives every version table again from the entries and checks it
        matches: the queries read those tables, so this proves the findings rest on the chain.
        ``progress``, if given, is called with the last seq walked as the chain walk goes.
        """
        saved = Digest.parse(digest) if isinstance(digest, str) else digest
        with self._store.snapshot():
            return self._store.verify(saved, self._bound, deep=deep, progress=progress)

    def as_of(
        self, *, seq: int | None = None, recorded_at: datetime | str | None = None
    ) -> LedgerView:
        """A read-only view that sees only entries up to ``seq`` or ``recorded_at``."""
        if (seq is None) == (recorded_at is None):
            raise ValueError("as_of() takes exactly one of seq= or recorded_at=")
        if seq is not None:
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                raise ValueError(f"as_of(seq={shown(seq)}): seq must be a whole number >= 0")
            seq = min(seq, LAST_SEQ)  # what SQLite can compare; no ledger gets that far
            bound = seq if self._bound is None else min(seq, self._bound)
        else:
            moment = _aware(recorded_at, "as_of: recorded_at")
            bound = self._store.seq_at(moment)
            if self._bound is not None:
                bound = min(bound, self._bound)
        return LedgerView(self._store, self._clock, bound)

    # --- checks (DESIGN §6): every query takes now= (default: the ledger clock) -----------

    def checks(self, now: datetime | str | None = None) -> Checks:
        """The findings engine for this view at ``now``."""
        moment = self.now() if now is None else _aware(now, "now")
        return Checks(World(self._store, self._bound, moment))

    def _query(self, now: datetime | str | None, run: Callable[[Checks], T]) -> T:
        """Run a query's several reads on one snapshot of the file (writers may be busy)."""
        with self._store.snapshot():
            return run(self.checks(now))

    def expiring(
        self, within: Within = DEFAULT_WITHIN, *, now: datetime | str | None = None
    ) -> list[Finding]:
        """Codes not revoked that expire after ``now`` and no later than ``now + within``."""
        return self._query(now, lambda c: c.expiring(within))

    def expired(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes past their window (and not revoked), with the active ads they break."""
        return self._query(now, lambda c: c.expired())

    def revoked(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes the creator revoked, with the active ads they affect."""
        return self._query(now, lambda c: c.revoked())

    def not_yet_active(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes whose window has not started."""
        return self._query(now, lambda c: c.not_yet_active())

    def mismatched_posts(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Ads whose code authorizes another post than the ad intends."""
        return self._query(now, lambda c: c.mismatched_posts())

    def region_incompatible(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Code/account pairs the region policy rejects (ERROR) or does not confirm (INFO)."""
        return self._query(now, lambda c: c.region_incompatible())

    def outlived_by_ads(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Ads scheduled to run past their code's expiry."""
        return self._query(now, lambda c: c.outlived_by_ads())

    def post_unavailable(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes not yet ended whose post TikTok reports deleted or removed by moderation."""
        return self._query(now, lambda c: c.post_unavailable())

    def unbound(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Ads whose code TikTok no longer lists in the ad's account."""
        return self._query(now, lambda c: c.unbound_ads())

    def not_authorized(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes TikTok reports as not AUTHORIZED in an account where they are bound."""
        return self._query(now, lambda c: c.not_authorized())

    def ownership(
        self, within: Within = DEFAULT_WITHIN, *, now: datetime | str | None = None
    ) -> list[Finding]:
        """NO_ADMIN, NO_OPERATOR, OWNER_MISSING and ROLE_EXPIRING."""
        return self._query(now, lambda c: c.ownership(within))

    def findings(
        self, within: Within = DEFAULT_WITHIN, *, now: datetime | str | None = None
    ) -> list[Finding]:
        """Every kind of finding, worst severity first, then earliest deadline."""
        return self._query(now, lambda c: c.findings(within))

    def iter_findings(
        self, within: Within = DEFAULT_WITHIN, *, now: datetime | str | None = None
    ) -> Iterator[Finding]:
        """:meth:`findings` streamed, in the same order, in bounded memory.

        ``within`` and ``now`` are checked at once; the ledger is read from the first ``next``
        on, in one snapshot held until the stream ends (consume it, or ``close()`` it).
        """
        return self._streamed(self.checks(now).iter_findings(within))

    def _streamed(self, found: Iterator[Finding]) -> Iterator[Finding]:
        with self._store.snapshot():
            yield from found

    def diagnose(
        self,
        code: str | SparkCode,
        *,
        post_id: str | None = None,
        ad_account_id: str | None = None,
        now: datetime | str | None = None,
        client: TikTokClient | None = None,
        live: bool | None = None,
    ) -> Diagnosis:
        """Why one code does (not) work: known -> live -> right post -> region.

        With ``client`` (a :class:`~delvia_ledger.sync.TikTokClient`) and ``ad_account_id``, a
        code the ledger does not hold is looked up at TikTok (``GET /tt_video/info/``, which
        applies nothing): the live and post steps are then decided from TikTok's answer, and a
        code TikTok refuses is explained by :func:`~delvia_ledger.explain_error`. Refusals
        about the connection itself (the token, a missing scope, throttling past the retries)
        raise :class:`~delvia_ledger.TikTokAPIError`. ``live`` defaults to True when a
        client is given; ``live=False`` keeps the diagnosis to what the ledger knows.
        """
        post_id = _optional_text_arg(post_id, "diagnose(post_id=...)")
        ad_account_id = _optional_text_arg(ad_account_id, "diagnose(ad_account_id=...)")
        if not isinstance(code, SparkCode):
            fingerprint_of(code)  # refuses what is not a code before any read
        if live and client is None:
            raise ValueError("diagnose(live=True) needs client=TikTokClient(...) to ask TikTok")
        found = self._query(now, lambda c: diagnose(c.world, code, post_id, ad_account_id))
        if found.authorization is not None or client is None or live is False:
            return found
        if not isinstance(code, str):
            raise ValueError("diagnose: asking TikTok needs the raw code text, not a SparkCode")
        if ad_account_id is None:
            raise ValueError(
                "diagnose: asking TikTok (client=...) needs ad_account_id=..., the ad account "
                "(advertiser) to ask in"
            )
        answer: tiktok.Item | TikTokAPIError
        try:
            items, skipped = tiktok.items_from_tt_video(client.video_info(ad_account_id, code))
            answer = (
                items[0]
                if items
                else TikTokAPIError("no_code", f"TikTok's answer holds no code ({skipped[0]})")
            )
        except TikTokAPIError as error:
            if about_the_connection(error):
                raise
            answer = error
        return self._query(
            now, lambda c: diagnose_at_tiktok(c.world, code, answer, post_id, ad_account_id)
        )

    # --- access (DESIGN §8) -------------------------------------------------------------------

    def access(self, scope: str, *, now: datetime | str | None = None) -> list[RoleGrant]:
        """The active role grants on ``scope`` (e.g. ``"ad_account:6900…"``)."""
        scope = _text_arg(scope, "access(scope=...)")
        return self._query(now, lambda c: active_grants(c.world, lambda g: g.scope == scope))

    def roles_of(self, person_id: str, *, now: datetime | str | None = None) -> list[RoleGrant]:
        """A person's active role grants."""
        person_id = _text_arg(person_id, "roles_of(person_id=...)")
        return self._query(
            now, lambda c: active_grants(c.world, lambda g: g.person_id == person_id)
        )

    # --- who must act (DESIGN §13) ---------------------------------------------------------

    def reminders(
        self,
        within: Within = who_must_act.DEFAULT_REMIND_WITHIN,
        *,
        now: datetime | str | None = None,
    ) -> list[who_must_act.Reminder]:
        """One worklist per person with work, worst first: each finding goes to its owner,
        else the account's admins, else its Business Center's admins (``escalated``), else
        to the unassigned reminder (``person_id`` None). Writes nothing."""
        load = self._loader(Person)
        return self._query(now, lambda c: who_must_act.reminders(c, c.findings(within), load))

    def changes(
        self,
        since: who_must_act.Since,
        *,
        within: Within = DEFAULT_WITHIN,
        now: datetime | str | None = None,
    ) -> who_must_act.Changes:
        """What was recorded after ``since`` (a seq, a Digest, a time or ``"7d"``) and which
        findings are new, resolved or changed since then, from ``as_of`` views."""
        moment = None if now is None else _aware(now, "now")
        with self._store.snapshot():
            return who_must_act.changes(self, self._store, since, within, moment)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} seq={self.seq}>"

    def to_frame(
        self,
        kind: type[Record] | str,
        *,
        within: Within = DEFAULT_WITHIN,
        now: datetime | str | None = None,
    ) -> Any:
        """The current records of ``kind`` as a pandas DataFrame, one column per field.

        ``kind`` is a record type or its name, or ``"findings"`` (then ``within`` and ``now``
        apply). Needs pandas: ``pip install 'delvia-ledger[notebooks]'``; see ``dl.frames``.
        """
        from .dataframes import to_frame

        return to_frame(self, kind, within=within, now=now)


class Ledger(LedgerView):
    """An append-only, tamper-evident ledger in one SQLite file."""

    def __init__(self, store: Storage, clock: Clock) -> None:
        super().__init__(store, clock, None)

    @classmethod
    def open(
        cls,
        path: str | bytes | PathLike[str] | PathLike[bytes],
        clock: Clock | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> Ledger:
        """Open (creating if missing) the ledger at ``path``.

        ``clock`` is a callable returning an aware datetime; it stamps ``recorded_at`` and is
        the default ``now`` of every query. Default: the current UTC time. A write waits up to
        ``busy_timeout`` seconds for another process's write, then raises
        :class:`LedgerBusyError`. An empty path, ``":memory:"`` and ``file:`` URIs are refused
        (a ledger must outlive the process), as is any file that is not a ledger, unchanged.
        A ``postgresql://`` URL opens a ledger on a PostgreSQL server (``docs/postgres.md``).
        """
        if is_postgres_url(path):  # psycopg is imported only then
            return cls(PostgresStore(str(path), busy_timeout=busy_timeout), clock or _utc_now)
        return cls(Store(path, busy_timeout=busy_timeout), clock or _utc_now)

    def close(self) -> None:
        """Close the underlying connection."""
        self._store.close()

    def backup(self, dest: str | PathLike[str]) -> None:
        """Write a consistent copy of the ledger to the new file ``dest`` (while others may
        write), e.g. before an upgrade or for an off-site copy; verify it with
        ``Ledger.open(dest).verify(deep=True)``."""
        if Path(dest).exists():
            raise LedgerError(f"backup: {dest} already exists; name a new file")
        self._store.backup(dest)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """All-or-nothing: everything recorded inside is kept only if the block succeeds.

        Nested use joins the outer transaction (a refused inner block undoes only itself).
        """
        with self._store.transaction():
            yield self

    def record(self, record: Record, *, source: str = "api", force: bool = False) -> Entry:
        """Append a new version of ``record``; an unchanged record writes nothing.

        ``source`` says where it came from (one of ``dl.SOURCES``; recorded in the chain).
        Personal data of an erased creator or person is refused (``ErasedSubjectError``)
        unless ``force=True`` (a new consent). Returns the entry that now holds the record's
        current version.
        """
        source = _source_arg(source, "record")
        with self._store.transaction():
            stamp, hashes = self._record_batch([record], {}, source, force is True)
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
        *,
        source: str = "api",
        force: bool = False,
    ) -> RecordAllResult:
        """Record many records in one transaction, streamed in batches: the fast path.

        ``progress``, if given, is called after each batch with the number of records read.
        ``source`` says where they came from (one of ``dl.SOURCES``; recorded in the chain);
        ``force`` as for :meth:`record`.
        """
        source = _source_arg(source, "record_all")
        return self._record_all(records, batch_size, progress, source, force is True)

    def _record_all(
        self,
        records: Iterable[Record],
        batch_size: int,
        progress: Callable[[int], object] | None,
        source: str | None,
        force: bool = False,
    ) -> RecordAllResult:
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
        known: Known = {}
        with self._store.transaction():
            iterator = iter(records)
            while True:
                batch = list(islice(iterator, batch_size))  # the caller's code, as they left it
                if not batch:
                    break
                with collector_paused():  # a batch makes no cycles; its objects are many
                    count = len(self._record_batch(batch, known, source, force)[1])
                written += count
                unchanged += len(batch) - count
                if progress is not None:
                    progress(written + unchanged)
            last = self._store.head.seq
        return RecordAllResult(written=written, unchanged=unchanged, last_seq=last)

    def import_csv(
        self,
        cls: type[Record],
        source: io.Source,
        progress: Callable[[int], object] | None = None,
        *,
        timezone: str | tzinfo | None = None,
    ) -> RecordAllResult:
        """Record every row of a CSV of ``cls`` records in one transaction (streamed).

        ``source`` is a path or an open text file, as spreadsheets write it (see
        :func:`delvia_ledger.io.read_csv_rows`): columns ``cls`` lacks are ignored with an
        :class:`~delvia_ledger.io.IgnoredColumnsWarning`; times without an offset need
        ``timezone`` (``"Europe/Berlin"``, ``"UTC"``). A malformed row fails the whole import
        with its line number; nothing is written. A row the ledger's rules refuse raises that
        rule's error, naming the line, with the refused record in ``error.record``.
        """
        if cls not in TABLES:
            names = ", ".join(c.__name__ for c in RECORD_TYPES)
            raise ValueError(f"import_csv: {shown(cls)} is not a record type; use one of {names}")
        zone = io.time_zone(timezone)
        # The last rows read, (line, record), newest last: they hold the batch being written,
        # so a refused record's line is found there by identity (not by type and id: one id
        # may appear on several lines). Searched only on an error: a deque costs ~0.04 µs a
        # row, where a dict by id() cost ~0.6.
        read: deque[tuple[int, Record]] = deque(maxlen=2 * BATCH_SIZE)
        conflicts: list[str] = []

        def records() -> Iterator[Record]:
            if cls not in reconcile.TIKTOK_FIELDS:
                for pair in reader:
                    read.append(pair)
                    yield pair[1]
                return
            batch: list[tuple[int, Record]] = []
            for pair in reader:  # TikTok's fields kept, a batch of rows per lookup
                batch.append(pair)
                if len(batch) == BATCH_SIZE:
                    yield from self._tiktoks_kept(batch, read, conflicts)
                    batch = []
            yield from self._tiktoks_kept(batch, read, conflicts)

        with io.csv_source(source) as text:
            reader = io.CsvReader(cls, text, timezone=zone)
            if reader.ignored:
                warnings.warn(reader.ignored, stacklevel=2)
            try:
                with self._store.transaction():  # what TikTok said is read and kept at once
                    result = self.record_all(records(), progress=progress, source="csv")
                if conflicts:
                    warnings.warn(io.SourceConflictWarning(tuple(conflicts)), stacklevel=2)
                return result
            except LedgerError as error:
                found = next((line for line, r in reversed(read) if r is error.record), None)
                if found is None:
                    raise
                refused = type(error)(f"line {found}: {reader.in_columns(str(error))}")
                refused.record = error.record
                raise refused from None

    def _tiktoks_kept(
        self,
        batch: list[tuple[int, Record]],
        read: deque[tuple[int, Record]],
        conflicts: list[str],
    ) -> Iterator[Record]:
        """A CSV batch with every field TikTok reported kept as the ledger holds it (DESIGN §9
        sources); each row that says otherwise is listed in ``conflicts`` by its line."""
        if not batch:
            return
        cls = type(batch[0][1])
        ids = {record.id for _, record in batch}
        said = self._store.last_from("tiktok", cls, ids)
        current = {r.id: r for r in self._store.current_records(cls, "id", said)} if said else {}
        for line, record in batch:
            kept, against = reconcile.keep_tiktoks(
                record, current.get(record.id), said.get(record.id)
            )
            conflicts += (c.in_words(f"line {line}: the CSV") for c in against)
            read.append((line, kept))
            yield kept

    def retire(
        self,
        code_or_id: str | SparkCode,
        reason: str | None = None,
        *,
        at: datetime | str | None = None,
        source: str = "api",
    ) -> SparkAuthorization:
        """Record that a code is done with (a campaign ended), in the chain: a new version of
        its authorization with ``retired_at`` (and ``retired_reason``); history keeps every
        version. ``code_or_id`` is the raw code, its :class:`SparkCode` or the authorization
        id; ``at`` defaults to the ledger's now. Retiring a retired code again keeps its date
        (and takes a new ``reason`` if given). From ``at`` on, the code raises no finding and
        no reminder (DESIGN §9), nor does anything about it (its ads, bindings, region pair).
        """
        held = self._retirable(code_or_id, "retire")
        if reason is not None and not isinstance(reason, str):
            raise ValueError(f"retire: reason must be text, got {type(reason).__name__}")
        when = held.retired_at or (self.now() if at is None else _aware(at, "retire(at=...)"))
        retired = attrs.evolve(held, retired_at=when, retired_reason=reason or held.retired_reason)
        self.record(retired, source=source)
        return retired

    def unretire(self, code_or_id: str | SparkCode, *, source: str = "api") -> SparkAuthorization:
        """Undo :meth:`retire`: the code is checked again (a new version; history keeps both)."""
        held = self._retirable(code_or_id, "unretire")
        active = attrs.evolve(held, retired_at=None, retired_reason=None)
        self.record(active, source=source)
        return active

    def _retirable(self, code_or_id: object, what: str) -> SparkAuthorization:
        if isinstance(code_or_id, str) and _AUTH_ID_SHAPE.fullmatch(code_or_id.strip()):
            found = self.get(SparkAuthorization, code_or_id.strip())
        elif isinstance(code_or_id, str | SparkCode):
            found = self.authorization_for(code_or_id)
        else:
            raise ValueError(
                f"{what}: give the code or the authorization id, not {type(code_or_id).__name__}"
            )
        if found is None:
            raise MissingReferenceError(
                f"{what}: no authorization in the ledger for that code or id (the code is not "
                "shown); check it, or import the sheet or sync first"
            )
        return found

    def import_sheet(
        self,
        source: io.Source,
        mapping: Mapping[str, str] | None = None,
        date_order: sheet.DateOrder | None = None,
        dry_run: bool = False,
        *,
        create_accounts: bool = False,
        account_region: str | None = None,
        create_people: bool = False,
        timezone: str | tzinfo | None = None,
    ) -> sheet.SheetResult:
        """Record the one-tab sheet a team keeps (one row per code) in one transaction.

        ``source`` is a CSV path or open text file (a Google Sheets or Excel export). Headers
        are recognised by the names people use (``Creator Handle``, ``Video Link``, ``Spark
        Code``, ``Sent On``, ``Expires``, ``Ad Account``, ``Owner``, ``Status``, ``Region``,
        ``Notes``...); ``mapping`` ({"Header": "field"}) overrides them. Dates are ISO, or
        ``11/01/2026`` read in ``date_order`` (``"MDY"`` or ``"DMY"``). Creators are found by
        handle (or made with an id derived from no personal data), accounts by id or name,
        owners by id, email or exact name; an unknown account or owner is refused unless
        ``create_accounts`` (with ``account_region``) or ``create_people``. With ``dry_run``
        nothing is written and the result says what would be. Re-importing writes nothing.
        """
        if date_order is not None and date_order not in ("MDY", "DMY"):
            raise sheet.SheetError(f"date_order={shown(date_order)}: use 'MDY' or 'DMY'")
        zone = io.time_zone(timezone)
        with io.csv_source(source) as text:
            read = sheet.read_rows(text, mapping=mapping, date_order=date_order, zone=zone)
        rows = read.rows
        store = self._store
        with store.transaction():
            known = sheet.Known(
                accounts={a.id: a for a in self.records(AdAccount)},
                people=list(self.records(Person)),
                creators=list(self.records(Creator)),
                posts={
                    p.id: p for p in store.current_records(Post, "id", {r.post_id for r in rows})
                },
                codes={
                    c.id: c
                    for c in store.current_records(
                        SparkAuthorization,
                        "id",
                        {derived_authorization_id(r.code.fingerprint) for r in rows},
                    )
                },
            )
            planned = sheet.plan(
                rows,
                known,
                now=self.now(),
                create_accounts=create_accounts,
                account_region=account_region,
                create_people=create_people,
                columns=read.columns,
            )
            merged, new, changed, conflicts = self._sheet_versions(planned.records)
            writes = [record for record, fresh in merged if fresh]
            if not dry_run:
                self.record_all(writes, source="sheet")
            elif writes:  # the ledger's own rules still judge what would be written
                try:
                    with store.transaction():
                        self.record_all(writes, source="sheet")
                        raise _DryRun
                except _DryRun:
                    pass
            last = store.head.seq
        return sheet.SheetResult(
            rows=len(rows),
            new=new,
            changed=changed,
            unchanged=len(merged) - len(writes),
            created=planned.created,
            kinds_defaulted=planned.kinds_defaulted,
            ignored=read.ignored,
            notes=tuple(planned.notes),
            dry_run=dry_run,
            last_seq=last,
            conflicts=tuple(
                c.in_words(f"row {planned.rows.get((c.record_type, c.record_id), '?')}: the sheet")
                for c in conflicts
            ),
        )

    def _sheet_versions(
        self, records: list[Record]
    ) -> tuple[list[tuple[Record, bool]], dict[str, int], dict[str, int], list[reconcile.Conflict]]:
        """Each record merged with its current version (what a blank cell leaves is kept, and
        what TikTok reported is never rolled back: DESIGN §9 sources), whether it would be
        written, the counts of new and changed records per type, and the conflicts with
        TikTok."""
        wanted: dict[type[Record], set[str]] = {}
        for record in records:
            wanted.setdefault(type(record), set()).add(record.id)
        current = {
            (cls, found.id): found
            for cls, ids in wanted.items()
            for found in self._store.current_records(cls, "id", ids)
        }
        said: dict[tuple[type[Record], str], tuple[Any, datetime]] = {
            (cls, id_): version
            for cls, ids in wanted.items()
            if cls in reconcile.TIKTOK_FIELDS
            for id_, version in self._store.last_from("tiktok", cls, ids).items()
        }
        merged: list[tuple[Record, bool]] = []
        new: dict[str, int] = {}
        changed: dict[str, int] = {}
        conflicts: list[reconcile.Conflict] = []
        for record in records:
            key = (type(record), record.id)
            held = current.get(key)
            kept, against = reconcile.keep_tiktoks(
                reconcile.keep_known(held, record), held, said.get(key)
            )
            conflicts += against
            fresh = held is None or (kept is not held and kept != held)
            if fresh:
                counts = new if held is None else changed
                counts[type(record).__name__] = counts.get(type(record).__name__, 0) + 1
            merged.append((kept, fresh))
        return merged, new, changed, conflicts

    def import_tiktok(
        self, payload: Any, *, advertiser_id: str | None = None, creator_id: str | None = None
    ) -> ImportResult:
        """Record what a TikTok response says about creators, posts, codes and bindings.

        Takes the whole envelope or its ``data``, of ``/tt_video/info/`` or ``/tt_video/list/``
        (codes are bound to ``advertiser_id``, which must already be recorded), or of the
        creator-side ``/business/post/authorize/*`` endpoints (pass ``creator_id``; a
        ``DELETED`` code is recorded as revoked now). Each TikTok field is kept as DESIGN §9
        says; what the payload lacks (a creator's handle and region, a code's owner) keeps
        what the ledger knows; re-importing the same payload writes nothing. Items without a
        code authorization are skipped and listed in the result. ``payload`` may also be the
        response body as JSON text (``str`` or ``bytes``).
        """
        if isinstance(payload, str | bytes | bytearray):
            payload = tiktok.parse_json(payload)
        data = tiktok.unwrap(payload)
        if advertiser_id is not None:
            advertiser_id = self._advertiser(advertiser_id, "import_tiktok")
        if tiktok.is_creator_side(data):
            if creator_id is None:
                raise ValueError("import_tiktok: a creator-side payload needs creator_id=...")
            records = tiktok.records_from_creator_post(
                data, creator_id=creator_id, advertiser_id=advertiser_id, revoked_at=self.now()
            )
            with self._store.transaction():  # what is kept is read and written at once
                result = self.record_all(
                    reconcile.kept_known(self._store, records), source="tiktok"
                )
            return ImportResult(result.written, result.unchanged, last_seq=result.last_seq)
        if advertiser_id is None:
            raise ValueError("import_tiktok: a /tt_video/ payload needs advertiser_id=...")
        items, skipped = tiktok.items_from_tt_video(data)
        listing: reconcile.Listing = "page" if tiktok.is_list(data) else "code"
        return self._import_items(items, skipped, advertiser_id, listing, self.now())

    def _advertiser(self, advertiser_id: object, what: str) -> str:
        """An advertiser id the ledger holds as an ad account (refused otherwise)."""
        if isinstance(advertiser_id, bool) or not isinstance(advertiser_id, str | int):
            raise ValueError(
                f"{what}: advertiser_id must be a string, got {type(advertiser_id).__name__}"
            )
        account = str(advertiser_id).strip() if isinstance(advertiser_id, str) else None
        if isinstance(advertiser_id, int) and 0 <= advertiser_id < 10**30:
            account = str(advertiser_id)
        if not account:
            raise ValueError(
                f"{what}: advertiser_id={shown(advertiser_id)} is not an ad account id"
            )
        if self.get(AdAccount, account) is None:
            raise MissingReferenceError(
                f"{what}: ad account advertiser_id={account!r} is not in the ledger; "
                "record it first, e.g. dl.AdAccount(id=..., name=..., region=...)"
            )
        return account

    def _import_items(
        self,
        items: list[tiktok.Item],
        skipped: list[tiktok.Skipped],
        advertiser_id: str,
        listing: reconcile.Listing,
        now: datetime,
    ) -> ImportResult:
        """Merge translated items with what the ledger knows at ``now`` and record what that
        changes, all or nothing (joining the caller's transaction, if any)."""
        with self._store.transaction():
            merged = reconcile.reconcile(self._store, items, advertiser_id, now, listed=listing)
            result = self.record_all(merged.records, source="tiktok")
        return ImportResult(
            result.written,
            result.unchanged + merged.unchanged,
            tuple(skipped),
            merged.unbound,
            result.last_seq,
        )

    @overload
    def sync_tiktok(  # type: ignore[overload-overlap]  # a str is one id, not several
        self,
        client: TikTokClient,
        advertiser_id: str,
        *,
        progress: Callable[[VideoPage], object] | None = None,
    ) -> SyncResult: ...

    @overload
    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: Iterable[str],
        *,
        progress: Callable[[VideoPage], object] | None = None,
    ) -> list[SyncResult]: ...

    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: str | Iterable[str],
        *,
        progress: Callable[[VideoPage], object] | None = None,
    ) -> SyncResult | list[SyncResult]:
        """Bring the ledger in line with TikTok: a complete sweep of each advertiser's posts.

        Reads every page of ``GET /tt_video/list/`` through ``client`` first, then writes all
        of it in one transaction, through the same translation as :meth:`import_tiktok`.
        Bindings of the advertiser that TikTok no longer lists get ``unbound_at`` = now; a
        partial success (20001) records what came back and unbinds nothing. Any failure
        (TikTok's or a malformed item) raises and writes nothing. A sync with nothing changed
        at TikTok writes nothing. Given several advertiser ids, every sweep is read before
        anything is written, and all of them are written together or not at all; the result
        is then one :class:`SyncResult` per advertiser, in order. ``progress`` is called with
        each page as it arrives.
        """
        several = not isinstance(advertiser_id, str | int)
        wanted = list(advertiser_id) if several else [advertiser_id]
        if several and not wanted:
            raise ValueError("sync_tiktok: advertiser_id is an empty list; name an ad account")
        accounts = [self._advertiser(a, "sync_tiktok") for a in wanted]
        sweeps = [self._sweep(client, account, progress) for account in accounts]
        results = []
        with self._store.transaction():
            now = self.now()
            for account, (pages, listed, items, skipped, partial) in zip(
                accounts, sweeps, strict=True
            ):
                listing: reconcile.Listing = "code" if partial else "sweep"
                done = self._import_items(items, skipped, account, listing, now)
                results.append(
                    SyncResult(
                        advertiser_id=account,
                        pages=pages,
                        items=listed,
                        written=done.written,
                        unchanged=done.unchanged,
                        unbound=done.unbound,
                        skipped=done.skipped,
                        partial=partial,
                    )
                )
        return results if several else results[0]

    @staticmethod
    def _sweep(
        client: TikTokClient, advertiser_id: str, progress: Callable[[VideoPage], object] | None
    ) -> tuple[int, int, list[tiktok.Item], list[tiktok.Skipped], bool]:
        """Every page of one advertiser, translated: (pages, posts listed, items, skipped,
        partial). Skipped posts are numbered across the whole sweep, from 0."""
        pages = listed = 0
        items: list[tiktok.Item] = []
        skipped: list[tiktok.Skipped] = []
        partial = False
        for page in client.iter_video_pages(advertiser_id):
            pages += 1
            try:
                found, left_out = tiktok.items_from_tt_video(page.data)
            except PayloadError as error:
                where = f"advertiser {advertiser_id}, page {page.number}"
                raise PayloadError(f"{where}: {error}") from None
            items += found
            skipped += (attrs.evolve(s, index=listed + s.index) for s in left_out)
            if page.partial:
                partial = True
                missing = page.message or "some posts are missing"
                reason = f"page {page.number} was a partial success ({missing}): nothing unbound"
                skipped.append(tiktok.Skipped(listed + len(page.items), reason))
            if not page.items and page.number < page.total_pages:
                partial = True  # TikTok announced more pages: this sweep saw only part
                reason = f"page {page.number} of {page.total_pages} was empty: nothing unbound"
                skipped.append(tiktok.Skipped(listed, reason))
            listed += len(page.items)
            if progress is not None:
                progress(page)
        return pages, listed, items, skipped, partial

    def replay(self, entries: Iterable[Entry]) -> RecordAllResult:
        """Append another ledger's ``entries`` here with their own seqs and record times, so
        this copy has the very same hashes and digest (``delvia-ledger copy``).

        Only into an empty ledger; all or nothing. ``entries`` come from another ledger's
        :meth:`entries` or from a JSON export (:func:`delvia_ledger.io.read_export`); each is
        stored as its source stores it (its source, salt, and an erasure's redaction), and
        must extend the chain: the first that does not (a tampered export, an entry written by
        an older encoder) is named, and nothing is kept.
        """
        if self.seq:
            raise LedgerError(
                f"replay: this ledger already holds {self.seq} entries; copy into a new one"
            )
        written, prev = 0, self._store.head.hash
        rows: list[tuple[Any, ...]] = []
        try:
            with self._store.transaction():
                for entry in entries:
                    payload, payload_hash = entry.payload, entry.payload_hash
                    record = entry.record
                    if payload is None or payload_hash is None:  # an Entry made by hand
                        payload, payload_hash = rebuilt_payload(
                            _WRITERS[type(record)][1](record),
                            type(record).__name__,
                            entry.source,
                            None,
                            None,
                        )
                    stamp = format_time(entry.recorded_at)
                    type_ = type(record).__name__
                    rows.append(
                        (
                            entry.seq,
                            stamp,
                            type_,
                            record.id,
                            payload,
                            payload_hash,
                            prev,
                            entry.hash,
                        )
                    )
                    prev = entry.hash
                    if len(rows) == BATCH_SIZE:
                        self._store.append_rows(rows)
                        written, rows = written + len(rows), []
                self._store.append_rows(rows)
                written += len(rows)
        except NotALedgerError as error:
            raise LedgerError(f"replay: {str(error).partition(': ')[2]}") from None
        return RecordAllResult(written=written, unchanged=0, last_seq=self.seq)

    def offboard(self, person_id: str, *, at: datetime | str | None = None) -> OffboardingPlan:
        """Preview (writes nothing) what ends when ``person_id`` leaves at ``at``; ``.apply()``
        records it: the person's ``left_at`` and every active grant ended at ``at``.

        ``.apply()`` refuses (writing nothing) if the person or their grants changed since the
        preview: preview again and apply that plan.
        """
        person_id = _text_arg(person_id, "offboard(person_id=...)")
        person = self.get(Person, person_id)
        if person is None:
            raise MissingReferenceError(f"offboard: person_id={person_id!r} is not in the ledger")
        moment = self.now() if at is None else _aware(at, "offboard: at")

        def apply(plan: OffboardingPlan) -> None:
            with self._store.transaction():  # the check and the write see the same state
                plan.check_current(self.offboard(person_id, at=moment))
                self.record_all(plan.changes)

        return self._query(moment, lambda c: offboarding_plan(c.world, person, moment, apply))

    def notify(
        self,
        senders: Sequence[who_must_act.Sender],
        *,
        within: Within = who_must_act.DEFAULT_REMIND_WITHIN,
        now: datetime | str | None = None,
        dry_run: bool = False,
    ) -> who_must_act.NotifyResult:
        """Send each person what is new or changed since their last Notice on each channel,
        through ``senders`` (``dl.EmailSender``, ``dl.WebhookSender``); each delivered message
        is recorded as a Notice, a failed one records nothing. ``dry_run`` sends nothing."""
        return who_must_act.notify(self, senders, within, now, dry_run)

    # --- the write path ---------------------------------------------------------------------

    def _record_batch(
        self, batch: list[Record], known: Known, source: str | None, force: bool = False
    ) -> tuple[str, list[str]]:
        """Check a batch against the rules and append what changed (inside a transaction),
        each entry recording ``source`` (None: none, as entries before schema version 4).

        Returns the entries' ``recorded_at`` text and their hashes, in order (none if nothing
        changed).
        """
        prepared: Prepared = []
        batch = erasure.check_erased(self._store, batch, source, force)
        for record in batch:
            writer = _WRITERS.get(type(record))
            if isinstance(record, Erasure):
                raise InvalidRecordError(
                    f"cannot record {_name(record)} directly: ledger.erase() records an Erasure "
                    "and the redaction it names together"
                )
            if writer is None:
                names = ", ".join(c.__name__ for c in RECORD_TYPES)
                raise InvalidRecordError(f"cannot record {record!r}: not one of {names}")
            table, content_of, references_of = writer
            prepared.append((record, table, references_of(record), content_of(record)))

        currents = self._currents(prepared)
        self._references(prepared, known)
        codes = self._codes_in_use(prepared)
        items: list[tuple[VersionTable, Record, str, int | None]] = []
        next_seq = self._store.head.seq + 1  # append() numbers the items from here, in order
        pending: Versions = {}  # versions written by this batch, as currents holds them
        for record, table, refs, content in prepared:
            key = (table.cls, record.id)
            old = pending.get(key) or currents.get(key)
            try:
                if old is not None:
                    if payload_content(old[1]) == content:  # the same record: source aside
                        continue
                    before = old[2] or record_from_json(table.cls, old[1])
                    if before == record:  # the same record in an older encoding (a migrated file)
                        continue
                    _check_versions(before, record)
                self._check_references(record, refs, known, pending)
                if isinstance(record, SparkAuthorization):
                    holder = codes.setdefault(record.code.fingerprint, record.id)
                    if holder != record.id:
                        raise DuplicateCodeError(
                            f"SparkAuthorization {record.id!r}: code {record.code.hint} is "
                            f"already recorded as authorization {holder!r}; record a new "
                            "version of that one"
                        )
            except LedgerError as error:
                error.record = record  # lets importers name the line that was refused
                raise
            personal = PERSONAL_FIELDS.get(table.cls)
            salt = (
                new_salt()
                if personal and any(getattr(record, f) is not None for f in personal)
                else None
            )
            payload = compose_payload(content, source, salt)
            pending[key] = (next_seq + len(items), payload, record)
            items.append((table, record, payload, old[0] if old else None))
        if not items:
            return "", []
        return self._store.append(items, self.now())

    def _currents(self, prepared: Prepared) -> Versions:
        by_table: dict[VersionTable, list[str]] = {}
        for record, table, _, _ in prepared:
            by_table.setdefault(table, []).append(record.id)
        return {
            (table.cls, id_): (seq, payload, None)
            for table, ids in by_table.items()
            for id_, (seq, payload) in self._store.current_by(table.cls, "id", ids).items()
        }

    def _references(self, prepared: Prepared, known: Known) -> None:
        """Add to ``known`` every record the batch refers to that the ledger holds."""
        if len(known) > KNOWN_LIMIT:
            known.clear()
        wanted: dict[type[Record], set[str]] = {}
        for _, _, refs, _ in prepared:
            for key in refs:
                if key not in known:
                    wanted.setdefault(key[0], set()).add(key[1])
        for target, ids in wanted.items():
            columns = ("creator_id",) if target is Post else ("seq",)
            for id_, row in self._store.current_by(target, "id", ids, columns=columns).items():
                known[(target, id_)] = row

    def _codes_in_use(self, prepared: Prepared) -> dict[str, str]:
        """The batch's codes the ledger already holds: fingerprint -> authorization id.

        A code is held under its derived id or, through the partial code index, a custom one.
        A record under its own derived id needs no lookup here: its current version (read
        with the batch) must hold the same code, as ``code`` is an identity field.
        """
        codes = [r.code.fingerprint for r, *_ in prepared if isinstance(r, SparkAuthorization)]
        if not codes:
            return {}
        keys = {code_key(fingerprint): fingerprint for fingerprint in codes}
        custom = self._store.current_by(
            SparkAuthorization, "code_key", keys, columns=("id", "payload"), where=CustomId()
        )
        held = {keys[k]: (id_, payload) for k, (id_, payload) in custom.items()}
        derived = {
            derived_authorization_id(r.code.fingerprint): r.code.fingerprint
            for r, *_ in prepared
            if isinstance(r, SparkAuthorization)
            and r.id != derived_authorization_id(r.code.fingerprint)
        }
        for id_, (payload,) in self._store.current_by(
            SparkAuthorization, "id", derived, columns=("payload",)
        ).items():
            held[derived[id_]] = (id_, payload)
        # a key is 64 bits of the fingerprint: confirm the whole fingerprint in the payload
        return {fp: id_ for fp, (id_, payload) in held.items() if fp in payload}

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

    # --- erasure and retention (DESIGN §16): the logic is erasure.py's ------------------------

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
    ) -> erasure.ErasureResult:
        """Erase the personal data of a creator (and its posts' captions) or a person from
        every version that holds it, recording an :class:`~delvia_ledger.Erasure` (who asked,
        ``by``; why, ``reason``; when, ``at``; which entries) in the same transaction. The
        chain, ``digest()`` and digests kept before still verify; ``dry_run`` only lists what
        would be redacted.
        """
        id = _text_arg(id, "erase(id=...)")
        reason = _text_value(reason, "erase(reason=...)")
        by = _text_value(by, "erase(by=...)")
        moment = self.now() if at is None else _aware(at, "erase: at")
        source = _source_arg(source, "erase")
        return erasure.erase(
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
    ) -> erasure.RetentionResult:
        """Erase (reason ``retention``) every creator and person with personal data, nothing
        active and nothing changed for longer than ``older_than`` (``"3y"``, ``"18mo"``, a
        relativedelta): a policy to run from cron. ``dry_run`` only lists them."""
        moment = self.now() if now is None else _aware(now, "retention: now")
        return erasure.retention(
            self._store,
            older_than,
            now=moment,
            source=_source_arg(source, "retention"),
            by=_text_value(by, "retention(by=...)"),
            dry_run=dry_run is True,
        )

    def check_ids(self) -> list[erasure.LooksPersonal]:
        """Creator and person ids that look like personal data (an email address, a handle):
        ids are in the chain's hash and cannot be erased, so record new ones that are not
        (the TikTok identity id, a short id of your own)."""
        with self._store.snapshot():
            return erasure.looks_personal(self._store)


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
    exec(compile("\n".join(lines), f"<references of {cls.__name__}>", "exec"), namespace)
    return cast(Callable[[Record], References], namespace[f"references_of_{cls.__name__}"])


#: For each record type: its version table, its canonical JSON and its references.
_WRITERS: dict[type[Record], tuple[VersionTable, Callable[[Record], str], Any]] = {
    cls: (table, table.payload, _references_of(cls)) for cls, table in TABLES.items()
}


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


def _record_type(cls: type[Any]) -> type[Record]:
    if cls not in TABLES:
        raise TypeError(
            f"{cls!r} is not a record type; use one of {[c.__name__ for c in RECORD_TYPES]}"
        )
    return cls


def _aware(value: object, what: str) -> datetime:
    """A ``now=`` / ``at=`` / ``recorded_at=`` argument as UTC (the records' one time rule)."""
    moment = to_utc(cast(Any, value))
    if isinstance(moment, datetime) and moment.tzinfo is UTC:
        return moment
    raise ValueError(f"{what}={shown(value)}: {time_problem(value)}")


#: The largest sequence number SQLite can hold (``as_of(seq=...)`` beyond it sees everything).
LAST_SEQ = 2**63 - 1


def _text_arg(value: object, what: str) -> str:
    """An id or scope argument: refused unless it is text."""
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected text, got {type(value).__name__}")
    return value


def _optional_text_arg(value: object, what: str) -> str | None:
    return None if value is None else _text_arg(value, what)


def _text_value(value: object, what: str) -> str:
    """A reason or a name: non-empty text."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: expected non-empty text, got {shown(value)}")
    return value.strip()


def _source_arg(value: object, what: str) -> str:
    """A ``source=`` argument: one of :data:`~delvia_ledger.chain.SOURCES`."""
    if isinstance(value, str) and value in SOURCES:
        return value
    raise ValueError(f"{what}(source={shown(value)}): source must be one of {', '.join(SOURCES)}")
