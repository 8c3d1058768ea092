"""TikTok API payloads to records: ``/tt_video/info/``, ``/tt_video/list/`` and the creator side.

Field names follow TikTok's API for Business docs (see DESIGN §11). Unknown fields are ignored;
a missing required field is a :class:`PayloadError` that names it. The raw ``auth_code`` becomes
a :class:`SparkCode` at once and never appears in an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dateutil.parser import isoparse

from .errors import InvalidRecordError, PayloadError, TikTokAPIError
from .records import Creator, Post, Record, SparkAuthorization

__all__ = [
    "records_from_creator_post",
    "records_from_tt_video_info",
    "records_from_tt_video_list",
    "unwrap",
]

_PLAIN_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def unwrap(payload: Any) -> Mapping[str, Any]:
    """The ``data`` object of a response envelope (or the payload itself if already bare)."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"expected a JSON object, got {type(payload).__name__}")
    if "code" in payload and ("data" in payload or "message" in payload):
        if payload["code"] not in (0, "0"):
            raise TikTokAPIError(payload["code"], str(payload.get("message", "")))
        data = payload.get("data")
        if not isinstance(data, Mapping):
            raise PayloadError("the response envelope has no 'data' object")
        return data
    return payload


def tiktok_time(value: Any, field: str) -> datetime:
    """``"YYYY-MM-DD HH:MM:SS"`` (UTC, as the docs say) or ISO-8601 with ``Z``/an offset."""
    if not isinstance(value, str):
        raise PayloadError(f"{field}: expected a time string, got {value!r}")
    text = value.strip()
    try:
        if _PLAIN_TIME.fullmatch(text):
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        parsed = isoparse(text)
    except (ValueError, OverflowError):
        raise PayloadError(f"{field}: {value!r} is not a time") from None
    if parsed.utcoffset() is None:
        raise PayloadError(f"{field}: {value!r} has no time zone")
    return parsed.astimezone(UTC)


def _part(item: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    part = item.get(name)
    if not isinstance(part, Mapping):
        raise PayloadError(f"{where}: missing required object '{name}'")
    return part


def _field(part: Mapping[str, Any], name: str, where: str) -> Any:
    value = part.get(name)
    if value is None or value == "":
        raise PayloadError(f"{where}: missing required field '{name}'")
    return value


def _records_from_item(item: Any, advertiser_id: str, where: str) -> list[Record]:
    if not isinstance(item, Mapping):
        raise PayloadError(f"{where}: expected an object, got {type(item).__name__}")
    info = _part(item, "item_info", where)
    auth = _part(item, "auth_info", where)
    user = _part(item, "user_info", where)
    creator_id = str(_field(user, "identity_id", f"{where}.user_info"))
    post_id = str(_field(info, "item_id", f"{where}.item_info"))
    source = info.get("stitch_original_item_id") or info.get("duet_original_item_id")
    code = _field(info, "auth_code", f"{where}.item_info")
    if not isinstance(code, str):
        raise PayloadError(f"{where}.item_info: 'auth_code' must be a string")
    try:
        return [
            Creator(id=creator_id, handle=str(_field(user, "tiktok_name", f"{where}.user_info")),
                    region=None),
            Post(id=post_id, creator_id=creator_id, kind=info.get("item_type") or "VIDEO",
                 caption=info.get("text") or None, source_post_id=str(source) if source else None),
            SparkAuthorization.from_code(
                code, creator_id=creator_id, post_id=post_id, ad_account_id=advertiser_id,
                starts_at=tiktok_time(_field(auth, "auth_start_time", f"{where}.auth_info"),
                                      f"{where}.auth_info.auth_start_time"),
                expires_at=tiktok_time(_field(auth, "auth_end_time", f"{where}.auth_info"),
                                       f"{where}.auth_info.auth_end_time"),
            ),
        ]  # fmt: skip
    except InvalidRecordError as error:
        raise PayloadError(f"{where}: {error}") from None


def records_from_tt_video_info(payload: Any, *, advertiser_id: str) -> list[Record]:
    """Creator, Post and SparkAuthorization from a ``GET /tt_video/info/`` response."""
    return _records_from_item(unwrap(payload), str(advertiser_id), "tt_video/info")


def records_from_tt_video_list(payload: Any, *, advertiser_id: str) -> list[Record]:
    """The records of every item of a ``GET /tt_video/list/`` response page."""
    data = unwrap(payload)
    items = data.get("list")
    if not isinstance(items, list):
        raise PayloadError("tt_video/list: missing required list 'list'")
    return [
        record
        for i, item in enumerate(items)
        for record in _records_from_item(item, str(advertiser_id), f"tt_video/list[{i}]")
    ]


def records_from_creator_post(
    payload: Any,
    *,
    creator_id: str,
    advertiser_id: str | None = None,
    revoked_at: datetime | None = None,
) -> list[Record]:
    """A SparkAuthorization from the creator-side ``/business/post/authorize/*`` response.

    These carry no creator; pass ``creator_id`` (and ``advertiser_id`` to bind the code).
    ``auth_code_status`` ``DELETED`` means the creator revoked the code: it is recorded as
    revoked at ``revoked_at`` (the import time).
    """
    data = unwrap(payload)
    where = "business/post/authorize"
    code = _field(data, "auth_code", where)
    if not isinstance(code, str):
        raise PayloadError(f"{where}: 'auth_code' must be a string")
    status = str(data.get("auth_code_status") or "")
    try:
        return [
            SparkAuthorization.from_code(
                code, creator_id=creator_id, post_id=str(_field(data, "item_id", where)),
                starts_at=tiktok_time(_field(data, "auth_code_start_time", where),
                                      f"{where}.auth_code_start_time"),
                expires_at=tiktok_time(_field(data, "auth_code_end_time", where),
                                       f"{where}.auth_code_end_time"),
                revoked_at=revoked_at if status == "DELETED" else None,
                ad_account_id=None if advertiser_id is None else str(advertiser_id),
            )
        ]  # fmt: skip
    except InvalidRecordError as error:
        raise PayloadError(f"{where}: {error}") from None
