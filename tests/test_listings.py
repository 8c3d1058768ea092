"""The findings that need what a sync records (listings.py): NOT_LISTED after a recorded sweep,
end to end against the fake TikTok over real HTTP; the sweep recorded only when it tells
something new, so an unchanged sync still writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import delvia_ledger as dl
from tests.conftest import Clock
from tests.fake_tiktok import (
    ADVERTISER,
    TOKEN,
    FakeTikTok,
    fake_tiktok_fixture,  # noqa: F401 (the fake_tiktok fixture)
    make_items,
)

#: The code a person records by hand for the advertiser, which TikTok does not list (yet).
HAND_CODE = "#fake-spark-00000900="
HAND_POST = f"73{900:017d}"


@pytest.fixture
def client(fake_tiktok: FakeTikTok) -> Iterator[dl.TikTokClient]:
    with dl.TikTokClient(
        TOKEN, base_url=fake_tiktok.url, max_retries=3, sleep=lambda _: None
    ) as opened:
        yield opened


def swept_at(ledger: dl.Ledger) -> object:
    account = ledger.get(dl.AdAccount, ADVERTISER)
    assert account is not None
    return account.last_swept_at


def not_listed(ledger: dl.Ledger) -> list[dl.Finding]:
    return [f for f in ledger.findings(within="7d") if f.kind == "NOT_LISTED"]


def test_a_code_a_complete_sweep_does_not_list_is_not_listed_once_swept(
    ledger: dl.Ledger, fake_tiktok: FakeTikTok, client: dl.TikTokClient, clock: Clock
) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
    fake_tiktok.items[ADVERTISER] = make_items(40)
    ledger.sync_tiktok(client, ADVERTISER)
    assert swept_at(ledger) is None, "nothing to judge yet"
    now = clock()
    ledger.record_all(
        [
            dl.Post(id=HAND_POST, creator_id="fake-identity-0020", kind="VIDEO"),
            dl.SparkAuthorization.from_code(
                HAND_CODE,
                creator_id="fake-identity-0020",
                post_id=HAND_POST,
                starts_at=now,
                expires_at="2027-11-01",
                ad_account_id=ADVERTISER,
            ),
        ]
    )
    hand = ledger.authorization_for(HAND_CODE)
    assert hand is not None
    assert not_listed(ledger) == [], (
        "no sweep since the code was recorded: the ledger does not know"
    )

    before = ledger.digest().seq
    swept = ledger.sync_tiktok(client, ADVERTISER)
    assert (swept.written, swept.unbound) == (1, 0), "the account, with the sweep's time"
    assert ledger.digest().seq == before + 1, "the sweep itself, recorded on the ad account"
    assert swept_at(ledger) is not None
    [finding] = not_listed(ledger)
    assert (finding.authorization_id, finding.ad_account_id) == (hand.id, ADVERTISER)
    assert finding.severity == "WARNING" and "not listed by the sweep" in finding.detail
    assert HAND_CODE not in str(finding)

    again = ledger.digest()
    ledger.sync_tiktok(client, ADVERTISER)
    assert ledger.digest() == again, "an unchanged sync writes nothing"

    # TikTok lists it now: the sync binds it, and the finding is gone
    fake_tiktok.items[ADVERTISER] = make_items(40) + make_items(1, start=900)
    ledger.sync_tiktok(client, ADVERTISER)
    assert not_listed(ledger) == []


def test_a_partial_sweep_records_no_sweep(
    ledger: dl.Ledger, fake_tiktok: FakeTikTok, client: dl.TikTokClient, clock: Clock
) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
    fake_tiktok.items[ADVERTISER] = make_items(120)
    ledger.sync_tiktok(client, ADVERTISER)
    now = clock()
    ledger.record_all(
        [
            dl.Post(id=HAND_POST, creator_id="fake-identity-0020", kind="VIDEO"),
            dl.SparkAuthorization.from_code(
                HAND_CODE,
                creator_id="fake-identity-0020",
                post_id=HAND_POST,
                starts_at=now,
                expires_at="2027-11-01",
                ad_account_id=ADVERTISER,
            ),
        ]
    )
    fake_tiktok.answer_partial(2, "Partial success")
    result = ledger.sync_tiktok(client, ADVERTISER)
    assert result.partial
    assert swept_at(ledger) is None
    assert not_listed(ledger) == []
