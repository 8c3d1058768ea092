"""The finding producers of DESIGN §6 over a :class:`~delvia_ledger.world.World`, and the
streamed merge that puts every kind in one order.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain, islice
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from . import listings
from .access_checks import access_findings
from .collector import collector_paused
from .convert import from_micros, to_micros
from .findings import REPLACED, Finding, FindingKind, Severity, new_finding
from .merge import KEY, NEVER, RANK, Batch, Key, flattened, key_of, merged
from .records import Record, RegionVerdict, SparkAuthorization
from .rules import (
    DEFAULT_QUIET_AFTER,
    DEFAULT_WITHIN,
    EXPIRED,
    NOT_YET_ACTIVE,
    REVOKED,
    Ad,
    Auth,
    AuthRow,
    Within,
    bound_at,
    code_ended,
    code_expired,
    code_expiring,
    code_live,
    code_pending,
    code_quiet,
    code_revoked,
    duration,
    horizon,
    not_authorized,
    quiet_cutoff,
)
from .storage import All, Filter, Missing, Not, OneOf
from .world import World

__all__ = [
    "CODE_KINDS",
    "DEFAULT_QUIET_AFTER",
    "DEFAULT_WITHIN",
    "Checks",
    "Draft",
    "Within",
    "duration",
    "horizon",
]

#: The kinds :meth:`Checks.code_findings` decides from a code alone.
CODE_KINDS = frozenset(
    {
        FindingKind.REVOKED,
        FindingKind.EXPIRED,
        FindingKind.NOT_YET_ACTIVE,
        FindingKind.EXPIRING,
        FindingKind.OWNER_MISSING,
        FindingKind.POST_UNAVAILABLE,
        FindingKind.POST_UNDER_REVIEW,
    }
)


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


F = TypeVar("F", Finding, Draft, "tuple[Key, Finding]", covariant=True)


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
    """The findings of one ledger view at one moment ``now``, over the :class:`World` read at
    that bound and moment (cached per instance). An EXPIRED or REVOKED finding no ad needs,
    with a deadline older than ``quiet_after`` (None: never), is *quiet*: left out of
    :meth:`findings` unless asked for (DESIGN §6)."""

    def __init__(self, world: World, quiet_after: Within | None = DEFAULT_QUIET_AFTER) -> None:
        self.world, self.now, self.t = world, world.now, world.t
        #: Quiet before this moment (µs); None: nothing is quiet.
        self.quiet_before = None if quiet_after is None else quiet_cutoff(self.now, quiet_after)

    # Routing (reminders) asks these of a Checks until it holds a World of its own.
    def administrators(self, account_id: str) -> set[str]:
        """:meth:`World.administrators`."""
        return self.world.administrators(account_id)

    def bc_admins(self, account_id: str) -> set[str]:
        """:meth:`World.bc_admins`."""
        return self.world.bc_admins(account_id)

    def select(
        self, cls: type[Record], columns: Sequence[str], where: Filter | None = None
    ) -> list[tuple[Any, ...]]:
        """:meth:`World.select`."""
        return self.world.select(cls, columns, where)

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
        counting = self.world.counting
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
            self.world.creators.get(creator_id, _UNKNOWN_CREATOR)[0],
            detail,
        )

    # --- the queries ------------------------------------------------------------------------

    def code_findings(
        self,
        auths: Iterable[AuthRow],
        kinds: frozenset[FindingKind],
        h: int | None = None,
        quiet: int | None = None,
    ) -> list[Finding]:
        """The per-code kinds of §6 (:data:`CODE_KINDS`) among ``kinds`` for ``auths``. ``h`` is
        the horizon (EXPIRING), ``quiet`` the moment before which an ended code no ad uses is
        quiet (None: none is). The single queries narrow ``auths`` in SQL; ``findings`` passes
        them all.
        """
        return self._per_code(auths, kinds, h, self.finding, quiet)

    def code_drafts(
        self, auths: Iterable[AuthRow], kinds: frozenset[FindingKind], h: int | None = None
    ) -> list[Draft]:
        """:meth:`code_findings`, decided the same way (quiet as :meth:`findings` is), as
        drafts not yet made findings."""
        return self._per_code(auths, kinds, h, Draft, self.quiet_before)

    def built(self, draft: Draft) -> Finding:
        """The finding a draft made by this view stands for."""
        return self.finding(*draft)

    def _per_code(
        self,
        auths: Iterable[AuthRow],
        kinds: frozenset[FindingKind],
        h: int | None,
        finding: _Make[F],
        quiet: int | None = None,
    ) -> list[F]:
        """The one place the per-code rules live; ``finding`` makes what they decide. A code
        replaced at t (``World.replaced``) raises only REVOKED or EXPIRED, and only while an
        ad uses it; one no ad uses, ended before ``quiet``, raises nothing (DESIGN §6)."""
        # Decide once what is wanted (looking up enum members per code shows at a million).
        revoked, expired, not_yet_active, expiring, owner_missing, post_gone, review = (
            kind in kinds
            for kind in (
                FindingKind.REVOKED,
                FindingKind.EXPIRED,
                FindingKind.NOT_YET_ACTIVE,
                FindingKind.EXPIRING,
                FindingKind.OWNER_MISSING,
                FindingKind.POST_UNAVAILABLE,
                FindingKind.POST_UNDER_REVIEW,
            )
        )
        using = (
            self.world.using if revoked or expired or not_yet_active or post_gone or review else {}
        )
        owners = self.world.with_grants if owner_missing else set()
        gone = self.world.unavailable_posts if post_gone else set()
        reviewed = self.world.posts_under_review if review else set()
        replaced = self.world.replaced if self.world.replacing else None
        never = -1 if quiet is None else quiet  # no deadline is before -1
        # The loop runs once per code: names it needs are bound to locals once.
        found, state = [], self.world.state
        # EXPIRING, when wanted (the horizon given), for a code neither revoked nor expired
        soon = self.world.expiring_by(h) if expiring and h is not None else None
        warning = Severity.WARNING
        for a in auths:
            auth_id, _, post_id, starts_at, expires_at, _, owner_id, revoked_at, _ = a
            now = state(a)
            old = replaced is not None and replaced(a)
            if now <= EXPIRED:  # REVOKED or EXPIRED
                if revoked if now == REVOKED else expired:
                    ads = using.get(auth_id, ())
                    deadline = revoked_at if now == REVOKED else expires_at
                    if ads or not (old or cast(int, deadline) < never):
                        kind = FindingKind.REVOKED if now == REVOKED else FindingKind.EXPIRED
                        why = REPLACED if old else ""
                        found.append(self._ended(finding, kind, a, deadline, ads, why=why))
                continue
            if old:
                continue
            if post_id in reviewed:
                active = tuple(ad.id for ad in using.get(auth_id, ()) if self.world.active(ad))
                found.append(finding(FindingKind.POST_UNDER_REVIEW, warning, a, None, active))
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
                    in_use = any(self.world.active(ad) for ad in using.get(auth_id, ()))
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
        why: str = "",
    ) -> F:
        """A code that no longer works: ERROR while active ads use it, else ``otherwise``."""
        affected = tuple(ad.id for ad in ads if self.world.active(ad)) if ads else ()
        severity = Severity.ERROR if affected else otherwise
        return finding(kind, severity, auth, deadline, affected, None, why)

    def expiring(self, within: Within = DEFAULT_WITHIN) -> list[Finding]:
        """EXPIRING: codes not revoked that expire after now and by now + ``within``."""
        h = to_micros(horizon(self.now, within))
        return self._of_kind(FindingKind.EXPIRING, code_expiring(self.t, h), h)

    def expired(self) -> list[Finding]:
        """EXPIRED: codes not revoked whose window has ended."""
        return self._of_kind(FindingKind.EXPIRED, code_expired(self.t))

    def revoked(self) -> list[Finding]:
        """REVOKED: codes revoked by now."""
        return self._of_kind(FindingKind.REVOKED, code_revoked(self.t))

    def not_yet_active(self) -> list[Finding]:
        """NOT_YET_ACTIVE: codes not revoked whose window has not started."""
        return self._of_kind(FindingKind.NOT_YET_ACTIVE, code_pending(self.t))

    def _of_kind(self, kind: FindingKind, where: Filter, h: int | None = None) -> list[Finding]:
        """One per-code kind, for the codes its rule ``where`` narrows the read to (quiet ones
        included: a single query answers for every code)."""
        auths = self.world.auth_rows(where)
        with collector_paused():  # ~12% of the call at a million codes was the collector
            return self.code_findings(auths, frozenset({kind}), h)

    def _in_use(self) -> Iterator[tuple[Auth, list[Ad]]]:
        """Each code in use with the active and scheduled ads using it, in the ads' order."""
        in_use = self.world.in_use
        for auth_id, ads in self.world.using.items():
            if (auth := in_use.get(auth_id)) is not None:
                yield auth, ads

    def outlived_by_ads(self) -> list[Finding]:
        found = []
        for auth, ads in self._in_use():
            if self.world.state(auth) in (REVOKED, EXPIRED):
                continue
            for ad in ads:
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
        for auth, ads in self._in_use():
            for ad in ads:
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
        if not self.world.unavailable_posts:
            return []
        gone = self._on_posts(self.world.unavailable_posts)
        return self.code_findings(gone, frozenset({FindingKind.POST_UNAVAILABLE}))

    def post_under_review(self) -> list[Finding]:
        """POST_UNDER_REVIEW: live or pending codes whose post TikTok reports under review."""
        if not self.world.posts_under_review:
            return []
        held = self._on_posts(self.world.posts_under_review)
        return self.code_findings(held, frozenset({FindingKind.POST_UNDER_REVIEW}))

    def _on_posts(self, posts: Iterable[str], order: Sequence[str] = ()) -> Iterator[AuthRow]:
        """The codes neither revoked nor expired on ``posts``."""
        where = All(Not(code_ended(self.t)), OneOf("post_id", sorted(posts)))
        return self.world.auth_rows(where, order)

    def unbound_ads(self) -> list[Finding]:
        """UNBOUND: per ad using a code whose binding in the ad's account is unbound at ``t``."""
        unbound = self.world.unbound
        if not unbound:
            return []
        found = []
        for auth, ads in self._in_use():
            for ad in ads:
                unbound_at = unbound.get((auth.id, ad.ad_account_id))
                if unbound_at is None:
                    continue
                severity = Severity.ERROR if self.world.active(ad) else Severity.WARNING
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
        doubtful = self.world.bindings(not_authorized(self.t))
        auths = self.world.auths_by_id({b.authorization_id for b in doubtful})
        found = []
        for b in doubtful:
            auth = auths.get(b.authorization_id)
            if auth is None or self.world.replaced(auth):  # a replaced code: nothing per code
                continue
            active = tuple(
                ad.id
                for ad in self.world.using.get(b.authorization_id, ())
                if ad.ad_account_id == b.ad_account_id and self.world.active(ad)
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

    def region_finding(self, auth: Auth, account_id: str) -> Finding | None:
        creator_region = self.world.creator_region(auth.creator_id)
        account_region = self.world.account_region(account_id)
        verdict = self.world.verdict(creator_region, account_region)
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
        pairs = self.world.select(
            SparkAuthorization, ("creator_id", "ad_account_id"), bound_to_one, distinct=True
        )
        doubtful = {
            (creator, account)
            for creator, account in pairs
            if self.world.pair_verdict(creator, account) is not RegionVerdict.COMPATIBLE
        }
        replaced = self.world.replaced  # only the ads still on one make its pairs
        if doubtful:
            for auth in self.world.auths(bound_to_one, ("seq",)):
                if (auth.creator_id, auth.ad_account_id) in doubtful and not replaced(auth):
                    consider(auth, str(auth.ad_account_id))
        # the accounts where TikTok lists the code (bound at t), again pairs first
        bound_pairs = self.world.store.bound_accounts(self.world.bound, bound_at(self.t))
        doubtful = {
            (creator, account)
            for creator, account in bound_pairs
            if self.world.pair_verdict(creator, account) is not RegionVerdict.COMPATIBLE
        }
        if doubtful:
            accounts = sorted({account for _, account in doubtful})
            bound = [
                b
                for b in self.world.bindings(OneOf("ad_account_id", accounts))
                if self.world.is_bound(b)
            ]
            by_id = self.world.auths_by_id({b.authorization_id for b in bound})
            for b in bound:
                code = by_id.get(b.authorization_id)
                if code is None or replaced(code):
                    continue
                if (code.creator_id, b.ad_account_id) in doubtful:
                    consider(code, b.ad_account_id)
        for used, ads in self._in_use():
            for ad in ads:
                consider(used, ad.ad_account_id)
        return list(found.values())

    # --- access and ownership -----------------------------------------------------------------

    def _who_can_assign(self, account_id: str) -> str:
        admins = sorted(self.world.bc_admins(account_id))
        bc = self.world.business_center(account_id)
        side = (
            "read: TikTok's Business Center (actual side)"
            if self.world.synced(f"ad_account:{account_id}")
            else "read: approved grants (intended side; no access sync yet)"
        )
        if admins:
            return (
                "Business Center admins who can assign one: "
                + ", ".join(self.world.counting.get(p, p) for p in admins)
                + f"; {side}"
            )
        if bc is None:
            return f"the account has no Business Center recorded; {side}"
        return f"no active admin recorded for Business Center {bc}; {side}"

    def ownership(self, within: Within = DEFAULT_WITHIN) -> list[Finding]:
        """NO_ADMIN, NO_OPERATOR, OWNER_MISSING, then ROLE_EXPIRING."""
        h = to_micros(horizon(self.now, within))
        owners = self.world.auth_rows(code_live(self.t))
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
            for account in sorted(self.world.accounts)
            if not self.world.administrators(account)
        ]
        for ad in self.world.ads:
            if self.world.active(ad) and not self.world.operators(ad.ad_account_id):
                code = self.world.in_use.get(ad.authorization_id)  # active: in use
                owner = self.world.owner(ad.owner_id, code and code.owner_id)
                found.append(
                    Finding(
                        kind=FindingKind.NO_OPERATOR,
                        severity=Severity.ERROR,
                        ad_id=ad.id,
                        ad_account_id=ad.ad_account_id,
                        authorization_id=ad.authorization_id,
                        affected_ad_ids=(ad.id,),
                        owner_id=owner,
                        owner_name=self.world.counting.get(owner) if owner else None,
                        detail=self._who_can_assign(ad.ad_account_id),
                    )
                )
        return found

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
                owner_name=self.world.counting.get(g.person_id),
                detail=f"{g.role} on {g.scope}",
            )
            for g in self.world.active_grants
            if g.expires_at is not None and self.t < g.expires_at <= h
        ]

    def findings(
        self, within: Within = DEFAULT_WITHIN, *, include_quiet: bool = False
    ) -> list[Finding]:
        """Every kind, worst first: :meth:`iter_findings` as a list (the collector paused while
        it grows: walking a million findings as the list grows is most of the time)."""
        batches = self._streamed(to_micros(horizon(self.now, within)), include_quiet)
        with collector_paused():
            return list(chain.from_iterable(batches))  # flattened in C

    def iter_findings(
        self, within: Within = DEFAULT_WITHIN, *, include_quiet: bool = False
    ) -> Iterator[Finding]:
        """Every kind in :meth:`Finding.sort_key` order, streamed in bounded memory.

        Worst severity first, then earliest deadline (none last), then kind; equal keys in the
        order the codes were recorded (their seq), then in the order the other queries give,
        which is the order a stable sort of one pass over the codes, then ads, regions and
        access leaves them. Quiet findings are left out unless ``include_quiet``. ``within`` is
        checked now; the ledger is read on the first ``next``.
        """
        return flattened(self._streamed(to_micros(horizon(self.now, within)), include_quiet))

    def _streams(self, h: int, quiet: int | None) -> list[tuple[FindingKind, Filter, str | None]]:
        """The per-code kinds a code in no active or scheduled ad can have, with the rule that
        narrows the codes to the ones :meth:`code_findings` may flag and the column its
        deadline is in (the stream's order). The rules stay in code_findings; the streams of
        ended codes leave the quiet ones (``quiet``: the cutoff, None for none) unread."""
        t = self.t
        revoked, expired = code_revoked(t), code_expired(t)
        if quiet is not None:
            revoked, expired = (
                All(revoked, Not(code_quiet(t, quiet))),
                All(expired, Not(code_quiet(t, quiet))),
            )
        return [
            (FindingKind.REVOKED, revoked, "revoked_at"),
            (FindingKind.EXPIRED, expired, "expires_at"),
            (FindingKind.NOT_YET_ACTIVE, code_pending(t), "starts_at"),
            (FindingKind.EXPIRING, code_expiring(t, h), "expires_at"),
            (FindingKind.OWNER_MISSING, code_live(t), None),
        ]

    def _streamed(self, h: int, include_quiet: bool) -> Generator[list[Finding], None, None]:
        """Sorted streams merged, in batches: the codes in use decided in memory, every other
        per-code kind one stream ordered by deadline then seq, and the rest (ads, regions,
        access)."""
        quiet = None if include_quiet else self.quiet_before
        streams = [iter([self._codes_in_use_keyed(h)])]
        for kind, where, deadline in self._streams(h, quiet):
            order = ("seq",) if deadline is None else (deadline, "seq")
            streams.append(self._keyed(self.world.auth_rows(where, order), kind, h, quiet))
        for kind, posts in (
            (FindingKind.POST_UNAVAILABLE, self.world.unavailable_posts),
            (FindingKind.POST_UNDER_REVIEW, self.world.posts_under_review),
        ):
            if posts:
                streams.append(self._keyed(self._on_posts(posts, ("seq",)), kind, h))
        rest = self.other_findings(h)
        streams.append(iter([[(key_of(finding, i), finding) for i, finding in enumerate(rest)]]))
        retired = self.world.retired  # a retired code raises nothing, nor what is about it
        if not retired:
            yield from merged(streams)
            return
        for batch in merged(streams):
            yield [f for f in batch if f.authorization_id not in retired]

    def keyed(
        self,
        kind: FindingKind,
        severity: Severity,
        auth: AuthRow,
        deadline: int | None,
        affected_ad_ids: tuple[str, ...] = (),
        person_id: str | None = None,
        detail: str = "",
    ) -> tuple[Key, Finding]:
        """:meth:`finding` with its place in the merged stream (see :data:`Key`)."""
        finding = self.finding(kind, severity, auth, deadline, affected_ad_ids, person_id, detail)
        when = NEVER if deadline is None else deadline
        return (RANK[severity], when, kind._value_, auth[8]), finding

    def _keyed(
        self, rows: Iterable[AuthRow], kind: FindingKind, h: int, quiet: int | None = None
    ) -> Iterator[Batch]:
        """``kind``'s findings for the ``rows`` (in key order) of codes no ad uses, keyed, in
        batches."""
        using, kinds = self.world.using, frozenset({kind})
        rows = iter(rows)
        while True:  # read and built inside the merge's pause of the collector
            read = list(islice(rows, _BATCH))
            batch = [row for row in read if row[0] not in using] if using else read
            yield self._per_code(batch, kinds, h, self.keyed, quiet)
            if len(read) < _BATCH:
                return

    def _codes_in_use_keyed(self, h: int) -> Batch:
        """The per-code findings of codes active or scheduled ads use (their severity depends
        on the ads), decided in memory in seq order and sorted by key."""
        rows = list(self.world.in_use.values())
        keyed = self._per_code(rows, CODE_KINDS, h, self.keyed)
        keyed.sort(key=KEY)
        return keyed

    def other_findings(self, h: int) -> list[Finding]:
        """Every kind but the per-code ones (ads, regions, access), sorted: far fewer than
        codes, so sorted in memory (stably). ``h`` is the horizon, in µs."""
        found = self.outlived_by_ads()
        found += self.mismatched_posts()
        found += self.unbound_ads()
        found += self.not_authorized()
        found += self.region_incompatible()
        found += listings.not_listed(self)
        found += listings.unused_codes(self)
        found += listings.ads_without_code(self)
        found += self._accounts()
        found += self._roles_expiring(h)
        found += access_findings(self.world)
        found.sort(key=Finding.sort_key)
        return found


_BATCH = 1000  # codes per code_findings call in a stream
_UNKNOWN_CREATOR = (None, None)
