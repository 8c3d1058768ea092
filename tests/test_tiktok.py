"""TikTok payloads to records, and Ledger.import_tiktok (fixtures written from the documented fields)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger import tiktok
from delvia_ledger.reconcile import reconcile

from .builders import ADVERTISER, CODE, envelope, item


def test_info_payload_becomes_four_records_in_both_time_formats() -> None:
    seen = datetime(2026, 11, 2, tzinfo=UTC)
    creator, post, auth, binding = tiktok.records_from_tt_video_info(
        envelope(item()), advertiser_id=ADVERTISER, seen_at=seen
    )
    # tiktok_name is the nickname, never the handle
    assert creator == dl.Creator(
        id="7000000000000000001",
        region=None,
        display_name="maya.makes",
        tiktok_identity_id="7000000000000000001",
    )
    assert isinstance(post, dl.Post)
    assert (post.kind, post.caption, post.creator_id, post.status) == (
        "VIDEO",
        "hi",
        creator.id,
        "HESITATE_RECOMMEND",
    )
    assert isinstance(auth, dl.SparkAuthorization) and auth.code.matches(CODE)
    assert auth.starts_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert auth.expires_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert auth.ad_account_id == ADVERTISER
    assert binding == dl.SparkBinding(
        authorization_id=auth.id,
        ad_account_id=ADVERTISER,
        bound_at=seen,
        tiktok_status="AUTHORIZED",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01 10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01 10:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01 10:00:00.250", datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2025-05-20T11:40:50Z", datetime(2025, 5, 20, 11, 40, 50, tzinfo=UTC)),
        ("2026-11-01T12:00:00+02:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        (1793527200, datetime(2026, 11, 1, 10, tzinfo=UTC)),
        (1793527200000, datetime(2026, 11, 1, 10, tzinfo=UTC)),
    ],
)
def test_every_tiktok_time_layout_is_utc(text: object, expected: datetime) -> None:
    assert tiktok.tiktok_time(text, "auth_end_time") == expected


def test_list_page_and_creator_side_payloads() -> None:
    page = {
        "page_info": {"page": 1, "page_size": 20, "total_number": 2, "total_page": 1},
        "list": [item(), item(code="#second-code==", item_id="7301000000000000002")],
    }
    assert len(tiktok.records_from_tt_video_list(page, advertiser_id=ADVERTISER)) == 8
    deleted = {
        "item_id": "7301",
        "auth_code": CODE,
        "auth_code_start_time": "2026-11-01 00:00:00",
        "auth_code_end_time": "2026-11-08 00:00:00",
        "authorization_days": 7,
        "auth_code_status": "DELETED",
    }
    now = datetime(2026, 11, 3, tzinfo=UTC)
    [auth] = tiktok.records_from_creator_post(deleted, creator_id="maya", revoked_at=now)
    assert auth.revoked_at == now  # type: ignore[union-attr]
    [live] = tiktok.records_from_creator_post(
        {**deleted, "auth_code_status": "IN_USE"}, creator_id="maya"
    )
    assert live.revoked_at is None  # type: ignore[union-attr]


def non_code_item() -> dict[str, Any]:
    """TikTok sends auth_info: null for identities that are not AUTH_CODE ones."""
    return {
        "item_info": {"item_id": "7301000000000000009", "item_type": "VIDEO", "status": None},
        "auth_info": None,
        "user_info": {"identity_id": "7000000000000000009", "identity_type": "TT_USER"},
    }


def test_real_shapes_null_list_and_non_code_items_are_skipped_and_counted() -> None:
    items, skipped = tiktok.items_from_tt_video(envelope({"list": None, "page_info": {}}))
    assert (items, skipped) == ([], [])
    items, skipped = tiktok.items_from_tt_video(
        envelope({"list": [non_code_item(), item()], "page_info": {"total_page": 1}})
    )
    assert [i.index for i in items] == [1]
    assert [(s.index, "identity_type TT_USER" in s.reason) for s in skipped] == [(0, True)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            envelope(
                {},
                code=40001,
                message="advertiser does not grant you /tt_video/info/:GET permission",
            ),
            "TikTok API error 40001: advertiser does not grant you /tt_video/info/:GET",
        ),
        ({**envelope({}), "code": False}, "TikTok API error false"),
        ({**envelope({}), "code": "oops"}, "TikTok API error oops"),
        (
            {k: v for k, v in item().items() if k != "user_info"},
            "tt_video/info.user_info: required object is missing",
        ),
        (
            {**item(), "auth_info": {"auth_start_time": "2026-11-01 10:00:00"}},
            "tt_video/info.auth_info.auth_end_time: required field is missing",
        ),
        (item(auth_end_time="tomorrow"), "auth_end_time: 'tomorrow' is not a time TikTok sends"),
        (item(auth_end_time="2026-10-01 10:00:00"), "must be after starts_at"),
        ({**item(), "auth_info": [1]}, "auth_info: required object is a list, not an object"),
        ([1, 2], "expected a JSON object, got a list"),
    ],
)
def test_bad_payloads_name_the_problem_and_never_the_code(payload: object, message: str) -> None:
    with pytest.raises(dl.PayloadError, match=re.escape(message)) as error:
        tiktok.records_from_tt_video_info(payload, advertiser_id=ADVERTISER)
    assert CODE not in str(error.value)


@pytest.mark.parametrize("bad", [{"a": 1}, [1, 2], True, 1.5, float("nan"), ""])
@pytest.mark.parametrize(
    ("part", "field"), [("user_info", "identity_id"), ("item_info", "item_id")]
)
def test_wrong_type_ids_are_refused_never_turned_into_ids(
    bad: object, part: str, field: str
) -> None:
    """A dict, list, bool or float where an id belongs is refused, named by index and field."""
    payload = item()
    payload[part][field] = bad
    page = envelope({"list": [item(code="#ok-code=="), payload], "page_info": {}})
    with pytest.raises(dl.PayloadError, match=re.escape(f"tt_video/list[1].{part}.{field}")):
        tiktok.items_from_tt_video(page)


def test_an_integer_id_is_kept_as_its_digits() -> None:
    payload = item()
    payload["item_info"]["item_id"] = 7301000000000000001
    [found], _ = tiktok.items_from_tt_video(payload)
    assert found.post.id == "7301000000000000001"


def test_import_is_idempotent_and_keeps_what_the_ledger_knows(ledger: dl.Ledger) -> None:
    with pytest.raises(
        dl.MissingReferenceError, match="ad account advertiser_id='6900000000000000001'"
    ):
        ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    first = ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    assert first.written == 4
    creator = ledger.get(dl.Creator, "7000000000000000001")
    assert creator is not None
    ledger.record(attrs.evolve(creator, handle="@maya.makes", region="US"))
    again = ledger.import_tiktok(item(), advertiser_id=ADVERTISER)  # the bare data object
    assert (again.written, again.unchanged) == (0, 4)
    kept = ledger.get(dl.Creator, "7000000000000000001")
    assert kept is not None and (kept.handle, kept.region, kept.display_name) == (
        "maya.makes",
        "US",
        "maya.makes",
    )
    assert ledger.authorization_for(CODE) is not None


def test_a_team_creator_id_is_found_by_its_tiktok_identity(ledger: dl.Ledger) -> None:
    """Teams record creators under their own ids; imports find them by tiktok_identity_id."""
    ledger.record_all(
        [
            dl.AdAccount(id=ADVERTISER, name="Brand", region="US"),
            dl.Creator(
                id="yuki",
                handle="@yuki.styles",
                region="JP",
                tiktok_identity_id="7000000000000000001",
            ),
        ]
    )
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    auth = ledger.authorization_for(CODE)
    post = ledger.get(dl.Post, "7301000000000000001")
    assert auth is not None and post is not None
    assert (auth.creator_id, post.creator_id) == ("yuki", "yuki")
    assert ledger.get(dl.Creator, "7000000000000000001") is None  # no duplicate creator
    yuki = ledger.get(dl.Creator, "yuki")
    assert yuki is not None and (yuki.handle, yuki.region) == ("yuki.styles", "JP")


def test_a_team_post_links_its_creator_to_the_identity(ledger: dl.Ledger) -> None:
    """A post recorded under the team's creator id links that creator to TikTok's identity."""
    ledger.record_all(
        [
            dl.AdAccount(id=ADVERTISER, name="Brand", region="US"),
            dl.Creator(id="yuki", handle="@yuki.styles", region="JP"),
            dl.Post(id="7301000000000000001", creator_id="yuki", kind="VIDEO"),
        ]
    )
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    yuki = ledger.get(dl.Creator, "yuki")
    assert yuki is not None and yuki.tiktok_identity_id == "7000000000000000001"
    assert ledger.authorization_for(CODE).creator_id == "yuki"  # type: ignore[union-attr]


def test_a_second_advertiser_adds_a_binding_and_leaves_the_first(
    ledger: dl.Ledger, clock: Any
) -> None:
    other = "6900000000000000002"
    ledger.record_all(
        [
            dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"),
            dl.AdAccount(id=other, name="Brand UK", region="GB"),
        ]
    )
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    clock.advance(hours=1)
    second = ledger.import_tiktok(envelope(item()), advertiser_id=other)
    auth = ledger.authorization_for(CODE)
    assert auth is not None and auth.ad_account_id == ADVERTISER  # an import never moves it
    assert second.written == 1  # only the new binding
    bindings = {b.ad_account_id: b for b in ledger.records(dl.SparkBinding)}
    assert set(bindings) == {ADVERTISER, other}
    assert all(b.unbound_at is None for b in bindings.values())
    for advertiser in (ADVERTISER, other, ADVERTISER):
        assert ledger.import_tiktok(envelope(item()), advertiser_id=advertiser).written == 0


def test_statuses_extended_windows_and_rebinding_are_recorded(
    ledger: dl.Ledger, clock: Any
) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    first_bound = clock.now
    clock.advance(days=1)
    expired = item(ad_auth_status="EXPIRED", auth_end_time="2026-12-31 10:00:00")
    expired["item_info"]["status"] = "ITEM_STATUS_USER_DELETE"
    result = ledger.import_tiktok(envelope(expired), advertiser_id=ADVERTISER)
    assert result.written == 3  # post status, the extended window, the binding's status
    auth = ledger.authorization_for(CODE)
    assert auth is not None and auth.expires_at == datetime(2026, 12, 31, 10, tzinfo=UTC)
    post = ledger.get(dl.Post, "7301000000000000001")
    assert post is not None and post.status == "USER_DELETE"
    binding = ledger.get(dl.SparkBinding, f"{auth.id}@{ADVERTISER}")
    assert binding is not None and (binding.tiktok_status, binding.bound_at) == (
        "EXPIRED",
        first_bound,
    )
    # a page that lists the post with another code unbinds the old one there ...
    clock.advance(days=1)
    replaced = envelope({"list": [item(code="#new-code-for-the-post==")], "page_info": {}})
    assert ledger.import_tiktok(replaced, advertiser_id=ADVERTISER).unbound == 1
    binding = ledger.get(dl.SparkBinding, f"{auth.id}@{ADVERTISER}")
    assert binding is not None and binding.unbound_at == clock.now
    # ... and a page that lists the old code again re-binds it, dated now
    clock.advance(days=1)
    ledger.import_tiktok(envelope({"list": [item()], "page_info": {}}), advertiser_id=ADVERTISER)
    binding = ledger.get(dl.SparkBinding, f"{auth.id}@{ADVERTISER}")
    assert binding is not None and (binding.bound_at, binding.unbound_at) == (clock.now, None)


def test_non_code_items_are_skipped_and_counted_by_the_import(ledger: dl.Ledger) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    result = ledger.import_tiktok(
        envelope({"list": [non_code_item(), item()], "page_info": {}}), advertiser_id=ADVERTISER
    )
    assert result.written == 4 and [s.index for s in result.skipped] == [0]


def test_a_malformed_item_refuses_the_whole_page_and_writes_nothing(ledger: dl.Ledger) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    before = ledger.digest()
    bad = item(code="#other-code==")
    bad["auth_info"]["auth_start_time"] = {"when": "now"}
    with pytest.raises(dl.PayloadError, match=r"tt_video/list\[1\]\.auth_info\.auth_start_time"):
        ledger.import_tiktok(
            envelope({"list": [item(), bad], "page_info": {}}), advertiser_id=ADVERTISER
        )
    assert ledger.digest() == before


def test_a_page_refused_after_a_batch_was_written_leaves_nothing_of_it(ledger: dl.Ledger) -> None:
    """The import writes in its own transaction, with no savepoint under it: a refusal in its
    second batch of the writer still leaves nothing of the first, and inside a caller's block
    that goes on, only the import is undone."""
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    ledger.import_tiktok(envelope({"list": [item()], "page_info": {}}), advertiser_id=ADVERTISER)
    # 300 new codes (900 records: more than one batch), then the first code on another post
    page = [item(code=f"#code-{n:04d}==", item_id=f"73{n:017d}") for n in range(300)]
    page.append(item(item_id="7399999999999999999"))
    before = ledger.digest()
    with pytest.raises(dl.ImmutableFieldError, match="post_id cannot change"):
        ledger.import_tiktok(envelope({"list": page, "page_info": {}}), advertiser_id=ADVERTISER)
    assert ledger.digest() == before
    with ledger.transaction():
        ledger.record(dl.AdAccount(id="6900", name="Other", region="US"))
        with pytest.raises(dl.ImmutableFieldError):
            ledger.import_tiktok(
                envelope({"list": page, "page_info": {}}), advertiser_id=ADVERTISER
            )
    assert ledger.get(dl.AdAccount, "6900") is not None
    assert ledger.get(dl.Post, f"73{0:017d}") is None
    assert len(list(ledger.entries())) == before.seq + 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    junk=json_values,
    path=st.lists(
        st.sampled_from(
            [
                "item_info",
                "auth_info",
                "user_info",
                "auth_code",
                "auth_end_time",
                "identity_id",
                "item_id",
            ]
        ),
        max_size=2,
    ),
)
def test_junk_gives_a_clear_error_or_records_never_a_crash_or_partial_write(
    ledger: dl.Ledger, junk: object, path: list[str]
) -> None:
    ledger.record(
        dl.AdAccount(id=ADVERTISER, name="Brand", region="US")
    ) if ledger.seq == 0 else None
    payload: Any = copy.deepcopy(item())
    target = payload
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict) and path:
        target[path[-1]] = junk
    elif not path:
        payload = junk
    before = ledger.digest()
    try:
        ledger.import_tiktok(json.loads(json.dumps(payload)), advertiser_id=ADVERTISER)
    except dl.LedgerError as error:
        assert ledger.digest() == before and CODE not in str(error)
    else:
        assert ledger.verify().ok


def test_creator_side_import_revokes_once(ledger: dl.Ledger, clock: object) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    deleted = {
        "item_id": "7301000000000000001",
        "auth_code": CODE,
        "auth_code_status": "DELETED",
        "auth_code_start_time": "2026-11-01 10:00:00",
        "auth_code_end_time": "2026-12-01 10:00:00",
    }
    with pytest.raises(ValueError, match="needs creator_id"):
        ledger.import_tiktok(deleted)
    first = ledger.import_tiktok(
        envelope(deleted), creator_id="7000000000000000001", advertiser_id=ADVERTISER
    )
    auth = ledger.authorization_for(CODE)
    assert first.written == 1 and auth is not None and auth.revoked_at is not None
    clock.advance(days=1)  # type: ignore[attr-defined]
    again = ledger.import_tiktok(
        deleted, creator_id="7000000000000000001", advertiser_id=ADVERTISER
    )
    assert again.written == 0  # the first revocation time stands
    with pytest.raises(ValueError, match="needs advertiser_id"):
        ledger.import_tiktok(item())


# --- hardening (issue 12): every id field, the creator side, times at the limits, nesting ----

WRONG_TYPE_IDS = [{"a": 1}, [1, 2], True, False, 1.5, float("nan"), float("inf"), 10**40, -1]


@pytest.mark.parametrize("bad", WRONG_TYPE_IDS, ids=repr)
@pytest.mark.parametrize("field", ["stitch_original_item_id", "duet_original_item_id"])
def test_wrong_type_source_post_ids_are_refused_by_their_own_name(bad: object, field: str) -> None:
    """A dict or list here became a permanent source post id; a bad duet id was named stitch."""
    payload = item()
    payload["item_info"][field] = bad
    page = envelope({"list": [item(code="#ok-code=="), payload], "page_info": {}})
    with pytest.raises(dl.PayloadError, match=re.escape(f"tt_video/list[1].item_info.{field}")):
        tiktok.items_from_tt_video(page)


@pytest.mark.parametrize("bad", [*WRONG_TYPE_IDS, "", "  "], ids=repr)
def test_wrong_type_advertiser_ids_are_refused(ledger: dl.Ledger, bad: object) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    before = ledger.digest()
    with pytest.raises(ValueError, match="advertiser_id"):
        ledger.import_tiktok(envelope(item()), advertiser_id=bad)  # type: ignore[arg-type]
    for translate in (tiktok.records_from_tt_video_info, tiktok.records_from_tt_video_list):
        with pytest.raises(dl.PayloadError, match="advertiser_id"):
            translate(envelope(item()), advertiser_id=bad)  # type: ignore[arg-type]
    assert ledger.digest() == before


def creator_side(**fields: object) -> dict[str, Any]:
    return {
        "item_id": "7301000000000000001",
        "auth_code": CODE,
        "auth_code_status": "IN_USE",
        "auth_code_start_time": "2026-11-01 10:00:00",
        "auth_code_end_time": "2026-12-01 10:00:00",
        **fields,
    }


@pytest.mark.parametrize("bad", WRONG_TYPE_IDS, ids=repr)
def test_the_creator_side_refuses_wrong_type_ids(bad: object) -> None:
    with pytest.raises(dl.PayloadError, match=r"business/post/authorize\.item_id"):
        tiktok.records_from_creator_post(creator_side(item_id=bad), creator_id="maya")
    with pytest.raises(dl.PayloadError, match="creator_id"):
        tiktok.records_from_creator_post(creator_side(), creator_id=bad)  # type: ignore[arg-type]
    with pytest.raises(dl.PayloadError, match="advertiser_id"):
        tiktok.records_from_creator_post(creator_side(), creator_id="maya", advertiser_id=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [{"a": 1}, [1], 5, True], ids=repr)
@pytest.mark.parametrize("field", ["auth_code", "auth_code_status"])
def test_the_creator_side_refuses_wrong_type_codes_and_statuses(bad: object, field: str) -> None:
    with pytest.raises(dl.PayloadError, match=rf"business/post/authorize\.{field}"):
        tiktok.records_from_creator_post(creator_side(**{field: bad}), creator_id="maya")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_times_beyond_the_limits_are_payload_errors(ledger: dl.Ledger, moment: str) -> None:
    """Both importers raised OverflowError."""
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    before = ledger.digest()
    with pytest.raises(
        dl.PayloadError, match=r"tt_video/info\.auth_info\.auth_end_time: .* is not a time"
    ):
        ledger.import_tiktok(envelope(item(auth_end_time=moment)), advertiser_id=ADVERTISER)
    with pytest.raises(
        dl.PayloadError, match=r"auth_code_end_time: .* between the years 1 and 9999"
    ):
        ledger.import_tiktok(
            creator_side(auth_code_end_time=moment), creator_id="7000000000000000001"
        )
    assert ledger.digest() == before


def test_a_status_that_is_no_status_word_names_its_item() -> None:
    """It reached SparkBinding's validator, whose error did not say which item it was."""
    page = envelope({"list": [item(), item(code="#two==", ad_auth_status="ok!")], "page_info": {}})
    with pytest.raises(dl.PayloadError, match=r"tt_video/list\[1\]\.auth_info\.ad_auth_status"):
        tiktok.items_from_tt_video(page)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_json_is_a_clear_error_not_a_recursion_error(ledger: dl.Ledger) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    before = ledger.digest()
    for text in ("[" * 100_000 + "]" * 100_000, '{"data": ' * 100_000):
        with pytest.raises(dl.PayloadError, match="nested too deeply"):
            ledger.import_tiktok(text, advertiser_id=ADVERTISER)
    # a deep structure in the envelope's code or message was put through str() and repr()
    for payload in (
        {"code": nested(100_000), "message": "x", "data": {}},
        {"code": 40001, "message": nested(100_000), "request_id": nested(10), "data": {}},
        {"list": [nested(100_000)], "page_info": {}},
    ):
        with pytest.raises(dl.PayloadError):
            ledger.import_tiktok(payload, advertiser_id=ADVERTISER)
    assert ledger.digest() == before


def test_a_response_body_as_text_imports_and_bad_text_is_refused_without_echo(
    ledger: dl.Ledger,
) -> None:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    assert ledger.import_tiktok(json.dumps(envelope(item())), advertiser_id=ADVERTISER).written == 4
    for text in (json.dumps(envelope(item()))[:-3], b"\xff" + json.dumps(item()).encode()):
        with pytest.raises(dl.PayloadError, match="the response is not") as error:
            ledger.import_tiktok(text, advertiser_id=ADVERTISER)
        assert CODE not in str(error.value) and error.value.__context__ is None


@pytest.mark.parametrize("code", [False, True, None, "0x0", 0.0, [0], {"0": 0}, ""])
def test_only_the_number_zero_is_success(code: object) -> None:
    with pytest.raises(dl.TikTokAPIError):
        tiktok.unwrap({"code": code, "message": "OK", "data": item()})


@pytest.mark.parametrize("code", [0, "0", " 0 "])
def test_zero_as_a_number_or_text_is_success(code: object) -> None:
    assert tiktok.unwrap({"code": code, "message": "OK", "data": {"a": 1}}) == {"a": 1}


# Pages drawn from a few codes: each code is of one post, each post of one of two creators,
# and what TikTok says of them (window, status, caption, nickname) varies between pages.
page_items = st.lists(
    st.tuples(
        st.integers(0, 3),  # the code (and so its post and creator)
        st.sampled_from(["2026-12-01 10:00:00", "2027-01-01 10:00:00"]),
        st.sampled_from(["AUTHORIZED", "SUSPENDED"]),
        st.sampled_from(["hi", "hello"]),
        st.sampled_from(["maya.makes", "maya"]),
    ),
    max_size=6,
)


def _page(drawn: list[tuple[int, str, str, str, str]]) -> dict[str, Any]:
    items = []
    for code, ends, status, text, name in drawn:
        one = item(f"#code-{code}=", f"730100000000000000{code}", auth_end_time=ends)
        one["auth_info"]["ad_auth_status"] = status
        one["item_info"]["text"] = text
        one["user_info"].update(identity_id=f"700000000000000000{code % 2}", tiktok_name=name)
        items.append(one)
    return {"list": items, "page_info": {"page": 1, "page_size": 50, "total_number": len(items)}}


def tiktok_items(drawn: list[tuple[int, str, str, str, str]]) -> list[tiktok.Item]:
    items, skipped = tiktok.items_from_tt_video(_page(drawn))
    assert not skipped
    return items


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=st.lists(page_items, min_size=1, max_size=4))
def test_each_import_counts_every_record_it_covers_once_as_written_or_unchanged(
    backend: Any, clock: Any, pages: list[list[tuple[int, str, str, str, str]]]
) -> None:
    with backend.fresh().open(clock=clock) as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
        for drawn in pages + pages[-1:]:  # the last page twice: the second writes nothing
            before = ledger.seq
            result = ledger.import_tiktok(envelope(_page(drawn)), advertiser_id=ADVERTISER)
            codes = {code for code, *_ in drawn}
            # a creator, a post, a code and its binding; one version each, however often listed
            covered = len({code % 2 for code in codes}) + 3 * len(codes)
            assert (result.written + result.unchanged, result.unbound) == (covered, 0)
            assert ledger.seq - before == result.written
        assert result.written == 0
        with ledger.transaction():  # the repeat: reconcile hands record_all nothing to compare
            again = tiktok_items(drawn)
            merged = reconcile(ledger._store, again, ADVERTISER, clock(), listed="page")
        assert (merged.records, merged.unchanged) == ([], result.unchanged)
        for identity, name in {d[0] % 2: d[4] for d in drawn}.items():  # the last says
            creator = ledger.get(dl.Creator, f"700000000000000000{identity}")
            assert creator is not None and creator.display_name == name
        for code, ends, status, text, _ in {d[0]: d for d in drawn}.values():
            auth = ledger.authorization_for(f"#code-{code}=")
            binding = ledger.get(dl.SparkBinding, f"{auth.id}@{ADVERTISER}") if auth else None
            post = ledger.get(dl.Post, f"730100000000000000{code}")
            assert auth is not None and auth.expires_at == tiktok.tiktok_time(ends, "end")
            assert binding is not None and binding.tiktok_status == status
            assert post is not None and post.caption == text


# --- a post's kind (issue 21.5): images mean CAROUSEL, and what TikTok says corrects a guess ---


def carousel(**info: object) -> dict[str, Any]:
    listed = item()
    del listed["item_info"]["item_type"]
    listed["item_info"].update(info)
    return listed


@pytest.mark.parametrize(
    ("info", "kind", "reported"),
    [
        (
            {"carousel_info": {"image_info": [{"image_id": "i1"}], "music_info": None}},
            "CAROUSEL",
            True,
        ),
        ({"carousel_info": {"image_info": []}}, "VIDEO", False),
        ({"carousel_info": None, "video_info": {"duration": 9.5}}, "VIDEO", False),
        ({}, "VIDEO", False),
        ({"item_type": "carousel"}, "CAROUSEL", True),
        (
            {"item_type": "VIDEO", "carousel_info": {"image_info": [{"image_id": "i1"}]}},
            "VIDEO",
            True,
        ),
    ],
)
def test_a_posts_kind_is_what_tiktok_says_else_a_guess(
    info: dict[str, object], kind: str, reported: bool
) -> None:
    (found,), _ = tiktok.items_from_tt_video(envelope(carousel(**info)))
    assert (found.post.kind.value, found.kind_reported) == (kind, reported)


@pytest.mark.parametrize(
    ("info", "field"),
    [
        ({"item_type": "STORY"}, "item_info.item_type"),
        ({"carousel_info": "images"}, "item_info.carousel_info"),
        ({"carousel_info": {"image_info": "i1"}}, "item_info.carousel_info.image_info"),
    ],
)
def test_a_malformed_kind_names_its_field(info: dict[str, object], field: str) -> None:
    with pytest.raises(dl.PayloadError, match=rf"^tt_video/list\[0\]\.{re.escape(field)}:"):
        tiktok.items_from_tt_video(envelope({"list": [carousel(**info)]}))


def test_images_seen_later_correct_a_guessed_kind_and_silence_keeps_it(ledger: dl.Ledger) -> None:
    """``kind`` is not an identity field: a guess of VIDEO is not kept for ever."""
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    ledger.import_tiktok(envelope(carousel()), advertiser_id=ADVERTISER)
    post = ledger.get(dl.Post, "7301000000000000001")
    assert post is not None and post.kind == "VIDEO"  # nothing said: the guess
    images = {"carousel_info": {"image_info": [{"image_id": "i1"}, {"image_id": "i2"}]}}
    assert ledger.import_tiktok(envelope(carousel(**images)), advertiser_id=ADVERTISER).written == 1
    assert ledger.get(dl.Post, "7301000000000000001").kind == "CAROUSEL"  # type: ignore[union-attr]
    # a later answer that says nothing of the kind keeps what TikTok said before
    assert ledger.import_tiktok(envelope(carousel()), advertiser_id=ADVERTISER).written == 0
    assert ledger.get(dl.Post, "7301000000000000001").kind == "CAROUSEL"  # type: ignore[union-attr]
    assert [
        getattr(e.record, "kind", None) for e in ledger.history(dl.Post, "7301000000000000001")
    ] == [
        "VIDEO",
        "CAROUSEL",
    ]
