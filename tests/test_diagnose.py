"""Diagnose: the four causes of DESIGN §1's troubleshooting table, plus an unknown code."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import attrs

import delvia_ledger as dl

from .builders import DAY, code, world
from .conftest import T0

RAW = "#code-0000-xyz="


def statuses(d: dl.Diagnosis) -> list[str]:
    return [str(s.status) for s in d.steps]


def test_a_healthy_code_passes_every_step(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger)
    d = ledger.diagnose(RAW, post_id="7301")
    assert d.ok and statuses(d) == ["ok", "ok", "ok", "ok"] and d.findings == ()
    assert RAW not in str(d) and "OK" in str(d)


def test_expired_code(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger, starts_at=T0 - 9 * DAY, expires_at=T0)
    d = ledger.diagnose(RAW, post_id="7301")
    assert not d.ok and statuses(d)[:2] == ["ok", "failed"]
    assert [(f.kind, f.severity) for f in d.findings] == [("EXPIRED", "ERROR")]


def test_revoked_code(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger, revoked_at=T0 - timedelta(hours=1))
    assert [f.kind for f in ledger.diagnose(RAW).findings] == ["REVOKED"]


def test_wrong_post(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger)
    d = ledger.diagnose(RAW, post_id="7302")
    assert statuses(d) == ["ok", "ok", "failed", "ok"]
    assert [(f.kind, f.severity) for f in d.findings] == [("WRONG_POST", "ERROR")]


def test_region_mismatch_and_unconfirmed(ledger: dl.Ledger) -> None:
    world(ledger, creator_region="US", account_region="DE")
    code(ledger)
    d = ledger.diagnose(RAW, post_id="7301")
    assert statuses(d) == ["ok", "ok", "ok", "unconfirmed"] and not d.ok
    assert [(f.kind, f.severity) for f in d.findings] == [("REGION_UNCONFIRMED", "INFO")]
    ledger.record(dl.RegionRule(creator_region="US", account_region="DE", verdict="INCOMPATIBLE"))
    d = ledger.diagnose(RAW, post_id="7301")
    assert statuses(d)[3] == "failed" and [f.kind for f in d.findings] == ["REGION_INCOMPATIBLE"]


def test_steps_that_cannot_be_decided_say_not_checked(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger, ad_account_id=None, expires_at=T0 + 2 * DAY)
    d = ledger.diagnose(RAW)
    assert statuses(d) == ["ok", "ok", "not checked", "not checked"] and not d.ok
    assert [(f.kind, f.severity) for f in d.findings] == [("EXPIRING", "WARNING")]
    assert statuses(ledger.diagnose(RAW, ad_account_id="nope"))[3] == "not checked"


def test_unknown_code(ledger: dl.Ledger) -> None:
    world(ledger)
    d = ledger.diagnose("#never-seen-code=", post_id="7301")
    assert statuses(d) == ["failed", "not checked", "not checked", "not checked"]
    assert [f.kind for f in d.findings] == ["UNKNOWN_CODE"] and "never-seen" not in str(d)


def test_a_code_revoked_by_another_process_mid_diagnosis_is_read_from_one_snapshot(
    tmp_path: Path,
) -> None:
    """Another writer revokes the code while ``diagnose`` runs (here: when it asks its clock
    for now, after its first reads may have begun). Every step must come from one state of the
    file, before or after the revocation, never half of each."""
    path = tmp_path / "race.db"
    other = dl.Ledger.open(path, clock=lambda: T0)
    revoke: list[dl.SparkAuthorization] = []

    def clock() -> datetime:
        while revoke:  # the other process writes, once, between two reads of this one
            other.record(attrs.evolve(revoke.pop(), revoked_at=T0 - timedelta(hours=1)))
        return T0

    ledger = dl.Ledger.open(path, clock=clock)
    world(ledger)
    auth = code(ledger)
    revoke.append(auth)
    d = ledger.diagnose(RAW, post_id="7301")
    assert not revoke, "the other writer ran during the diagnosis"
    assert d.authorization is not None
    live = d.steps[1]
    if d.authorization.revoked_at is None:  # the state before the revocation
        assert live.status is dl.StepStatus.PASSED and d.findings == ()
    else:  # the state after it: the step and the finding say so, from the same record
        assert live.status is dl.StepStatus.FAILED and live.detail.startswith("revoked at")
        assert [f.kind for f in d.findings] == ["REVOKED"]
    # and afterwards, the revocation is what both see
    assert [f.kind for f in ledger.diagnose(RAW).findings] == ["REVOKED"]
    other.close()
    ledger.close()


def test_a_diagnosis_issues_at_most_five_statements(tmp_path: Path) -> None:
    """The code by its fingerprint, its neighbours at once and the region rules, in one
    snapshot: BEGIN, three reads, COMMIT, whatever the ledger holds around it."""
    ledger = dl.Ledger.open(tmp_path / "count.db", clock=lambda: T0)
    world(ledger)
    auth = code(ledger)
    for n in range(1, 30):  # a ledger bigger than the code: none of it is read
        code(ledger, n, post_id="7302", owner_id=None)
    ledger.record_all(
        [
            dl.SparkBinding(authorization_id=auth.id, ad_account_id="6900", bound_at=T0 - DAY),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO", status="USER_DELETE"),
        ]
    )
    statements: list[str] = []
    ledger._store.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    d = ledger.diagnose(RAW, post_id="7301", ad_account_id="6900")
    ledger._store.conn.set_trace_callback(None)  # type: ignore[attr-defined]
    assert [step.name for step in d.steps if step.status is dl.StepStatus.FAILED] == ["live"]
    assert [f.kind for f in d.findings] == ["POST_UNAVAILABLE"]  # the neighbours were read
    assert [s.split()[0] for s in statements] == ["BEGIN", "SELECT", "SELECT", "SELECT", "COMMIT"]
    whole = ("FROM creator_versions v ", "FROM ad_account_versions v ", "FROM person_versions v ")
    assert not any(table in s for s in statements for table in whole), "read by id, not whole"
