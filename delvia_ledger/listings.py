"""The findings that need what a sync records (DESIGN §6, added this round): codes a complete
sweep did not list, codes bound but never used, and ads TikTok runs on a post with no code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .convert import from_micros
from .findings import Finding, FindingKind, Severity
from .records import NO_CODE, Post, SparkAd
from .rules import LIVE, AuthRow, Binding, code_live, long_bound
from .storage import All, AnyOf, AtMost, Equals, OneOf, predicate

if TYPE_CHECKING:
    from .checks import Checks

__all__ = ["ads_without_code", "not_listed", "unused_codes"]


def not_listed(checks: Checks) -> list[Finding]:
    """NOT_LISTED: after a complete sweep of account X at s <= t (``AdAccount.last_swept_at``),
    per live code whose ``ad_account_id`` is X, recorded before that sweep, with no binding
    (A, X) ever: WARNING, ERROR when an active ad uses it. A replaced code raises nothing."""
    world = checks.world
    swept = {x: (s, seq) for x, (s, seq) in world.swept.items() if s <= world.t}
    if not swept:
        return []
    accounts = AnyOf(
        *(All(Equals("ad_account_id", x), AtMost("seq", seq)) for x, (_, seq) in swept.items())
    )
    pairs, replaced, using = world.binding_pairs, world.replaced, world.using
    found = []
    for a in world.auth_rows(All(code_live(world.t), accounts), ("seq",)):
        auth_id, account = a[0], str(a[5])
        if (auth_id, account) in pairs or replaced(a):
            continue
        active = tuple(ad.id for ad in using.get(auth_id, ()) if world.active(ad))
        severity = Severity.ERROR if active else Severity.WARNING
        when = f"{from_micros(swept[account][0]):%Y-%m-%d %H:%M} UTC"
        detail = f"not listed by the sweep of {when}"
        found.append(
            checks.finding(FindingKind.NOT_LISTED, severity, a, None, active, None, detail)
        )
    return found


def unused_codes(checks: Checks) -> list[Finding]:
    """UNUSED_CODE: per live code bound at t in some account for longer than 14 days that no
    ad uses (in any state): INFO, with the code's expiry as its deadline. A replaced code
    raises nothing."""
    world = checks.world
    long = predicate(long_bound(world.t), Binding._fields)
    since: dict[str, int] = {}
    codes: dict[str, AuthRow] = {}
    for b, code in world.bound_now:
        if long(b):
            auth_id, bound_at = b[0], b[2]
            since[auth_id] = min(bound_at, since.get(auth_id, bound_at))
            codes[auth_id] = code
    if not since:
        return []
    used, state, replaced = world.ever_used, world.state, world.replaced
    found = []
    for a in sorted(codes.values(), key=lambda code: code[8]):
        if a[0] in used or state(a) != LIVE or replaced(a):
            continue
        detail = f"bound since {from_micros(since[a[0]]):%Y-%m-%d}, no ad"
        found.append(
            checks.finding(FindingKind.UNUSED_CODE, Severity.INFO, a, a[4], (), None, detail)
        )
    return found


def ads_without_code(checks: Checks) -> list[Finding]:
    """AD_WITHOUT_CODE: per active or scheduled ad recorded by a sync (an entry from
    ``tiktok``) whose post has no code bound at t in the ad's account: ERROR while active, else
    WARNING. An ad whose own code was unbound there is UNBOUND's, not this."""
    world = checks.world
    ads = [ad for ad in world.ads if world.active(ad) or world.scheduled(ad)]
    if not ads:
        return []
    covered = {(code[2], b[1]) for b, code in world.bound_now}
    unbound = world.unbound
    left = [
        ad
        for ad in ads
        if (ad.intended_post_id, ad.ad_account_id) not in covered
        and (ad.authorization_id, ad.ad_account_id) not in unbound
    ]
    if not left:
        return []
    synced = world.store.last_from("tiktok", SparkAd, [ad.id for ad in left], world.bound)
    left = [ad for ad in left if ad.id in synced]
    posts = {ad.intended_post_id for ad in left}
    creator_of = dict(world.select(Post, ("id", "creator_id"), OneOf("id", sorted(posts))))
    found = []
    for ad in left:
        owner = world.owner(ad.owner_id)
        creator = creator_of.get(ad.intended_post_id)
        found.append(
            Finding(
                kind=FindingKind.AD_WITHOUT_CODE,
                severity=Severity.ERROR if world.active(ad) else Severity.WARNING,
                authorization_id=None if ad.authorization_id == NO_CODE else ad.authorization_id,
                ad_id=ad.id,
                ad_account_id=ad.ad_account_id,
                creator_id=creator,
                post_id=ad.intended_post_id,
                affected_ad_ids=(ad.id,),
                owner_id=owner,
                owner_name=world.counting.get(owner) if owner else None,
                handle=world.creators.get(creator, (None, None))[0] if creator else None,
            )
        )
    return found
