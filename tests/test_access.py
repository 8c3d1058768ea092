"""Access: who holds which role now, and offboarding as a preview and as applied."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import delvia_ledger as dl

from .builders import DAY, ad, code, world
from .conftest import T0


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


# --- hardening (issue 12): a plan applies only to the ledger it previewed ---------------------


def test_a_plan_refuses_to_undo_an_edit_made_since_the_preview(ledger: dl.Ledger) -> None:
    """apply() re-recorded the grant as it was at preview time, undoing the new expiry."""
    world(ledger)
    plan = ledger.offboard("ana", at=T0 + DAY)
    g1 = ledger.get(dl.RoleGrant, "g1")
    assert g1 is not None
    edited = attrs.evolve(g1, expires_at=T0 + 3 * DAY)
    ledger.record(edited)
    before = ledger.digest()
    with pytest.raises(dl.LedgerError, match=r"out of date.*grant 'g1' \(changed\).*preview again"):
        plan.apply()
    assert ledger.digest() == before  # nothing written
    assert ledger.get(dl.RoleGrant, "g1") == edited
    ledger.offboard("ana", at=T0 + DAY).apply()  # a fresh preview applies
    grant = ledger.get(dl.RoleGrant, "g1")
    assert grant is not None and grant.ended_at == T0 + DAY and grant.expires_at == T0 + 3 * DAY


def test_a_plan_refuses_when_the_person_or_their_grants_changed(ledger: dl.Ledger) -> None:
    world(ledger)
    plan = ledger.offboard("ana", at=T0 + DAY)
    ledger.record(dl.Person(id="ana", name="Ana Lima", email="ana@brand.example"))
    with pytest.raises(dl.LedgerError, match="person 'ana'"):
        plan.apply()
    plan = ledger.offboard("ana", at=T0 + DAY)
    ledger.record(
        dl.RoleGrant(
            id="g2", person_id="ana", scope="ad_account:6900", role="OPERATOR", granted_at=T0
        )
    )
    with pytest.raises(dl.LedgerError, match=r"grant 'g2' \(new\)"):
        plan.apply()
    plan = ledger.offboard("ana", at=T0 + DAY)
    g2 = ledger.get(dl.RoleGrant, "g2")
    assert g2 is not None
    ledger.record(attrs.evolve(g2, ended_at=T0))
    with pytest.raises(dl.LedgerError, match=r"grant 'g2' \(no longer active\)"):
        plan.apply()
    assert ledger.get(dl.Person, "ana").left_at is None  # type: ignore[union-attr]


def test_an_unchanged_plan_applies_once(ledger: dl.Ledger, clock: Any) -> None:
    world(ledger)
    plan = ledger.offboard("ana", at=T0)
    clock.advance(hours=1)
    ledger.record(dl.Creator(id="other", region=None))  # unrelated: the plan still holds
    plan.apply()
    assert ledger.get(dl.Person, "ana").left_at == T0  # type: ignore[union-attr]
    with pytest.raises(dl.LedgerError, match="out of date"):
        plan.apply()  # the person has left since: applying again would be a different plan


@pytest.mark.parametrize("bad", [5, None, ["ana"], {"id": "ana"}])
def test_access_arguments_that_are_not_text_are_value_errors(
    ledger: dl.Ledger, bad: object
) -> None:
    """offboard(['ana']) ended in a sqlite3 error; access(5) quietly answered []."""
    world(ledger)
    for call in (ledger.offboard, ledger.access, ledger.roles_of):
        with pytest.raises(ValueError, match="expected text"):
            call(bad)  # type: ignore[arg-type]
