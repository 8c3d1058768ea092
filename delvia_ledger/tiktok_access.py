"""TikTok Business Center payloads to access drafts: ``/bc/get/``, ``/bc/member/get/`` and
``/bc/asset/member/get/`` (DESIGN §8 roles mapping, fact sheet §8.2). Pure translation: the
ledger side (people found by TikTok user id, then email; actual against intended grants) merges.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .errors import PayloadError
from .fields import email_problem, one_line
from .records import ACTUAL, Role, RoleGrant, shown
from .tiktok import Skipped, _id, _object, _required, _text, numbered

__all__ = [
    "BusinessCenter",
    "Invitation",
    "Member",
    "RoleDraft",
    "business_centers_from_bc_get",
    "members_from_bc_member_get",
    "roles_from_bc_asset_member_get",
]

#: ``user_role`` → the ledger's Business Center role (DESIGN §8).
BC_ROLES: dict[str, Role] = {"ADMIN": Role.BC_ADMIN, "STANDARD": Role.BC_STANDARD}
#: ``advertiser_role`` → the ledger's ad account role (DESIGN §8).
ADVERTISER_ROLES: dict[str, Role] = {
    "ADMIN": Role.ADMIN,
    "OPERATOR": Role.OPERATOR,
    "ANALYST": Role.ANALYST,
}
#: ``relation_status`` values ([B] ``enum/bc_relation_status.go``).
RELATION_STATUSES = ("BOUND", "UNBOUND", "PENDING", "REJECTED")
#: ``ext_user_role.finance_role`` values ([B] ``enum/user_finance_role.go``).
FINANCE_ROLES = ("MANAGER", "ANALYST")


def _word(value: Any, where: str, allowed: tuple[str, ...] | Mapping[str, Any]) -> str | None:
    """One of TikTok's enum words (any case), or None when absent."""
    text = _text(value, where)
    if text is None:
        return None
    word = text.strip().upper()
    if word not in allowed:
        raise PayloadError(f"{where}: {shown(text)} is not one of TikTok's ({', '.join(allowed)})")
    return word


@attrs.frozen
class BusinessCenter:
    """A Business Center the token reaches (``/bc/get/``) and the token user's role in it."""

    bc_id: str
    name: str | None
    role: Role | None


@attrs.frozen(kw_only=True)
class RoleDraft:
    """A role TikTok lists: ``role`` on ``scope`` (``business_center:<id>`` or
    ``ad_account:<id>``) for the TikTok user ``user_id``: the *actual* side of DESIGN §8."""

    user_id: str
    role: Role
    scope: str

    def grant(
        self, person_id: str, *, granted_at: datetime, grant_id: str | None = None
    ) -> RoleGrant:
        """The ``RoleGrant`` this role becomes for the ledger's person ``person_id`` (on the
        actual side: ``source="tiktok"``); its id defaults to ``tiktok:<scope>:<role>:<user_id>``
        (TikTok ids only: no personal data).

        >>> RoleDraft(user_id="71", role=Role.OPERATOR, scope="ad_account:6900").grant(
        ...     "p_ana", granted_at="2026-12-01T00:00:00Z").id
        'tiktok:ad_account:6900:OPERATOR:71'
        """
        return RoleGrant(
            id=grant_id or f"tiktok:{self.scope}:{self.role.value}:{self.user_id}",
            person_id=person_id,
            scope=self.scope,
            role=self.role,
            granted_at=granted_at,
            source=ACTUAL,
        )


@attrs.frozen(kw_only=True)
class Member:
    """A person TikTok lists in a Business Center (``relation_status`` ``BOUND``), with the
    Business Center role that membership gives. ``finance_role`` is TikTok's advanced role
    (``MANAGER``/``ANALYST``), kept as reported: TikTok allows an Admin without one."""

    index: int
    user_id: str
    name: str | None
    email: str | None
    role: RoleDraft
    finance_role: str | None = None


@attrs.frozen(kw_only=True)
class Invitation:
    """A ``PENDING`` member: an invitation, not a role (DESIGN §8). ``role`` is the role
    offered (``user_role``), when TikTok says it."""

    index: int
    user_id: str
    name: str | None
    email: str | None
    bc_id: str
    role: Role | None


def business_centers_from_bc_get(payload: Any) -> list[BusinessCenter]:
    """The Business Centers of a ``GET /bc/get/`` answer (``bc_info.bc_id``, ``name``).

    >>> business_centers_from_bc_get({"list": [{"bc_info": {"bc_id": "7100", "name": "Brand"},
    ...                                         "user_role": "ADMIN"}]})
    [BusinessCenter(bc_id='7100', name='Brand', role=<Role.BC_ADMIN: 'BC_ADMIN'>)]
    """
    found = []
    for _, where, item in numbered(payload, "bc/get"):
        info = item.get("bc_info")
        if info is None:
            info = item  # a bare Business Center object
        info = _object(info, f"{where}.bc_info")
        bc_id = _id(_required(info, "bc_id", f"{where}.bc_info"), f"{where}.bc_info.bc_id")
        role = _word(item.get("user_role"), f"{where}.user_role", BC_ROLES)
        found.append(
            BusinessCenter(
                bc_id=bc_id,
                name=_text(info.get("name"), f"{where}.bc_info.name"),
                role=BC_ROLES[role] if role else None,
            )
        )
    return found


def members_from_bc_member_get(
    payload: Any, *, bc_id: str, offset: int = 0
) -> tuple[list[Member], list[Invitation], list[Skipped]]:
    """The members of Business Center ``bc_id`` from ``GET /bc/member/get/`` entries.

    ``BOUND`` members hold ``user_role`` ``ADMIN`` → ``BC_ADMIN`` or ``STANDARD`` →
    ``BC_STANDARD`` on ``business_center:<bc_id>``; ``PENDING`` ones are invitations;
    ``UNBOUND`` and ``REJECTED`` hold nothing and are skipped with the reason. A member
    without ``user_id`` or ``relation_status``, or a ``BOUND`` one without ``user_role``, is
    malformed: the error names its index and field.

    >>> members, invites, _ = members_from_bc_member_get({"list": [
    ...     {"user_id": "71", "user_name": "Ana", "user_email": "ana@brand.com",
    ...      "user_role": "ADMIN", "relation_status": "BOUND"},
    ...     {"user_id": "72", "user_email": "bo@brand.com", "user_role": "STANDARD",
    ...      "relation_status": "PENDING"}]}, bc_id="7100")
    >>> members[0].role
    RoleDraft(user_id='71', role=<Role.BC_ADMIN: 'BC_ADMIN'>, scope='business_center:7100')
    >>> invites[0].email, invites[0].role
    ('bo@brand.com', <Role.BC_STANDARD: 'BC_STANDARD'>)
    """
    bc = _id(bc_id, "bc_id")
    members: list[Member] = []
    invites: list[Invitation] = []
    skipped: list[Skipped] = []
    for index, where, item in numbered(payload, "bc/member/get", offset):
        user_id = _id(_required(item, "user_id", where), f"{where}.user_id")
        relation = _word(
            _required(item, "relation_status", where), f"{where}.relation_status", RELATION_STATUSES
        )
        name = _text(item.get("user_name"), f"{where}.user_name")
        email = _text(item.get("user_email"), f"{where}.user_email")
        if email is not None and (problem := email_problem(email)) is not None:
            raise PayloadError(f"{where}.user_email={one_line(email)[:80]!r}: {problem}")
        role = _word(item.get("user_role"), f"{where}.user_role", BC_ROLES)
        extra = item.get("ext_user_role")
        finance = None
        if extra is not None:
            extra = _object(extra, f"{where}.ext_user_role")
            finance = _word(
                extra.get("finance_role"), f"{where}.ext_user_role.finance_role", FINANCE_ROLES
            )
        if relation == "PENDING":
            invites.append(
                Invitation(
                    index=index,
                    user_id=user_id,
                    name=name,
                    email=email,
                    bc_id=bc,
                    role=BC_ROLES[role] if role else None,
                )
            )
            continue
        if relation != "BOUND":
            skipped.append(Skipped(index, f"user {user_id}: relation_status {relation}, no role"))
            continue
        if role is None:
            raise PayloadError(f"{where}.user_role: required field is missing for a BOUND member")
        members.append(
            Member(
                index=index,
                user_id=user_id,
                name=name,
                email=email,
                role=RoleDraft(user_id=user_id, role=BC_ROLES[role], scope=f"business_center:{bc}"),
                finance_role=finance,
            )
        )
    return members, invites, skipped


def roles_from_bc_asset_member_get(
    payload: Any, *, advertiser_id: str, offset: int = 0
) -> tuple[list[RoleDraft], list[Skipped]]:
    """The roles on ad account ``advertiser_id`` from ``GET /bc/asset/member/get/`` entries
    (``asset_type`` ``ADVERTISER``): ``advertiser_role`` ``ADMIN``/``OPERATOR``/``ANALYST`` on
    ``ad_account:<advertiser_id>``. A member whose ``relation_status`` is given and is not
    ``BOUND`` holds no role yet and is skipped with the reason.

    >>> roles, _ = roles_from_bc_asset_member_get(
    ...     {"list": [{"user_id": "71", "advertiser_role": "OPERATOR"}]}, advertiser_id="6900")
    >>> roles[0].role, roles[0].scope
    (<Role.OPERATOR: 'OPERATOR'>, 'ad_account:6900')
    """
    account = _id(advertiser_id, "advertiser_id")
    roles: list[RoleDraft] = []
    skipped: list[Skipped] = []
    for index, where, item in numbered(payload, "bc/asset/member/get", offset):
        user_id = _id(_required(item, "user_id", where), f"{where}.user_id")
        relation = _word(item.get("relation_status"), f"{where}.relation_status", RELATION_STATUSES)
        if relation not in (None, "BOUND"):
            skipped.append(Skipped(index, f"user {user_id}: relation_status {relation}, no role"))
            continue
        role = _word(
            _required(item, "advertiser_role", where), f"{where}.advertiser_role", ADVERTISER_ROLES
        )
        roles.append(
            RoleDraft(
                user_id=user_id, role=ADVERTISER_ROLES[str(role)], scope=f"ad_account:{account}"
            )
        )
    return roles, skipped
