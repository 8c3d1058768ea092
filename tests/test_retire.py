"""Retired codes raise nothing (DESIGN §9): the checks against a reference model (the findings
of the same ledger with the retired codes' findings taken out), on every backend."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.convert import to_micros
from delvia_ledger.rules import code_retired, retired_at
from delvia_ledger.storage import predicate
from tests.conftest import T0, Backend, Clock

SHEET = Path(__file__).parent / "data" / "team-sheet.csv"
NOW = T0 + timedelta(days=10)


def _team(ledger: dl.Ledger) -> list[str]:
    ledger.record_all([
        dl.AdAccount(id="6900000000000000001", name="Brand US", region="US"),
        dl.AdAccount(id="6900000000000000002", name="Brand UK", region="GB"),
        dl.Person(id="p_ana", name="Ana Lima"),
        dl.Person(id="p_ben", name="Ben Okafor"),
        dl.Person(id="p_chloe", name="Chloe Park"),
        dl.RoleGrant(id="ana-admin", person_id="p_ana", scope="ad_account:6900000000000000001",
                     role="ADMIN", granted_at="2026-01-01"),
    ])  # fmt: skip
    ledger.import_sheet(SHEET, date_order="MDY")
    ads = [  # an active ad on a few codes, so ad findings are in the mix too
        dl.SparkAd(id=f"ad_{i}", ad_account_id=a.ad_account_id or "6900000000000000001",
                   authorization_id=a.id, intended_post_id=a.post_id, runs_from="2026-11-01")
        for i, a in enumerate(list(ledger.records(dl.SparkAuthorization))[:8])
    ]  # fmt: skip
    ledger.record_all(ads)
    return sorted(a.id for a in ledger.records(dl.SparkAuthorization))


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_retired_codes_raise_nothing_and_unretired_ones_raise_it_all_again(
    ledger: dl.Ledger, data: st.DataObject
) -> None:
    ids = getattr(ledger, "_team_ids", None)
    if ids is None:  # the team, once per ledger; each example leaves it as it found it
        ids = _team(ledger)
        ledger._team_ids = ids  # type: ignore[attr-defined]
    before = ledger.findings(now=NOW, within="14d")
    assert any(f.authorization_id for f in before)
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=12))
    days = data.draw(st.lists(st.integers(-20, 20), min_size=len(chosen), max_size=len(chosen)))
    when = {a: NOW + timedelta(days=d) for a, d in zip(chosen, days, strict=True)}
    for auth_id, at in when.items():
        ledger.retire(auth_id, "campaign ended", at=at)
    retired = {a for a, at in when.items() if at <= NOW}  # the model: retired by NOW
    expected = [f for f in before if f.authorization_id not in retired]  # the reference model
    # as multisets: a new version moves its code among equal keys (ties go by seq)
    assert Counter(ledger.findings(now=NOW, within="14d")) == Counter(expected)
    assert all(
        f.authorization_id not in retired
        for r in ledger.reminders(now=NOW, within="14d")
        for f in r.findings
    )
    for auth_id in chosen:
        ledger.unretire(auth_id)
    assert Counter(ledger.findings(now=NOW, within="14d")) == Counter(before)
    kept = predicate(retired_at(to_micros(NOW)), ("retired_at",))  # the rule's Python twin
    assert {a for a, at in when.items() if kept((to_micros(at),))} == retired
    named = predicate(code_retired(retired), ("id",))
    assert {a for a in ids if named((a,))} == retired


def test_a_retirement_shows_in_history_and_as_of_sees_the_ledger_before_it(
    ledger: dl.Ledger,
) -> None:
    ids = _team(ledger)
    before = ledger.findings(now=NOW)
    seq = ledger.digest().seq
    ledger.retire(ids[0], at=T0)
    assert [cast(dl.SparkAuthorization, e.record).retired_at for e in ledger.history(dl.SparkAuthorization, ids[0])][-2:] == [
        None, T0,
    ]  # fmt: skip
    assert ledger.as_of(seq=seq).findings(now=NOW) == before


def _as_version_4(backend: Backend, location: str) -> None:
    """Take a ledger back to schema version 4: no retirement columns (as main wrote it)."""
    table = "spark_authorization_versions"
    if backend.name == "sqlite":
        conn = sqlite3.connect(location, isolation_level=None)
        conn.execute(f"DROP TRIGGER {table}_refuse_update")
        conn.execute(f"DROP INDEX idx_{table}_retired_at")
        for column in ("retired_at", "retired_reason"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 4")
        conn.close()
        return
    import psycopg

    with psycopg.connect(location, autocommit=True) as server:
        for column in ("retired_at", "retired_reason"):  # CASCADE: its UPDATE guard too
            server.execute(f"ALTER TABLE {table} DROP COLUMN {column} CASCADE")
        server.execute("ALTER TABLE ledger_schema DISABLE TRIGGER ledger_schema_refuse_update")
        server.execute("UPDATE ledger_schema SET schema_version = 4")
        server.execute("ALTER TABLE ledger_schema ENABLE TRIGGER ledger_schema_refuse_update")


def test_a_version_4_ledger_gains_the_retirement_columns_once(backend: Backend) -> None:
    location = backend.location
    with dl.Ledger.open(location, clock=Clock()) as ledger:
        ids = _team(ledger)
        before = ledger.findings(now=NOW)
        digest = ledger.digest()
    _as_version_4(backend, location)
    with dl.Ledger.open(location, clock=Clock()) as ledger:  # migrated here, once
        assert ledger.digest() == digest and ledger.verify(deep=True).ok
        assert ledger.findings(now=NOW) == before
        ledger.retire(ids[0], "campaign ended", at=T0)
        assert all(f.authorization_id != ids[0] for f in ledger.findings(now=NOW))
        assert ledger.verify(deep=True).ok
