"""Access: who holds which role now, and offboarding as a preview and as applied."""

from __future__ import annotations

import delvia_ledger as dl

from .conftest import T0
from .test_checks import DAY, ad, code, world


def test_access_and_roles_of_list_only_active_grants(ledger: dl.Ledger) -> None:
    world(ledger)
    ledger.record_all(
        [
            dl.Person(id="bo", name="Bo"),
            dl.RoleGrant(
                id="old",
                person_id="bo",
                scope="ad_account:6900",
                role="OPERATOR",
                granted_at=T0 - 9 * DAY,
                ended_at=T0 - DAY,
            ),
            dl.RoleGrant(
                id="soon",
                person_id="bo",
                scope="ad_account:6900",
                role="ANALYST",
                granted_at=T0 + DAY,
            ),
        ]
    )
    assert [g.id for g in ledger.access("ad_account:6900")] == ["g1"]
    assert ledger.roles_of("bo") == [] and [
        g.id for g in ledger.roles_of("bo", now=T0 + 2 * DAY)
    ] == ["soon"]


def test_offboarding_previews_then_applies(ledger: dl.Ledger) -> None:
    world(ledger)
    auth = code(ledger)
    ad(ledger, auth, owner_id="ana")
    before = ledger.digest()
    plan = ledger.offboard("ana", at=T0)
    assert ledger.digest() == before  # a preview writes nothing
    assert [g.id for g in plan.grants_ending] == ["g1"]
    assert plan.authorizations_owned == (auth.id,) and plan.ads_owned == ("ad1",)
    assert plan.accounts_left_without_admin == ("6900",)
    assert "Ana" in str(plan)
    plan.apply()
    assert ledger.get(dl.Person, "ana").left_at == T0  # type: ignore[union-attr]
    assert ledger.get(dl.RoleGrant, "g1").ended_at == T0  # type: ignore[union-attr]
    assert {f.kind for f in ledger.findings()} >= {"NO_ADMIN", "NO_OPERATOR", "OWNER_MISSING"}
    assert ledger.verify().ok
