"""Read-only queries that flag codes, ads and accounts before they fail (DESIGN §6).

Every query reads the version tables at a sequence bound, so an ``as_of`` view runs the very
same code. Times in the version tables are integer microseconds; ``now`` is converted once.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import chain, islice
from operator import itemgetter
from typing import Any, NamedTuple, Protocol, TypeVar

from dateutil.relativedelta import relativedelta

from .collector import collector_paused, pause, resume
from .convert import from_micros, to_micros
from .findings import Finding, FindingKind, Severity, new_finding
from .records import (
    AUTHORIZED,
    UNAVAILABLE_POST_STATUSES,
    AdAccount,
    Creator,
    Person,
    Post,
    Record,
    RegionRule,
    RegionVerdict,
    Role,
    RoleGrant,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
    shown,
)
from .storage import (
    After,
    All,
    AnyOf,
    AtMost,
    Equals,
    Filter,
    Missing,
    Not,
    OneOf,
    Storage,
    first_match,
    predicate,
)

__all__ = ["Checks", "Within", "duration", "horizon"]

Within = timedelta | relativedelta | str
DEFAULT_WITHIN = "7d"
_UNITS = {"h": "hours", "d": "days", "w": "weeks", "mo": "months"}


def horizon(now: datetime, within: Within) -> datetime:
    """``now + within``; ``within`` is a timedelta, a relativedelta or ``"36h"``/``"7d"``/...

    >>> from datetime import UTC
    >>> horizon(datetime(2026, 1, 31, tzinfo=UTC), "1mo").date()
    datetime.date(2026, 2, 28)

    A horizon past the year 9999 (``"100000000d"``) is refused like any other bad value.
    """
    step = _step(within, now)
    try:
        end = now + step
    except (OverflowError, ValueError):  # timedelta, relativedelta or datetime out of range
        raise _too_far(within, now) from None
    if end <= now:
        raise ValueError(f"within={_within_text(within)}: the horizon must be after now")
    return end


def _step(within: Within, now: datetime) -> timedelta | relativedelta:
    if isinstance(within, timedelta | relativedelta):
        return within
    if not isinstance(within, str):
        raise ValueError(
            f"within={shown(within)}: expected a timedelta, a relativedelta or e.g. '7d'"
        )
    match = re.fullmatch(r"\s*(\d+)\s*(h|d|w|mo)\s*", within)
    if not match:
        raise ValueError(
            f"within={shown(within)}: use a number and a unit, e.g. '36h', '7d', '2w' or '1mo'"
        )
    if len(match[1].lstrip("0")) > 12:  # 10**12 hours is 100 million years: no horizon
        raise _too_far(within, now)
    amount: dict[str, Any] = {_UNITS[match[2]]: int(match[1])}
    return relativedelta(**amount)


def duration(within: Within) -> timedelta | relativedelta:
    """The step ``within`` names (``"7d"`` is ``relativedelta(days=7)``); :func:`horizon` adds
    it to now and refuses one that is not positive."""
    return _step(within, datetime.now(UTC))


def _too_far(within: Within, now: datetime) -> ValueError:
    return ValueError(
        f"within={_within_text(within)}: the horizon would fall after 9999-12-31, the "
        f"latest time the ledger can handle (now is {now:%Y-%m-%d}); use a shorter one"
    )


def _within_text(within: Within) -> str:
    """``within`` as the user wrote it: ``'7d'``, ``3 days, 0:00:00``, ``relativedelta(...)``."""
    return str(within) if isinstance(within, timedelta) else shown(within)


class Auth(NamedTuple):
    id: str
    creator_id: str
    post_id: str
    starts_at: int
    expires_at: int
    ad_account_id: str | None
    owner_id: str | None
    revoked_at: int | None
    seq: int  # the version's entry: equal keys of a sorted stream fall in recording order


#: An authorization as the cursor returns it: a plain tuple in :class:`Auth`'s field order.
#: The per-code loop reads these, since building a million named tuples costs ~0.5 µs each.
AuthRow = tuple[str, str, str, int, int, str | None, str | None, int | None, int]


class Ad(NamedTuple):
    id: str
    ad_account_id: str
    authorization_id: str
    intended_post_id: str
    runs_from: int | None
    runs_until: int | None
    paused_at: int | None
    owner_id: str | None


class Grant(NamedTuple):
    id: str
    person_id: str
    scope: str
    role: str
    granted_at: int
    expires_at: int | None
    ended_at: int | None


#: The kinds :meth:`Checks.code_findings` decides from a code alone.
CODE_KINDS = frozenset(
    {
        FindingKind.REVOKED,
        FindingKind.EXPIRED,
        FindingKind.NOT_YET_ACTIVE,
        FindingKind.EXPIRING,
        FindingKind.OWNER_MISSING,
        FindingKind.POST_UNAVAILABLE,
    }
)


class Binding(NamedTuple):
    authorization_id: str
    ad_account_id: str
    bound_at: int
    unbound_at: int | None
    tiktok_status: str | None


# --- the rules of DESIGN §6, each defined once ---------------------------------------------
# Each is a storage filter at time t (µs): storage narrows its reads with it, and the checks
# decide in memory with its compiled twin (``storage.predicate``), so the SQL condition and
# the Python test cannot drift apart.


def code_revoked(t: int) -> Filter:
    """A code revoked at t: ``revoked_at`` <= t."""
    return AtMost("revoked_at", t)


def code_expired(t: int) -> Filter:
    """A code expired at t: not revoked and ``expires_at`` <= t."""
    return All(Not(code_revoked(t)), AtMost("expires_at", t))


def code_ended(t: int) -> Filter:
    """A code that no longer works at t: revoked or expired."""
    return AnyOf(code_revoked(t), AtMost("expires_at", t))  # revoked, else expired


def code_pending(t: int) -> Filter:
    """A code whose window has not started at t (and not revoked)."""
    return All(Not(code_revoked(t)), After("starts_at", t))


def code_live(t: int) -> Filter:
    """A code that works at t: started, not expired, not revoked."""
    return All(Not(code_ended(t)), Not(After("starts_at", t)))


def code_expiring(t: int, h: int) -> Filter:
    """A code not revoked that expires after t and no later than the horizon h."""
    return All(Not(code_revoked(t)), After("expires_at", t), AtMost("expires_at", h))


def ad_active(t: int) -> Filter:
    """An ad running at t: started (or no start), not paused, not ended."""
    return All(
        Not(After("runs_from", t)), Not(AtMost("paused_at", t)), Not(AtMost("runs_until", t))
    )


def ad_scheduled(t: int) -> Filter:
    """An ad due to start after t and not paused by then."""
    return All(After("runs_from", t), Not(AtMost("paused_at", t)))


def bound_at(t: int) -> Filter:
    """A binding bound at t: ``bound_at`` <= t and not unbound by then."""
    return All(AtMost("bound_at", t), Not(unbound_at(t)))


def unbound_at(t: int) -> Filter:
    """A binding unbound at t: ``unbound_at`` <= t."""
    return AtMost("unbound_at", t)


def person_counts(t: int) -> Filter:
    """A recorded person who has not left at t (``left_at`` unset or later)."""
    return Not(AtMost("left_at", t))


def grant_in_force(t: int) -> Filter:
    """A grant in force at t (its person must count too, :func:`person_counts`)."""
    return All(AtMost("granted_at", t), Not(AtMost("ended_at", t)), Not(AtMost("expires_at", t)))


#: A code's states at t, as :func:`code_state` numbers them.
REVOKED, EXPIRED, NOT_YET_ACTIVE, LIVE = range(4)


def code_state(t: int, fields: Sequence[str] = Auth._fields) -> Callable[[Sequence[Any]], int]:
    """A code's state at t (:data:`REVOKED`, ...) from its row (items ``fields``), decided by
    the rules above in one compiled call."""
    return first_match((code_revoked(t), code_expired(t), code_pending(t)), fields)


def _when(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


class Draft(NamedTuple):
    """What a per-code rule decided about one code at one moment, before it is a
    :class:`Finding`: cheap to make and compare a million times (``ledger.changes``)."""

    kind: FindingKind
    severity: Severity
    auth: AuthRow
    deadline: int | None  # µs since the epoch
    affected_ad_ids: tuple[str, ...] = ()
    person_id: str | None = None
    detail: str = ""

    @property
    def key(self) -> tuple[str, str, str | None, str | None]:
        """The ids :attr:`Finding.key` spells for its finding: kind, code, account, person."""
        return self.kind._value_, self.auth[0], self.auth[5], self.person_id


F = TypeVar("F", Finding, Draft, "tuple[_Key, Finding]", covariant=True)


class _Make(Protocol[F]):
    """What the per-code rules call with each decision, positionally: :meth:`Checks.finding`,
    :meth:`Checks.keyed` or ``Draft``."""

    def __call__(
        self,
        kind: FindingKind,
        severity: Severity,
        auth: AuthRow,
        deadline: int | None,
        affected_ad_ids: tuple[str, ...] = ...,
        person_id: str | None = ...,
        detail: str = ...,
        /,
    ) -> F: ...


class Checks:
    """The findings of one ledger view at one moment ``now`` (cached per instance)."""

    def __init__(self, store: Storage, bound: int | None, now: datetime) -> None:
        self.store, self.bound, self.now = store, bound, now
        self.t = to_micros(now)
        self._expiring: dict[int, Callable[[Sequence[Any]], bool]] = {}

    # --- the rules at t, compiled once from their filters (the per-row tests in memory) ---

    @cached_property
    def state(self) -> Callable[[Sequence[Any]], int]:
        """A code's state (REVOKED, EXPIRED, NOT_YET_ACTIVE or LIVE) from its Auth row."""
        return code_state(self.t)

    @cached_property
    def active(self) -> Callable[[Sequence[Any]], bool]:
        """Whether an :class:`Ad` runs at ``t``."""
        return predicate(ad_active(self.t), Ad._fields)

    @cached_property
    def scheduled(self) -> Callable[[Sequence[Any]], bool]:
        """Whether an :class:`Ad` is due to start after ``t`` (and not paused by then)."""
        return predicate(ad_scheduled(self.t), Ad._fields)

    @cached_property
    def is_bound(self) -> Callable[[Sequence[Any]], bool]:
        """Whether a :class:`Binding` is bound at ``t``."""
        return predicate(bound_at(self.t), Binding._fields)

    @cached_property
    def _counts(self) -> Callable[[Sequence[Any]], bool]:
        return predicate(person_counts(self.t), ("left_at",))

    @cached_property
    def _in_force(self) -> Callable[[Sequence[Any]], bool]:
        return predicate(grant_in_force(self.t), Grant._fields)

    def expiring_by(self, h: int) -> Callable[[Sequence[Any]], bool]:
        """Whether a code's Auth row is EXPIRING at ``t`` with the horizon ``h``."""
        if (found := self._expiring.get(h)) is None:
            found = self._expiring[h] = predicate(code_expiring(self.t, h), Auth._fields)
        return found

    def select(
        self,
        cls: type[Record],
        columns: Sequence[str],
        where: Filter | None = None,
        *,
        distinct: bool = False,
        order_by: Sequence[str] = (),
    ) -> list[tuple[Any, ...]]:
        """The ``columns`` of the versions of ``cls`` visible here that ``where`` keeps."""
        rows = self.store.current_rows(
            cls, columns, bound=self.bound, where=where, distinct=distinct, order_by=order_by
        )
        return list(rows)

    def auth_rows(
        self, where: Filter | None = None, order: Sequence[str] = ()
    ) -> Iterator[AuthRow]:
        """Visible authorizations matching ``where``, streamed (a million need not fit at once),
        in ``order`` (column names; none: any)."""
        rows: Iterator[AuthRow] = self.store.current_rows(
            SparkAuthorization, Auth._fields, bound=self.bound, where=where, order_by=order
        )
        return rows

    def auths(self, where: Filter | None = None, order: Sequence[str] = ()) -> Iterator[Auth]:
        """:meth:`auth_rows` as named tuples."""
        return map(Auth._make, self.auth_rows(where, order))

    # --- the world around the codes, loaded once per Checks -------------------------------

    @cached_property
    def creators(self) -> dict[str, tuple[str, str | None]]:
        """Creator id -> (how people know them: ``@handle``, else nickname, else id; region)."""
        return {
            str(i): (f"@{h}" if h else str(name or i), r)
            for i, h, name, r in self.select(Creator, ("id", "handle", "display_name", "region"))
        }

    @cached_property
    def people(self) -> dict[str, tuple[str, int | None]]:
        """Person id -> (name, left_at)."""
        return {
            str(i): (str(n), left) for i, n, left in self.select(Person, ("id", "name", "left_at"))
        }

    @cached_property
    def counting(self) -> dict[str, str]:
        """The people who count at ``t`` (recorded, not left): id -> name. They can be owners."""
        counts = self._counts
        return {i: name for i, (name, left) in self.people.items() if counts((left,))}

    def owner(self, *candidates: str | None) -> str | None:
        """The first candidate who counts at ``t`` (DESIGN §6 "who must act"), else None."""
        for person_id in candidates:
            if person_id is not None and person_id in self.counting:
                return person_id
        return None

    @cached_property
    def unavailable_posts(self) -> set[str]:
        """Posts TikTok last reported deleted by the creator or removed by moderation."""
        statuses = OneOf("status", sorted(UNAVAILABLE_POST_STATUSES))
        return {str(i) for (i,) in self.select(Post, ("id",), statuses)}

    def bindings(self, where: Filter | None = None) -> list[Binding]:
        """Visible bindings ``where`` keeps, in seq order (whichever index a backend uses)."""
        rows = self.select(SparkBinding, Binding._fields, where, order_by=("seq",))
        return [Binding(*row) for row in rows]

    @cached_property
    def unbound(self) -> dict[tuple[str, str], int]:
        """(authorization, account) -> unbound_at, for bindings unbound at ``t``."""
        return {
            (b.authorization_id, b.ad_account_id): int(b.unbound_at)
            for b in self.bindings(unbound_at(self.t))
            if b.unbound_at is not None
        }

    @cached_property
    def accounts(self) -> dict[str, tuple[str, str | None]]:
        """Ad account id -> (region, business center id)."""
        return {
            str(i): (str(r), bc)
            for i, r, bc in self.select(AdAccount, ("id", "region", "business_center_id"))
        }

    @cached_property
    def ads(self) -> list[Ad]:
        return [Ad(*row) for row in self.select(SparkAd, Ad._fields, order_by=("seq",))]

    @cached_property
    def using(self) -> dict[str, list[Ad]]:
        """Active and scheduled ads, by the authorization they use."""
        found: dict[str, list[Ad]] = {}
        for ad in self.ads:
            if self.active(ad) or self.scheduled(ad):
                found.setdefault(ad.authorization_id, []).append(ad)
        return found

    def finding(
        self,
        kind: FindingKind,
        severity: Severity,
        auth: AuthRow,
        deadline: int | None,
        affected_ad_ids: tuple[str, ...] = (),
        person_id: str | None = None,
        detail: str = "",
        *,
        ad_id: str | None = None,
        ad_account_id: str | None = None,
        ad_owner_id: str | None = None,
    ) -> Finding:
        """A finding about code ``auth``; its owner is ``ad_owner_id`` if that person counts,
        else the code's owner if they count, else None (DESIGN §6).

        The per-code rules pass what they decide positionally, in :class:`Draft`'s order."""
        auth_id, creator_id, post_id, _, _, auth_account_id, auth_owner_id, _, _ = auth
        counting = self.counting
        owner = (
            ad_owner_id
            if ad_owner_id in counting
            else auth_owner_id
            if auth_owner_id in counting
            else None
        )
        return new_finding(  # Finding's fields in order: kind, severity, deadline, ...
            kind,
            severity,
            None if deadline is None else from_micros(deadline),
            auth_id,
            ad_id,
            ad_account_id or auth_account_id,
            person_id,
            creator_id,
            post_id,
            affected_ad_ids,
            owner,
            None if owner is None else counting[owner],
            None,  # grant_id
            self.creators.get(creator_id, _UNKNOWN_CREATOR)[0],
            detail,
        )

    # --- the queries ------------------------------------------------------------------------

    def code_findings(
        self, auths: Iterable[AuthRow], kinds: frozenset[FindingKind], h: int | None = None
    ) -> list[Finding]:
        """The per-code kinds of §6 (REVOKED, EXPIRED, NOT_YET_ACTIVE, EXPIRING, OWNER_MISSING,
        POST_UNAVAILABLE) among ``kinds`` for ``auths``. ``h`` is the horizon (EXPIRING). The
        single queries narrow ``auths`` in SQL; ``findings`` passes them all.
        """
        return self._per_code(auths, kinds, h, self.finding)

    def code_drafts(
        self, auths: Iterable[AuthRow], kinds: frozenset[FindingKind], h: int | None = None
    ) -> list[Draft]:
        """:meth:`code_findings`, decided the same way, as drafts not yet made findings."""
        return self._per_code(auths, kinds, h, Draft)

    def built(self, draft: Draft) -> Finding:
        """The finding a draft made by this view stands for."""
        return self.finding(*draft)

    def _per_code(
        self,
        auths: Iterable[AuthRow],
        kinds: frozenset[FindingKind],
        h: int | None,
        finding: _Make[F],
    ) -> list[F]:
        """The one place the per-code rules live; ``finding`` makes what they decide."""
        # Decide once what is wanted (looking up enum members per code shows at a million).
        revoked, expired, not_yet_active, expiring, owner_missing, post_gone = (
            kind in kinds
            for kind in (
                FindingKind.REVOKED,
                FindingKind.EXPIRED,
                FindingKind.NOT_YET_ACTIVE,
                FindingKind.EXPIRING,
                FindingKind.OWNER_MISSING,
                FindingKind.POST_UNAVAILABLE,
            )
        )
        using = self.using if revoked or expired or not_yet_active or post_gone else {}
        owners = self.with_grants if owner_missing else set()
        gone = self.unavailable_posts if post_gone else set()
        # The loop runs once per code: names it needs are bound to locals once.
        found, state = [], self.state
        # EXPIRING, when wanted (the horizon given), for a code neither revoked nor expired
        soon = self.expiring_by(h) if expiring and h is not None else None
        warning = Severity.WARNING
        for a in auths:
            auth_id, _, post_id, starts_at, expires_at, _, owner_id, revoked_at, _ = a
            now = state(a)
            if now == REVOKED:
                if revoked:
                    ads = using.get(auth_id, ())
                    found.append(self._ended(finding, FindingKind.REVOKED, a, revoked_at, ads))
                continue
            if now == EXPIRED:
                if expired:
                    ads = using.get(auth_id, ())
                    found.append(self._ended(finding, FindingKind.EXPIRED, a, expires_at, ads))
                continue
            if post_id in gone:
                found.append(
                    self._ended(
                        finding,
                        FindingKind.POST_UNAVAILABLE,
                        a,
                        None,
                        using.get(auth_id, ()),
                        warning,
                    )
                )
            if now == NOT_YET_ACTIVE:
                if not_yet_active:
                    in_use = any(self.active(ad) for ad in using.get(auth_id, ()))
                    severity = Severity.WARNING if in_use else Severity.INFO
                    found.append(finding(FindingKind.NOT_YET_ACTIVE, severity, a, starts_at))
            elif owner_missing and owner_id not in owners:
                why = (
                    "no owner"
                    if owner_id is None
                    else f"owner {owner_id} has left or holds no active role"
                )
                found.append(
                    finding(FindingKind.OWNER_MISSING, warning, a, None, (), owner_id, why)
                )
            if soon is not None and soon(a):
                found.append(finding(FindingKind.EXPIRING, warning, a, expires_at))
        return found

    def _ended(
        self,
        finding: _Make[F],
        kind: FindingKind,
        auth: AuthRow,
        deadline: int | None,
        ads: Sequence[Ad],
        otherwise: Severity = Severity.INFO,
    ) -> F:
        """A code that no longer works: ERROR while active ads use it, else ``otherwise``."""
        affected = tuple(ad.id for ad in ads if self.active(ad)) if ads else ()
        severity = Severity.ERROR if affected else otherwise
        return finding(kind, severity, auth, deadline, affected)

    def expiring(self, within: Within = DEFAULT_WITHIN) -> list[Finding]:
        h = to_micros(horizon(self.now, within))
        with collector_paused():  # ~12% of the call at a million codes was the collector
            return self.code_findings(
                self.auth_rows(code_expiring(self.t, h)), frozenset({FindingKind.EXPIRING}), h
            )

    def expired(self) -> list[Finding]:
        with collector_paused():
            return self.code_findings(
                self.auth_rows(code_expired(self.t)), frozenset({FindingKind.EXPIRED})
            )

    def revoked(self) -> list[Finding]:
        auths = self.auth_rows(code_revoked(self.t))
        with collector_paused():
            return self.code_findings(auths, frozenset({FindingKind.REVOKED}))

    def not_yet_active(self) -> list[Finding]:
        auths = self.auth_rows(code_pending(self.t))
        with collector_paused():
            return self.code_findings(auths, frozenset({FindingKind.NOT_YET_ACTIVE}))

    def _auths_in_use(self) -> dict[str, Auth]:
        return self._auths_by_id(self.using)

    def _auths_by_id(self, wanted: Iterable[str]) -> dict[str, Auth]:
        ids = list(wanted)
        return {auth.id: auth for auth in self.auths(OneOf("id", ids))} if ids else {}

    def outlived_by_ads(self) -> list[Finding]:
        found = []
        for auth in self._auths_in_use().values():
            if self.state(auth) in (REVOKED, EXPIRED):
                continue
            for ad in self.using[auth.id]:
                if ad.runs_until is not None and ad.runs_until > auth.expires_at:
                    found.append(
                        self.finding(
                            FindingKind.AD_OUTLIVES_CODE,
                            Severity.WARNING,
                            auth,
                            auth.expires_at,
                            ad_id=ad.id,
                            ad_account_id=ad.ad_account_id,
                            detail=f"ad runs until {from_micros(ad.runs_until):%Y-%m-%d}",
                            ad_owner_id=ad.owner_id,
                        )
                    )
        return found

    def mismatched_posts(self) -> list[Finding]:
        found = []
        for auth in self._auths_in_use().values():
            for ad in self.using[auth.id]:
                if ad.intended_post_id != auth.post_id:
                    found.append(
                        self.finding(
                            FindingKind.WRONG_POST,
                            Severity.ERROR,
                            auth,
                            None,
                            ad_id=ad.id,
                            ad_account_id=ad.ad_account_id,
                            detail=f"ad intends {ad.intended_post_id}, code is for {auth.post_id}",
                            ad_owner_id=ad.owner_id,
                        )
                    )
        return found

    # --- what TikTok reports: bindings and post statuses ----------------------------------

    def post_unavailable(self) -> list[Finding]:
        """POST_UNAVAILABLE: live or pending codes whose post TikTok reports deleted or removed."""
        if not self.unavailable_posts:
            return []
        where = All(Not(code_ended(self.t)), OneOf("post_id", sorted(self.unavailable_posts)))
        return self.code_findings(self.auth_rows(where), frozenset({FindingKind.POST_UNAVAILABLE}))

    def unbound_ads(self) -> list[Finding]:
        """UNBOUND: per ad using a code whose binding in the ad's account is unbound at ``t``."""
        unbound = self.unbound
        if not unbound:
            return []
        found = []
        in_use = self._auths_in_use()
        for auth_id, ads in self.using.items():
            for ad in ads:
                unbound_at = unbound.get((auth_id, ad.ad_account_id))
                if unbound_at is None or (auth := in_use.get(auth_id)) is None:
                    continue
                severity = Severity.ERROR if self.active(ad) else Severity.WARNING
                found.append(
                    self.finding(
                        FindingKind.UNBOUND,
                        severity,
                        auth,
                        unbound_at,
                        ad_id=ad.id,
                        ad_account_id=ad.ad_account_id,
                        affected_ad_ids=(ad.id,),
                        ad_owner_id=ad.owner_id,
                    )
                )
        return found

    def not_authorized(self) -> list[Finding]:
        """NOT_AUTHORIZED: per binding bound at ``t`` whose TikTok status is not AUTHORIZED."""
        doubtful = [
            b
            for b in self.bindings(
                All(
                    Not(Missing("tiktok_status")),
                    Not(Equals("tiktok_status", AUTHORIZED)),
                    bound_at(self.t),
                )
            )
        ]
        auths = self._auths_by_id({b.authorization_id for b in doubtful})
        found = []
        for b in doubtful:
            if (auth := auths.get(b.authorization_id)) is None:
                continue
            active = tuple(
                ad.id
                for ad in self.using.get(b.authorization_id, ())
                if ad.ad_account_id == b.ad_account_id and self.active(ad)
            )
            found.append(
                self.finding(
                    FindingKind.NOT_AUTHORIZED,
                    Severity.ERROR if active else Severity.WARNING,
                    auth,
                    None,
                    ad_account_id=b.ad_account_id,
                    affected_ad_ids=active,
                    detail=f"TikTok reports {b.tiktok_status}",
                )
            )
        return found

    # --- region policy ------------------------------------------------------------------------

    @cached_property
    def rules(self) -> dict[tuple[str, str], RegionVerdict]:
        return {
            (str(c), str(a)): RegionVerdict(str(v))
            for c, a, v in self.select(RegionRule, ("creator_region", "account_region", "verdict"))
        }

    def verdict(self, creator_region: str | None, account_region: str | None) -> RegionVerdict:
        """The policy's verdict: exact pair, (creator, *), (*, account), (*, *), then default."""
        if creator_region is None or account_region is None:
            return RegionVerdict.UNKNOWN
        for key in (
            (creator_region, account_region),
            (creator_region, "*"),
            ("*", account_region),
            ("*", "*"),
        ):
            if key in self.rules:
                return self.rules[key]
        return (
            RegionVerdict.COMPATIBLE if creator_region == account_region else RegionVerdict.UNKNOWN
        )

    def pair_verdict(self, creator_id: str, account_id: str) -> RegionVerdict:
        """The policy's verdict for a recorded creator and ad account."""
        return self.verdict(self._creator_region(creator_id), self._account_region(account_id))

    def _creator_region(self, creator_id: str) -> str | None:
        return self.creators.get(creator_id, (None, None))[1]

    def _account_region(self, account_id: str) -> str | None:
        return self.accounts.get(account_id, (None, None))[0]

    def region_finding(self, auth: Auth, account_id: str) -> Finding | None:
        creator_region = self._creator_region(auth.creator_id)
        account_region = self._account_region(account_id)
        verdict = self.verdict(creator_region, account_region)
        if verdict is RegionVerdict.COMPATIBLE:
            return None
        kind, severity = (
            (FindingKind.REGION_INCOMPATIBLE, Severity.ERROR)
            if verdict is RegionVerdict.INCOMPATIBLE
            else (FindingKind.REGION_UNCONFIRMED, Severity.INFO)
        )
        detail = f"creator region {creator_region or 'unknown'}, account region {account_region}"
        return self.finding(kind, severity, auth, None, ad_account_id=account_id, detail=detail)

    def region_incompatible(self) -> list[Finding]:
        found: dict[tuple[str, str], Finding] = {}

        def consider(auth: Auth, account: str) -> None:
            if (auth.id, account) not in found and (finding := self.region_finding(auth, account)):
                found[(auth.id, account)] = finding

        # Verdicts depend only on the (creator, account) pair: read the distinct bound pairs
        # first, and load authorizations only if some pair is not compatible.
        bound_to_one = Not(Missing("ad_account_id"))
        pairs = self.select(
            SparkAuthorization, ("creator_id", "ad_account_id"), bound_to_one, distinct=True
        )
        doubtful = {
            (creator, account)
            for creator, account in pairs
            if self.pair_verdict(creator, account) is not RegionVerdict.COMPATIBLE
        }
        if doubtful:
            for auth in self.auths(bound_to_one, ("seq",)):
                if (auth.creator_id, auth.ad_account_id) in doubtful:
                    consider(auth, str(auth.ad_account_id))
        # the accounts where TikTok lists the code (bound at t), again pairs first
        bound_pairs = self.store.bound_accounts(self.bound, bound_at(self.t))
        doubtful = {
            (creator, account)
            for creator, account in bound_pairs
            if self.pair_verdict(creator, account) is not RegionVerdict.COMPATIBLE
        }
        if doubtful:
            accounts = sorted({account for _, account in doubtful})
            bound = [b for b in self.bindings(OneOf("ad_account_id", accounts)) if self.is_bound(b)]
            by_id = self._auths_by_id({b.authorization_id for b in bound})
            for b in bound:
                code = by_id.get(b.authorization_id)
                if code is not None and (code.creator_id, b.ad_account_id) in doubtful:
                    consider(code, b.ad_account_id)
        in_use = self._auths_in_use()
        for auth_id, ads in self.using.items():
            if (used := in_use.get(auth_id)) is not None:
                for ad in ads:
                    consider(used, ad.ad_account_id)
        return list(found.values())

    # --- access and ownership -----------------------------------------------------------------

    @cached_property
    def left(self) -> dict[str, int | None]:
        return {str(i): left for i, left in self.select(Person, ("id", "left_at"))}

    def grant_active(self, grant: Grant) -> bool:
        """In force at ``t`` and held by a person who counts (DESIGN §6, access)."""
        return self._in_force(grant) and self._counts((self.left.get(grant.person_id),))

    @cached_property
    def active_grants(self) -> list[Grant]:
        return [
            g
            for g in (Grant(*r) for r in self.select(RoleGrant, Grant._fields))
            if self.grant_active(g)
        ]

    def administrators(self, account_id: str) -> set[str]:
        """Active ADMIN grants on the account itself. A Business Center admin is not one by
        virtue of the BC: TikTok's BC admins manage only the assets assigned to them."""
        scope = f"ad_account:{account_id}"
        return {
            g.person_id for g in self.active_grants if g.role == Role.ADMIN and g.scope == scope
        }

    def bc_admins(self, account_id: str) -> set[str]:
        """Active BC_ADMIN grants on the account's Business Center: who can assign roles on it."""
        bc = self.accounts.get(account_id, (None, None))[1]
        if bc is None:
            return set()
        scope = f"business_center:{bc}"
        return {
            g.person_id for g in self.active_grants if g.role == Role.BC_ADMIN and g.scope == scope
        }

    def _who_can_assign(self, account_id: str) -> str:
        admins = sorted(self.bc_admins(account_id))
        bc = self.accounts.get(account_id, (None, None))[1]
        if admins:
            return "Business Center admins who can assign one: " + ", ".join(
                self.counting.get(p, p) for p in admins
            )
        if bc is None:
            return "the account has no Business Center recorded"
        return f"no active admin recorded for Business Center {bc}"

    def operators(self, account_id: str) -> set[str]:
        extra = {
            g.person_id
            for g in self.active_grants
            if g.role == Role.OPERATOR and g.scope == f"ad_account:{account_id}"
        }
        return self.administrators(account_id) | extra

    @cached_property
    def with_grants(self) -> set[str]:
        """People holding at least one active grant."""
        return {g.person_id for g in self.active_grants}

    def ownership(self, within: Within = DEFAULT_WITHIN) -> list[Finding]:
        """NO_ADMIN, NO_OPERATOR, OWNER_MISSING, then ROLE_EXPIRING."""
        h = to_micros(horizon(self.now, within))
        owners = self.auth_rows(code_live(self.t))
        return (
            self._accounts()
            + self.code_findings(owners, frozenset({FindingKind.OWNER_MISSING}))
            + self._roles_expiring(h)
        )

    def _accounts(self) -> list[Finding]:
        """NO_ADMIN per account, NO_OPERATOR per active ad."""
        found = [
            Finding(
                kind=FindingKind.NO_ADMIN,
                severity=Severity.WARNING,
                ad_account_id=account,
                detail=self._who_can_assign(account),
            )
            for account in sorted(self.accounts)
            if not self.administrators(account)
        ]
        for ad in self.ads:
            if self.active(ad) and not self.operators(ad.ad_account_id):
                owner = self.owner(ad.owner_id, self._auth_owner(ad.authorization_id))
                found.append(
                    Finding(
                        kind=FindingKind.NO_OPERATOR,
                        severity=Severity.ERROR,
                        ad_id=ad.id,
                        ad_account_id=ad.ad_account_id,
                        authorization_id=ad.authorization_id,
                        affected_ad_ids=(ad.id,),
                        owner_id=owner,
                        owner_name=self.counting.get(owner) if owner else None,
                        detail=self._who_can_assign(ad.ad_account_id),
                    )
                )
        return found

    def _auth_owner(self, auth_id: str) -> str | None:
        auth = self._auths_by_id([auth_id]).get(auth_id)
        return None if auth is None else auth.owner_id

    def _roles_expiring(self, h: int) -> list[Finding]:
        return [
            Finding(
                kind=FindingKind.ROLE_EXPIRING,
                severity=Severity.WARNING,
                deadline=_when(g.expires_at),
                person_id=g.person_id,
                grant_id=g.id,
                ad_account_id=g.scope.partition(":")[2]
                if g.scope.startswith("ad_account:")
                else None,
                owner_id=g.person_id,
                owner_name=self.counting.get(g.person_id),
                detail=f"{g.role} on {g.scope}",
            )
            for g in self.active_grants
            if g.expires_at is not None and self.t < g.expires_at <= h
        ]

    def findings(self, within: Within = DEFAULT_WITHIN) -> list[Finding]:
        """Every kind, worst first: :meth:`iter_findings` as a list (the collector paused while
        it grows: walking a million findings as the list grows is most of the time)."""
        batches = self._streamed(to_micros(horizon(self.now, within)))
        with collector_paused():
            return list(chain.from_iterable(batches))  # flattened in C

    def iter_findings(self, within: Within = DEFAULT_WITHIN) -> Iterator[Finding]:
        """Every kind in :meth:`Finding.sort_key` order, streamed in bounded memory.

        Worst severity first, then earliest deadline (none last), then kind; equal keys in the
        order the codes were recorded (their seq), then in the order the other queries give,
        which is the order a stable sort of one pass over the codes, then ads, regions and
        access leaves them. ``within`` is checked now; the ledger is read on the first ``next``.
        """
        return _flattened(self._streamed(to_micros(horizon(self.now, within))))

    def _streams(self, h: int) -> list[tuple[FindingKind, Filter, str | None]]:
        """The per-code kinds a code in no active or scheduled ad can have, with the rule that
        narrows the codes to the ones :meth:`code_findings` may flag and the column its
        deadline is in (the stream's order). The rules stay in code_findings."""
        t = self.t
        return [
            (FindingKind.REVOKED, code_revoked(t), "revoked_at"),
            (FindingKind.EXPIRED, code_expired(t), "expires_at"),
            (FindingKind.NOT_YET_ACTIVE, code_pending(t), "starts_at"),
            (FindingKind.EXPIRING, code_expiring(t, h), "expires_at"),
            (FindingKind.OWNER_MISSING, code_live(t), None),
        ]

    def _streamed(self, h: int) -> Generator[list[Finding], None, None]:
        """Sorted streams merged, in batches: the codes in use decided in memory, every other
        per-code kind one stream ordered by deadline then seq, and the rest (ads, regions,
        access)."""
        streams = [iter([self._codes_in_use_keyed(h)])]
        for kind, where, deadline in self._streams(h):
            order = ("seq",) if deadline is None else (deadline, "seq")
            streams.append(self._keyed(self.auth_rows(where, order), kind, h))
        if self.unavailable_posts:
            where = All(Not(code_ended(self.t)), OneOf("post_id", sorted(self.unavailable_posts)))
            gone = self.auth_rows(where, ("seq",))
            streams.append(self._keyed(gone, FindingKind.POST_UNAVAILABLE, h))
        rest = self.other_findings(h)
        streams.append(iter([[(_key(finding, i), finding) for i, finding in enumerate(rest)]]))
        yield from _merged(streams)

    def keyed(
        self,
        kind: FindingKind,
        severity: Severity,
        auth: AuthRow,
        deadline: int | None,
        affected_ad_ids: tuple[str, ...] = (),
        person_id: str | None = None,
        detail: str = "",
    ) -> tuple[_Key, Finding]:
        """:meth:`finding` with its place in the merged stream (see :data:`_Key`)."""
        finding = self.finding(kind, severity, auth, deadline, affected_ad_ids, person_id, detail)
        when = _NEVER if deadline is None else deadline
        return (_RANK[severity], when, kind._value_, auth[8]), finding

    def _keyed(self, rows: Iterable[AuthRow], kind: FindingKind, h: int) -> Iterator[_Batch]:
        """``kind``'s findings for the ``rows`` (in key order) of codes no ad uses, keyed, in
        batches."""
        using, kinds = self.using, frozenset({kind})
        rows = iter(rows)
        while True:  # read and built inside the merge's pause of the collector
            read = list(islice(rows, _BATCH))
            batch = [row for row in read if row[0] not in using] if using else read
            yield self._per_code(batch, kinds, h, self.keyed)
            if len(read) < _BATCH:
                return

    def _codes_in_use_keyed(self, h: int) -> _Batch:
        """The per-code findings of codes active or scheduled ads use (their severity depends
        on the ads), decided in memory in seq order and sorted by key."""
        ids = list(self.using)
        rows = list(self.auth_rows(OneOf("id", ids), ("seq",))) if ids else []
        keyed = self._per_code(rows, CODE_KINDS, h, self.keyed)
        keyed.sort(key=_KEY)
        return keyed

    def other_findings(self, h: int) -> list[Finding]:
        """Every kind but the per-code ones (ads, regions, access), sorted: far fewer than
        codes, so sorted in memory (stably). ``h`` is the horizon, in µs."""
        found = self.outlived_by_ads()
        found += self.mismatched_posts()
        found += self.unbound_ads()
        found += self.not_authorized()
        found += self.region_incompatible()
        found += self._accounts()
        found += self._roles_expiring(h)
        found.sort(key=Finding.sort_key)
        return found

    def _versions_between(self, low: int, high: int | None) -> Iterator[tuple[Any, ...]]:
        """(superseded_by, *:class:`AuthRow`) of every code version current at some
        bound from ``low`` to ``high`` (None: now), in seq order, streamed."""
        return self.store.current_rows(
            SparkAuthorization, _BETWEEN, bound=high, since=low, order_by=("seq",)
        )


_BETWEEN = ("superseded_by", *Auth._fields)


def paired_drafts(
    then: Checks, now: Checks, h_then: int, h_now: int
) -> Iterator[tuple[Draft | None, Draft | None]]:
    """The per-code decisions of two views of one ledger (``then`` sees no further than
    ``now``), paired by code and kind: one read of the codes serves both (``ledger.changes``).

    Versions come in seq order, so a code's version at ``then`` comes no later than its
    version at ``now``: only decisions with no partner (yet) are held.
    """
    low, high = then.bound or 0, now.bound
    assert high is None or low <= high, "then is the earlier view"
    waiting: dict[tuple[str, str], Draft] = {}
    rows = now._versions_between(low, high)
    while batch := list(islice(rows, _BATCH)):
        at_then: list[AuthRow] = []
        at_now: list[AuthRow] = []
        for superseded_by, *auth in batch:
            seq = auth[8]
            if seq <= low and (superseded_by is None or superseded_by > low):
                at_then.append(tuple(auth))
            if superseded_by is None or (high is not None and superseded_by > high):
                at_now.append(tuple(auth))
        for draft in then.code_drafts(at_then, CODE_KINDS, h_then):
            waiting[draft.auth[0], draft.kind._value_] = draft
        for draft in now.code_drafts(at_now, CODE_KINDS, h_now):
            yield waiting.pop((draft.auth[0], draft.kind._value_), None), draft
    for before in waiting.values():
        yield before, None


#: A finding's place in the merged stream: severity rank, deadline in µs (none: after all),
#: kind, then a tie-breaker (a code's seq, or the position in a sorted list).
_Key = tuple[int, int, str, int]
_NEVER = to_micros(datetime.max.replace(tzinfo=UTC)) + 1
_BATCH = 1000  # codes per code_findings call in a stream
_RANK = {severity: severity.rank for severity in Severity}
_UNKNOWN_CREATOR = (None, None)
_KEY = itemgetter(0)  # of a (key, finding) pair: in C, where bisect and sort call it per item


#: Findings with their keys, in key order.
_Batch = list[tuple[_Key, Finding]]


def _merged(streams: list[Iterator[_Batch]]) -> Iterator[list[Finding]]:
    """The findings of sorted streams of sorted batches, in key order (keys are unique), in
    batches, for the caller to flatten in C.

    Batch by batch rather than item by item (``heapq.merge`` runs Python per item): what every
    stream holds up to the smallest of their last keys comes next, sorted in one call (runs
    already sorted: a merge in C). A stream whose batch is spent gives its next only when the
    next round needs it, after the caller has had this one. Closing this closes the streams.
    """
    held: list[list[Any]] = [[None, 0, stream] for stream in streams]  # batch, next item, stream
    try:
        while True:
            enabled = pause()  # before anything is made: see collector.pause
            try:
                live = []
                for batch, start, stream in held:
                    if batch is None or start == len(batch):
                        batch, start = _filled(stream), 0
                        if batch is None:  # the stream has ended
                            continue
                    live.append([batch, start, stream])
                if not live:
                    return
                held = live
                frontier = min(batch[-1][0] for batch, _, _ in held)
                ready: _Batch = []
                for place in held:
                    batch, start, _ = place
                    place[1] = end = bisect_right(batch, frontier, lo=start, key=_KEY)
                    ready += batch[start:end]
                ready.sort(key=_KEY)
                findings = [finding for _, finding in ready]
            finally:
                resume(enabled)
            yield findings
    finally:
        for stream in streams:
            if isinstance(stream, Generator):
                stream.close()


def _flattened(batches: Generator[list[Finding], None, None]) -> Iterator[Finding]:
    """The findings of ``batches``, one by one; closing this (or ending it) closes them."""
    try:
        for batch in batches:
            yield from batch
    finally:
        batches.close()


def _filled(stream: Iterator[_Batch]) -> _Batch | None:
    """The next batch of ``stream`` that is not empty (a batch of codes can make no finding);
    None once it ends."""
    for batch in stream:
        if batch:
            return batch
    return None


def _key(finding: Finding, tie: int) -> _Key:
    deadline = finding.deadline
    when = _NEVER if deadline is None else to_micros(deadline)
    return _RANK[finding.severity], when, finding.kind._value_, tie
