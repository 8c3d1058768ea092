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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import attrs

from . import access_review as reviews
from . import access_sync, erasure, io, notices, sheet, sheet_plan, tiktok
from . import changes as what_changed
from . import reminders as who_must_act
from .access import OffboardingPlan, active_grants, offboarding_plan
from .access_sync import AccessSyncResult
from .chain import (
    SOURCES,
    Digest,
    Entry,
    VerifyResult,
)
from .checks import DEFAULT_QUIET_AFTER, DEFAULT_WITHIN, Checks, Within
from .diagnose import Diagnosis, about_the_connection, diagnose, diagnose_at_tiktok
from .errors import LedgerError, MissingReferenceError, TikTokAPIError
from .findings import Finding
from .intake import Intake
from .reconcile import ImportResult, SyncResult
from .records import (
    DERIVED_ID_DIGITS,
    DERIVED_ID_PREFIX,
    RECORD_TYPES,
    Creator,
    Person,
    Record,
    RoleGrant,
    SparkAuthorization,
    SparkCode,
    fingerprint_of,
    shown,
    time_problem,
    to_utc,
)
from .storage import DEFAULT_BUSY_TIMEOUT, Storage, locate
from .storage.schema import TABLES
from .world import World
from .writing import BATCH_SIZE, RecordAllResult, Writer

if TYPE_CHECKING:  # sync sits below the ledger (DESIGN §3): the ledger only calls a client
    from .sync import TikTokClient, VideoPage, Wait

__all__ = ["ImportResult", "Ledger", "LedgerView", "RecordAllResult", "SyncResult"]

R = TypeVar("R", bound=Record)
T = TypeVar("T")
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


#: An authorization id as the ledger derives it from the code (``auth_`` and 16 hex digits).
_DERIVED_ID = re.compile(f"{DERIVED_ID_PREFIX}[0-9a-f]{{{DERIVED_ID_DIGITS}}}")


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
        moment: object = self._clock()
        if not isinstance(moment, datetime):
            raise TypeError(
                f"the ledger clock ({_clock_name(self._clock)}) returned {type(moment).__name__} "
                f"{shown(moment)}; a clock returns an aware datetime, e.g. "
                "datetime.now(timezone.utc)"
            )
        if moment.utcoffset() is None:
            raise ValueError(
                f"the ledger clock ({_clock_name(self._clock)}) returned a naive datetime "
                f"{moment!r}; a clock returns an aware datetime, e.g. datetime.now(timezone.utc)"
            )
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValueError(
                f"the ledger clock ({_clock_name(self._clock)}) returned {moment!r}, which in "
                "UTC falls before 0001-01-01 or after 9999-12-31"
            ) from None

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
        found = self._store.authorization_by_fingerprint(fingerprint, self._bound)
        return None if found is None else found[1]

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

    def checks(
        self, now: datetime | str | None = None, *, quiet_after: Within = DEFAULT_QUIET_AFTER
    ) -> Checks:
        """The findings engine for this view at ``now``; EXPIRED and REVOKED findings no ad
        needs, older than ``quiet_after``, are quiet (DESIGN §6)."""
        moment = self.now() if now is None else _aware(now, "now")
        return Checks(World(self._store, self._bound, moment), quiet_after)

    def _query(
        self,
        now: datetime | str | None,
        run: Callable[[Checks], T],
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> T:
        """Run a query's several reads on one snapshot of the file (writers may be busy)."""
        with self._store.snapshot():
            return run(self.checks(now, quiet_after=quiet_after))

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
        self,
        within: Within = DEFAULT_WITHIN,
        *,
        now: datetime | str | None = None,
        include_quiet: bool = False,
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> list[Finding]:
        """Every kind of finding, worst severity first, then earliest deadline.

        An EXPIRED or REVOKED finding that no ad needs and whose deadline is older than
        ``quiet_after`` (default 30 days) is *quiet*: left out unless ``include_quiet``. So is
        everything about a code *replaced* by a newer one for its post, but for the ads still
        on it (DESIGN §6)."""
        return self._query(
            now, lambda c: c.findings(within, include_quiet=include_quiet), quiet_after
        )

    def iter_findings(
        self,
        within: Within = DEFAULT_WITHIN,
        *,
        now: datetime | str | None = None,
        include_quiet: bool = False,
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> Iterator[Finding]:
        """:meth:`findings` streamed, in the same order, in bounded memory.

        ``within``, ``now`` and ``quiet_after`` are checked at once; the ledger is read from the
        first ``next`` on, in one snapshot held until the stream ends (consume it, or
        ``close()`` it).
        """
        checks = self.checks(now, quiet_after=quiet_after)
        return self._streamed(checks.iter_findings(within, include_quiet=include_quiet))

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

        A code the ledger does not hold whose ``+`` became a space or whose characters were
        percent-encoded on the way is matched, by its repaired variants' fingerprints, to the
        recorded code it probably was: ``Diagnosis.suggestions`` ("did you mean"); TikTok is
        then not asked about the mangled text.
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
        if found.suggestions:  # mangled on the way: TikTok would be asked the mangled text
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
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> list[who_must_act.Reminder]:
        """One worklist per person with work, worst first: each finding goes to its owner,
        else the account's admins, else its Business Center's admins (``escalated``), else
        to the unassigned reminder (``person_id`` None). Quiet findings (see :meth:`findings`)
        are left out. Writes nothing."""
        load = self._loader(Person)
        return self._query(
            now, lambda c: who_must_act.reminders(c, c.findings(within), load), quiet_after
        )

    def changes(
        self,
        since: what_changed.Since,
        *,
        within: Within = DEFAULT_WITHIN,
        now: datetime | str | None = None,
    ) -> what_changed.Changes:
        """What was recorded after ``since`` (a seq, a Digest, a time or ``"7d"``) and which
        findings are new, resolved or changed since then, from ``as_of`` views."""
        moment = None if now is None else _aware(now, "now")
        with self._store.snapshot():
            return what_changed.changes(self, self._store, since, within, moment)

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
        self._writer = Writer(store, self.now)
        self._intake = Intake(store, self._writer)

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
        return cls(locate(path).open(busy_timeout), clock or _utc_now)

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
        return self._writer.record(record, source, force is True)

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
        return self._writer.record_all(
            records, batch_size, progress, source=source, force=force is True
        )

    def import_csv(
        self,
        cls: type[Record],
        source: io.Source,
        progress: Callable[[int], object] | None = None,
        *,
        timezone: str | tzinfo | None = None,
        force: bool = False,
    ) -> RecordAllResult:
        """Record every row of a CSV of ``cls`` records in one transaction (streamed).

        A row giving an erased creator or person personal data again is refused unless
        ``force=True`` (a new consent; DESIGN §16).

        ``source`` is a path or an open text file, as spreadsheets write it (see
        :func:`delvia_ledger.io.read_csv_rows`): columns ``cls`` lacks are ignored with an
        :class:`~delvia_ledger.io.IgnoredColumnsWarning`; times without an offset need
        ``timezone`` (``"Europe/Berlin"``, ``"UTC"``). A malformed row fails the whole import
        with its line number; nothing is written. A row the ledger's rules refuse raises that
        rule's error, naming the line, with the refused record in ``error.record``.
        """
        return self._intake.import_csv(cls, source, progress, timezone, force is True)

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
        if isinstance(code_or_id, str) and _DERIVED_ID.fullmatch(code_or_id.strip()):
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
    ) -> sheet_plan.SheetResult:
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
        return self._intake.import_sheet(
            source,
            mapping,
            date_order,
            dry_run,
            create_accounts=create_accounts,
            account_region=account_region,
            create_people=create_people,
            timezone=timezone,
        )

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
        return self._intake.import_tiktok(payload, advertiser_id, creator_id)

    @overload
    def sync_tiktok(  # type: ignore[overload-overlap]  # a str is one id, not several
        self,
        client: TikTokClient,
        advertiser_id: str,
        *,
        progress: Callable[[VideoPage | Wait], object] | None = None,
        allow_mass_unbind: bool = False,
        ads: bool = False,
    ) -> SyncResult: ...

    @overload
    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: Iterable[str],
        *,
        progress: Callable[[VideoPage | Wait], object] | None = None,
        allow_mass_unbind: bool = False,
        ads: bool = False,
    ) -> list[SyncResult]: ...

    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: str | Iterable[str],
        *,
        progress: Callable[[VideoPage | Wait], object] | None = None,
        allow_mass_unbind: bool = False,
        ads: bool = False,
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
        each page as it arrives, and with each :class:`~delvia_ledger.sync.Wait` for TikTok's
        throttling.

        Absence is concluded only from a *stable* sweep (DESIGN §12): a listing that kept
        moving while it was read unbinds nothing (``skipped`` says why); each post a stable
        sweep did not list is looked up once more (``keyword=<item_id>``, one request per post)
        and only those TikTok does not list are unbound; a sweep that would unbind more than 5
        bindings and more than 20% of the advertiser's bound ones is held
        (``SyncResult.held``) unless ``allow_mass_unbind``.

        With ``ads=True`` (the CLI's default) it also sweeps ``/ad/get/`` and ``/adgroup/get/``
        and records a ``SparkAd`` for each ad made with a code, linked to the code bound for
        its post in that account (or ``AD_WITHOUT_CODE``), paused from ``DISABLE``/``FROZEN``,
        scheduled from its ad group; after a stable sweep, an ad TikTok stops listing ends.
        """
        return self._intake.sync_tiktok(
            client, advertiser_id, progress, allow_mass_unbind=allow_mass_unbind, ads=ads
        )

    def sync_access(
        self,
        client: TikTokClient,
        business_center_id: str | Iterable[str] | None = None,
        *,
        progress: Callable[[Any], object] | None = None,
    ) -> list[AccessSyncResult]:
        """Record who holds access at TikTok (DESIGN §8): sweeps of ``/bc/member/get/`` and,
        for each of the ledger's ad accounts in the Business Center, ``/bc/asset/member/get/``
        (``business_center_id`` None: every Business Center the token reaches, ``/bc/get/``).

        People are found by ``tiktok_user_id``, then by email, else added; each role TikTok
        lists is a RoleGrant with ``source="tiktok"`` (the actual side); a role it stops
        listing in a complete, stable sweep ends at the sweep's time; PENDING members are
        :class:`PendingInvite` records. All read first, written in one transaction; nothing
        written when nothing changed. One :class:`AccessSyncResult` per Business Center.
        """
        return access_sync.sync_access(
            self._store, self._writer, client, business_center_id, progress
        )

    def sign_review(
        self,
        by: str,
        *,
        scope: str = "all",
        decisions: Iterable[str] | None = None,
        now: datetime | str | None = None,
    ) -> Entry:
        """Record a signed :class:`AccessReview` of ``scope`` by person ``by``: the ledger's
        digest as reviewed, and per grant of the sheet ``"keep <grant id>"`` or ``"remove
        <grant id>"`` (with ``" -- <note>"``; grants not decided are kept). Approved grants
        decided ``remove`` end now, in the same transaction; a role TikTok lists stays a
        finding until a sync no longer sees it."""
        moment = self.now() if now is None else _aware(now, "sign_review: now")
        return reviews.sign(self, _text_arg(by, "sign_review(by=...)"), scope, decisions, moment)

    def access_review(
        self, scope: str | None = None, *, now: datetime | str | None = None
    ) -> list[reviews.ReviewRow]:
        """The access review sheet of ``scope`` (None or ``"all"``, ``"ad_account:<id>"``,
        ``"business_center:<id>"``): one row per person, role and scope in force, approved
        (intended) and listed by TikTok (actual), since when and by whom."""

        def sheet(checks: Checks) -> list[reviews.ReviewRow]:
            world = checks.world
            ids = [g.id for g in world.grants if world.in_force(g)]
            grants = self._store.current_records(RoleGrant, "id", ids, bound=self._bound)
            return reviews.review_sheet(world, grants, scope)

        return self._query(now, sheet)

    def replay(self, entries: Iterable[Entry]) -> RecordAllResult:
        """Append another ledger's ``entries`` here with their own seqs and record times, so
        this copy has the very same hashes and digest (``delvia-ledger copy``).

        Only into an empty ledger; all or nothing. ``entries`` come from another ledger's
        :meth:`entries` or from a JSON export (:func:`delvia_ledger.io.read_export`); each is
        stored as its source stores it (its source, salt, and an erasure's redaction), and
        must extend the chain: the first that does not (a tampered export, an entry written by
        an older encoder) is named, and nothing is kept.
        """
        return self._intake.replay(entries)

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
        senders: Sequence[notices.Sender],
        *,
        within: Within = who_must_act.DEFAULT_REMIND_WITHIN,
        now: datetime | str | None = None,
        dry_run: bool = False,
    ) -> notices.NotifyResult:
        """Send each person what is new or changed since their last Notice on each channel,
        through ``senders`` (``dl.EmailSender``, ``dl.WebhookSender``); each delivered message
        is recorded as a Notice, a failed one records nothing. ``dry_run`` sends nothing."""
        return notices.notify(self, senders, within, now, dry_run)

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


def _clock_name(clock: Clock) -> str:
    """How to name a ledger's clock in an error: its qualified name, or its type's."""
    name = getattr(clock, "__qualname__", None) or type(clock).__qualname__
    return f"clock={name}"
