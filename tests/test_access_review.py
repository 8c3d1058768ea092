"""Access reviews (issue 24 item 3): the sheet, a signed review in the chain, decisions to
remove as findings until TikTok stops listing the role, REVIEW_DUE, and the CLI round trip."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.findings import FindingKind
from delvia_ledger.records import ACTUAL, AccessReview
from delvia_ledger.sync import TikTokClient
from tests.conftest import Clock
from tests.fake_tiktok import ADVERTISER, BC, TOKEN, FakeTikTok, serve_business_center

ADMIN0 = "tiktok-user-6900000000000000000"


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok() as started:
        serve_business_center(started, members=6, pending=0)
        yield started


@pytest.fixture
def synced(ledger: dl.Ledger, fake: FakeTikTok, clock: Clock) -> dl.Ledger:
    """A ledger with one account in the BC, one approved grant of its own, and one sync."""
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US", business_center_id=BC))
    ledger.record(dl.Person(id="p_ana", name="Ana Lima", email="member3@brand.example"))
    ledger.record(
        dl.RoleGrant(
            id="g_ana",
            person_id="p_ana",
            scope=f"ad_account:{ADVERTISER}",
            role="OPERATOR",
            granted_at=clock.now,
        )
    )
    with TikTokClient(TOKEN, base_url=fake.url) as client:
        ledger.sync_access(client, BC)
    clock.advance(hours=1)
    return ledger


def _sync(ledger: dl.Ledger, fake: FakeTikTok) -> None:
    with TikTokClient(TOKEN, base_url=fake.url) as client:
        ledger.sync_access(client, BC)


def test_the_sheet_has_one_row_per_person_role_and_scope_readable_without_ids(
    synced: dl.Ledger,
) -> None:
    rows = synced.access_review()
    ana = [r for r in rows if r.person_id == "p_ana" and r.scope == f"ad_account:{ADVERTISER}"]
    assert len(ana) == 1 and ana[0].intended and ana[0].actual and ana[0].role == "OPERATOR"
    assert ana[0].person == "Ana Lima" and ana[0].scope_name == "Brand US"
    assert len(ana[0].grant_ids) == 2  # the approved one and the one TikTok lists
    assert len({(r.person_id, r.role, r.scope) for r in rows}) == len(rows)
    only_bc = synced.access_review(f"business_center:{BC}")
    assert {r.scope for r in only_bc} == {f"business_center:{BC}", f"ad_account:{ADVERTISER}"}
    with pytest.raises(ValueError, match="scope"):
        synced.access_review("team:x")


def test_a_signed_review_is_an_entry_verify_covers_and_a_removal_is_a_finding_until_tiktok_drops_it(
    synced: dl.Ledger, fake: FakeTikTok, clock: Clock
) -> None:
    operator = next(
        g
        for g in synced.records(dl.RoleGrant)
        if g.source == ACTUAL and g.person_id == "tiktok-user-6900000000000000004"
    )
    digest = synced.digest()
    entry = synced.sign_review(
        ADMIN0, decisions=[f"remove {operator.id} -- contractor, project over", "keep g_ana"]
    )
    review = entry.record
    assert isinstance(review, AccessReview) and review.digest == str(digest)
    assert synced.verify().ok and synced.verify(digest=digest).ok
    assert synced.records(AccessReview) and review.decided[operator.id][0] == "remove"
    clock.advance(hours=1)
    flagged = [f for f in synced.findings() if f.grant_id == operator.id]
    assert [f.kind for f in flagged] == [FindingKind.UNAPPROVED_ACCESS]
    assert "removal decided in the access review of" in flagged[0].detail
    fake.asset_members[(BC, ADVERTISER)] = [
        m for m in fake.asset_members[(BC, ADVERTISER)] if m["user_id"] != "69" + "0" * 16 + "4"
    ]
    _sync(synced, fake)
    clock.advance(hours=1)
    assert not [f for f in synced.findings() if f.grant_id == operator.id]
    changes = synced.changes(since=entry.seq)
    ended = [c for c in changes.entries if c.id == operator.id]
    assert ended and "changed since the review of" in ended[0].detail


def test_removing_an_approved_grant_ends_it_and_bad_decisions_write_nothing(
    synced: dl.Ledger,
) -> None:
    head = synced.digest()
    with pytest.raises(ValueError, match="must read"):
        synced.sign_review(ADMIN0, decisions=["drop g_ana"])
    with pytest.raises(dl.LedgerError, match="no grant 'nope'"):
        synced.sign_review(ADMIN0, decisions=["remove nope"])
    with pytest.raises(dl.LedgerError, match="by='ghost'"):
        synced.sign_review("ghost")
    assert synced.digest() == head
    synced.sign_review(ADMIN0, decisions=["remove g_ana -- moved teams"])
    grant = synced.get(dl.RoleGrant, "g_ana")
    assert grant is not None and grant.ended_at is not None


def test_review_due_after_ninety_days(synced: dl.Ledger, clock: Clock) -> None:
    assert not [f for f in synced.findings() if f.kind is FindingKind.REVIEW_DUE]
    synced.sign_review(ADMIN0)
    clock.advance(days=89)
    assert not [f for f in synced.findings() if f.kind is FindingKind.REVIEW_DUE]
    clock.advance(days=2)
    due = [f for f in synced.findings() if f.kind is FindingKind.REVIEW_DUE]
    assert len(due) == 1 and due[0].owner_id == ADMIN0


def _run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DELVIA_LEDGER_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "delvia_ledger", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_cli_exports_signs_the_filled_in_sheet_and_lists_it(
    tmp_path: Path, fake: FakeTikTok
) -> None:
    db = tmp_path / "access.db"
    with dl.Ledger.open(db) as ledger:
        ledger.record(
            dl.AdAccount(id=ADVERTISER, name="Brand US", region="US", business_center_id=BC)
        )
        _sync(ledger, fake)
    exported = _run(db, "review", "export")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows and {"person", "role", "scope_name", "decision", "note"} <= set(rows[0])
    assert all(r["person"] and r["scope_name"] for r in rows)
    for row in rows:
        if row["person_id"].endswith("5") and row["role"] == "OPERATOR":
            row["decision"], row["note"] = "remove", "left the project"
    sheet = tmp_path / "decided.csv"
    with sheet.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bad = tmp_path / "bad.csv"
    bad.write_text(sheet.read_text().replace("remove", "maybe"), encoding="utf-8")
    refused = _run(db, "review", "sign", "--by", ADMIN0, "--decisions", str(bad))
    assert refused.returncode == 2 and "'maybe' is not keep or remove" in refused.stderr
    signed = _run(db, "review", "sign", "--by", ADMIN0, "--decisions", str(sheet))
    assert signed.returncode == 0, signed.stderr
    assert "1 to remove" in signed.stdout
    history = _run(db, "review", "history")
    assert (history.returncode == 0 and ADMIN0 in history.stdout) or "member0" in history.stdout
    assert "next review (every 90d): due" in history.stdout
    markdown = _run(db, "review", "export", "--format", "md")
    assert markdown.returncode == 0 and "| person" in markdown.stdout
    verify = _run(db, "verify")
    assert verify.returncode == 0
