"""Business Center payloads to access drafts (issue 24.1, DESIGN §8 roles mapping)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.errors import PayloadError
from delvia_ledger.tiktok_access import (
    business_centers_from_bc_get,
    members_from_bc_member_get,
    roles_from_bc_asset_member_get,
)
from tests.strategies import asset_members, bc_members

BC = "7100000000000000001"
ADVERTISER = "6900000000000000001"
BC_ROLE = {"ADMIN": dl.Role.BC_ADMIN, "STANDARD": dl.Role.BC_STANDARD}


@settings(max_examples=150, deadline=None)
@given(st.lists(bc_members(), max_size=10))
def test_members_invitations_and_the_rest_partition_any_member_list(
    entries: list[dict[str, object]],
) -> None:
    members, invites, skipped = members_from_bc_member_get(
        {"code": 0, "message": "OK", "data": {"list": entries, "page_info": {}}}, bc_id=BC
    )
    by_status: dict[str, list[int]] = {}
    for n, entry in enumerate(entries):
        by_status.setdefault(str(entry["relation_status"]).upper(), []).append(n)
    assert [m.index for m in members] == by_status.get("BOUND", [])
    assert [i.index for i in invites] == by_status.get("PENDING", [])
    assert sorted(s.index for s in skipped) == sorted(
        by_status.get("UNBOUND", []) + by_status.get("REJECTED", [])
    )
    for member in members:
        entry = entries[member.index]
        assert member.user_id == entry["user_id"] == member.role.user_id
        assert (member.name, member.email) == (entry["user_name"], entry["user_email"])
        assert member.role.role is BC_ROLE[str(entry["user_role"]).upper()]
        assert member.role.scope == f"business_center:{BC}"
        extra = entry.get("ext_user_role")
        assert member.finance_role == (extra["finance_role"] if isinstance(extra, dict) else None)
        grant = member.role.grant("p_x", granted_at=datetime(2026, 12, 1, tzinfo=UTC))
        assert (grant.role, grant.scope, grant.person_id) == (
            member.role.role,
            member.role.scope,
            "p_x",
        )
    for invite in invites:  # an invitation, never a role
        assert not hasattr(invite, "grant") and invite.bc_id == BC
        assert invite.role is BC_ROLE[str(entries[invite.index]["user_role"]).upper()]


@settings(max_examples=100, deadline=None)
@given(st.lists(asset_members, max_size=10))
def test_asset_members_hold_their_advertiser_role_on_the_ad_account(
    entries: list[dict[str, object]],
) -> None:
    roles, skipped = roles_from_bc_asset_member_get({"list": entries}, advertiser_id=ADVERTISER)
    assert skipped == []
    assert [(r.user_id, r.role.value, r.scope) for r in roles] == [
        (e["user_id"], e["advertiser_role"], f"ad_account:{ADVERTISER}") for e in entries
    ]


MEMBER_BREAKS: list[tuple[str, object]] = [
    ("user_id", None),
    ("user_id", 2.5),
    ("relation_status", None),
    ("relation_status", "ACTIVE"),
    ("user_name", 7),
    ("user_email", ["a@b.c"]),
    ("ext_user_role", "MANAGER"),
]


@settings(max_examples=100, deadline=None)
@given(st.lists(bc_members(), min_size=1, max_size=5), st.data(), st.sampled_from(MEMBER_BREAKS))
def test_any_malformed_member_field_names_its_entry_and_itself(
    entries: list[dict[str, object]], data: st.DataObject, broken: tuple[str, object]
) -> None:
    entries = copy.deepcopy(entries)
    index = data.draw(st.integers(0, len(entries) - 1))
    field, value = broken
    entries[index][field] = value
    with pytest.raises(PayloadError) as raised:
        members_from_bc_member_get(entries, bc_id=BC, offset=20)
    assert str(raised.value).startswith(f"bc/member/get[{20 + index}].{field}")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"user_id": "1", "relation_status": "BOUND"}, "user_role"),
        ({"user_id": "1", "relation_status": "BOUND", "user_role": "OWNER"}, "user_role"),
        (
            {
                "user_id": "1",
                "relation_status": "BOUND",
                "user_role": "ADMIN",
                "ext_user_role": {"finance_role": "CFO"},
            },
            "ext_user_role.finance_role",
        ),
    ],
)
def test_a_bound_member_needs_a_role_tiktok_knows(entry: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError, match=rf"^bc/member/get\[0\]\.{field}:"):
        members_from_bc_member_get([entry], bc_id=BC)


def test_a_pending_member_without_a_role_is_still_an_invitation() -> None:
    _, (invite,), _ = members_from_bc_member_get(
        [{"user_id": "1", "user_email": "new@brand.com", "relation_status": "PENDING"}], bc_id=BC
    )
    assert (invite.email, invite.role) == ("new@brand.com", None)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"advertiser_role": "ADMIN"}, "user_id"),
        ({"user_id": "1"}, "advertiser_role"),
        ({"user_id": "1", "advertiser_role": "OWNER"}, "advertiser_role"),
        ({"user_id": "1", "advertiser_role": "ADMIN", "relation_status": 3}, "relation_status"),
    ],
)
def test_a_malformed_asset_member_names_its_index_and_field(
    entry: dict[str, object], field: str
) -> None:
    with pytest.raises(PayloadError, match=rf"^bc/asset/member/get\[1\]\.{field}:"):
        roles_from_bc_asset_member_get(
            [{"user_id": "0", "advertiser_role": "ANALYST"}, entry], advertiser_id=ADVERTISER
        )


def test_an_asset_member_not_bound_holds_no_role_and_null_lists_are_empty() -> None:
    roles, (skipped,) = roles_from_bc_asset_member_get(
        [{"user_id": "9", "advertiser_role": "ADMIN", "relation_status": "PENDING"}],
        advertiser_id=ADVERTISER,
    )
    assert roles == [] and "PENDING" in skipped.reason
    assert roles_from_bc_asset_member_get({"list": None}, advertiser_id=ADVERTISER) == ([], [])
    assert members_from_bc_member_get({"data": None, "list": None}, bc_id=BC) == ([], [], [])


def test_business_centers_the_token_reaches() -> None:
    found = business_centers_from_bc_get(
        {
            "code": 0,
            "message": "OK",
            "data": {
                "list": [
                    {"bc_info": {"bc_id": BC, "name": "Brand"}, "user_role": "STANDARD"},
                    {"bc_info": {"bc_id": 7100000000000000002}},
                ]
            },
        }
    )
    assert [(b.bc_id, b.name, b.role) for b in found] == [
        (BC, "Brand", dl.Role.BC_STANDARD),
        ("7100000000000000002", None, None),
    ]
    with pytest.raises(PayloadError, match=r"^bc/get\[0\]\.bc_info\.bc_id: required"):
        business_centers_from_bc_get([{"bc_info": {"name": "x"}}])
