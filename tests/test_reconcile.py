"""What an import keeps of what the ledger knows (DESIGN §9), beyond the cases in test_tiktok:
fields a payload lacks, a code's first account, a post's creator, migrated encodings."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import delvia_ledger as dl

from .builders import ADVERTISER, CODE, envelope, item

SECOND = "6900000000000000002"


def accounts(ledger: dl.Ledger) -> None:
    ledger.record_all(
        [
            dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"),
            dl.AdAccount(id=SECOND, name="Brand GB", region="GB"),
        ]
    )


def test_a_payload_without_item_type_keeps_the_recorded_kind(ledger: dl.Ledger) -> None:
    accounts(ledger)
    ledger.record_all(
        [
            dl.Creator(id="maya", region="US", tiktok_identity_id="7000000000000000001"),
            dl.Post(id="7301000000000000001", creator_id="maya", kind="CAROUSEL"),
        ]
    )
    official: dict[str, Any] = item()
    del official["item_info"]["item_type"]  # TikTok's own list example sends none
    ledger.import_tiktok(envelope({"list": [official]}), advertiser_id=ADVERTISER)
    post = ledger.get(dl.Post, "7301000000000000001")
    assert post is not None and post.kind == "CAROUSEL"
    assert len(ledger.history(dl.Post, "7301000000000000001")) == 2  # status and caption only


def test_a_creator_side_import_never_moves_a_codes_account(ledger: dl.Ledger) -> None:
    accounts(ledger)
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    auth = ledger.authorization_for(CODE)
    assert auth is not None and auth.ad_account_id == ADVERTISER
    status = {
        "item_id": auth.post_id,
        "auth_code": CODE,
        "auth_code_start_time": "2026-11-01 10:00:00",
        "auth_code_end_time": "2026-12-01 10:00:00",
        "auth_code_status": "IN_USE",
    }
    ledger.import_tiktok(envelope(status), creator_id=auth.creator_id, advertiser_id=SECOND)
    kept = ledger.authorization_for(CODE)
    assert kept is not None and kept.ad_account_id == ADVERTISER


def test_a_known_posts_creator_wins_over_a_later_identity_link(ledger: dl.Ledger) -> None:
    """Imported first (creator id = identity id), then the team records its own linked id:
    the next import keeps each post with its creator instead of failing."""
    accounts(ledger)
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    ledger.record(dl.Creator(id="yuki", region="JP", tiktok_identity_id="7000000000000000001"))
    again = ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    assert again.written == 0
    post = ledger.get(dl.Post, "7301000000000000001")
    assert post is not None and post.creator_id == "7000000000000000001"


def test_re_recording_a_record_of_a_migrated_file_writes_nothing(tmp_path: Path) -> None:
    """An old file stored '@maya.makes'; the same creator recorded again is no new version."""
    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "data" / "ledger-v0.1.0.db", path)
    old_payload = (
        sqlite3.connect(path)
        .execute(
            "SELECT payload FROM entries WHERE type = 'Creator' AND id = '7000000000000000001' "
            "ORDER BY seq DESC LIMIT 1"
        )
        .fetchone()[0]
    )
    assert '"@maya.makes"' in old_payload
    with dl.Ledger.open(path) as ledger:
        maya = ledger.get(dl.Creator, "7000000000000000001")
        assert maya is not None
        before = ledger.seq
        assert ledger.record(attrs.evolve(maya)).seq <= before
        assert ledger.record_all([maya]).written == 0
        assert ledger.seq == before
        changed = ledger.record(attrs.evolve(maya, display_name="Maya M."))
        assert changed.seq == before + 1


def test_region_pairs_come_from_bindings_bound_at_now(ledger: dl.Ledger, clock: Any) -> None:
    accounts(ledger)
    ledger.record_all(
        [
            dl.Creator(id="maya", region="US", tiktok_identity_id="7000000000000000001"),
            dl.RegionRule(creator_region="US", account_region="GB", verdict="INCOMPATIBLE"),
        ]
    )
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    assert ledger.region_incompatible() == []
    bound = clock.advance(hours=1)
    ledger.import_tiktok(envelope(item()), advertiser_id=SECOND)  # applied in the GB account too
    [finding] = ledger.region_incompatible()
    assert (finding.kind, finding.ad_account_id) == (dl.FindingKind.REGION_INCOMPATIBLE, SECOND)
    assert ledger.region_incompatible(now=bound - timedelta(seconds=1)) == []  # not bound yet then
    binding = ledger.get(dl.SparkBinding, f"{finding.authorization_id}@{SECOND}")
    assert binding is not None
    gone = clock.advance(hours=1)
    ledger.record(attrs.evolve(binding, unbound_at=gone))
    assert ledger.region_incompatible() == []  # unbound exactly at now: no longer a pair
    assert [f.ad_account_id for f in ledger.as_of(recorded_at=bound).region_incompatible()] == [
        SECOND
    ]


def test_a_binding_and_a_notice_need_what_they_refer_to(ledger: dl.Ledger) -> None:
    accounts(ledger)
    before = ledger.digest()
    binding = dl.SparkBinding(
        authorization_id="auth_nowhere", ad_account_id=ADVERTISER, bound_at="2026-11-01T00:00:00Z"
    )
    with pytest.raises(dl.MissingReferenceError, match="authorization_id='auth_nowhere'"):
        ledger.record(binding)
    notice = dl.Notice(
        person_id="p_nobody", channel="slack", sent_at="2026-11-01T00:00:00Z", finding_keys=()
    )
    with pytest.raises(dl.MissingReferenceError, match="person_id='p_nobody'"):
        ledger.record(notice)
    assert ledger.digest() == before
