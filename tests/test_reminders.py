"""Reminders: who gets each finding (DESIGN §13), worklists, and what changed since a point."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.findings import FindingKind
from delvia_ledger.reminders import grant_command

from . import builders
from .conftest import T0, Backend, Clock

DAY = timedelta(days=1)
ACC = "6900"
BC = "bc1"
CODE = "#remind-code-1234="
OWNER_STATES = ["owner", "owner_left", "owner_no_grant", "no_owner", "bc_only", "nobody"]
AD_KINDS = {"WRONG_POST", "AD_OUTLIVES_CODE", "UNBOUND", "NO_OPERATOR"}
#: Kinds a scenario below produces for code a1 (the world otherwise produces none).
SCENARIO_KINDS = [
    "EXPIRING",
    "EXPIRED",
    "REVOKED",
    "NOT_YET_ACTIVE",
    "AD_OUTLIVES_CODE",
    "WRONG_POST",
    "REGION_INCOMPATIBLE",
    "REGION_UNCONFIRMED",
    "NO_ADMIN",
    "NO_OPERATOR",
    "OWNER_MISSING",
    "ROLE_EXPIRING",
    "POST_UNAVAILABLE",
    "NOT_AUTHORIZED",
    "UNBOUND",
]


def grant(id_: str, person: str, role: str, scope: str, **fields: Any) -> dl.RoleGrant:
    return dl.RoleGrant(
        id=id_, person_id=person, scope=scope, role=role, granted_at=T0 - 30 * DAY, **fields
    )


def scenario(kind: str, state: str) -> list[dl.Record]:
    """A world where code a1 (and ad1 where needed) gives ``kind``; ``state`` says who owns it
    and who administers account 6900 (Business Center bc1)."""
    owner = None if state in ("no_owner", "bc_only", "nobody") else "p_own"
    account_admin = state not in ("bc_only", "nobody") and kind not in ("NO_ADMIN", "NO_OPERATOR")
    creator_region = {"REGION_INCOMPATIBLE": "JP", "REGION_UNCONFIRMED": "GB"}.get(kind, "US")
    starts, expires, revoked = T0 - 10 * DAY, T0 + 90 * DAY, None
    if kind == "EXPIRING":
        expires = T0 + 5 * DAY
    elif kind == "EXPIRED":
        starts, expires = T0 - 40 * DAY, T0 - DAY
    elif kind == "REVOKED":
        revoked = T0 - DAY
    elif kind == "NOT_YET_ACTIVE":
        starts = T0 + 2 * DAY
    elif kind == "AD_OUTLIVES_CODE":
        expires = T0 + 30 * DAY
    records: list[dl.Record] = [
        dl.Creator(id="maya", handle="@maya.makes", region=creator_region),
        dl.Post(
            id="7301",
            creator_id="maya",
            kind="VIDEO",
            status="USER_DELETE" if kind == "POST_UNAVAILABLE" else None,
        ),
        dl.Post(id="7302", creator_id="maya", kind="VIDEO"),
        dl.AdAccount(id=ACC, name="Brand US", region="US", business_center_id=BC),
        dl.RegionRule(creator_region="JP", account_region="US", verdict="INCOMPATIBLE"),
        dl.Person(
            id="p_own",
            name="Olu Owner",
            email="olu@brand.example",
            left_at=T0 - DAY if state == "owner_left" else None,
        ),
        dl.Person(id="p_adm", name="Ada Admin", email="ada@brand.example"),
        dl.Person(id="p_bc", name="Bea BC", email="bea@brand.example"),
        dl.Person(id="p_role", name="Rex Role"),
        dl.SparkAuthorization.from_code(
            CODE,
            id="a1",
            creator_id="maya",
            post_id="7301",
            starts_at=starts,
            expires_at=expires,
            ad_account_id=ACC,
            owner_id=owner,
            revoked_at=revoked,
        ),
    ]
    if state not in ("owner_no_grant", "owner_left"):
        records.append(grant("g_own", "p_own", "ANALYST", f"ad_account:{ACC}"))
    if account_admin:
        records.append(grant("g_adm", "p_adm", "ADMIN", f"ad_account:{ACC}"))
    if state != "nobody":
        records.append(grant("g_bc", "p_bc", "BC_ADMIN", f"business_center:{BC}"))
    if kind == "ROLE_EXPIRING":
        records.append(
            grant("g_role", "p_role", "ANALYST", f"ad_account:{ACC}", expires_at=T0 + 3 * DAY)
        )
    if kind in ("NOT_AUTHORIZED", "UNBOUND"):
        records.append(
            dl.SparkBinding(
                authorization_id="a1",
                ad_account_id=ACC,
                bound_at=T0 - 5 * DAY,
                unbound_at=T0 - DAY if kind == "UNBOUND" else None,
                tiktok_status="EXPIRED" if kind == "NOT_AUTHORIZED" else "AUTHORIZED",
            )
        )
    if kind in ("AD_OUTLIVES_CODE", "WRONG_POST", "NO_OPERATOR", "UNBOUND"):
        records.append(
            dl.SparkAd(
                id="ad1",
                ad_account_id=ACC,
                authorization_id="a1",
                intended_post_id="7302" if kind == "WRONG_POST" else "7301",
                runs_from=T0 - DAY,
                runs_until=T0 + 60 * DAY if kind == "AD_OUTLIVES_CODE" else None,
                owner_id=owner,
            )
        )
    return records


def expected(kind: str, state: str) -> tuple[str | None, bool]:
    """Who §13 sends a finding of ``kind`` to in ``state``, and whether that is an escalation."""
    if kind == "ROLE_EXPIRING":
        return "p_role", False
    if kind in ("NO_ADMIN", "NO_OPERATOR"):
        return (None if state == "nobody" else "p_bc"), False
    if kind == "OWNER_MISSING" and state == "owner_no_grant":
        return "p_adm", True  # only an administrator can give the owner a role
    if state in ("owner", "owner_no_grant"):
        return "p_own", False
    if state in ("owner_left", "no_owner"):
        return "p_adm", True
    if state == "bc_only":
        return "p_bc", True
    return None, True


def holder(reminders: list[dl.Reminder], finding: dl.Finding) -> list[dl.Reminder]:
    return [r for r in reminders if finding in r.findings]


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        (kind, state)
        for kind in SCENARIO_KINDS
        for state in OWNER_STATES
        if (kind, state) != ("OWNER_MISSING", "owner")  # an owner who counts and holds a role
    ],
)
def test_every_kind_goes_to_who_must_act(ledger: dl.Ledger, kind: str, state: str) -> None:
    ledger.record_all(scenario(kind, state))
    findings = ledger.findings(within="14d")
    reminders = ledger.reminders(within="14d")
    targets = [f for f in findings if f.kind == kind]
    assert targets, f"the scenario gave no {kind}: {[f.kind.value for f in findings]}"
    person, escalated = expected(kind, state)
    for finding in targets:
        (reminder,) = holder(reminders, finding)
        assert reminder.person_id == person, (kind, state, str(finding))
        assert (finding in reminder.escalated_findings) is escalated
        if escalated:
            assert reminder.escalated
    # and nothing is lost or told twice
    assert Counter(f.key for r in reminders for f in r.findings) == Counter(f.key for f in findings)


def test_an_owner_with_no_active_grant_hears_of_the_code_and_the_admin_gets_the_grant(
    ledger: dl.Ledger,
) -> None:
    ledger.record_all(scenario("EXPIRING", "owner_no_grant"))
    reminders = {r.person_id: r for r in ledger.reminders(within="14d")}
    olu, ada = reminders["p_own"], reminders["p_adm"]
    assert [f.kind for f in olu.findings] == [FindingKind.EXPIRING]
    assert not olu.escalated and (olu.name, olu.email) == ("Olu Owner", "olu@brand.example")
    # OWNER_MISSING: only an administrator can give the owner a role, so it goes to one,
    # with the exact command
    (missing,) = ada.findings
    assert missing.kind is FindingKind.OWNER_MISSING and "holds no active role" in missing.detail
    assert ada.escalated
    assert grant_command(missing) == ("delvia-ledger grant p_own OPERATOR ad_account:6900")
    assert "run: delvia-ledger grant p_own OPERATOR ad_account:6900" in str(ada)
    # the command does what it says: run, the finding is gone
    ledger.record(
        dl.RoleGrant(
            id="g_fix",
            person_id="p_own",
            scope="ad_account:6900",
            role="OPERATOR",
            granted_at=ledger.now(),
        )
    )
    assert all(f.kind != "OWNER_MISSING" for f in ledger.findings(within="14d"))


def test_an_owner_who_left_escalates_to_the_account_admin(ledger: dl.Ledger) -> None:
    ledger.record_all(scenario("EXPIRING", "owner_left"))
    reminders = ledger.reminders(within="14d")
    assert [r.person_id for r in reminders] == ["p_adm"]
    (ada,) = reminders
    assert ada.escalated and ada.escalated_findings == ada.findings
    assert "escalated: nobody active owns this" in str(ada)


def test_an_ad_owner_differs_from_the_code_owner(ledger: dl.Ledger) -> None:
    records: list[dl.Record] = [dl.Person(id="p_ad", name="Ari Ads")]
    records += scenario("WRONG_POST", "owner")
    records.append(grant("g_ad", "p_ad", "OPERATOR", f"ad_account:{ACC}"))
    records = [
        attrs.evolve(r, owner_id="p_ad") if isinstance(r, dl.SparkAd) else r for r in records
    ]
    records.append(
        dl.SparkAuthorization.from_code(
            "#second-code-5678=",
            id="a2",
            creator_id="maya",
            post_id="7302",
            starts_at=T0 - DAY,
            expires_at=T0 + 4 * DAY,
            ad_account_id=ACC,
            owner_id="p_own",
        )
    )
    ledger.record_all(records)
    by_person = {r.person_id: r for r in ledger.reminders(within="14d")}
    assert [f.kind for f in by_person["p_ad"].findings] == ["WRONG_POST"]  # the ad's owner
    assert [f.kind for f in by_person["p_own"].findings] == ["EXPIRING"]  # the code's owner
    # the ad's owner leaves: the ad's finding falls back to the code's owner (§6)
    ledger.record(dl.Person(id="p_ad", name="Ari Ads", left_at=T0 - DAY))
    by_person = {r.person_id: r for r in ledger.reminders(within="14d")}
    assert "p_ad" not in by_person
    assert [f.kind for f in by_person["p_own"].findings] == ["WRONG_POST", "EXPIRING"]


def test_an_account_with_only_a_bc_admin(ledger: dl.Ledger) -> None:
    ledger.record_all(scenario("NO_OPERATOR", "bc_only"))
    (bea,) = ledger.reminders(within="14d")
    assert bea.person_id == "p_bc"
    kinds = {f.kind.value for f in bea.findings}
    assert {"NO_ADMIN", "NO_OPERATOR", "OWNER_MISSING"} <= kinds
    # the account kinds are hers to fix (she assigns roles), not escalations
    assert {f.kind.value for f in bea.escalated_findings} == kinds - {"NO_ADMIN", "NO_OPERATOR"}


def test_with_nobody_at_all_the_unassigned_reminder_holds_it(ledger: dl.Ledger) -> None:
    ledger.record_all(scenario("EXPIRING", "nobody"))
    (nobody,) = ledger.reminders(within="14d")
    assert (nobody.person_id, nobody.name, nobody.email) == (None, "nobody (unassigned)", None)
    assert nobody.escalated
    assert str(nobody).startswith("nobody (unassigned): 3 to act on (3 WARNING)")


def test_several_admins_one_reminder_the_first_by_id(ledger: dl.Ledger) -> None:
    records = [dl.Person(id="p_aaa", name="Abe"), *scenario("EXPIRING", "no_owner")]
    records.append(grant("g_a", "p_aaa", "ADMIN", "ad_account:6900"))
    ledger.record_all(records)
    assert [r.person_id for r in ledger.reminders(within="14d")] == ["p_aaa"]


def test_a_worklist_has_what_by_when_and_a_message_to_the_creator(ledger: dl.Ledger) -> None:
    ledger.record_all(scenario("EXPIRING", "owner"))
    (olu,) = ledger.reminders(within="14d")
    ((finding, message),) = olu.creator_messages
    assert finding.kind == "EXPIRING" and message == finding.message_to_creator
    assert message.startswith("Hi @maya.makes, the Spark Ads authorization for your post 7301")
    assert "29 November 2026" in message and "If TikTok shows you a new code" in message
    text = str(olu)
    assert "EXPIRING" in text and "by 2026-11-29 09:00 UTC" in text and message in text
    assert CODE not in text + json.dumps(olu.as_dict())
    assert olu.as_dict()["findings"][0]["key"] == finding.key


def test_reminders_read_an_as_of_view_and_write_nothing(ledger: dl.Ledger, clock: Clock) -> None:
    ledger.record_all(scenario("EXPIRING", "owner"))
    seq = ledger.seq
    ledger.record(dl.Person(id="p_own", name="Olu Owner", left_at=T0))
    assert [r.person_id for r in ledger.reminders(within="14d")] == ["p_adm"]
    assert [r.person_id for r in ledger.as_of(seq=seq).reminders(within="14d")] == ["p_own"]
    assert ledger.seq == seq + 1


def test_reminders_sort_the_most_urgent_first(ledger: dl.Ledger) -> None:
    records = scenario("EXPIRING", "owner")
    records.append(grant("g_role", "p_role", "ANALYST", "ad_account:6900", expires_at=T0 + DAY))
    ledger.record_all(records)
    assert [r.person_id for r in ledger.reminders(within="14d")] == ["p_role", "p_own"]


# --- every finding lands in exactly one reminder ------------------------------------------

offsets = st.integers(-20, 20).map(lambda d: d * DAY)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    left=st.lists(st.none() | offsets, min_size=1, max_size=4),
    grants=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from(
                [
                    ("ADMIN", "ad_account:6900"),
                    ("ADMIN", "ad_account:6901"),
                    ("OPERATOR", "ad_account:6900"),
                    ("ANALYST", "ad_account:6901"),
                    ("BC_ADMIN", "business_center:bc1"),
                    ("BC_ADMIN", "business_center:bc2"),
                ]
            ),
            st.none() | offsets,
        ),
        max_size=6,
    ),
    codes=st.lists(
        st.tuples(
            offsets,
            st.integers(1, 40),
            st.none() | st.integers(0, 3),
            st.sampled_from(["6900", "6901", "6902"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    ),
    ads=st.lists(
        st.tuples(st.integers(0, 4), st.none() | st.integers(0, 3), st.booleans()), max_size=4
    ),
)
def test_every_finding_lands_in_exactly_one_reminder(
    backend: Backend,
    left: list[timedelta | None],
    grants: list[tuple[int, tuple[str, str], timedelta | None]],
    codes: list[tuple[timedelta, int, int | None, str, bool]],
    ads: list[tuple[int, int | None, bool]],
) -> None:
    people = [
        dl.Person(id=f"p{i}", name=f"P{i}", left_at=None if off is None else T0 + off)
        for i, off in enumerate(left)
    ]
    pid = [p.id for p in people]
    records: list[dl.Record] = [
        dl.Creator(id="maya", handle="@maya.makes", region="US"),
        dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
        dl.Post(id="7302", creator_id="maya", kind="VIDEO"),
        dl.AdAccount(id="6900", name="A", region="US", business_center_id="bc1"),
        dl.AdAccount(id="6901", name="B", region="DE", business_center_id="bc2"),
        dl.AdAccount(id="6902", name="C", region="US"),
        *people,
    ]
    for i, (who, (role, scope), expires) in enumerate(grants):
        records.append(
            dl.RoleGrant(
                id=f"g{i}",
                person_id=pid[who % len(pid)],
                role=role,
                scope=scope,
                granted_at=T0 - 30 * DAY,
                expires_at=None if expires is None else T0 + abs(expires) + DAY,
            )
        )
    auths = []
    for n, (start, days, owner, account, wrong) in enumerate(codes):
        auths.append(
            dl.SparkAuthorization.from_code(
                f"#prop-code-{n:04d}=",
                creator_id="maya",
                post_id="7302" if wrong else "7301",
                starts_at=T0 + start,
                expires_at=T0 + start + days * DAY,
                ad_account_id=account,
                owner_id=None if owner is None else pid[owner % len(pid)],
            )
        )
    records += auths
    for i, (code, owner, running) in enumerate(ads):
        auth = auths[code % len(auths)]
        records.append(
            dl.SparkAd(
                id=f"ad{i}",
                ad_account_id=auth.ad_account_id or "6900",
                authorization_id=auth.id,
                intended_post_id="7301",
                runs_from=T0 - DAY if running else T0 + DAY,
                runs_until=T0 + 50 * DAY,
                owner_id=None if owner is None else pid[owner % len(pid)],
            )
        )
    with backend.fresh().open(clock=lambda: T0) as ledger:
        ledger.record_all(records)
        findings = ledger.findings(within="14d")
        reminders = ledger.reminders(within="14d")
    keys = [f.key for f in findings]
    assert len(keys) == len(set(keys))
    assert sorted(f.key for r in reminders for f in r.findings) == sorted(keys)
    assert len({r.person_id for r in reminders}) == len(reminders)  # one per person
    counting = {p.id for p in people if p.left_at is None or p.left_at > T0}
    for reminder in reminders:
        assert reminder.findings and (reminder.person_id is None or reminder.person_id in counting)
        assert list(reminder.findings) == sorted(reminder.findings, key=dl.Finding.sort_key)
        assert reminder.escalated == bool(reminder.escalated_findings)
        for finding in reminder.findings:
            if finding.kind == "OWNER_MISSING":  # an owner without a role cannot fix it
                assert reminder.person_id != finding.owner_id or finding.owner_id is None
                assert reminder.escalated
            elif finding.owner_id is not None and finding.kind not in ("NO_ADMIN", "NO_OPERATOR"):
                assert reminder.person_id == finding.owner_id
    firsts = [r.findings[0].sort_key() for r in reminders]
    assert firsts == sorted(firsts)


# --- changes since a point --------------------------------------------------------------------


def week(ledger: dl.Ledger, clock: Clock) -> tuple[dl.Digest, dict[str, int]]:
    """A world, then a week of events: extend, revoke, offboard, an unbind (as a sync records
    it). Returns the digest before the week and the seq of each event."""
    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya.makes", region="US"),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            dl.Post(id="7302", creator_id="maya", kind="VIDEO"),
            dl.Post(id="7303", creator_id="maya", kind="VIDEO"),
            dl.AdAccount(id=ACC, name="Brand US", region="US", business_center_id=BC),
            dl.Person(id="p_ana", name="Ana", email="ana@brand.example"),
            dl.Person(id="p_bo", name="Bo", email="bo@brand.example"),
            grant("g_ana", "p_ana", "ADMIN", f"ad_account:{ACC}"),
            grant("g_bo", "p_bo", "OPERATOR", f"ad_account:{ACC}"),
            dl.SparkAuthorization.from_code(
                "#week-code-0001=",
                id="a1",
                creator_id="maya",
                post_id="7301",
                starts_at=T0 - 20 * DAY,
                expires_at=T0 + 3 * DAY,
                ad_account_id=ACC,
                owner_id="p_bo",
            ),
            dl.SparkAuthorization.from_code(
                "#week-code-0002=",
                id="a2",
                creator_id="maya",
                post_id="7302",
                starts_at=T0 - 20 * DAY,
                expires_at=T0 + 60 * DAY,
                ad_account_id=ACC,
                owner_id="p_ana",
            ),
            dl.SparkAuthorization.from_code(
                "#week-code-0003=",
                id="a3",
                creator_id="maya",
                post_id="7303",
                starts_at=T0 - 20 * DAY,
                expires_at=T0 + 90 * DAY,
                ad_account_id=ACC,
                owner_id="p_ana",
            ),
            dl.SparkBinding(authorization_id="a3", ad_account_id=ACC, bound_at=T0 - 20 * DAY),
            dl.SparkAd(
                id="ad3",
                ad_account_id=ACC,
                authorization_id="a3",
                intended_post_id="7303",
                runs_from=T0 - DAY,
            ),
        ]
    )
    before = ledger.digest()
    seqs = {}
    clock.advance(days=1)
    a1 = ledger.get(dl.SparkAuthorization, "a1")
    assert a1 is not None
    seqs["extend"] = ledger.record(attrs.evolve(a1, expires_at=T0 + 30 * DAY)).seq
    clock.advance(days=1)
    a2 = ledger.get(dl.SparkAuthorization, "a2")
    assert a2 is not None
    seqs["revoke"] = ledger.record(attrs.evolve(a2, revoked_at=clock.now)).seq
    clock.advance(days=2)
    ledger.offboard("p_bo").apply()
    seqs["offboard"] = ledger.seq
    clock.advance(days=2)
    binding = ledger.get(dl.SparkBinding, f"a3@{ACC}")
    assert binding is not None
    seqs["unbind"] = ledger.record(attrs.evolve(binding, unbound_at=clock.now)).seq
    clock.advance(days=1)
    return before, seqs


def test_changes_after_a_week_list_exactly_what_happened(ledger: dl.Ledger, clock: Clock) -> None:
    before, seqs = week(ledger, clock)
    changes = ledger.changes(since=before)
    got = [(e.seq, e.type, e.id, e.kind.value) for e in changes.entries]
    assert got == [
        (seqs["extend"], "SparkAuthorization", "a1", "extended"),
        (seqs["revoke"], "SparkAuthorization", "a2", "revoked"),
        (seqs["offboard"] - 1, "Person", "p_bo", "left"),
        (seqs["offboard"], "RoleGrant", "g_bo", "ended"),
        (seqs["unbind"], "SparkBinding", f"a3@{ACC}", "unbound"),
    ]
    assert "expires_at 2026-11-27 09:00 UTC → 2026-12-24 09:00 UTC" in changes.entries[0].detail
    # findings: both sides are what findings() said at each point
    then = ledger.as_of(seq=before.seq).findings(now=T0)
    now = ledger.findings()
    then_keys, now_keys = {f.key for f in then}, {f.key for f in now}
    assert {f.key for f in changes.new} == now_keys - then_keys
    assert {f.key for f in changes.resolved} == then_keys - now_keys
    assert {f.key for f in changes.new} >= {
        "REVOKED/authorization=a2/account=6900",
        "UNBOUND/authorization=a3/ad=ad3/account=6900",
        "OWNER_MISSING/authorization=a1/account=6900/person=p_bo",
    }
    assert "EXPIRING/authorization=a1/account=6900" in {f.key for f in changes.resolved}
    assert (changes.since_seq, changes.since, changes.until_seq) == (before.seq, T0, ledger.seq)
    text = str(changes)
    assert "SparkAuthorization a1 extended" in text and "findings: " in text
    assert "#week-code" not in text + json.dumps(changes.as_dict())


def test_changes_since_a_seq_a_time_and_a_duration_agree(ledger: dl.Ledger, clock: Clock) -> None:
    before, _ = week(ledger, clock)
    by_seq = ledger.changes(since=before.seq)
    by_text = ledger.changes(since=str(before))
    by_time = ledger.changes(since=T0 + timedelta(hours=1))  # after the world, before the week
    by_duration = ledger.changes(since="7d")  # clock is T0 + 7d
    for other in (by_text, by_time, by_duration):
        assert [e.seq for e in other.entries] == [e.seq for e in by_seq.entries]
    assert {f.key for f in by_time.new} == {f.key for f in by_duration.new}
    assert by_duration.since == T0 and by_time.since == T0 + timedelta(hours=1)


def test_changed_findings_are_matched_by_key(ledger: dl.Ledger, clock: Clock) -> None:
    ledger.record_all(scenario("EXPIRING", "owner"))
    start = ledger.seq
    clock.advance(days=1)
    a1 = ledger.get(dl.SparkAuthorization, "a1")
    assert a1 is not None
    ledger.record(attrs.evolve(a1, expires_at=T0 + 6 * DAY))  # still expiring, a day later
    changes = ledger.changes(since=start, within="14d")
    (moved,) = changes.changed
    assert moved.key == "EXPIRING/authorization=a1/account=6900"
    assert (moved.before.deadline, moved.after.deadline) == (T0 + 5 * DAY, T0 + 6 * DAY)
    assert not changes.new and not changes.resolved
    assert "deadline 2026-11-29 09:00 UTC → 2026-11-30 09:00 UTC" in str(moved)
    assert changes.of_kind("extended")[0].id == "a1"


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("abc", "use a seq"),
        (-1, "0 or more"),
        (999, "last seq is"),
        ("0d", "more than zero"),
        ("2026-11-17T09:00", "offset"),
        ("2027-01-01T00:00Z", "after now"),
        ("3:" + "0" * 64, "does not extend that digest"),
        (True, "use a seq"),
    ],
)
def test_changes_refuses_a_point_it_cannot_place(
    ledger: dl.Ledger, since: object, message: str
) -> None:
    ledger.record_all(scenario("EXPIRING", "owner"))
    with pytest.raises(ValueError, match=message) as refused:
        ledger.changes(since=since)  # type: ignore[arg-type]
    assert "datetime.datetime" not in str(refused.value)


def test_findings_carry_a_message_to_the_creator_only_where_a_creator_can_help() -> None:
    for kind, advice in dl.CATALOGUE.items():
        finding = dl.Finding(kind=kind, severity=dl.Severity.ERROR, creator_id="maya", post_id="1")
        assert (finding.message_to_creator is None) == (advice.to_creator == "")
    for name in ("EXPIRED", "EXPIRING", "AD_OUTLIVES_CODE"):
        assert "send it to us" in dl.CATALOGUE[FindingKind(name)].to_creator


def test_changes_leaves_the_garbage_collector_as_it_found_it(
    ledger: dl.Ledger, clock: Clock
) -> None:
    import gc

    before, _ = week(ledger, clock)
    assert gc.isenabled()
    ledger.changes(since=before)
    assert gc.isenabled()
    gc.disable()
    try:
        ledger.changes(since=before)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_reminders_for_a_year_of_history_hold_no_replaced_or_long_dead_code(
    backend: Backend,
) -> None:
    """Eleven codes replaced by the next month's and one dead for 200 days: none of them is
    in a reminder or a message to the creator; the code that matters and one that expired 10
    days ago are. The long-dead code is still in findings(include_quiet=True)."""
    with backend.fresh().open(clock=lambda: T0) as ledger:
        builders.world(ledger)
        ids = builders.year_of_history(ledger, T0)
        silent = set(ids["replaced"]) | set(ids["long_dead"])
        reminders = ledger.reminders(within="14d")
        named = {f.authorization_id for r in reminders for f in r.findings}
        assert named and not named & silent
        assert set(ids["current"]) | set(ids["recent"]) <= named
        about = sorted(
            (f.kind, f.authorization_id) for r in reminders for f, _ in r.creator_messages
        )
        assert about == sorted([("EXPIRING", ids["current"][0]), ("EXPIRED", ids["recent"][0])])
        every = {f.authorization_id for f in ledger.findings(within="14d", include_quiet=True)}
        assert set(ids["long_dead"]) <= every
        assert not every & set(ids["replaced"]), "replaced is not quiet: nothing at all"
        # shown again once quiet_after reaches back far enough
        longer = ledger.findings(within="14d", quiet_after="365d")
        assert set(ids["long_dead"]) <= {f.authorization_id for f in longer}
