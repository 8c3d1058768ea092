"""The ownership findings of DESIGN §6: accounts with no admin (NO_ADMIN), active ads with
no operator (NO_OPERATOR) and roles about to expire (ROLE_EXPIRING), over a World."""

from __future__ import annotations

from .convert import from_micros
from .findings import Finding, FindingKind, Severity
from .world import World

__all__ = ["account_findings", "roles_expiring"]


def _who_can_assign(world: World, account_id: str) -> str:
    """Who can assign the missing role on ``account_id``, and which side was read."""
    admins = sorted(world.bc_admins(account_id))
    bc = world.business_center(account_id)
    side = (
        "read: TikTok's Business Center (actual side)"
        if world.synced(f"ad_account:{account_id}")
        else "read: approved grants (intended side; no access sync yet)"
    )
    if admins:
        return (
            "Business Center admins who can assign one: "
            + ", ".join(world.counting.get(p, p) for p in admins)
            + f"; {side}"
        )
    if bc is None:
        return f"the account has no Business Center recorded; {side}"
    return f"no active admin recorded for Business Center {bc}; {side}"


def account_findings(world: World) -> list[Finding]:
    """NO_ADMIN per account, NO_OPERATOR per active ad."""
    found = [
        Finding(
            kind=FindingKind.NO_ADMIN,
            severity=Severity.WARNING,
            ad_account_id=account,
            detail=_who_can_assign(world, account),
        )
        for account in sorted(world.accounts)
        if not world.administrators(account)
    ]
    for ad in world.ads:
        if world.active(ad) and not world.operators(ad.ad_account_id):
            code = world.in_use.get(ad.authorization_id)  # active: in use
            owner = world.owner(ad.owner_id, code and code.owner_id)
            found.append(
                Finding(
                    kind=FindingKind.NO_OPERATOR,
                    severity=Severity.ERROR,
                    ad_id=ad.id,
                    ad_account_id=ad.ad_account_id,
                    authorization_id=ad.authorization_id,
                    affected_ad_ids=(ad.id,),
                    owner_id=owner,
                    owner_name=world.counting.get(owner) if owner else None,
                    detail=_who_can_assign(world, ad.ad_account_id),
                )
            )
    return found


def roles_expiring(world: World, h: int) -> list[Finding]:
    """ROLE_EXPIRING per active grant that expires after now and no later than ``h`` (µs)."""
    return [
        Finding(
            kind=FindingKind.ROLE_EXPIRING,
            severity=Severity.WARNING,
            deadline=None if g.expires_at is None else from_micros(g.expires_at),
            person_id=g.person_id,
            grant_id=g.id,
            ad_account_id=g.scope.partition(":")[2] if g.scope.startswith("ad_account:") else None,
            owner_id=g.person_id,
            owner_name=world.counting.get(g.person_id),
            detail=f"{g.role} on {g.scope}",
        )
        for g in world.active_grants
        if g.expires_at is not None and world.t < g.expires_at <= h
    ]
