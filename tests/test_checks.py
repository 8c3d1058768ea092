"""Checks: each finding kind at and around its boundaries, against the rules of DESIGN §6."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.checks import Checks, horizon
from delvia_ledger.records import NO_CODE

from .builders import DAY, ad, code, world
from .conftest import T0, Backend


@pytest.mark.parametrize(
    ("expires_in", "kinds"),
    [
        (timedelta(0), ["EXPIRED"]),  # expiring exactly now is expired
        (timedelta(microseconds=1), ["EXPIRING"]),
        (7 * DAY, ["EXPIRING"]),  # exactly at the horizon is expiring
        (7 * DAY + timedelta(microseconds=1), []),
        (-DAY / 2, ["EXPIRED"]),
    ],
)
def test_expiry_boundaries(ledger: dl.Ledger, expires_in: timedelta, kinds: list[str]) -> None:
    world(ledger)
    code(ledger, expires_at=T0 + expires_in, starts_at=T0 - 2 * DAY)
    found = [f.kind for f in ledger.expiring(within="7d") + ledger.expired()]
    assert found == kinds


def test_expired_is_an_error_only_with_active_ads(ledger: dl.Ledger) -> None:
    world(ledger)
    auth = code(ledger, expires_at=T0, starts_at=T0 - 2 * DAY)
    [finding] = ledger.expired()
    assert (finding.severity, finding.affected_ad_ids, finding.deadline) == (
        dl.Severity.INFO,
        (),
        T0,
    )
    ad(ledger, auth, runs_from=T0 - DAY)
    ad(ledger, auth, "ad-paused", paused_at=T0)  # paused exactly now: not active
    ad(ledger, auth, "ad-later", runs_from=T0 + DAY)  # scheduled: uses it, but not active
    [finding] = ledger.expired()
    assert (finding.severity, finding.affected_ad_ids) == (dl.Severity.ERROR, ("ad1",))
    assert "@maya.makes" in str(finding) and "#code" not in str(finding)


def test_revoked_wins_over_expired_and_expiring(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger, revoked_at=T0, expires_at=T0 + DAY)
    assert [
        f.kind for f in ledger.findings(now=T0 - timedelta(seconds=1)) if f.authorization_id
    ] == ["EXPIRING"]
    assert [f.kind for f in ledger.findings() if f.authorization_id] == ["REVOKED"]
    assert ledger.revoked()[0].deadline == T0


def test_not_yet_active_warns_when_an_ad_already_runs(ledger: dl.Ledger) -> None:
    world(ledger)
    auth = code(ledger, starts_at=T0 + timedelta(microseconds=1))
    assert [(f.kind, f.severity) for f in ledger.not_yet_active()] == [("NOT_YET_ACTIVE", "INFO")]
    ad(ledger, auth)
    assert [(f.kind, f.severity) for f in ledger.not_yet_active()] == [
        ("NOT_YET_ACTIVE", "WARNING")
    ]
    assert ledger.not_yet_active(now=T0 + DAY) == []


def test_wrong_post_and_ads_that_outlive_their_code(ledger: dl.Ledger) -> None:
    world(ledger)
    auth = code(ledger, expires_at=T0 + 10 * DAY)
    ad(ledger, auth, "right", runs_until=T0 + 10 * DAY)
    ad(
        ledger,
        auth,
        "wrong",
        intended_post_id="7302",
        runs_until=T0 + 10 * DAY + timedelta(microseconds=1),
    )
    [wrong] = ledger.mismatched_posts()
    assert (wrong.ad_id, wrong.severity, wrong.post_id) == ("wrong", "ERROR", "7301")
    [outlived] = ledger.outlived_by_ads()
    assert (outlived.ad_id, outlived.deadline) == ("wrong", T0 + 10 * DAY)


@pytest.mark.parametrize(
    ("creator_region", "account_region", "rules", "expected"),
    [
        ("US", "US", [], None),
        ("US", "DE", [], "REGION_UNCONFIRMED"),
        (
            None,
            "US",
            [("*", "*", "COMPATIBLE")],
            "REGION_UNCONFIRMED",
        ),  # unknown region stays unknown
        ("US", "DE", [("US", "DE", "INCOMPATIBLE")], "REGION_INCOMPATIBLE"),
        (
            "US",
            "DE",
            [("US", "*", "COMPATIBLE"), ("US", "DE", "INCOMPATIBLE")],
            "REGION_INCOMPATIBLE",
        ),  # exact first
        (
            "US",
            "DE",
            [("US", "*", "INCOMPATIBLE"), ("*", "DE", "COMPATIBLE")],
            "REGION_INCOMPATIBLE",
        ),
        ("GB", "DE", [("*", "DE", "COMPATIBLE"), ("*", "*", "INCOMPATIBLE")], None),
        ("GB", "US", [("*", "*", "INCOMPATIBLE")], "REGION_INCOMPATIBLE"),
        ("US", "US", [("*", "*", "UNKNOWN")], "REGION_UNCONFIRMED"),
    ],
)
def test_region_policy_lookup_order(
    ledger: dl.Ledger,
    creator_region: str | None,
    account_region: str,
    rules: list[tuple[str, str, str]],
    expected: str | None,
) -> None:
    world(ledger, creator_region=creator_region, account_region=account_region)
    ledger.record_all(
        dl.RegionRule(creator_region=c, account_region=a, verdict=v) for c, a, v in rules
    )
    code(ledger)
    assert [f.kind for f in ledger.region_incompatible()] == ([expected] if expected else [])


def test_ownership_findings(ledger: dl.Ledger, clock: object) -> None:
    world(ledger)
    auth = code(ledger, owner_id=None)
    ad(ledger, auth)
    assert {f.kind for f in ledger.ownership()} == {dl.FindingKind.OWNER_MISSING}
    ledger.record(dl.Person(id="ana", name="Ana", left_at=T0))
    assert sorted(f.kind.value for f in ledger.ownership()) == [
        "NO_ADMIN",
        "NO_OPERATOR",
        "OWNER_MISSING",
    ]
    ledger.record_all(
        [
            dl.Person(id="bo", name="Bo"),
            dl.RoleGrant(
                id="g2",
                person_id="bo",
                scope="business_center:bc1",
                role="BC_ADMIN",
                granted_at=T0 - DAY,
                expires_at=T0 + 3 * DAY,
            ),
        ]
    )
    # a Business Center admin is not an admin of the account: TikTok's BC admins manage
    # only the assets assigned to them; they are who can fix it, so the finding names them
    found = ledger.ownership()
    assert [(f.kind, f.person_id) for f in found] == [
        ("NO_ADMIN", None),
        ("NO_OPERATOR", None),
        ("OWNER_MISSING", None),
        ("ROLE_EXPIRING", "bo"),
    ]
    assert "Business Center admins who can assign one: Bo" in found[0].detail


def test_findings_sort_worst_first_then_earliest_deadline(ledger: dl.Ledger) -> None:
    world(ledger, account_region="DE")
    for n, expires in enumerate([5 * DAY, 2 * DAY, -DAY]):
        auth = code(ledger, n, starts_at=T0 - 9 * DAY, expires_at=T0 + expires)
        if expires < timedelta(0):
            ad(ledger, auth)
    found = ledger.findings()
    assert [f.severity.rank for f in found] == sorted(f.severity.rank for f in found)
    warnings = [f.deadline for f in found if f.kind == "EXPIRING" and f.deadline is not None]
    assert warnings == sorted(warnings) and len(warnings) == 2
    assert found[0].kind == "EXPIRED" and found[0].severity == "ERROR"


def test_as_of_answers_what_we_would_have_flagged_then(ledger: dl.Ledger, clock: object) -> None:
    world(ledger)
    auth = code(ledger, expires_at=T0 + 3 * DAY)
    before = ledger.digest().seq
    ledger.record(
        dl.SparkAuthorization.from_code(
            "#code-0000-xyz=",
            **{
                **{
                    k: getattr(auth, k)
                    for k in ("creator_id", "post_id", "starts_at", "ad_account_id", "owner_id")
                },
                "expires_at": T0 + 60 * DAY,
            },
        )
    )
    assert ledger.expiring() == []
    assert [f.kind for f in ledger.as_of(seq=before).expiring()] == ["EXPIRING"]


@pytest.mark.parametrize(
    "within", ["36h", "7d", "2w", "1mo", timedelta(hours=1), relativedelta(months=1)]
)
def test_within_accepts_durations(within: object) -> None:
    assert horizon(T0, within) > T0  # type: ignore[arg-type]


@pytest.mark.parametrize("within", ["7", "7 days", "-1d", "0d", timedelta(0), -DAY, 7, None])
def test_within_refuses_anything_else(ledger: dl.Ledger, within: object) -> None:
    with pytest.raises(ValueError, match="within="):
        ledger.expiring(within=within)  # type: ignore[arg-type]


def test_explain_error_maps_tiktok_codes() -> None:
    assert dl.explain_error(4025).kind is dl.FindingKind.EXPIRED  # type: ignore[union-attr]
    assert dl.explain_error("4013").kind is dl.FindingKind.MALFORMED_CODE  # type: ignore[union-attr]
    assert dl.explain_error("video_deleted").kind is dl.FindingKind.POST_UNAVAILABLE  # type: ignore[union-attr]
    assert dl.explain_error(123) is None
    assert set(dl.CATALOGUE) == set(dl.FindingKind)


# --- a small independent reference of the §6 authorization rules, against random worlds -------

offsets = st.integers(-20, 20).map(lambda d: d * DAY / 2)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    codes=st.lists(
        st.tuples(offsets, st.integers(1, 30), st.none() | offsets), min_size=1, max_size=5
    ),
    ads=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.none() | offsets,
            st.none() | offsets,
            st.none() | offsets,
            st.booleans(),
        ),
        max_size=6,
    ),
)
def test_authorization_findings_match_a_reference(
    backend: Backend,
    codes: list[tuple[timedelta, int, timedelta | None]],
    ads: list[tuple[int, timedelta | None, timedelta | None, timedelta | None, bool]],
) -> None:
    with backend.fresh().open(clock=lambda: T0) as ledger:
        world(ledger)
        auths = [
            code(
                ledger,
                n,
                starts_at=T0 + s,
                expires_at=T0 + s + days * DAY,
                revoked_at=None if r is None else T0 + r,
            )
            for n, (s, days, r) in enumerate(codes)
        ]
        records = []
        for i, (which, start, until, paused, wrong) in enumerate(ads):
            if start is not None and until is not None and until <= start:
                until = None
            records.append(
                ad(
                    ledger,
                    auths[which % len(auths)],
                    f"ad{i}",
                    runs_from=_at(start),
                    runs_until=_at(until),
                    paused_at=_at(paused),
                    intended_post_id="7302" if wrong else "7301",
                )
            )
        got = sorted(
            (f.kind, f.authorization_id, f.ad_id, f.severity, f.affected_ad_ids)
            for f in ledger.findings(within="7d")
            if f.kind not in {"OWNER_MISSING", "NO_OPERATOR", "NO_ADMIN", "ROLE_EXPIRING"}
        )
        assert got == sorted(reference(auths, records, T0, T0 + 7 * DAY))


def _at(offset: timedelta | None) -> datetime | None:
    return None if offset is None else T0 + offset


def reference(
    auths: list[dl.SparkAuthorization], ads: list[dl.SparkAd], t: datetime, h: datetime
) -> list[tuple[object, ...]]:
    def active(d: dl.SparkAd) -> bool:
        return (
            (d.runs_from is None or d.runs_from <= t)
            and (d.paused_at is None or d.paused_at > t)
            and (d.runs_until is None or d.runs_until > t)
        )

    def scheduled(d: dl.SparkAd) -> bool:
        return (
            d.runs_from is not None and d.runs_from > t and (d.paused_at is None or d.paused_at > t)
        )

    out: list[tuple[object, ...]] = []
    for a in auths:
        using = [d for d in ads if d.authorization_id == a.id and (active(d) or scheduled(d))]
        live_ads = tuple(d.id for d in using if active(d))
        revoked = a.revoked_at is not None and a.revoked_at <= t
        sev = "ERROR" if live_ads else "INFO"
        if revoked:
            out.append(("REVOKED", a.id, None, sev, live_ads))
        elif a.expires_at <= t:
            out.append(("EXPIRED", a.id, None, sev, live_ads))
        if not revoked and a.starts_at > t:
            out.append(("NOT_YET_ACTIVE", a.id, None, "WARNING" if live_ads else "INFO", ()))
        if not revoked and t < a.expires_at <= h:
            out.append(("EXPIRING", a.id, None, "WARNING", ()))
        for d in using:
            if (
                not revoked
                and a.expires_at > t
                and d.runs_until is not None
                and d.runs_until > a.expires_at
            ):
                out.append(("AD_OUTLIVES_CODE", a.id, d.id, "WARNING", ()))
            if d.intended_post_id != a.post_id:
                out.append(("WRONG_POST", a.id, d.id, "ERROR", ()))
    return out


# --- the same for the access kinds: people, grants and owners (DESIGN §6, "Access") ---------

ACCOUNTS = {"6900": "bc1", "6901": None}  # account -> its business center
SCOPES = {  # role -> the scopes it can be granted on
    role: [f"ad_account:{a}" for a in ACCOUNTS]
    if role in {"ADMIN", "OPERATOR", "ANALYST"}
    else ["business_center:bc1", "business_center:bc2"]
    for role in ["ADMIN", "OPERATOR", "ANALYST", "BC_ADMIN", "BC_STANDARD"]
}


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    left=st.lists(st.none() | offsets, min_size=1, max_size=3),
    grants=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(list(SCOPES)).flatmap(
                lambda role: st.tuples(st.just(role), st.sampled_from(SCOPES[role]))
            ),
            offsets,
            st.none() | offsets,
            st.none() | offsets,
        ),
        max_size=6,
    ),
    codes=st.lists(
        st.tuples(offsets, st.integers(1, 30), st.none() | st.integers(0, 2)), max_size=4
    ),
    ads=st.lists(st.tuples(st.sampled_from(list(ACCOUNTS)), st.none() | offsets), max_size=3),
)
def test_access_findings_match_a_reference(
    backend: Backend,
    left: list[timedelta | None],
    grants: list[tuple[int, tuple[str, str], timedelta, timedelta | None, timedelta | None]],
    codes: list[tuple[timedelta, int, int | None]],
    ads: list[tuple[str, timedelta | None]],
) -> None:
    people = [dl.Person(id=f"p{i}", name=f"P{i}", left_at=_at(off)) for i, off in enumerate(left)]
    role_grants = []
    for i, (who, (role, scope), granted, expires, ended) in enumerate(grants):
        role_grants.append(
            dl.RoleGrant(
                id=f"g{i}",
                person_id=people[who % len(people)].id,
                scope=scope,
                role=role,
                granted_at=T0 + granted,
                expires_at=None if expires is None else T0 + granted + abs(expires) + DAY,
                ended_at=None if ended is None else T0 + granted + abs(ended) + DAY,
            )
        )
    auths = [
        dl.SparkAuthorization.from_code(
            f"#code-{n:04d}-xyz=",
            creator_id="maya",
            post_id="7301",
            starts_at=T0 + s,
            expires_at=T0 + s + days * DAY,
            owner_id=None if owner is None else people[owner % len(people)].id,
        )
        for n, (s, days, owner) in enumerate(codes)
    ]
    spark_ads = [
        dl.SparkAd(
            id=f"ad{i}",
            ad_account_id=account,
            authorization_id=auths[0].id,
            intended_post_id="7301",
            runs_from=_at(start),
        )
        for i, (account, start) in enumerate(ads)
        if auths
    ]
    with backend.fresh().open(clock=lambda: T0) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="maya", handle="@maya.makes", region="US"),
                dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
                *(
                    dl.AdAccount(id=a, name=a, region="US", business_center_id=bc)
                    for a, bc in ACCOUNTS.items()
                ),
                *people,
                *role_grants,
                *auths,
                *spark_ads,
            ]
        )
        found = ledger.findings(within="7d")
        got = sorted(
            (
                (f.kind, f.authorization_id, f.ad_id, f.ad_account_id, f.person_id, f.owner_id)
                for f in found
                if f.kind in {"OWNER_MISSING", "NO_OPERATOR", "NO_ADMIN", "ROLE_EXPIRING"}
            ),
            key=repr,
        )
        expected = access_reference(people, role_grants, auths, spark_ads, T0, T0 + 7 * DAY)
        assert got == sorted(expected, key=repr)
        assert found == sorted(found, key=dl.Finding.sort_key)  # worst first, then deadline


def access_reference(
    people: list[dl.Person],
    grants: list[dl.RoleGrant],
    auths: list[dl.SparkAuthorization],
    ads: list[dl.SparkAd],
    t: datetime,
    h: datetime,
) -> list[tuple[object, ...]]:
    gone = {p.id for p in people if p.left_at is not None and p.left_at <= t}
    active = [
        g
        for g in grants
        if g.granted_at <= t
        and (g.ended_at is None or g.ended_at > t)
        and (g.expires_at is None or g.expires_at > t)
        and g.person_id not in gone
    ]

    def holders(account: str, roles: set[str]) -> set[str]:
        # a Business Center admin is not an account admin by virtue of the BC (TikTok: BC
        # admins manage only assigned assets)
        return {
            g.person_id for g in active if g.scope == f"ad_account:{account}" and g.role in roles
        }

    def counts(person_id: str | None) -> str | None:
        """DESIGN §6: a person counts when recorded and not left at t."""
        return person_id if person_id in {p.id for p in people} - gone else None

    by_id = {a.id: a for a in auths}
    out: list[tuple[object, ...]] = [
        ("NO_ADMIN", None, None, account, None, None)
        for account in ACCOUNTS
        if not holders(account, {"ADMIN"})
    ]
    out += [
        (
            "NO_OPERATOR",
            d.authorization_id,
            d.id,
            d.ad_account_id,
            None,
            counts(d.owner_id) or counts(by_id[d.authorization_id].owner_id),
        )
        for d in ads
        if (d.runs_from is None or d.runs_from <= t)
        and not holders(d.ad_account_id, {"ADMIN", "OPERATOR"})
    ]
    with_roles = {g.person_id for g in active}
    out += [
        ("OWNER_MISSING", a.id, None, None, a.owner_id, counts(a.owner_id))
        for a in auths
        if a.starts_at <= t < a.expires_at and a.owner_id not in with_roles
    ]
    out += [
        (
            "ROLE_EXPIRING",
            None,
            None,
            g.scope_id if g.scope_kind == "ad_account" else None,
            g.person_id,
            g.person_id,
        )
        for g in active
        if g.expires_at is not None and t < g.expires_at <= h
    ]
    return out


def test_a_query_reads_one_state_while_another_process_writes(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with backend.open(clock=lambda: T0) as ours, backend.open() as theirs:
        world(ours)
        code(ours)
        original = Checks.region_incompatible

        def meanwhile(self: Checks) -> list[dl.Finding]:
            # another writer commits a code on a German account after findings() began reading
            if theirs.get(dl.AdAccount, "6901") is None:
                theirs.record(dl.AdAccount(id="6901", name="Brand DE", region="DE"))
                code(theirs, 1, ad_account_id="6901")
            return original(self)

        monkeypatch.setattr(Checks, "region_incompatible", meanwhile)
        kinds = [f.kind for f in ours.findings()]
        assert "REGION_UNCONFIRMED" not in kinds  # the state findings() began with
        kinds = [f.kind for f in ours.findings()]
        assert "REGION_UNCONFIRMED" in kinds  # the next query sees the new code


# --- and for the region policy: random rules, regions, bound accounts and ads -----------------

REGIONS = ["US", "DE"]  # few, so wildcard rules often compete for one pair


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    creator_regions=st.lists(st.none() | st.sampled_from(REGIONS), min_size=2, max_size=2),
    account_regions=st.lists(st.sampled_from(REGIONS), min_size=3, max_size=3),
    rules=st.fixed_dictionaries(  # each (creator, account) pair has a rule or not
        {
            (c, a): st.sampled_from([*dl.RegionVerdict, None])
            for c in [*REGIONS, "*"]
            for a in [*REGIONS, "*"]
        }
    ),
    codes=st.lists(st.tuples(st.integers(0, 1), st.none() | st.integers(0, 2)), max_size=4),
    ads=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2), st.none() | offsets, st.none() | offsets),
        max_size=4,
    ),
)
def test_region_findings_match_a_reference(
    backend: Backend,
    creator_regions: list[str | None],
    account_regions: list[str],
    rules: dict[tuple[str, str], dl.RegionVerdict | None],
    codes: list[tuple[int, int | None]],
    ads: list[tuple[int, int, timedelta | None, timedelta | None]],
) -> None:
    creators = [
        dl.Creator(id=f"c{i}", handle=f"@c{i}", region=r) for i, r in enumerate(creator_regions)
    ]
    accounts = [
        dl.AdAccount(id=f"a{i}", name=f"A{i}", region=r) for i, r in enumerate(account_regions)
    ]
    policy = [
        dl.RegionRule(creator_region=c, account_region=a, verdict=v)
        for (c, a), v in rules.items()
        if v is not None
    ]
    auths = [
        dl.SparkAuthorization.from_code(
            f"#code-{n:04d}-xyz=",
            creator_id=f"c{c}",
            post_id=f"p{c}",
            starts_at=T0 - DAY,
            expires_at=T0 + 30 * DAY,
            ad_account_id=None if a is None else f"a{a}",
        )
        for n, (c, a) in enumerate(codes)
    ]
    spark_ads = [
        dl.SparkAd(
            id=f"ad{i}",
            ad_account_id=f"a{account}",
            authorization_id=auths[which % len(auths)].id,
            intended_post_id=auths[which % len(auths)].post_id,
            runs_from=_at(start),
            paused_at=_at(paused),
        )
        for i, (which, account, start, paused) in enumerate(ads)
        if auths
    ]
    with backend.fresh().open(clock=lambda: T0) as ledger:
        ledger.record_all(
            [
                *creators,
                *(
                    dl.Post(id=f"p{i}", creator_id=c.id, kind="VIDEO")
                    for i, c in enumerate(creators)
                ),
                *accounts,
                *policy,
                *auths,
                *spark_ads,
            ]
        )
        got = sorted(
            (f.kind.value, f.authorization_id, f.ad_account_id)
            for f in ledger.findings()
            if f.kind in {"REGION_INCOMPATIBLE", "REGION_UNCONFIRMED"}
        )
        assert got == sorted(region_reference(creators, accounts, policy, auths, spark_ads, T0))


def region_reference(
    creators: list[dl.Creator],
    accounts: list[dl.AdAccount],
    policy: list[dl.RegionRule],
    auths: list[dl.SparkAuthorization],
    ads: list[dl.SparkAd],
    t: datetime,
) -> list[tuple[object, ...]]:
    rules = {(r.creator_region, r.account_region): r.verdict for r in policy}
    region_of = {c.id: c.region for c in creators} | {a.id: a.region for a in accounts}

    def verdict(creator: str | None, account: str) -> str:
        if creator is None:
            return "UNKNOWN"
        for pair in [(creator, account), (creator, "*"), ("*", account), ("*", "*")]:
            if pair in rules:
                return rules[pair].value
        return "COMPATIBLE" if creator == account else "UNKNOWN"

    def used(d: dl.SparkAd) -> bool:  # active or scheduled (no ad here has runs_until)
        return d.paused_at is None or d.paused_at > t

    out: list[tuple[object, ...]] = []
    for a in auths:
        pairs = {a.ad_account_id} | {
            d.ad_account_id for d in ads if d.authorization_id == a.id and used(d)
        }
        for account in pairs - {None}:
            v = verdict(region_of[a.creator_id], str(region_of[str(account)]))
            if v != "COMPATIBLE":
                kind = "REGION_INCOMPATIBLE" if v == "INCOMPATIBLE" else "REGION_UNCONFIRMED"
                out.append((kind, a.id, account))
    return out


# --- what TikTok reports: bindings and post statuses (NOT_AUTHORIZED, UNBOUND, POST_UNAVAILABLE) --

POSTS = ["7301", "7302"]
POST_STATUSES = [
    None,
    "HESITATE_RECOMMEND",
    "USER_DELETE",
    "AUDIT_DELETE",
    "ONLY_USER_PASS",
    "REVIEW_PENDING",
]
BINDINGS = st.none() | st.tuples(
    offsets, st.none() | offsets, st.sampled_from([None, "AUTHORIZED", "EXPIRED", "OTHER"])
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    statuses=st.lists(st.sampled_from(POST_STATUSES), min_size=2, max_size=2),
    codes=st.lists(
        st.tuples(offsets, st.integers(1, 30), st.none() | offsets, st.integers(0, 1)),
        min_size=1,
        max_size=4,
    ),
    bindings=st.lists(st.tuples(BINDINGS, BINDINGS), min_size=4, max_size=4),
    ads=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 1),
            st.none() | offsets,
            st.none() | offsets,
            st.integers(0, 1),
        ),
        max_size=5,
    ),
)
def test_tiktok_state_findings_match_a_reference(
    backend: Backend,
    statuses: list[str | None],
    codes: list[tuple[timedelta, int, timedelta | None, int]],
    bindings: list[tuple[object, object]],
    ads: list[tuple[int, int, timedelta | None, timedelta | None, int]],
) -> None:
    """Every non-access kind, with random bindings and post statuses, on the ledger and as_of."""
    accounts = ["6900", "6901"]
    with backend.fresh().open(clock=lambda: T0) as ledger:
        world(ledger)
        ledger.record(dl.AdAccount(id="6901", name="Brand 2", region="US"))
        auths = [
            code(
                ledger,
                n,
                post_id=POSTS[p],
                starts_at=T0 + s,
                expires_at=T0 + s + days * DAY,
                revoked_at=None if r is None else T0 + r,
            )
            for n, (s, days, r, p) in enumerate(codes)
        ]
        spark_ads = [
            ad(
                ledger,
                auths[which % len(auths)],
                f"ad{i}",
                ad_account_id=accounts[account],
                runs_from=_at(start),
                paused_at=_at(paused),
                intended_post_id=POSTS[post],
            )
            for i, (which, account, start, paused, post) in enumerate(ads)
        ]
        before = ledger.seq  # nothing TikTok reported yet
        posts = [
            dl.Post(id=post, creator_id="maya", kind="VIDEO", status=status)
            for post, status in zip(POSTS, statuses, strict=True)
        ]
        reported = []
        for a, pair in zip(auths, bindings, strict=False):
            for account, found in zip(accounts, pair, strict=True):
                if found is None:
                    continue
                bound, unbound, status = cast(tuple[timedelta, timedelta | None, str | None], found)
                reported.append(
                    dl.SparkBinding(
                        authorization_id=a.id,
                        ad_account_id=account,
                        bound_at=T0 + bound,
                        unbound_at=None if unbound is None else T0 + bound + abs(unbound),
                        tiktok_status=status,
                    )
                )
        ledger.record_all([*posts, *reported])

        def got(view: dl.LedgerView) -> list[tuple[object, ...]]:
            return sorted(
                (
                    f.kind,
                    f.authorization_id,
                    f.ad_id,
                    f.ad_account_id,
                    f.severity,
                    f.affected_ad_ids,
                )
                for f in view.findings(within="7d")
                if f.kind not in {"OWNER_MISSING", "NO_OPERATOR", "NO_ADMIN", "ROLE_EXPIRING"}
                and not f.kind.startswith("REGION")
            )

        h = T0 + 7 * DAY
        assert got(ledger) == sorted(tiktok_reference(auths, spark_ads, posts, reported, T0, h))
        unreported = [dl.Post(id=post, creator_id="maya", kind="VIDEO") for post in POSTS]
        assert got(ledger.as_of(seq=before)) == sorted(
            tiktok_reference(auths, spark_ads, unreported, [], T0, h)
        )


def tiktok_reference(
    auths: list[dl.SparkAuthorization],
    ads: list[dl.SparkAd],
    posts: list[dl.Post],
    bindings: list[dl.SparkBinding],
    t: datetime,
    h: datetime,
) -> list[tuple[object, ...]]:
    """DESIGN §6 written out once more, plainly, for the kinds that need what TikTok reports."""

    def active(d: dl.SparkAd) -> bool:
        return (
            (d.runs_from is None or d.runs_from <= t)
            and (d.paused_at is None or d.paused_at > t)
            and (d.runs_until is None or d.runs_until > t)
        )

    def scheduled(d: dl.SparkAd) -> bool:
        return (
            d.runs_from is not None and d.runs_from > t and (d.paused_at is None or d.paused_at > t)
        )

    gone = {p.id for p in posts if p.status in {"USER_DELETE", "AUDIT_DELETE", "ONLY_USER_PASS"}}
    in_review = {p.id for p in posts if p.status == "REVIEW_PENDING"}

    def bound(b: dl.SparkBinding) -> bool:
        return b.bound_at <= t and (b.unbound_at is None or b.unbound_at > t)

    def replaced(n: int, a: dl.SparkAuthorization) -> bool:
        """A newer code for the post (later start, then later end, then recorded later) is
        bound at t in the code's account or in an account it has a binding in."""
        mine = {a.ad_account_id} | {b.ad_account_id for b in bindings if b.authorization_id == a.id}
        return any(
            other.post_id == a.post_id
            and (other.starts_at, other.expires_at, m) > (a.starts_at, a.expires_at, n)
            and any(
                b.authorization_id == other.id and b.ad_account_id in mine and bound(b)
                for b in bindings
            )
            for m, other in enumerate(auths)
        )

    out: list[tuple[object, ...]] = []
    for n, a in enumerate(auths):
        using = [d for d in ads if d.authorization_id == a.id and (active(d) or scheduled(d))]
        live = tuple(d.id for d in using if active(d))
        revoked = a.revoked_at is not None and a.revoked_at <= t
        account = a.ad_account_id
        old = replaced(n, a)
        if revoked:
            if using or not old:
                out.append(("REVOKED", a.id, None, account, "ERROR" if live else "INFO", live))
        elif a.expires_at <= t:
            if using or not old:
                out.append(("EXPIRED", a.id, None, account, "ERROR" if live else "INFO", live))
        elif old:
            pass
        elif a.post_id in gone:
            severity = "ERROR" if live else "WARNING"
            out.append(("POST_UNAVAILABLE", a.id, None, account, severity, live))
        elif a.post_id in in_review:
            out.append(("POST_UNDER_REVIEW", a.id, None, account, "WARNING", live))
        if not old and not revoked and a.starts_at > t:
            severity = "WARNING" if live else "INFO"
            out.append(("NOT_YET_ACTIVE", a.id, None, account, severity, ()))
        if not old and not revoked and t < a.expires_at <= h:
            out.append(("EXPIRING", a.id, None, account, "WARNING", ()))
        for d in using:
            if not revoked and a.expires_at > t and d.runs_until and d.runs_until > a.expires_at:
                out.append(("AD_OUTLIVES_CODE", a.id, d.id, d.ad_account_id, "WARNING", ()))
            if d.intended_post_id != a.post_id:
                out.append(("WRONG_POST", a.id, d.id, d.ad_account_id, "ERROR", ()))
            for b in bindings:
                if (b.authorization_id, b.ad_account_id) == (a.id, d.ad_account_id) and (
                    b.unbound_at is not None and b.unbound_at <= t
                ):
                    severity = "ERROR" if active(d) else "WARNING"
                    out.append(("UNBOUND", a.id, d.id, d.ad_account_id, severity, (d.id,)))
        for b in bindings:
            if old:
                break
            if (
                b.authorization_id == a.id
                and bound(b)
                and b.tiktok_status not in (None, "AUTHORIZED")
            ):
                there = tuple(
                    d.id for d in using if d.ad_account_id == b.ad_account_id and active(d)
                )
                severity = "ERROR" if there else "WARNING"
                out.append(("NOT_AUTHORIZED", a.id, None, b.ad_account_id, severity, there))
    return out


@pytest.mark.parametrize(
    ("unbound_in", "expected"),
    [(timedelta(0), ["UNBOUND"]), (timedelta(microseconds=1), []), (-DAY, ["UNBOUND"])],
)
def test_unbound_exactly_at_now_is_unbound(
    ledger: dl.Ledger, unbound_in: timedelta, expected: list[str]
) -> None:
    world(ledger)
    auth = code(ledger)
    ad(ledger, auth)
    ledger.record(
        dl.SparkBinding(
            authorization_id=auth.id,
            ad_account_id="6900",
            bound_at=T0 - 2 * DAY,
            unbound_at=T0 + unbound_in,
        )
    )
    found = ledger.unbound()
    assert [f.kind for f in found] == expected
    if found:
        assert found[0].severity == "ERROR" and found[0].deadline == T0 + unbound_in
        assert found[0].owner_id == "ana" and found[0].key == (
            f"UNBOUND/authorization={auth.id}/ad=ad1/account=6900"
        )
    # a re-bind (a new version with unbound_at=None) clears it
    ledger.record(
        dl.SparkBinding(authorization_id=auth.id, ad_account_id="6900", bound_at=T0 - DAY)
    )
    assert ledger.unbound() == []


def test_no_binding_record_means_the_ledger_does_not_know(ledger: dl.Ledger) -> None:
    world(ledger)
    ad(ledger, code(ledger))
    assert ledger.unbound() == [] and ledger.not_authorized() == []


def test_tiktok_status_and_post_status_as_diagnose_sees_them(ledger: dl.Ledger) -> None:
    world(ledger)
    auth = dl.SparkAuthorization.from_code(
        "#diag-code==", creator_id="maya", post_id="7301", starts_at=T0 - DAY,
        expires_at=T0 + 30 * DAY, ad_account_id="6900", owner_id="ana",
    )  # fmt: skip
    ledger.record(auth)
    assert ledger.diagnose("#diag-code==", post_id="7301").steps[1].status == "ok"
    ledger.record(
        dl.SparkBinding(
            authorization_id=auth.id, ad_account_id="6900", bound_at=T0 - DAY,
            tiktok_status="EXPIRED",
        )
    )  # fmt: skip
    d = ledger.diagnose("#diag-code==", post_id="7301")
    assert (d.steps[1].status, [f.kind for f in d.findings]) == ("failed", ["NOT_AUTHORIZED"])
    assert "TikTok reports EXPIRED" in d.steps[1].detail and not d.ok
    # in another account, that binding says nothing
    ledger.record(dl.AdAccount(id="6901", name="Other", region="US"))
    assert (
        ledger.diagnose("#diag-code==", post_id="7301", ad_account_id="6901").steps[1].status
        == "ok"
    )
    ledger.record(dl.Post(id="7301", creator_id="maya", kind="VIDEO", status="AUDIT_DELETE"))
    d = ledger.diagnose("#diag-code==", post_id="7301", ad_account_id="6901")
    assert [f.kind for f in d.findings] == ["POST_UNAVAILABLE"]
    assert "#diag-code==" not in str(d)


def test_findings_name_their_owner_by_the_rules_of_who_must_act(
    ledger: dl.Ledger, clock: object
) -> None:
    world(ledger)
    ledger.record_all(
        [
            dl.Person(id="bo", name="Bo Berg"),
            dl.Person(id="cy", name="Cy", left_at=T0 - DAY),
        ]
    )
    owned = code(ledger, 1, expires_at=T0 + DAY, owner_id="ana")
    left = code(ledger, 2, expires_at=T0 + DAY, owner_id="cy")
    ad(ledger, owned, "ad_bo", intended_post_id="7302", owner_id="bo")  # ad owner wins
    ad(ledger, left, "ad_cy", intended_post_id="7302", owner_id="cy")  # left: nobody counts
    by_key = {(f.kind.value, f.authorization_id, f.ad_id): f for f in ledger.findings()}
    assert by_key[("EXPIRING", owned.id, None)].owner_id == "ana"
    assert by_key[("EXPIRING", left.id, None)].owner_id is None
    assert by_key[("WRONG_POST", owned.id, "ad_bo")].owner_id == "bo"
    assert by_key[("WRONG_POST", left.id, "ad_cy")].owner_id is None
    text = str(by_key[("WRONG_POST", owned.id, "ad_bo")])
    assert "[owner: Bo Berg]" in text
    # the key names the kind and the ids, not the severity or the deadline
    assert (
        by_key[("EXPIRING", owned.id, None)].key
        == f"EXPIRING/authorization={owned.id}/account=6900"
    )
    keys = [f.key for f in ledger.findings()]
    assert len(keys) == len(set(keys))


# --- hardening (issue 12): within= and now= at the datetime limits are bad input -----------


@pytest.mark.parametrize(
    "within",
    [
        "100000000d",
        "9" * 30 + "h",
        "1" * 5000 + "d",  # more digits than Python turns into an int
        relativedelta(years=9000),
        timedelta(days=999_999_999),
    ],
    ids=lambda w: str(w)[:20],
)
@pytest.mark.parametrize("query", ["expiring", "ownership", "findings"])
def test_a_horizon_past_the_year_9999_is_a_value_error(
    ledger: dl.Ledger, query: str, within: object
) -> None:
    """These raised OverflowError (or dateutil's 'year 11026 is out of range')."""
    world(ledger)
    with pytest.raises(ValueError, match=r"within=.*after 9999-12-31.*use a shorter one"):
        getattr(ledger, query)(within=within)


def test_the_default_horizon_from_a_now_at_the_end_of_time_is_a_value_error(
    ledger: dl.Ledger,
) -> None:
    with pytest.raises(ValueError, match=r"within='7d': the horizon would fall after 9999-12-31"):
        ledger.findings(now="9999-12-31T00:00:00Z")
    assert ledger.expired(now="9999-12-31T23:59:59Z") == []  # no horizon: fine


NOW_BEYOND_THE_LIMITS = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"]


@pytest.mark.parametrize("now", NOW_BEYOND_THE_LIMITS)
@pytest.mark.parametrize(
    "query",
    [
        "expiring",
        "expired",
        "revoked",
        "not_yet_active",
        "mismatched_posts",
        "region_incompatible",
        "outlived_by_ads",
        "post_unavailable",
        "unbound",
        "not_authorized",
        "ownership",
        "findings",
        "checks",
    ],
)
def test_now_beyond_the_limits_is_a_value_error_naming_it(
    ledger: dl.Ledger, query: str, now: str
) -> None:
    with pytest.raises(ValueError, match=rf"now='{re.escape(now)}': is out of range"):
        getattr(ledger, query)(now=now)


@pytest.mark.parametrize("now", NOW_BEYOND_THE_LIMITS)
def test_now_beyond_the_limits_is_refused_by_diagnose_access_and_offboard(
    ledger: dl.Ledger, now: str
) -> None:
    world(ledger)
    for call in (
        lambda: ledger.diagnose("#code-0000-xyz=", now=now),
        lambda: ledger.access("ad_account:6900", now=now),
        lambda: ledger.roles_of("ana", now=now),
        lambda: ledger.offboard("ana", at=now),
    ):
        with pytest.raises(ValueError, match="is out of range"):
            call()


def test_findings_read_each_map_once(tmp_path: Path) -> None:
    """One evaluation reads the people, creators, accounts, grants, ads, posts and region rules
    once each, and the codes the ads use once, whatever kinds ask for them."""
    from delvia_ledger.demo import sample_records

    ledger = dl.Ledger.open(tmp_path / "count.db", clock=lambda: T0)
    ledger.record_all(sample_records(T0))
    statements: list[str] = []
    ledger._store.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    found = ledger.findings()
    ledger._store.conn.set_trace_callback(None)  # type: ignore[attr-defined]
    assert found, "the sample ledger has findings to give"
    # which ads a sync recorded (AD_WITHOUT_CODE) is asked of their entries' sources, apart
    reads = [s for s in statements if s.startswith("SELECT") and '"_source":' not in s]
    for table in (
        "person",
        "creator",
        "ad_account",
        "role_grant",
        "spark_ad",
        "post",
        "region_rule",
    ):
        assert sum(f"FROM {table}_versions v" in s for s in reads) == 1, table
    in_use = {ad.authorization_id for ad in ledger.records(dl.SparkAd)}
    by_id = [s for s in reads if "spark_authorization_versions" in s and "json_each" in s]
    assert sum(all(i in s for i in in_use) for s in by_id) == 1, "the codes in use, read once"


# --- what syncs record: quiet, replaced, NOT_LISTED, UNUSED_CODE, AD_WITHOUT_CODE --------------

far = st.integers(-90, 20).map(lambda d: d * DAY)
LISTING_KINDS = {"OWNER_MISSING", "NO_OPERATOR", "NO_ADMIN", "ROLE_EXPIRING"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    codes=st.lists(
        st.tuples(far, st.sampled_from([7, 30, 60]), st.none() | far, st.integers(0, 1)),
        min_size=1,
        max_size=5,
    ),
    before_sweep=st.integers(0, 5),
    swept=st.lists(st.none() | st.integers(-30, 5).map(lambda d: d * DAY), min_size=2, max_size=2),
    bindings=st.lists(
        st.none() | st.tuples(st.integers(-40, 0).map(lambda d: d * DAY), st.none() | far),
        min_size=10,
        max_size=10,
    ),
    ads=st.lists(
        st.tuples(
            st.integers(-1, 4),  # the code (-1: none, as a sync records it)
            st.integers(0, 1),  # the account
            st.integers(0, 1),  # the post
            st.none() | offsets,  # runs_from
            st.none() | offsets,  # runs_until
            st.booleans(),  # recorded by a sync
        ),
        max_size=5,
    ),
)
def test_listing_findings_match_a_reference(
    backend: Backend,
    codes: list[tuple[timedelta, int, timedelta | None, int]],
    before_sweep: int,
    swept: list[timedelta | None],
    bindings: list[tuple[timedelta, timedelta | None] | None],
    ads: list[tuple[int, int, int, timedelta | None, timedelta | None, bool]],
) -> None:
    """Every non-access kind, with old codes (quiet), codes replaced by newer ones, recorded
    sweeps and ads recorded by syncs, against DESIGN §6 written out plainly; with and without
    the quiet findings, and with another quiet_after."""
    accounts = ["6900", "6901"]
    with backend.fresh().open(clock=lambda: T0) as ledger:
        world(ledger)
        ledger.record(dl.AdAccount(id="6901", name="Brand 2", region="US"))
        auths: list[dl.SparkAuthorization] = []
        marks: dict[str, tuple[datetime, int]] = {}  # account -> (swept at, codes recorded before)

        def sweep() -> None:
            for account, at in zip(accounts, swept, strict=True):
                if at is not None:
                    name = "Brand" if account == "6900" else "Brand 2"
                    record = dl.AdAccount(
                        id=account,
                        name=name,
                        region="US",
                        business_center_id="bc1" if account == "6900" else None,
                        last_swept_at=T0 + at,
                    )
                    ledger.record(record, source="tiktok")
                    marks[account] = (T0 + at, len(auths))

        for n, (start, days, revoked, account) in enumerate(codes):
            if n == before_sweep:
                sweep()
            auths.append(
                code(
                    ledger,
                    n,
                    post_id=POSTS[n % 2],
                    starts_at=T0 + start,
                    expires_at=T0 + start + days * DAY,
                    revoked_at=None if revoked is None else T0 + start + abs(revoked) / 4,
                    ad_account_id=accounts[account],
                )
            )
        if before_sweep >= len(codes):
            sweep()
        reported = []
        for i, found in enumerate(bindings):
            if found is None or i // 2 >= len(auths):
                continue
            bound, unbound = found
            reported.append(
                dl.SparkBinding(
                    authorization_id=auths[i // 2].id,
                    ad_account_id=accounts[i % 2],
                    bound_at=T0 + bound,
                    unbound_at=None if unbound is None else T0 + bound + abs(unbound),
                )
            )
        ledger.record_all(reported, source="tiktok")
        spark_ads = []
        for i, (which, account, post, begins, ends, synced) in enumerate(ads):
            until = None if begins is not None and ends is not None and ends <= begins else ends
            record = dl.SparkAd(
                id=f"ad{i}",
                ad_account_id=accounts[account],
                authorization_id=NO_CODE if which < 0 else auths[which % len(auths)].id,
                intended_post_id=POSTS[post],
                runs_from=_at(begins),
                runs_until=_at(until),
            )
            ledger.record(record, source="tiktok" if synced else "api")
            spark_ads.append((record, synced))
        posts = [dl.Post(id=p, creator_id="maya", kind="VIDEO") for p in POSTS]

        def got(quiet: bool, quiet_after: str = "30d") -> list[tuple[object, ...]]:
            found = ledger.findings(within="7d", include_quiet=quiet, quiet_after=quiet_after)
            return sorted(
                (
                    (
                        f.kind,
                        f.authorization_id,
                        f.ad_id,
                        f.ad_account_id,
                        f.severity,
                        f.affected_ad_ids,
                    )
                    for f in found
                    if f.kind not in LISTING_KINDS and not f.kind.startswith("REGION")
                ),
                key=repr,
            )

        for quiet, after in ((False, 30), (True, 30), (False, 10)):
            expected = listing_reference(
                auths, spark_ads, posts, reported, marks, T0, T0 + 7 * DAY, after * DAY, quiet
            )
            assert got(quiet, f"{after}d") == sorted(expected, key=repr), (quiet, after)


def listing_reference(
    auths: list[dl.SparkAuthorization],
    ads: list[tuple[dl.SparkAd, bool]],
    posts: list[dl.Post],
    bindings: list[dl.SparkBinding],
    marks: dict[str, tuple[datetime, int]],
    t: datetime,
    h: datetime,
    quiet_after: timedelta,
    include_quiet: bool,
) -> list[tuple[object, ...]]:
    """DESIGN §6's rules of this round, over :func:`tiktok_reference` (which knows replaced)."""
    spark_ads = [d for d, _ in ads]
    out = tiktok_reference(auths, spark_ads, posts, bindings, t, h)

    def active(d: dl.SparkAd) -> bool:
        return (d.runs_from is None or d.runs_from <= t) and (
            d.runs_until is None or d.runs_until > t
        )

    def scheduled(d: dl.SparkAd) -> bool:
        return d.runs_from is not None and d.runs_from > t

    def bound(b: dl.SparkBinding) -> bool:
        return b.bound_at <= t and (b.unbound_at is None or b.unbound_at > t)

    def replaced(n: int, a: dl.SparkAuthorization) -> bool:
        mine = {a.ad_account_id} | {b.ad_account_id for b in bindings if b.authorization_id == a.id}
        return any(
            o.post_id == a.post_id
            and (o.starts_at, o.expires_at, m) > (a.starts_at, a.expires_at, n)
            and any(
                b.authorization_id == o.id and b.ad_account_id in mine and bound(b)
                for b in bindings
            )
            for m, o in enumerate(auths)
        )

    cutoff = t - quiet_after
    for n, a in enumerate(auths):
        using = [d for d in spark_ads if d.authorization_id == a.id and (active(d) or scheduled(d))]
        live_ads = tuple(d.id for d in using if active(d))
        revoked = a.revoked_at is not None and a.revoked_at <= t
        deadline = a.revoked_at if revoked else a.expires_at
        if not include_quiet and not using and deadline is not None and deadline < cutoff:
            out = [f for f in out if not (f[1] == a.id and f[0] in ("REVOKED", "EXPIRED"))]
        live = not revoked and a.starts_at <= t < a.expires_at
        if not live or replaced(n, a):
            continue
        account = str(a.ad_account_id)
        mark = marks.get(account)
        never_bound = not any(
            (b.authorization_id, b.ad_account_id) == (a.id, account) for b in bindings
        )
        if mark is not None and mark[0] <= t and n < mark[1] and never_bound:
            severity = "ERROR" if live_ads else "WARNING"
            out.append(("NOT_LISTED", a.id, None, account, severity, live_ads))
        if any(
            b.authorization_id == a.id and bound(b) and b.bound_at <= t - 14 * DAY for b in bindings
        ) and not any(d.authorization_id == a.id for d in spark_ads):
            out.append(("UNUSED_CODE", a.id, None, account, "INFO", ()))
    codes = {a.id: a for a in auths}
    for d, synced in ads:
        if not synced or not (active(d) or scheduled(d)):
            continue
        covered = any(
            bound(b)
            and b.ad_account_id == d.ad_account_id
            and codes[b.authorization_id].post_id == d.intended_post_id
            for b in bindings
        )
        unbound = any(
            (b.authorization_id, b.ad_account_id) == (d.authorization_id, d.ad_account_id)
            and b.unbound_at is not None
            and b.unbound_at <= t
            for b in bindings
        )
        if not covered and not unbound:
            severity = "ERROR" if active(d) else "WARNING"
            code_id = None if d.authorization_id == NO_CODE else d.authorization_id
            out.append(("AD_WITHOUT_CODE", code_id, d.id, d.ad_account_id, severity, (d.id,)))
    return out
