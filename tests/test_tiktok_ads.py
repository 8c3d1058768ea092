"""``/ad/get/`` and ``/adgroup/get/`` to Spark Ad drafts, and drafts to ``SparkAd`` records
linked to the code bound for their post (issue 21.2, DESIGN §12 "Ads")."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.errors import MissingReferenceError, PayloadError
from delvia_ledger.records import NO_CODE
from delvia_ledger.tiktok_ads import (
    AdDraft,
    AdStatus,
    ad_drafts,
    link_ads,
    schedules_from_adgroup_get,
)
from tests.strategies import ad_groups, other_identity_ad, spark_ad_entries, tiktok_ids

ADVERTISER = "6900000000000000001"
SEEN = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def envelope(entries: object) -> dict[str, Any]:
    return {"code": 0, "message": "OK", "request_id": "r", "data": {"list": entries}}


@st.composite
def listings(
    draw: st.DrawFn,
) -> tuple[list[Any], list[Any], list[dict[str, object]], dict[str, Any]]:
    """Ad groups, ads (Spark Ads with a code and others, shuffled), what each Spark Ad says,
    and each ad group's schedule."""
    groups = draw(st.lists(ad_groups(), max_size=4, unique_by=lambda g: g[0]["adgroup_id"]))
    schedule = {str(g["adgroup_id"]): times for g, times in groups}
    spark = draw(
        st.lists(
            spark_ad_entries(ADVERTISER, list(schedule)),
            max_size=8,
            unique_by=lambda a: a[1]["ad_id"],
        )
    )
    others = draw(st.lists(other_identity_ad, max_size=3))
    ads = draw(st.permutations([entry for entry, _ in spark] + others))
    return [g for g, _ in groups], ads, [said for _, said in spark], schedule


@settings(max_examples=150, deadline=None)
@given(listings())
def test_any_valid_listing_translates_and_follows_the_status_rules(
    listing: tuple[list[Any], list[Any], list[dict[str, object]], dict[str, Any]],
) -> None:
    groups, ads, said, schedule = listing
    schedules = schedules_from_adgroup_get(envelope(groups))
    drafts, skipped = ad_drafts(
        envelope(ads), advertiser_id=ADVERTISER, schedules=schedules, seen_at=SEEN
    )
    # only AUTH_CODE ads are Spark Ads made with a code; every other is skipped, with its reason
    assert sorted(d.ad_id for d in drafts) == sorted(str(s["ad_id"]) for s in said)
    assert len(skipped) == len(ads) - len(said)
    assert all("not a Spark Ad made with a code" in s.reason for s in skipped)
    assert [d.index for d in drafts] == sorted(d.index for d in drafts)
    for draft in drafts:
        expected = next(s for s in said if s["ad_id"] == draft.ad_id)
        assert ads[draft.index]["ad_id"] == draft.ad_id  # the index is the entry's place
        assert (draft.post_id, draft.identity_id, draft.advertiser_id) == (
            expected["post_id"],
            expected["identity_id"],
            ADVERTISER,
        )
        assert draft.status is AdStatus(str(expected["status"]))
        assert (draft.created_at, draft.modified_at) == (
            expected["created_at"],
            expected["modified_at"],
        )
        starts, ends = schedule.get(str(expected["adgroup_id"]), (None, None))
        when = expected["modified_at"]
        ad = draft.ad()
        assert ad.runs_from == starts
        if draft.status in (AdStatus.DISABLE, AdStatus.FROZEN):
            assert (ad.paused_at, ad.runs_until) == (when, ends)
        elif draft.status is AdStatus.DELETE:
            if starts is not None and when <= starts:  # deleted before it ever ran
                assert (ad.paused_at, ad.runs_until) == (when, ends)
            else:
                assert ad.paused_at is None
                assert ad.runs_until == (when if ends is None else min(when, ends))
        else:
            assert (ad.paused_at, ad.runs_until) == (None, ends)


def test_a_paused_ad_is_not_active_and_a_deleted_one_ends() -> None:
    groups = [
        {
            "adgroup_id": "1700",
            "schedule_start_time": "2026-12-01 00:00:00",
            "schedule_end_time": "2027-01-31 00:00:00",
        }
    ]
    ads: list[dict[str, object]] = [
        {
            "ad_id": f"180{n}",
            "adgroup_id": "1700",
            "identity_type": "AUTH_CODE",
            "tiktok_item_id": "7301",
            "operation_status": status,
            "modify_time": "2026-12-05 12:00:00",
        }
        for n, status in enumerate(["ENABLE", "DISABLE", "FROZEN", "DELETE"])
    ]
    ads.append({**ads[0], "ad_id": "1809", "operation_status": None, "modify_time": None})
    drafts, _ = ad_drafts(
        ads, advertiser_id=ADVERTISER, schedules=schedules_from_adgroup_get(groups), seen_at=SEEN
    )
    on, off, frozen, deleted, unknown = (d.ad() for d in drafts)
    changed = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert on.paused_at is None and on.runs_until == datetime(2027, 1, 31, tzinfo=UTC)
    assert off.paused_at == frozen.paused_at == changed  # TikTok's time of the change
    assert deleted.runs_until == changed and deleted.paused_at is None
    assert unknown.paused_at is None and unknown.runs_until == on.runs_until


def test_without_modify_time_a_pause_is_dated_when_the_sweep_saw_it() -> None:
    ads = [
        {
            "ad_id": "1",
            "identity_type": "AUTH_CODE",
            "tiktok_item_id": "7",
            "operation_status": "DISABLE",
        }
    ]
    (draft,), _ = ad_drafts(ads, advertiser_id=ADVERTISER, seen_at=SEEN)
    assert draft.paused_at == SEEN and draft.runs_from is None  # its ad group is unknown


def test_null_lists_are_empty_and_real_shapes_are_read() -> None:
    assert ad_drafts(envelope(None), advertiser_id=ADVERTISER) == ([], [])
    assert ad_drafts({"list": None, "page_info": {}}, advertiser_id=ADVERTISER) == ([], [])
    assert schedules_from_adgroup_get(envelope(None)) == {}
    # a pushed ad before review has no tiktok_item_id yet: skipped and counted, not an error
    pushed = {"ad_id": "5", "identity_type": "AUTH_CODE", "tiktok_item_id": None}
    drafts, (skipped,) = ad_drafts([pushed], advertiser_id=ADVERTISER)
    assert (
        drafts == []
        and str(skipped) == "item 0: ad 5: no tiktok_item_id (a pushed ad before review)"
    )


def test_an_envelope_that_is_not_ok_is_refused_with_tiktoks_code() -> None:
    refused = {"code": 40001, "message": "no permission", "request_id": "r9", "data": {}}
    with pytest.raises(dl.TikTokAPIError) as raised:
        ad_drafts(refused, advertiser_id=ADVERTISER)
    assert raised.value.code == 40001


#: How to break one field of a valid Spark Ad entry, and the field the error must name.
BREAKS: list[tuple[str, object]] = [
    ("ad_id", None),
    ("ad_id", 1.5),
    ("ad_id", ["1"]),
    ("advertiser_id", "6900000000000000999"),
    ("advertiser_id", True),
    ("identity_type", 7),
    ("tiktok_item_id", {"id": 1}),
    ("adgroup_id", False),
    ("identity_id", 2.5),
    ("operation_status", "PAUSED"),
    ("operation_status", 1),
    ("create_time", "yesterday"),
    ("modify_time", [2026]),
]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(spark_ad_entries(ADVERTISER, []), min_size=1, max_size=5),
    st.data(),
    st.sampled_from(BREAKS),
)
def test_any_malformed_field_names_its_entry_and_itself(
    ads: list[tuple[dict[str, object], dict[str, object]]],
    data: st.DataObject,
    broken: tuple[str, object],
) -> None:
    entries = [copy.deepcopy(entry) for entry, _ in ads]
    index = data.draw(st.integers(0, len(entries) - 1))
    field, value = broken
    entries[index][field] = value
    with pytest.raises(PayloadError) as raised:
        ad_drafts(envelope(entries), advertiser_id=ADVERTISER, offset=40)
    assert str(raised.value).startswith(f"ad/get[{40 + index}].{field}:")


@pytest.mark.parametrize(
    ("group", "field"),
    [
        ({"schedule_start_time": "2026-12-01 00:00:00"}, "adgroup_id"),
        ({"adgroup_id": "1", "schedule_start_time": "soon"}, "schedule_start_time"),
        (
            {
                "adgroup_id": "1",
                "schedule_start_time": "2026-12-02 00:00:00",
                "schedule_end_time": "2026-12-01 00:00:00",
            },
            "schedule_end_time",
        ),
        ({"adgroup_id": "1", "operation_status": "ON"}, "operation_status"),
    ],
)
def test_a_malformed_ad_group_names_its_index_and_field(
    group: dict[str, object], field: str
) -> None:
    with pytest.raises(PayloadError, match=rf"^adgroup/get\[1\]\.{field}:"):
        schedules_from_adgroup_get([{"adgroup_id": "0"}, group])


def test_an_entry_that_is_no_object_names_its_index() -> None:
    with pytest.raises(PayloadError, match=r"^ad/get\[0\]: expected an object, got a list"):
        ad_drafts([[1]], advertiser_id=ADVERTISER)
    with pytest.raises(PayloadError, match="'list' must be a list"):
        ad_drafts({"list": "x"}, advertiser_id=ADVERTISER)


# --- linking to the code bound in the ad's account ------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(tiktok_ids, st.sampled_from(["p1", "p2", "p3", "p4"])), max_size=8),
    st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(["auth_a", "auth_b"])),
    st.sets(st.sampled_from(["p1", "p2", "p3", "p4"])),
)
def test_linking_follows_the_bound_codes_and_lists_the_ads_without_one(
    ads: list[tuple[str, str]], bound: dict[str, str], known: set[str]
) -> None:
    drafts = [
        AdDraft(index=n, ad_id=ad_id, advertiser_id=ADVERTISER, post_id=post)
        for n, (ad_id, post) in enumerate(ads)
    ]
    linked = link_ads(drafts, bound, known_posts=known)
    assert [a.id for a in linked.ads] == [d.ad_id for d in drafts]
    for draft, ad in zip(drafts, linked.ads, strict=True):
        assert ad.authorization_id == bound.get(draft.post_id, NO_CODE)
        assert ad.has_code == (draft.post_id in bound)
        assert (ad.ad_account_id, ad.intended_post_id) == (ADVERTISER, draft.post_id)
    assert list(linked.without_code) == [d for d in drafts if d.post_id not in bound]
    assert list(linked.unknown_posts) == [d for d in linked.without_code if d.post_id not in known]


def test_no_authorization_may_take_the_no_code_id() -> None:
    with pytest.raises(dl.InvalidRecordError, match="reserved"):
        dl.SparkAuthorization.from_code(
            "#a-code=",
            id=NO_CODE,
            creator_id="c",
            post_id="p",
            starts_at="2026-12-01T00:00:00Z",
            expires_at="2026-12-31T00:00:00Z",
        )


def test_ads_with_and_without_a_code_are_recorded_and_checked(ledger: dl.Ledger) -> None:
    """The reference rules hold: an ad without a code refers to no authorization, but its
    post must be recorded first (``creator_and_post`` gives it)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    auth = dl.SparkAuthorization.from_code(
        "#a-linked-code=",
        creator_id="7000",
        post_id="7301",
        starts_at=start,
        expires_at=start + timedelta(days=30),
        ad_account_id=ADVERTISER,
    )
    ledger.record_all(
        [
            dl.AdAccount(id=ADVERTISER, name="Brand", region="US"),
            dl.Creator(id="7000", region="US", tiktok_identity_id="7000"),
            dl.Post(id="7301", creator_id="7000", kind="VIDEO"),
            auth,
            dl.SparkBinding(authorization_id=auth.id, ad_account_id=ADVERTISER, bound_at=start),
        ]
    )
    ads = [
        {
            "ad_id": "1801",
            "identity_type": "AUTH_CODE",
            "identity_id": "7000",
            "tiktok_item_id": "7301",
        },
        {
            "ad_id": "1802",
            "identity_type": "AUTH_CODE",
            "identity_id": "7000",
            "tiktok_item_id": "7399",
        },
        {
            "ad_id": "1803",
            "identity_type": "AUTH_CODE",
            "identity_id": "7001",
            "tiktok_item_id": "7400",
        },
    ]
    drafts, _ = ad_drafts(ads, advertiser_id=ADVERTISER, seen_at=SEEN)
    ledger.record(dl.Post(id="7399", creator_id="7000", kind="VIDEO"))
    linked = link_ads(drafts, {"7301": auth.id}, known_posts={"7301", "7399"})
    assert [d.ad_id for d in linked.without_code] == ["1802", "1803"]
    assert [d.ad_id for d in linked.unknown_posts] == ["1803"]
    with pytest.raises(MissingReferenceError, match="intended_post_id='7400'"):
        ledger.record_all(linked.ads)  # the unknown post first
    assert ledger.get(dl.SparkAd, "1801") is None  # nothing written
    pair = linked.unknown_posts[0].creator_and_post()
    assert pair is not None
    ledger.record_all([*pair, *linked.ads])
    assert ledger.get(dl.SparkAd, "1802").authorization_id == NO_CODE  # type: ignore[union-attr]
    assert ledger.get(dl.SparkAd, "1801").authorization_id == auth.id  # type: ignore[union-attr]
    # the checks read such ads without tripping over the reference that names no code
    findings = ledger.findings(within="7d", now=SEEN)
    assert all(
        f.authorization_id != NO_CODE or f.kind is dl.FindingKind.NO_OPERATOR for f in findings
    )
    assert ledger.verify().ok
