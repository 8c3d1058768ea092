"""The access findings of DESIGN §6/§8: what TikTok lists (actual) against what people approved
(intended), pending invitations, removals decided in a review, and reviews that are due.
"""

from __future__ import annotations

import json
from datetime import timedelta

from .convert import from_micros, readable_time, to_micros
from .findings import Finding, FindingKind, Severity
from .records import ACTUAL, AccessReview, PendingInvite, Role
from .rules import Grant
from .world import World

__all__ = ["INVITE_WARNS_AFTER", "REVIEW_EVERY", "access_findings", "latest_decisions"]

#: A pending invitation is INFO for this long after a sync first saw it, then WARNING.
INVITE_WARNS_AFTER = timedelta(days=7)
#: How old the last signed access review of a Business Center may be before REVIEW_DUE.
REVIEW_EVERY = timedelta(days=90)
#: The roles TikTok's Business Center lists (DESIGN §8): only these can be missing there.
TIKTOK_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.ANALYST, Role.BC_ADMIN, Role.BC_STANDARD})
_READ_ACTUAL = "read: TikTok's Business Center (actual side)"


def _owner(world: World, scope: str, subject: str) -> str | None:
    """Who acts on an access finding about ``subject`` on ``scope``: the account's
    administrators (actual side), else its Business Center's admins; the first by id."""
    kind, _, target = scope.partition(":")
    candidates: set[str] = set()
    if kind == "ad_account":
        candidates = world.administrators(target) - {subject}
        candidates = candidates or world.bc_admins(target) - {subject}
    elif kind == "business_center":
        candidates = world.bc_admins_of(target) - {subject}
    return min(candidates, default=None)


def _finding(
    world: World,
    kind: FindingKind,
    severity: Severity,
    grant: Grant | None,
    person_id: str,
    scope: str,
    detail: str,
    deadline: int | None = None,
) -> Finding:
    owner = _owner(world, scope, person_id)
    account = scope.partition(":")[2] if scope.startswith("ad_account:") else None
    return Finding(
        kind=kind,
        severity=severity,
        deadline=None if deadline is None else from_micros(deadline),
        ad_account_id=account,
        person_id=person_id,
        grant_id=None if grant is None else grant.id,
        owner_id=owner,
        owner_name=world.counting.get(owner) if owner else None,
        detail=detail,
    )


def latest_decisions(world: World) -> dict[str, tuple[str, str, int]]:
    """Grant id -> (``keep``/``remove``, note, reviewed_at µs) from the latest signed review
    that decided on it."""
    found: dict[str, tuple[str, str, int]] = {}
    rows = world.select(AccessReview, ("reviewed_at", "decisions"), order_by=("reviewed_at",))
    for reviewed_at, decisions in rows:
        if reviewed_at > world.t:
            continue
        items = json.loads(decisions) if isinstance(decisions, str) else list(decisions)
        for item in items:
            verdict, _, rest = str(item).partition(" ")
            grant_id, _, note = rest.partition(" -- ")
            found[grant_id.strip()] = (verdict, note.strip(), int(reviewed_at))
    return found


def access_findings(world: World) -> list[Finding]:
    """LEFT_WITH_ACCESS, UNAPPROVED_ACCESS, MISSING_ACCESS, PENDING_INVITE and REVIEW_DUE,
    for the scopes an access sync has run for (none before one has)."""
    if not world.synced_business_centers:
        return []
    found: list[Finding] = []
    in_force = [g for g in world.grants if world.in_force(g) and world.synced(g.scope)]
    actual = [g for g in in_force if g.source == ACTUAL]
    intended = [g for g in in_force if g.source != ACTUAL and world.grant_active(g)]
    approved = {(g.person_id, g.scope, g.role) for g in intended}
    listed = {(g.person_id, g.scope, g.role) for g in actual}
    decisions = latest_decisions(world)
    for g in sorted(actual, key=lambda g: g.id):
        left = world.people.get(g.person_id, ("", None))[1]
        if left is not None and left <= world.t:
            detail = f"{g.role} on {g.scope}; left {readable_time(from_micros(left))}"
            found.append(
                _finding(
                    world,
                    FindingKind.LEFT_WITH_ACCESS,
                    Severity.ERROR,
                    g,
                    g.person_id,
                    g.scope,
                    f"{detail}; {_READ_ACTUAL}",
                )
            )
            continue
        decided = decisions.get(g.id)
        if decided is not None and decided[0] == "remove":
            when = readable_time(from_micros(decided[2]))
            note = f" ({decided[1]})" if decided[1] else ""
            detail = f"{g.role} on {g.scope}; removal decided in the access review of {when}{note}"
        elif (g.person_id, g.scope, g.role) not in approved:
            detail = f"{g.role} on {g.scope}: listed by TikTok, not approved in the ledger"
        else:
            continue
        found.append(
            _finding(
                world,
                FindingKind.UNAPPROVED_ACCESS,
                Severity.WARNING,
                g,
                g.person_id,
                g.scope,
                f"{detail}; {_READ_ACTUAL}",
            )
        )
    for g in sorted(intended, key=lambda g: g.id):
        if g.role in TIKTOK_ROLES and (g.person_id, g.scope, g.role) not in listed:
            found.append(
                _finding(
                    world,
                    FindingKind.MISSING_ACCESS,
                    Severity.WARNING,
                    g,
                    g.person_id,
                    g.scope,
                    f"{g.role} on {g.scope}: approved, not listed by TikTok; {_READ_ACTUAL}",
                )
            )
    found += _invitations(world)
    found += _reviews_due(world)
    return found


def _invitations(world: World) -> list[Finding]:
    """PENDING_INVITE per invitation still pending at t: INFO, WARNING after 7 days."""
    found = []
    after = int(INVITE_WARNS_AFTER.total_seconds() * 1_000_000)
    rows = world.select(PendingInvite, ("id", "person_id", "scope", "seen_at", "ended_at", "role"))
    for id_, person, scope, seen, ended, role in sorted(rows):
        if seen > world.t or (ended is not None and ended <= world.t):
            continue
        late = world.t - seen >= after
        offered = f" as {role}" if role else ""
        found.append(
            Finding(
                kind=FindingKind.PENDING_INVITE,
                severity=Severity.WARNING if late else Severity.INFO,
                deadline=from_micros(seen + after),
                person_id=person,
                grant_id=id_,  # the invitation's id: one finding per invitation
                owner_id=(owner := _owner(world, scope, person)),
                owner_name=world.counting.get(owner) if owner else None,
                detail=f"invited to {scope}{offered}; pending since a sync first saw it on "
                f"{readable_time(from_micros(seen))} ({id_})",
            )
        )
    return found


def _reviews_due(world: World) -> list[Finding]:
    """REVIEW_DUE per synced Business Center whose last signed review (of it, or of ``all``) is
    older than :data:`REVIEW_EVERY`; only once the team signs reviews at all."""
    rows = [r for r in world.select(AccessReview, ("scope", "reviewed_at")) if r[1] <= world.t]
    if not rows:
        return []
    every = to_micros(from_micros(0) + REVIEW_EVERY)
    found = []
    for bc in sorted(world.synced_business_centers):
        scope = f"business_center:{bc}"
        last = max((at for s, at in rows if s in ("all", scope)), default=None)
        if last is not None and world.t < last + every:
            continue
        since = (
            "never reviewed"
            if last is None
            else (f"last reviewed {readable_time(from_micros(last))}")
        )
        admins = world.bc_admins_of(bc)
        owner = min(admins, default=None)
        found.append(
            Finding(
                kind=FindingKind.REVIEW_DUE,
                severity=Severity.WARNING,
                deadline=None if last is None else from_micros(last + every),
                grant_id=scope,  # Finding has no scope field: the key names the scope here
                owner_id=owner,
                owner_name=world.counting.get(owner) if owner else None,
                detail=f"{scope}: {since} (every {REVIEW_EVERY.days} days)",
            )
        )
    return found
