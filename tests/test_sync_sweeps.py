"""Stable sweeps over real HTTP: drift, keyword confirmations, 40001, throttling in virtual time,
ads and Business Center listings (issue 21 items 1, 2, 5, 6; issue 24 item 1, client side)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.sync import Page, Sweep, TikTokClient, Wait
from tests.fake_tiktok import (
    ADGROUPS,
    ADS,
    ADVERTISER,
    ASSET_MEMBERS,
    BC,
    MEMBERS,
    TOKEN,
    FakeTikTok,
    VirtualClock,
    make_adgroups,
    make_ads,
    make_asset_members,
    make_items,
    make_members,
    virtual_clients,
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(items={ADVERTISER: make_items(120)}, clock=clock) as started:
        yield started


@pytest.fixture
def connect(fake: FakeTikTok, clock: VirtualClock) -> Iterator[Callable[..., TikTokClient]]:
    """Clients of the fake whose waits pass on the shared virtual clock."""
    with virtual_clients(fake, clock, random=lambda: 1.0) as connect:
        yield connect


def post_ids(sweep: Sweep) -> list[str]:
    return [item["item_info"]["item_id"] for item in sweep.items]


def drop(fake: FakeTikTok, *, after: int, index: int, times: int = 1) -> None:
    """Remove the post at ``index`` after page ``after`` of a sweep is served, ``times`` times."""
    left = [times]

    def hook(advertiser: str, page: int) -> None:
        if page == after and left[0] > 0:
            left[0] -= 1
            del fake.items[advertiser][index]

    fake.after_page(hook)


# Drift ----------------------------------------------------------------------------------------


def test_the_issues_case_post_0_dropped_after_page_1_is_read_again_and_found_stable(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    before = [item["item_info"]["item_id"] for item in fake.items[ADVERTISER]]
    drop(fake, after=1, index=0)
    sweep = connect().sweep_videos(ADVERTISER)
    assert sweep.stable and sweep.why == "" and sweep.passes == 2
    assert post_ids(sweep) == before[1:]  # post 50, skipped by the first pass, is there
    # pass 1 stopped at page 2 (total_number fell to 119); pass 2 read 3 pages and page 1 again
    assert len(fake.requests_for()) == 2 + 3 + 1 == sweep.requests


def test_one_pass_without_the_check_misses_the_post_that_slid_up(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    """What the stability check is for: the bare pass of iter_video_pages loses post 50."""
    before = [item["item_info"]["item_id"] for item in fake.items[ADVERTISER]]
    drop(fake, after=1, index=0)
    listed = [i["item_info"]["item_id"] for p in connect().video_pages(ADVERTISER) for i in p.items]
    assert before[50] not in listed and before[0] in listed


def test_a_listing_that_never_settles_is_not_stable_and_says_why(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    drop(fake, after=2, index=0, times=10)
    sweep = connect(max_resweeps=2).sweep_videos(ADVERTISER)
    assert not sweep.stable and sweep.passes == 3
    assert "kept moving while it was read (3 times" in sweep.why
    assert "total_number went from 118 to 117" in sweep.why  # the third pass saw it move
    assert "nothing can be concluded" in sweep.why


def test_page_1_changing_at_the_same_total_is_noticed_at_the_re_read(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    def swap(advertiser: str, page: int) -> None:
        if page == 3 and len(fake.requests_for()) == 3:  # once, after the first pass's last page
            items = fake.items[advertiser]
            items[0] = make_items(1, start=5000)[0]  # one post replaced by another: same total

    fake.after_page(swap)
    sweep = connect(max_resweeps=0).sweep_videos(ADVERTISER)
    assert not sweep.stable and "page 1 changed while the pages were read" in sweep.why


def test_a_single_page_listing_is_read_once(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    fake.items[ADVERTISER] = make_items(30)
    sweep = connect().sweep_videos(ADVERTISER)
    assert sweep.stable and len(sweep.items) == 30 and len(fake.requests) == 1


@st.composite
def drifts(draw: st.DrawFn) -> tuple[int, int, list[list[tuple[str, int]]]]:
    """Posts at the start, a page size, and for each page read the changes made after it."""
    count = draw(st.integers(0, 24))
    size = draw(st.integers(1, 6))
    change = st.tuples(st.sampled_from(["remove", "add"]), st.integers(0, 40))
    schedule = draw(st.lists(st.lists(change, max_size=3), max_size=12))
    return count, size, schedule


def run_drift(
    count: int, size: int, schedule: list[list[tuple[str, int]]], *, resweeps: int = 2
) -> tuple[Sweep, set[str], set[str], dl.sync.Confirmation, list[bool]]:
    """Sweep a listing that changes after page reads as ``schedule`` says; then confirm what
    the sweep did not list. Returns the sweep, the posts listed throughout, those listed at the
    end, the confirmation, and per page read whether the changes after it were of one kind."""
    clock = VirtualClock()
    initial = make_items(count)
    reads = [0]
    one_kind: list[bool] = []
    removed: set[str] = set()
    added = iter(range(1000, 2000))
    with FakeTikTok(items={ADVERTISER: list(initial)}, clock=clock) as fake:

        def hook(advertiser: str, page: int) -> None:
            changes = schedule[reads[0]] if reads[0] < len(schedule) else []
            reads[0] += 1
            items = fake.items[advertiser]
            kinds = {kind for kind, _ in changes if kind == "add" or items}
            one_kind.append(len(kinds) <= 1)
            for kind, where in changes:
                if kind == "remove" and items:
                    removed.add(items.pop(where % len(items))["item_info"]["item_id"])
                elif kind == "add":
                    items.insert(where % (len(items) + 1), make_items(1, start=next(added))[0])

        fake.after_page(hook)
        with TikTokClient(
            TOKEN,
            base_url=fake.url,
            page_size=size,
            max_resweeps=resweeps,
            sleep=clock.sleep,
            clock=clock,
        ) as client:
            sweep = client.sweep_videos(ADVERTISER)
            everyone = {item["item_info"]["item_id"] for item in initial}
            missing = sorted(everyone - set(post_ids(sweep)))
            confirmed = client.confirm_unlisted(ADVERTISER, missing)
            keyword_requests = len(fake.requests_for(keyword=True))
        assert keyword_requests == len(missing) == confirmed.requests  # one request per post
        at_end = {item["item_info"]["item_id"] for item in fake.items[ADVERTISER]}
    return sweep, everyone - removed, at_end, confirmed, one_kind


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drifts())
@example((6, 2, [[], [("remove", 2), ("add", 5)]]))  # balanced: the check alone cannot see it
def test_no_post_listed_throughout_is_ever_confirmed_absent(
    drift: tuple[int, int, list[list[tuple[str, int]]]],
) -> None:
    """The guarantee the ledger relies on: whatever moves between page reads, a post listed
    throughout is either in the sweep or found by its keyword lookup, never ``absent``."""
    _, throughout, at_end, confirmed, _ = run_drift(*drift)
    assert not (confirmed.absent & throughout)
    assert not (confirmed.absent & at_end)  # absent means not listed when asked
    assert set(confirmed.listed) <= at_end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drifts())
def test_a_stable_sweep_lists_every_post_listed_throughout_when_each_change_moves_the_total(
    drift: tuple[int, int, list[list[tuple[str, int]]]],
) -> None:
    """The stability check's own promise: when the changes after each page read are all
    removals or all additions (so total_number moves with them), a sweep reported stable lists
    every post that was listed throughout. Balanced changes (one removed, one added between
    the same two reads) can hide from any check that only reads pages: the test above shows
    the keyword confirmations still catch them."""
    count, size, schedule = drift
    sweep, throughout, _, _, one_kind = run_drift(count, size, schedule)
    if sweep.stable and all(one_kind):
        assert throughout <= set(post_ids(sweep))


def test_the_balanced_case_the_page_check_cannot_see_is_caught_by_the_confirmation() -> None:
    """Pages of 2 over a..f: after page 2, post c leaves and g arrives at the end, so the total
    stays 6 and page 1 stays the same; post e slides onto page 2 unseen."""
    sweep, throughout, _, confirmed, _ = run_drift(6, 2, [[], [("remove", 2), ("add", 5)]])
    e = make_items(6)[4]["item_info"]["item_id"]
    assert sweep.stable and e not in post_ids(sweep) and e in throughout
    assert e in confirmed.listed and e not in confirmed.absent


# Keyword confirmations ----------------------------------------------------------------------


def test_confirmations_cost_one_request_per_post_and_say_which_are_listed(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    listed = fake.items[ADVERTISER][7]["item_info"]["item_id"]
    gone = [f"73{n:017d}" for n in (5000, 5001, 5002)]
    confirmed = connect().confirm_unlisted(ADVERTISER, [listed, *gone, gone[0], "short-id"])
    assert confirmed.absent == set(gone) and set(confirmed.listed) == {listed}
    assert confirmed.unsure == {"short-id"}  # not an id TikTok matches exactly
    assert confirmed.listed[listed]["item_info"]["auth_code"] == "#fake-spark-00000007="
    lookups = fake.requests_for(keyword=True)
    assert len(lookups) == 4 == confirmed.requests  # the repeated id is asked once
    assert [r.query["keyword"] for r in lookups] == [listed, *gone]
    assert all(r.query["advertiser_id"] == ADVERTISER for r in lookups)


def test_a_throttled_confirmation_waits_and_counts_its_retries(
    fake: FakeTikTok, connect: Callable[..., TikTokClient], clock: VirtualClock
) -> None:
    fake.throttle(2)
    confirmed = connect().confirm_unlisted(ADVERTISER, ["7300000000000099999"])
    assert confirmed.absent == {"7300000000000099999"} and confirmed.requests == 3
    assert len(clock.slept) == 2


# An advertiser the token does not reach ------------------------------------------------------


@pytest.mark.parametrize("sweep", ["sweep_videos", "sweep_ads", "sweep_adgroups"])
def test_40001_on_the_first_page_says_the_token_may_not_reach_the_advertiser(
    fake: FakeTikTok, connect: Callable[..., TikTokClient], sweep: str
) -> None:
    with pytest.raises(dl.TikTokAPIError) as raised:
        getattr(connect(), sweep)("7000000000000000009")
    assert raised.value.code == 40001
    text = str(raised.value)
    assert "the token may not reach advertiser 7000000000000000009" in text
    assert "any missing permission" in text and "request id fake-" in text
    assert len(fake.requests) == 1


def test_40001_for_a_business_center_names_it(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    with pytest.raises(dl.TikTokAPIError, match="may not reach Business Center 42"):
        connect().sweep_bc_members("42")


# Throttling, in virtual time over real HTTP --------------------------------------------------


def test_four_minutes_of_throttling_are_waited_out_and_said(
    fake: FakeTikTok, connect: Callable[..., TikTokClient], clock: VirtualClock
) -> None:
    fake.throttle_for(240)
    seen: list[Page | Wait] = []
    sweep = connect().sweep_videos(ADVERTISER, progress=seen.append)
    assert sweep.stable and len(sweep.items) == 120
    assert 240 <= sum(clock.slept) == sweep.waited <= 300
    waits = [event for event in seen if isinstance(event, Wait)]
    assert len(waits) == len(clock.slept) and waits[-1].waited == pytest.approx(sweep.waited)
    assert "Too many requests (40100" in str(waits[0]) and "of at most 300 s in all" in str(
        waits[0]
    )
    assert [e.number for e in seen if isinstance(e, Page)] == [1, 2, 3]  # not the re-read


def test_throttled_past_max_backoff_stops_and_says_to_retry_later(
    fake: FakeTikTok, connect: Callable[..., TikTokClient], clock: VirtualClock
) -> None:
    fake.throttle_for(24 * 3600)  # a per-day limit
    with pytest.raises(dl.TikTokAPIError) as raised:
        connect().sweep_videos(ADVERTISER)
    assert raised.value.code == 40100
    assert sum(clock.slept) == pytest.approx(300)  # max_backoff, in all
    text = str(raised.value)
    assert "still throttling after 300 s of waiting in all" in text
    assert "retry later" in text and "a per-day limit resets at 00:00 UTC" in text


def test_the_throttling_budget_is_per_sweep_not_per_request(
    fake: FakeTikTok, connect: Callable[..., TikTokClient], clock: VirtualClock
) -> None:
    for page in (1, 2, 3):
        fake.throttle(3, page=page)
    with pytest.raises(dl.TikTokAPIError, match="still throttling"):
        connect(max_backoff=20, backoff=4, max_wait=8).sweep_videos(ADVERTISER)
    assert sum(clock.slept) == pytest.approx(20)


def test_a_sweep_deadline_stops_a_sweep_that_waits_too_long(
    fake: FakeTikTok, connect: Callable[..., TikTokClient], clock: VirtualClock
) -> None:
    fake.throttle_for(3600)
    with pytest.raises(dl.TikTokAPIError, match="still throttling after 120 s"):
        connect(max_backoff=1000, sweep_timeout=120).sweep_videos(ADVERTISER)


# Ads and ad groups --------------------------------------------------------------------------


def test_ads_and_ad_groups_are_swept_with_fields_and_filtering(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    fake.ads[ADVERTISER] = make_ads(fake.items[ADVERTISER][:73])
    fake.adgroups[ADVERTISER] = make_adgroups("1700000000000000001", "1700000000000000002")
    client = connect()
    ads = client.sweep_ads(ADVERTISER, filtering={"primary_status": "STATUS_ALL"})
    groups = client.sweep_adgroups(ADVERTISER)
    assert ads.stable and len(ads.items) == 73 and len(ads.pages) == 2
    assert ads.items[0]["tiktok_item_id"] == fake.items[ADVERTISER][0]["item_info"]["item_id"]
    assert [g["adgroup_id"] for g in groups.items] == ["1700000000000000001", "1700000000000000002"]
    first = fake.requests_for(path=ADS)[0].query
    assert "tiktok_item_id" in json.loads(first["fields"])
    assert json.loads(first["filtering"]) == {"primary_status": "STATUS_ALL"}
    assert "schedule_end_time" in json.loads(fake.requests_for(path=ADGROUPS)[0].query["fields"])


def test_an_ad_removed_mid_sweep_makes_the_ads_sweep_read_again(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    fake.ads[ADVERTISER] = make_ads(fake.items[ADVERTISER])
    first = [True]

    def remove_one(advertiser: str, page: int) -> None:
        if first[0]:
            first[0] = False
            del fake.ads[advertiser][0]

    fake.after_page(remove_one, path=ADS)
    sweep = connect().sweep_ads(ADVERTISER)
    assert sweep.stable and sweep.passes == 2 and len(sweep.items) == 119


# Business Center access ----------------------------------------------------------------------


def test_members_are_swept_20_a_page_with_pending_invitations(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    fake.business_centers = [{"bc_info": {"bc_id": BC, "name": "Brand BC"}, "user_role": "ADMIN"}]
    fake.members[BC] = make_members(45, pending=3)
    client = connect()
    assert [b["bc_info"]["bc_id"] for b in client.sweep_business_centers().items] == [BC]
    members = client.sweep_bc_members(BC)
    assert members.stable and len(members.items) == 45 and len(members.pages) == 3
    assert [m["relation_status"] for m in members.items].count("PENDING") == 3
    assert {r.query["page_size"] for r in fake.requests_for(path=MEMBERS)} == {"20"}


def test_a_member_removed_between_two_sweeps_is_missing_from_the_second(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    fake.members[BC] = make_members(5)
    client = connect()
    first = {m["user_id"] for m in client.sweep_bc_members(BC).items}
    gone = fake.members[BC].pop(2)["user_id"]
    second = {m["user_id"] for m in client.sweep_bc_members(BC).items}
    assert first - second == {gone} and len(second) == 4


def test_asset_members_and_an_asset_with_no_members(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    members = make_members(3)
    fake.members[BC] = members
    fake.asset_members[(BC, ADVERTISER)] = make_asset_members(members[:2], "ADMIN")
    client = connect()
    held = client.sweep_asset_members(BC, ADVERTISER)
    empty = client.sweep_asset_members(BC, "7000000000000000002")
    assert [m["advertiser_role"] for m in held.items] == ["ADMIN", "ADMIN"]
    assert empty.stable and empty.items == [] and len(empty.pages) == 1
    query = fake.requests_for(path=ASSET_MEMBERS)[0].query
    assert (query["asset_type"], query["asset_id"], query["page_size"]) == (
        "ADVERTISER",
        ADVERTISER,
        "20",
    )


def test_an_empty_business_center_id_is_refused_before_any_request(
    fake: FakeTikTok, connect: Callable[..., TikTokClient]
) -> None:
    with pytest.raises(ValueError, match="bc_id is empty: pass the Business Center id"):
        connect().sweep_bc_members(" ")
    assert fake.requests == []
