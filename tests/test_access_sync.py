"""sync_access against the fake TikTok over real HTTP, and the intended-vs-actual findings it
makes possible (issue 24 items 1, 2 and 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.access_sync import AccessSyncResult
from delvia_ledger.findings import FindingKind, Severity
from delvia_ledger.records import ACTUAL, PendingInvite
from delvia_ledger.sync import TikTokClient
from tests.conftest import Clock
from tests.fake_tiktok import (
    ADVERTISER,
    BC,
    MEMBERS,
    TOKEN,
    FakeTikTok,
    VirtualClock,
    make_members,
    serve_business_center,
)

OTHER = "7000000000000000002"  # an ad account in the BC with no members at all


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok() as started:
        serve_business_center(started)  # two pages of 20 at most, two invitations
        yield started


@pytest.fixture
def client(fake: FakeTikTok) -> Iterator[TikTokClient]:
    virtual = VirtualClock()
    with TikTokClient(
        TOKEN, base_url=fake.url, sleep=virtual.sleep, clock=virtual, random=lambda: 1.0
    ) as made:
        yield made


@pytest.fixture
def accounts(ledger: dl.Ledger) -> dl.Ledger:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US", business_center_id=BC))
    ledger.record(dl.AdAccount(id=OTHER, name="Brand GB", region="GB", business_center_id=BC))
    return ledger


def _actual(ledger: dl.Ledger) -> dict[tuple[str, str, str], dl.RoleGrant]:
    return {
        (g.person_id, g.scope, g.role.value): g
        for g in ledger.records(dl.RoleGrant)
        if g.source == ACTUAL and g.ended_at is None
    }


def test_a_sync_records_people_roles_and_invitations_and_a_second_writes_nothing(
    accounts: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    fake.throttle(times=2)  # waited out
    [result] = accounts.sync_access(client)
    assert isinstance(result, AccessSyncResult)
    assert (result.members, result.invitations, result.roles) == (23, 2, 6)
    assert result.accounts == (ADVERTISER, OTHER) and result.people_added == 25
    assert not result.incomplete
    grants = _actual(accounts)
    assert len(grants) == 23 + 6
    ana = accounts.get(dl.Person, "tiktok-user-6900000000000000000")
    assert ana is not None and ana.tiktok_user_id == "6900000000000000000"
    assert grants[(ana.id, f"business_center:{BC}", "BC_ADMIN")].source == "tiktok"
    assert grants[(ana.id, f"ad_account:{ADVERTISER}", "ADMIN")]
    invites = list(accounts.records(PendingInvite))
    assert len(invites) == 2 and all(i.ended_at is None for i in invites)
    assert len([r for r in fake.requests if r.path.endswith(MEMBERS)]) >= 2  # paged
    head = accounts.digest()
    again = accounts.sync_access(client, BC)
    assert again[0].written == 0 and accounts.digest() == head
    assert TOKEN not in repr(again) + str(again[0])


def test_people_are_found_by_user_id_then_by_email(
    accounts: dl.Ledger, client: TikTokClient
) -> None:
    accounts.record(dl.Person(id="p_ana", name="Ana", email="MEMBER0@brand.example"))
    accounts.sync_access(client, BC)
    ana = accounts.get(dl.Person, "p_ana")
    assert ana is not None and ana.tiktok_user_id == "6900000000000000000" and ana.name == "Ana"
    assert accounts.get(dl.Person, "tiktok-user-6900000000000000000") is None


def test_a_member_removed_between_two_sweeps_ends_and_an_accepted_invitation_closes(
    accounts: dl.Ledger, client: TikTokClient, fake: FakeTikTok, clock: Clock
) -> None:
    accounts.sync_access(client, BC)
    gone = fake.members[BC].pop(4)
    fake.asset_members[(BC, ADVERTISER)] = [
        m for m in fake.asset_members[(BC, ADVERTISER)] if m["user_id"] != gone["user_id"]
    ]
    fake.members[BC][-1]["relation_status"] = "BOUND"  # accepted
    later = clock.advance(days=1)
    [result] = accounts.sync_access(client, BC)
    assert result.ended == 2  # BC_STANDARD and OPERATOR
    person = f"tiktok-user-{gone['user_id']}"
    ended = [g for g in accounts.records(dl.RoleGrant) if g.person_id == person]
    assert ended and all(g.ended_at == later for g in ended)
    closed = [i for i in accounts.records(PendingInvite) if i.ended_at is not None]
    assert len(closed) == 1


def test_an_unstable_member_listing_ends_nothing(
    accounts: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    accounts.sync_access(client, BC)
    fake.members[BC].pop(4)
    moving = iter(range(100))

    def shift(path: str, page: int) -> None:  # the listing grows under every pass
        fake.members[BC].insert(0, make_members(1)[0] | {"user_id": f"68{next(moving):017d}"})

    fake.after_page(shift, path=MEMBERS)
    [result] = accounts.sync_access(client, BC)
    assert result.ended == 0 and result.incomplete
    assert "kept moving" in result.incomplete[0]


def test_sync_access_refuses_a_business_center_the_token_does_not_reach(
    accounts: dl.Ledger, client: TikTokClient
) -> None:
    head = accounts.digest()
    with pytest.raises(dl.TikTokAPIError) as raised:
        accounts.sync_access(client, "7199999999999999999")
    assert raised.value.code == 40001 and accounts.digest() == head
    with pytest.raises(ValueError, match="business_center_id"):
        accounts.sync_access(client, "  ")


def test_a_left_person_who_still_holds_a_tiktok_role_is_in_report_reminder_and_offboarding(
    accounts: dl.Ledger, client: TikTokClient, fake: FakeTikTok, clock: Clock
) -> None:
    accounts.record(dl.Person(id="p_bo", name="Bo", email="member4@brand.example"))
    accounts.sync_access(client, BC)
    accounts.record(
        dl.Person(
            id="p_bo",
            name="Bo",
            email="member4@brand.example",
            left_at=clock.now,
            tiktok_user_id=fake.members[BC][4]["user_id"],
        )
    )
    clock.advance(hours=1)
    left = [f for f in accounts.findings() if f.kind is FindingKind.LEFT_WITH_ACCESS]
    assert {f.person_id for f in left} == {"p_bo"} and len(left) == 2
    assert all(f.severity is Severity.ERROR for f in left)
    admins = {
        "tiktok-user-6900000000000000000",
        "tiktok-user-6900000000000000001",
        "tiktok-user-6900000000000000002",
    }
    assert {f.owner_id for f in left} <= admins
    reminders = {r.person_id: r for r in accounts.reminders()}
    assert any(
        f.kind is FindingKind.LEFT_WITH_ACCESS
        for o in {f.owner_id for f in left}
        for f in reminders[o].findings
    )
    plan = accounts.offboard("p_bo")
    assert {g.scope for g in plan.tiktok_roles} == {
        f"business_center:{BC}",
        f"ad_account:{ADVERTISER}",
    }
    assert "still listed by TikTok" in str(plan)


def test_unapproved_missing_and_pending_access(
    accounts: dl.Ledger, client: TikTokClient, clock: Clock
) -> None:
    accounts.record(dl.Person(id="p_cy", name="Cy"))
    accounts.record(
        dl.RoleGrant(
            id="g_cy",
            person_id="p_cy",
            scope=f"ad_account:{ADVERTISER}",
            role="OPERATOR",
            granted_at=clock.now,
        )
    )
    accounts.sync_access(client, BC)
    found = accounts.findings()
    kinds = {f.kind for f in found}
    assert FindingKind.MISSING_ACCESS in kinds and FindingKind.UNAPPROVED_ACCESS in kinds
    missing = [f for f in found if f.kind is FindingKind.MISSING_ACCESS]
    assert [f.grant_id for f in missing] == ["g_cy"]
    pending = [f for f in found if f.kind is FindingKind.PENDING_INVITE]
    assert len(pending) == 2 and {f.severity for f in pending} == {Severity.INFO}
    clock.advance(days=8)
    pending = [f for f in accounts.findings() if f.kind is FindingKind.PENDING_INVITE]
    assert {f.severity for f in pending} == {Severity.WARNING}


def test_no_admin_reads_the_actual_side_once_synced_and_says_so(
    accounts: dl.Ledger, client: TikTokClient, clock: Clock
) -> None:
    accounts.record(dl.Person(id="p_ana", name="Ana"))
    accounts.record(
        dl.RoleGrant(
            id="g_ana",
            person_id="p_ana",
            scope=f"ad_account:{OTHER}",
            role="ADMIN",
            granted_at=clock.now,
        )
    )
    before = [f for f in accounts.findings() if f.kind is FindingKind.NO_ADMIN]
    assert OTHER not in {f.ad_account_id for f in before}
    accounts.sync_access(client, BC)
    after = {f.ad_account_id: f for f in accounts.findings() if f.kind is FindingKind.NO_ADMIN}
    assert OTHER in after and "actual side" in after[OTHER].detail  # TikTok lists nobody there
    assert ADVERTISER not in after


# --- the reference model: intended against actual --------------------------------------------

ROLES = st.sampled_from(["ADMIN", "OPERATOR", "ANALYST"])
PEOPLE = st.sampled_from(["a", "b", "c"])


def _model(
    intended: set[tuple[str, str]], actual: set[tuple[str, str]], left: set[str]
) -> set[tuple[str, str, str]]:
    """What the findings must be, by the rules of DESIGN §8 as the issue states them."""
    found = set()
    for person, role in actual:
        if person in left:
            found.add(("LEFT_WITH_ACCESS", person, role))
        elif (person, role) not in intended:
            found.add(("UNAPPROVED_ACCESS", person, role))
    for person, role in intended:
        if person not in left and (person, role) not in actual:
            found.add(("MISSING_ACCESS", person, role))
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    intended=st.sets(st.tuples(PEOPLE, ROLES), max_size=5),
    actual=st.sets(st.tuples(PEOPLE, ROLES), max_size=5),
    left=st.sets(PEOPLE, max_size=2),
)
def test_access_findings_follow_the_reference_model(
    tmp_path_factory: pytest.TempPathFactory,
    intended: set[tuple[str, str]],
    actual: set[tuple[str, str]],
    left: set[str],
) -> None:
    clock = Clock()
    path = tmp_path_factory.mktemp("model") / "access.db"
    with dl.Ledger.open(path, clock=clock) as ledger, FakeTikTok() as fake:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="A", region="US", business_center_id=BC))
        users = {p: f"69{ord(p):017d}" for p in "abc"}
        fake.members[BC] = [
            {
                "user_id": "6800000000000000000",
                "user_role": "ADMIN",
                "relation_status": "BOUND",
                "user_email": "boss@brand.example",
            }
        ]
        fake.asset_members[(BC, ADVERTISER)] = [
            {"user_id": users[p], "advertiser_role": r} for p, r in sorted(actual)
        ]
        for p in "abc":
            ledger.record(dl.Person(id=p, name=p, tiktok_user_id=users[p]))
        for p, r in sorted(intended):
            ledger.record(
                dl.RoleGrant(
                    id=f"{p}{r}",
                    person_id=p,
                    scope=f"ad_account:{ADVERTISER}",
                    role=r,
                    granted_at=clock.now,
                )
            )
        with TikTokClient(TOKEN, base_url=fake.url) as client:
            ledger.sync_access(client, BC)
        for p in sorted(left):
            ledger.record(dl.Person(id=p, name=p, tiktok_user_id=users[p], left_at=clock.now))
        clock.advance(hours=1)
        got = {
            (f.kind.value, f.person_id, (f.detail or "").split(" ")[0])
            for f in ledger.findings()
            if f.kind
            in (
                FindingKind.LEFT_WITH_ACCESS,
                FindingKind.UNAPPROVED_ACCESS,
                FindingKind.MISSING_ACCESS,
            )
            and f.ad_account_id == ADVERTISER
        }
    assert got == _model(intended, actual, left)


def test_the_cli_syncs_access_and_report_shows_who_left_with_access(
    tmp_path: Path, fake: FakeTikTok
) -> None:
    db = tmp_path / "access.db"
    with dl.Ledger.open(db) as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="US", region="US", business_center_id=BC))
        ledger.record(
            dl.Person(id="p_bo", name="Bo", email="member4@brand.example", left_at="2026-01-01")
        )
    env = {**os.environ, "TIKTOK_ACCESS_TOKEN": TOKEN, "DELVIA_LEDGER_DB": str(db)}
    done = subprocess.run(
        [sys.executable, "-m", "delvia_ledger", "sync", "--access", "--base-url", fake.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Business Center {BC}: 23 members" in done.stdout and TOKEN not in done.stdout
    report = subprocess.run(
        [sys.executable, "-m", "delvia_ledger", "report", "--kind", "LEFT_WITH_ACCESS"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert report.returncode == 1 and "LEFT_WITH_ACCESS" in report.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "delvia_ledger", "sync"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "--access" in refused.stderr


def test_a_sync_never_gives_an_erased_person_their_email_again(
    accounts: dl.Ledger, client: TikTokClient
) -> None:
    user = "6900000000000000004"
    accounts.record(dl.Person(id="p_bo", name="Bo", tiktok_user_id=user))
    accounts.erase(dl.Person, "p_bo", reason="asked to", by="p_bo")
    [result] = accounts.sync_access(client, BC)
    assert result.written > 0
    erased = accounts.get(dl.Person, "p_bo")
    assert erased is not None and erased.email is None
    assert any(g.person_id == "p_bo" for g in _actual(accounts).values())
