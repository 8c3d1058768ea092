"""``sync_tiktok(..., ads=True)`` against the fake TikTok over real HTTP (issue 21 item 2): Spark
Ads recorded from ``/ad/get/`` and ``/adgroup/get/`` with no ``SparkAd`` typed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

import delvia_ledger as dl
from delvia_ledger.sync import TikTokClient
from tests.fake_tiktok import (
    ADVERTISER,
    TOKEN,
    FakeTikTok,
    make_adgroups,
    make_ads,
    make_items,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    posts = make_items(60)
    with FakeTikTok(items={ADVERTISER: posts}) as started:
        started.ads[ADVERTISER] = make_ads(posts[:30])
        started.adgroups[ADVERTISER] = make_adgroups()
        yield started


@pytest.fixture
def client(fake: FakeTikTok) -> Iterator[TikTokClient]:
    with TikTokClient(TOKEN, base_url=fake.url, sleep=lambda s: None) as opened:
        yield opened


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[dl.Ledger]:
    with dl.Ledger.open(tmp_path / "ads.db", clock=lambda: NOW) as opened:
        opened.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
        yield opened


def ads_of(ledger: dl.Ledger) -> dict[str, dl.SparkAd]:
    return {ad.id: ad for ad in ledger.records(dl.SparkAd)}


def test_one_sync_records_each_spark_ad_linked_to_the_code_of_its_post(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    result = ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert (result.ads, result.ads_ended, result.ads_without_code) == (30, 0, 0)
    assert "; 30 Spark Ads, 0 ended, 0 without a code" in str(result)
    auths = {a.post_id: a.id for a in ledger.records(dl.SparkAuthorization)}
    ads = ads_of(ledger)
    assert len(ads) == 30
    for raw in fake.ads[ADVERTISER]:
        ad = ads[raw["ad_id"]]
        assert ad.authorization_id == auths[raw["tiktok_item_id"]]
        assert ad.intended_post_id == raw["tiktok_item_id"] and ad.ad_account_id == ADVERTISER
        assert ad.runs_from == datetime(2026, 11, 2, tzinfo=UTC)  # the ad group's schedule
        assert ad.runs_until == datetime(2027, 2, 1, tzinfo=UTC) and ad.paused_at is None
    again = ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert again.written == 0 and again.ads == 30  # nothing changed: nothing written


def test_a_paused_ad_is_paused_and_a_resumed_one_is_not(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    raw = fake.ads[ADVERTISER][3]
    raw.update(operation_status="DISABLE", modify_time="2026-11-20 08:00:00")
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert ads_of(ledger)[raw["ad_id"]].paused_at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    raw.update(operation_status="ENABLE", modify_time="2026-11-25 08:00:00")
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert ads_of(ledger)[raw["ad_id"]].paused_at is None


def test_an_ad_tiktok_stops_listing_ends_now_and_one_deleted_ends_when_deleted(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    gone = fake.ads[ADVERTISER].pop(0)["ad_id"]
    deleted = fake.ads[ADVERTISER][0]
    deleted.update(operation_status="DELETE", modify_time="2026-11-30 10:00:00")
    result = ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert result.ads_ended == 1 and result.ads == 29
    ads = ads_of(ledger)
    assert ads[gone].runs_until == NOW
    assert ads[deleted["ad_id"]].runs_until == datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_an_ad_on_a_post_without_a_code_is_recorded_as_ad_without_code(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    stranger = make_items(1, start=900)[0]
    [ad] = make_ads([stranger])
    ad["ad_id"] = "1899999999999999999"
    fake.ads[ADVERTISER].append(ad)
    result = ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert result.ads_without_code == 1
    recorded = ads_of(ledger)["1899999999999999999"]
    assert recorded.authorization_id == dl.records.NO_CODE and not recorded.has_code
    assert ledger.get(dl.Post, stranger["item_info"]["item_id"]) is not None  # recorded first


def test_an_ad_keeps_the_owner_a_person_gave_it(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    ledger.record(dl.Person(id="p_ana", name="Ana"))
    first = fake.ads[ADVERTISER][0]["ad_id"]
    ledger.record(attrs.evolve(ads_of(ledger)[first], owner_id="p_ana"))
    fake.ads[ADVERTISER][0]["operation_status"] = "DISABLE"
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert ads_of(ledger)[first].owner_id == "p_ana"
    assert ads_of(ledger)[first].paused_at is not None


def test_a_drifting_ads_listing_ends_no_ad(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    removals = [10]

    def remove_one(advertiser: str, page: int) -> None:
        if page == 1 and removals[0] > 0:
            removals[0] -= 1
            fake.ads[advertiser].pop()

    fake.after_page(remove_one, path="ad/get/")
    with TikTokClient(TOKEN, base_url=fake.url, page_size=10, sleep=lambda s: None) as small:
        result = ledger.sync_tiktok(small, ADVERTISER, ads=True)
    assert result.ads_ended == 0
    assert all(ad.runs_until != NOW for ad in ads_of(ledger).values())


def test_a_code_unbound_under_a_running_ad_shows_in_findings_with_no_ad_typed(
    ledger: dl.Ledger, client: TikTokClient, fake: FakeTikTok
) -> None:
    ledger.sync_tiktok(client, ADVERTISER, ads=True)
    del fake.items[ADVERTISER][2]  # post 2's code leaves TikTok's list; its ad still runs
    result = ledger.sync_tiktok(client, ADVERTISER, ads=True)
    assert result.unbound == 1
    ad_id = fake.ads[ADVERTISER][2]["ad_id"]
    unbound = [f for f in ledger.findings() if f.kind == dl.FindingKind.UNBOUND]
    assert any(f.ad_id == ad_id or ad_id in f.affected_ad_ids for f in unbound), unbound
    assert {f.severity for f in unbound} == {dl.Severity.ERROR}  # the ad is running
