"""TikTok payloads to records, and Ledger.import_tiktok (fixtures written from the documented fields)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger import tiktok

CODE = "#tT+doc/example-code=="
ADVERTISER = "6900000000000000001"


def item(code: str = CODE, item_id: str = "7301000000000000001", **auth: str) -> dict[str, Any]:
    return {
        "item_info": {
            "auth_code": code,
            "item_id": item_id,
            "item_type": "VIDEO",
            "text": "hi",
            "status": "HESITATE_RECOMMEND",
            "anchor_list": None,
            "something_new": 1,
        },
        "auth_info": {
            "ad_auth_status": "AUTHORIZED",
            "auth_start_time": "2026-11-01 10:00:00",
            "auth_end_time": "2026-12-01T10:00:00Z",
            "invite_start_time": "2026-11-01 09:00:00",
            **auth,
        },
        "user_info": {
            "identity_id": "7000000000000000001",
            "identity_type": "AUTH_CODE",
            "tiktok_name": "maya.makes",
        },
    }


def envelope(data: object, code: int = 0, message: str = "OK") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": "x", "data": data}


def test_info_payload_becomes_three_records_in_both_time_formats() -> None:
    creator, post, auth = tiktok.records_from_tt_video_info(
        envelope(item()), advertiser_id=ADVERTISER
    )
    assert creator == dl.Creator(id="7000000000000000001", handle="maya.makes", region=None)
    assert (post.kind, post.caption, post.creator_id) == ("VIDEO", "hi", creator.id)  # type: ignore[union-attr]
    assert isinstance(auth, dl.SparkAuthorization) and auth.code.matches(CODE)
    assert auth.starts_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert auth.expires_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert auth.ad_account_id == ADVERTISER


def test_list_page_and_creator_side_payloads() -> None:
    page = {
        "page_info": {"page": 1, "page_size": 20, "total_number": 2, "total_page": 1},
        "list": [item(), item(code="#second-code==", item_id="7301000000000000002")],
    }
    assert len(tiktok.records_from_tt_video_list(page, advertiser_id=ADVERTISER)) == 6
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


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            envelope(
                {},
                code=40001,
                message="advertiser does not grant you /tt_video/info/:GET permission",
            ),
            "TikTok API error 40001: advertiser does not grant you",
        ),
        (
            {k: v for k, v in item().items() if k != "user_info"},
            "missing required object 'user_info'",
        ),
        (
            {**item(), "auth_info": {"auth_start_time": "2026-11-01 10:00:00"}},
            "missing required field 'auth_end_time'",
        ),
        (item(auth_end_time="tomorrow"), "auth_end_time: 'tomorrow' is not a time"),
        (item(auth_end_time="2026-12-01T10:00:00"), "has no time zone"),
        (item(auth_end_time="2026-10-01 10:00:00"), "must be after starts_at"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_payloads_name_the_problem_and_never_the_code(payload: object, message: str) -> None:
    with pytest.raises(dl.PayloadError, match=message) as error:
        tiktok.records_from_tt_video_info(payload, advertiser_id=ADVERTISER)
    assert CODE not in str(error.value)


def test_import_is_idempotent_and_keeps_what_the_ledger_knows(ledger: dl.Ledger) -> None:
    with pytest.raises(
        dl.MissingReferenceError, match="ad account advertiser_id='6900000000000000001'"
    ):
        ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    first = ledger.import_tiktok(envelope(item()), advertiser_id=ADVERTISER)
    assert first.written == 3
    ledger.record(dl.Creator(id="7000000000000000001", handle="maya.makes", region="US"))
    again = ledger.import_tiktok(item(), advertiser_id=ADVERTISER)  # the bare data object
    assert (again.written, again.unchanged) == (0, 3)
    assert ledger.get(dl.Creator, "7000000000000000001").region == "US"  # type: ignore[union-attr]
    assert ledger.authorization_for(CODE) is not None


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
