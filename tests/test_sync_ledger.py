"""Ledger.sync_tiktok over real HTTP against the fake TikTok API: sweeps, unbinds, all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import delvia_ledger as dl
from delvia_ledger.sync import TikTokClient, VideoPage, Wait
from tests.conftest import Clock
from tests.fake_tiktok import (
    ADVERTISER,
    TOKEN,
    FakeTikTok,
    envelope,
    fake_tiktok_fixture,  # noqa: F401 (the fake_tiktok fixture)
    make_items,
)

OTHER = "7000000000000000002"


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(fake_tiktok: FakeTikTok, waits: list[float]) -> Iterator[TikTokClient]:
    with TikTokClient(
        TOKEN, base_url=fake_tiktok.url, max_retries=3, sleep=waits.append, random=lambda: 0.5
    ) as opened:
        yield opened


@pytest.fixture
def synced(ledger: dl.Ledger) -> dl.Ledger:
    """A ledger that holds the fake's two ad accounts."""
    ledger.record_all(
        [
            dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"),
            dl.AdAccount(id=OTHER, name="Brand GB", region="GB"),
        ]
    )
    return ledger


def bindings(ledger: dl.Ledger, account: str = ADVERTISER) -> dict[str, dl.SparkBinding]:
    return {
        b.authorization_id: b for b in ledger.records(dl.SparkBinding) if b.ad_account_id == account
    }


def auth_id(ledger: dl.Ledger, index: int) -> str:
    found = ledger.authorization_for(f"#fake-spark-{index:08d}=")
    assert found is not None
    return found.id


def test_a_sweep_of_7_pages_of_50_records_every_item(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(340)
    seen: list[VideoPage | Wait] = []
    result = synced.sync_tiktok(client, ADVERTISER, progress=seen.append)
    assert (result.pages, result.items, result.unbound, result.skipped) == (7, 340, 0, ())
    assert [page.number for page in seen if isinstance(page, VideoPage)] == [1, 2, 3, 4, 5, 6, 7]
    assert len(list(synced.records(dl.SparkAuthorization))) == 340
    assert len(list(synced.records(dl.Post))) == 340
    assert len(list(synced.records(dl.Creator))) == 40  # make_items cycles 40 identities
    assert all(b.tiktok_status == "AUTHORIZED" for b in bindings(synced).values())
    assert len(bindings(synced)) == 340
    # 40 creators + 340 × (post, code, binding)
    assert result.written == 40 + 3 * 340 == synced.digest().seq - 2
    assert str(result).startswith(f"advertiser {ADVERTISER}: 7 pages, 340 items, 1060 written")


def test_a_second_sync_with_nothing_changed_writes_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(120)
    synced.sync_tiktok(client, ADVERTISER)
    before = synced.digest()
    again = synced.sync_tiktok(client, ADVERTISER)
    assert (again.written, again.unbound, again.items) == (0, 0, 120)
    assert again.unchanged == 40 + 3 * 120
    assert synced.digest() == before


def test_an_item_gone_from_the_next_sweep_is_unbound_and_rebound_when_it_returns(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient, clock: Clock
) -> None:
    items = make_items(120)
    fake_tiktok.items[ADVERTISER] = items
    synced.sync_tiktok(client, ADVERTISER)
    gone = auth_id(synced, 7)
    post = synced.get(dl.SparkAuthorization, gone)
    assert post is not None
    synced.record(
        dl.SparkAd(
            id="ad-7",
            ad_account_id=ADVERTISER,
            authorization_id=gone,
            intended_post_id=post.post_id,
        )
    )
    assert synced.unbound() == []

    unbound_at = clock.advance(days=1)
    fake_tiktok.items[ADVERTISER] = items[:7] + items[8:]
    result = synced.sync_tiktok(client, ADVERTISER)
    assert (result.unbound, result.items, result.written) == (1, 119, 1)
    assert bindings(synced)[gone].unbound_at == unbound_at
    [finding] = synced.unbound()
    assert (finding.kind, finding.severity, finding.ad_id) == (
        dl.FindingKind.UNBOUND,
        dl.Severity.ERROR,
        "ad-7",
    )
    assert finding.deadline == unbound_at
    # still gone: nothing more to say
    assert synced.sync_tiktok(client, ADVERTISER).written == 0

    rebound_at = clock.advance(days=1)
    fake_tiktok.items[ADVERTISER] = items
    back = synced.sync_tiktok(client, ADVERTISER)
    assert (back.unbound, back.written) == (0, 1)
    binding = bindings(synced)[gone]
    assert (binding.bound_at, binding.unbound_at) == (rebound_at, None)
    assert synced.unbound() == []
    # the view of the day it was gone still says so
    assert [f.ad_id for f in synced.as_of(recorded_at=unbound_at).unbound(now=unbound_at)] == [
        "ad-7"
    ]


def test_only_the_swept_advertisers_bindings_are_unbound(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    items = make_items(10)
    fake_tiktok.items[ADVERTISER] = items
    fake_tiktok.items[OTHER] = items[:5]
    first, second = synced.sync_tiktok(client, [ADVERTISER, OTHER])
    assert (first.advertiser_id, first.items, second.advertiser_id, second.items) == (
        ADVERTISER,
        10,
        OTHER,
        5,
    )
    assert len(bindings(synced, OTHER)) == 5
    fake_tiktok.items[OTHER] = []
    assert synced.sync_tiktok(client, OTHER).unbound == 5
    assert all(b.unbound_at is None for b in bindings(synced, ADVERTISER).values())
    assert all(b.unbound_at is not None for b in bindings(synced, OTHER).values())


def test_several_advertisers_are_written_together_or_not_at_all(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(10)
    # OTHER is not one the fake serves: TikTok answers 40001 for it
    unserved = "7000000000000000003"
    synced.record(dl.AdAccount(id=unserved, name="Brand DE", region="DE"))
    before = synced.digest()
    with pytest.raises(dl.TikTokAPIError) as raised:
        synced.sync_tiktok(client, [ADVERTISER, unserved])
    assert raised.value.code == 40001
    assert len(fake_tiktok.requests_for()) == 2  # the first sweep was read, then the second failed
    assert synced.digest() == before


def test_throttled_twice_then_ok_the_sweep_succeeds_after_growing_waits(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient, waits: list[float]
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(100)
    fake_tiktok.throttle(times=2, page=2)
    result = synced.sync_tiktok(client, ADVERTISER)
    assert (result.pages, result.items) == (2, 100)
    assert len(fake_tiktok.requests_for(page=2)) == 3
    assert len(fake_tiktok.requests) == 4 + 1  # page 1 read again at the end: it held still
    assert waits == [0.25, 0.5]  # random 0.5 × 0.5 s × 2**n: growing


def test_throttled_past_max_backoff_writes_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, waits: list[float]
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(100)
    fake_tiktok.throttle(times=100, page=2, code=40133)
    before = synced.digest()
    with (
        TikTokClient(TOKEN, base_url=fake_tiktok.url, max_backoff=20, sleep=waits.append) as client,
        pytest.raises(dl.TikTokAPIError, match="retry later") as raised,
    ):
        synced.sync_tiktok(client, ADVERTISER)
    assert raised.value.code == 40133
    assert sum(waits) == pytest.approx(20)
    assert synced.digest() == before


def test_a_transient_500_on_page_3_is_retried(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(200)
    fake_tiktok.fail(times=1, page=3)
    result = synced.sync_tiktok(client, ADVERTISER)
    assert (result.pages, result.items) == (4, 200)
    assert len(fake_tiktok.requests_for(page=3)) == 2


@pytest.mark.parametrize("broken", ["http_500", "invalid_json"])
def test_a_page_that_breaks_mid_sweep_writes_nothing_and_unbinds_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient, broken: str
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(200)
    synced.sync_tiktok(client, ADVERTISER)
    before = synced.digest()
    fake_tiktok.items[ADVERTISER] = make_items(100)  # half gone, but the sweep will not finish
    fake_tiktok.extra_pages = 1
    fake_tiktok.break_page(3, invalid_json=broken == "invalid_json")
    with pytest.raises(dl.TikTokAPIError):
        synced.sync_tiktok(client, ADVERTISER)
    assert synced.digest() == before
    assert all(b.unbound_at is None for b in bindings(synced).values())


def test_a_bad_token_fails_at_once_and_writes_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, waits: list[float]
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(10)
    before = synced.digest()
    wrong = TikTokClient("not-the-token", base_url=fake_tiktok.url, sleep=waits.append)
    with wrong, pytest.raises(dl.TikTokAPIError) as raised:
        synced.sync_tiktok(wrong, ADVERTISER)
    assert raised.value.code == 40105
    assert "token" in str(raised.value).lower()
    assert (len(fake_tiktok.requests), waits) == (1, [])
    assert synced.digest() == before


def test_a_partial_success_records_what_came_back_and_unbinds_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(150)
    synced.sync_tiktok(client, ADVERTISER)
    fake_tiktok.items[ADVERTISER] = make_items(100) + make_items(10, start=500)
    fake_tiktok.answer_partial(2, "Partial success: some posts could not be read")
    result = synced.sync_tiktok(client, ADVERTISER)
    assert result.partial and result.unbound == 0
    assert result.written == 3 * 10  # the new posts, codes and bindings (creators known)
    [skipped] = result.skipped
    assert "page 2 was a partial success" in skipped.reason
    assert "could not be read" in skipped.reason
    assert all(b.unbound_at is None for b in bindings(synced).values())
    assert "(partial: nothing unbound)" in str(result)


def test_non_code_items_are_skipped_and_counted_across_pages(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    items = make_items(60)
    items[55] = {**items[55], "auth_info": None}
    fake_tiktok.items[ADVERTISER] = items
    result = synced.sync_tiktok(client, ADVERTISER)
    assert result.items == 60
    [skipped] = result.skipped
    assert skipped.index == 55
    assert len(bindings(synced)) == 59


def test_a_malformed_item_names_its_page_and_index_and_writes_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    items = make_items(60)
    items[52] = {**items[52], "item_info": {**items[52]["item_info"], "item_id": {"a": 1}}}
    fake_tiktok.items[ADVERTISER] = items
    before = synced.digest()
    with pytest.raises(dl.PayloadError, match=r"page 2: tt_video/list\[2\]") as raised:
        synced.sync_tiktok(client, ADVERTISER)
    assert "#fake-spark" not in str(raised.value)
    assert synced.digest() == before


def test_an_unknown_advertiser_is_refused_before_any_request(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    with pytest.raises(dl.MissingReferenceError, match="7000000000000000009"):
        synced.sync_tiktok(client, "7000000000000000009")
    with pytest.raises(ValueError, match="empty list"):
        synced.sync_tiktok(client, [])
    assert fake_tiktok.requests == []


def test_the_token_and_codes_never_reach_the_database_or_the_logs(
    synced: dl.Ledger,
    fake_tiktok: FakeTikTok,
    client: TikTokClient,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(60)
    fake_tiktok.throttle(times=1, page=2)
    with caplog.at_level(logging.DEBUG):
        result = synced.sync_tiktok(client, ADVERTISER)
    assert result.items == 60 and caplog.records  # the retry was logged
    text = caplog.text + repr(result) + str(result) + repr(client)
    assert TOKEN not in text and "#fake-spark" not in text
    synced.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.db*"))
    assert TOKEN.encode() not in stored and b"#fake-spark" not in stored


def test_an_extended_window_at_tiktok_is_a_new_version(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    items = make_items(3)
    fake_tiktok.items[ADVERTISER] = items
    synced.sync_tiktok(client, ADVERTISER)
    changed: dict[str, Any] = {**items[1], "auth_info": {**items[1]["auth_info"]}}
    changed["auth_info"]["auth_end_time"] = "2028-11-01 00:00:00"
    changed["auth_info"]["ad_auth_status"] = "EXPIRED"
    fake_tiktok.items[ADVERTISER] = [items[0], changed, items[2]]
    result = synced.sync_tiktok(client, ADVERTISER)
    assert result.written == 2  # the authorization and its binding
    auth = synced.get(dl.SparkAuthorization, auth_id(synced, 1))
    assert auth is not None and auth.expires_at.year == 2028
    [finding] = synced.not_authorized()
    assert finding.authorization_id == auth.id


def test_sync_needs_a_client_that_answers_pages(synced: dl.Ledger, fake_tiktok: FakeTikTok) -> None:
    fake_tiktok.respond(200, envelope(0, "OK", {"page_info": {"total_page": "x"}}), times=None)
    plain = TikTokClient(TOKEN, base_url=fake_tiktok.url)
    with plain, pytest.raises(dl.TikTokAPIError, match="total_page"):
        synced.sync_tiktok(plain, ADVERTISER)


# diagnose(..., client=...): a code the ledger does not hold, asked of TikTok ----------------


def test_diagnose_asks_tiktok_about_a_code_the_ledger_does_not_hold(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    items = make_items(3)
    items[2]["item_info"]["status"] = "USER_DELETE"
    fake_tiktok.items[ADVERTISER] = items
    code = "#fake-spark-00000001="
    assert (
        synced.diagnose(code).steps[1].status is dl.StepStatus.NOT_CHECKED
    )  # no client: no asking
    d = synced.diagnose(
        code, ad_account_id=ADVERTISER, post_id=items[1]["item_info"]["item_id"], client=client
    )
    assert [s.status for s in d.steps] == [
        dl.StepStatus.FAILED,  # known: the ledger should hold it (record it or sync)
        dl.StepStatus.PASSED,
        dl.StepStatus.PASSED,
        dl.StepStatus.NOT_CHECKED,  # TikTok reports no creator region
    ]
    assert [f.kind for f in d.findings] == [dl.FindingKind.UNKNOWN_CODE]
    assert "TikTok knows it" in str(d) and code not in str(d)
    wrong = synced.diagnose(code, ad_account_id=ADVERTISER, post_id="7300", client=client)
    assert dl.FindingKind.WRONG_POST in [f.kind for f in wrong.findings]
    removed = synced.diagnose("#fake-spark-00000002=", ad_account_id=ADVERTISER, client=client)
    assert removed.steps[1].status is dl.StepStatus.FAILED
    assert dl.FindingKind.POST_UNAVAILABLE in [f.kind for f in removed.findings]
    assert synced.digest().seq == 2  # a diagnosis writes nothing
    assert [r.query.get("auth_code") for r in fake_tiktok.requests_for(path="tt_video/info/")] == [
        code,
        code,
        "#fake-spark-00000002=",
    ]


def test_a_code_tiktok_rejects_is_explained_by_the_catalogue(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.respond(200, envelope(4025, "auth_code_expired"), path="tt_video/info/")
    d = synced.diagnose("#some-old-code=", ad_account_id=ADVERTISER, client=client)
    assert not d.ok
    assert [f.kind for f in d.findings] == [dl.FindingKind.UNKNOWN_CODE, dl.FindingKind.EXPIRED]
    assert "TikTok refused it: 4025" in str(d.steps[1])
    assert "#some-old-code=" not in str(d)
    # the fake answers a code it does not know with 40002 (PARAM_ERROR): TikTok documents no
    # number for "not found", and a refused request says nothing about the code, so it raises
    with pytest.raises(dl.TikTokAPIError) as refused:
        synced.diagnose("#never-issued=", ad_account_id=ADVERTISER, client=client)
    assert refused.value.code == 40002 and "#never-issued=" not in str(refused.value)


def test_a_refusal_about_the_connection_raises_from_diagnose(
    synced: dl.Ledger, fake_tiktok: FakeTikTok
) -> None:
    with (
        TikTokClient("wrong-token", base_url=fake_tiktok.url) as wrong,
        pytest.raises(dl.TikTokAPIError) as raised,
    ):
        synced.diagnose("#a-code=", ad_account_id=ADVERTISER, client=wrong)
    assert raised.value.code == 40105
    with (
        TikTokClient(TOKEN, base_url=fake_tiktok.url) as client,
        pytest.raises(ValueError, match="ad_account_id"),
    ):
        synced.diagnose("#a-code=", client=client)


def test_a_failure_of_the_connection_raises_from_diagnose_not_a_verdict_on_the_code(
    synced: dl.Ledger, fake_tiktok: FakeTikTok
) -> None:
    fake_tiktok.respond(503, b"Service Unavailable", times=None, path="tt_video/info/")
    client = TikTokClient(TOKEN, base_url=fake_tiktok.url, max_retries=1, sleep=lambda s: None)
    with client, pytest.raises(dl.TikTokAPIError) as raised:
        synced.diagnose("#a-code=", ad_account_id=ADVERTISER, client=client)
    assert raised.value.code == "HTTP 503"
    with pytest.raises(ValueError, match="live=True"):
        synced.diagnose("#a-code=", ad_account_id=ADVERTISER, live=True)


def test_an_empty_page_before_the_last_announced_one_unbinds_nothing(
    synced: dl.Ledger, fake_tiktok: FakeTikTok, client: TikTokClient
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(100)
    synced.sync_tiktok(client, ADVERTISER)
    fake_tiktok.items[ADVERTISER] = make_items(50)
    fake_tiktok.extra_pages = 2  # TikTok says 3 pages, page 2 comes back empty
    result = synced.sync_tiktok(client, ADVERTISER)
    assert result.partial and result.unbound == 0
    assert "page 2 of 3 was empty" in result.skipped[-1].reason
    assert all(b.unbound_at is None for b in bindings(synced).values())
