"""TikTok API payloads to records: ``/tt_video/info/``, ``/tt_video/list/`` and the creator side.

Field names follow TikTok's API for Business docs (DESIGN §9, §11). Pure translation: what the
ledger already knows is merged in by :meth:`Ledger.import_tiktok`. Unknown fields are ignored;
a missing or malformed required field is a :class:`PayloadError` naming the item and the field.
The raw ``auth_code`` becomes a :class:`SparkCode` at once and never appears in an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast

import attrs
from dateutil.parser import isoparse

from .errors import InvalidRecordError, PayloadError, TikTokAPIError
from .records import (
    Creator,
    Post,
    PostKind,
    Record,
    SparkAuthorization,
    SparkBinding,
    is_status_word,
    shown,
    to_tiktok_status,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "Item",
    "Skipped",
    "entries",
    "items_from_tt_video",
    "numbered",
    "parse_json",
    "post_kind",
    "records_from_creator_post",
    "records_from_tt_video_info",
    "records_from_tt_video_list",
    "tiktok_time",
    "unwrap",
]

#: TikTok's API for Business, as ``sync`` and ``check --live`` call it (here, not in ``sync``, so
#: that the command line can show it without importing httpx).
DEFAULT_BASE_URL: Final = "https://business-api.tiktok.com/open_api/v1.3/"

#: Envelope codes that still carry data: 0 (OK) and 20001 (partial success).
OK_CODES = (0, 20001)


@attrs.frozen
class Skipped:
    """An item of a TikTok response that holds no code authorization, and why."""

    index: int
    reason: str

    def __str__(self) -> str:
        return f"item {self.index}: {self.reason}"


@attrs.frozen
class Item:
    """One code authorization as TikTok reports it, before the ledger merges what it knows.

    ``creator`` carries TikTok's identity (its id is the ``identity_id``), ``tiktok_status``
    the ``ad_auth_status`` for the advertiser that listed it. ``kind_reported`` is False when
    TikTok said nothing of the post's kind (no ``item_type``, no images) and ``post.kind`` is
    the guess ``VIDEO``: a merge then keeps the kind the ledger holds.
    """

    index: int
    creator: Creator
    post: Post
    authorization: SparkAuthorization
    tiktok_status: str | None
    kind_reported: bool = True


def parse_json(text: str | bytes | bytearray) -> Any:
    """A TikTok response body read as JSON.

    Text that is not JSON, not UTF-8, or nested too deeply for Python to read (TikTok's own
    answers are a few levels deep) is a :class:`PayloadError`, which never quotes the text:
    it may hold raw codes.

    >>> parse_json('{"code": 0, "data": {}}')
    {'code': 0, 'data': {}}
    >>> parse_json("[" * 100_000)
    Traceback (most recent call last):
    ...
    delvia_ledger.errors.PayloadError: the JSON is nested too deeply to be a TikTok response
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        problem = f"not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
    except RecursionError:
        problem = "the JSON is nested too deeply to be a TikTok response"
    # raised here, outside the handler, so that it does not chain to (and carry) the text
    raise PayloadError(problem if problem.startswith("the") else f"the response is {problem}")


def unwrap(payload: Any, *, allow_partial: bool = False) -> Mapping[str, Any]:
    """The ``data`` object of a response envelope (or the payload itself if already bare).

    An envelope whose ``code`` is not 0 is refused with TikTok's code, message and request
    id; with ``allow_partial``, 20001 (partial success) passes too.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(f"expected a JSON object, got {_kind(payload)}")
    if "code" in payload and ("data" in payload or "message" in payload):
        code = payload["code"]
        number = _envelope_code(code)
        if number is None or number not in (OK_CODES if allow_partial else (0,)):
            message, request_id = payload.get("message"), payload.get("request_id")
            raise TikTokAPIError(
                _shown_code(code) if number is None else number,
                message[:500] if isinstance(message, str) else "",
                request_id[:100] if isinstance(request_id, str) else None,
            )
        data = payload.get("data")
        if not isinstance(data, Mapping):
            raise PayloadError("the response envelope has no 'data' object")
        return data
    return payload


def _envelope_code(code: object) -> int | None:
    """An envelope ``code`` as an int; None for anything else (``false``, ``"abc"``, 1.5).

    Only the integer 0 (or the text ``"0"``) is success: ``false`` is not a number here.
    """
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and len(code) < 20 and code.strip().lstrip("-").isdecimal():
        return int(code)
    return None


def _shown_code(code: object) -> str:
    """A code that is not a number, as an error shows it (short, never a whole structure)."""
    if isinstance(code, str):
        return repr(code[:20] + "…") if len(code) > 20 else code
    if isinstance(code, bool):
        return "true" if code else "false"
    return f"({_kind(code)}, not a number)"


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "null" if value is None else "a number"
    )


def tiktok_time(value: Any, field: str) -> datetime:
    """A time in any layout TikTok sends, as UTC.

    ``"YYYY-MM-DD HH:MM:SS"`` (TikTok documents these as UTC+0), ``"YYYY-MM-DD HH:MM"``,
    fractional seconds, a bare date, ISO-8601 with ``Z`` or an offset, or epoch seconds.

    >>> tiktok_time("2026-11-01 10:00", "auth_end_time").isoformat()
    '2026-11-01T10:00:00+00:00'
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(f"{field}: expected a time, got {_kind(value)}")
    try:
        if not isinstance(value, str):
            if not math.isfinite(value):
                raise ValueError
            seconds = value / 1000 if abs(value) >= 1e11 else value  # milliseconds
            return datetime.fromtimestamp(seconds, UTC)
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)  # the common layouts, with a space or a T
        except ValueError:
            parsed = isoparse(text)
        if parsed.utcoffset() is None:
            return parsed.replace(tzinfo=UTC)  # TikTok's offset-less times are UTC+0
        return parsed.astimezone(UTC)  # OverflowError near the year 1 or 9999
    except (ValueError, OverflowError, OSError):
        shown = repr(value[:40]) if isinstance(value, str) else str(value)[:40]
        raise PayloadError(
            f"{field}: {shown} is not a time TikTok sends (or not one between the years "
            "1 and 9999 in UTC)"
        ) from None


def _part(item: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    part = item.get(name)
    if not isinstance(part, Mapping):
        found = "missing" if part is None else f"{_kind(part)}, not an object"
        raise PayloadError(f"{where}.{name}: required object is {found}")
    return part


def _required(part: Mapping[str, Any], name: str, where: str) -> Any:
    value = part.get(name)
    if value is None or value == "":
        raise PayloadError(f"{where}.{name}: required field is missing")
    return value


#: TikTok ids are 19-digit numbers; a whole number beyond this is no id.
_LARGEST_ID = 10**30


def _id(value: Any, where: str) -> str:
    """A TikTok id: a string or a whole number, never a bool, float, list or object."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _LARGEST_ID:
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, float):
        got = "a number that is not whole"
    elif isinstance(value, int) and not isinstance(value, bool):
        got = "a number out of range"
    else:
        got = _kind(value)
    raise PayloadError(f"{where}: an id must be a string or a whole number, got {got}")


def _optional_id(value: Any, where: str) -> str | None:
    return None if value is None or value == "" else _id(value, where)


def _text(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}: expected text, got {_kind(value)}")
    return value


def _status(value: Any, where: str) -> str | None:
    """TikTok's ``ad_auth_status``: a status word such as ``AUTHORIZED`` (upper-cased)."""
    status = to_tiktok_status(_text(value, where))
    if status is not None and not is_status_word(status):
        raise PayloadError(
            f"{where}: {shown(value)} is not a TikTok status word such as 'AUTHORIZED'"
        )
    return cast(str | None, status)


def _source_post(info: Mapping[str, Any], where: str) -> str | None:
    """The post a stitch or duet was made from (each field checked as an id where it is set)."""
    stitch, duet = (
        _optional_id(info.get(name), f"{where}.{name}")
        for name in ("stitch_original_item_id", "duet_original_item_id")
    )
    return stitch or duet


def post_kind(info: Mapping[str, Any], where: str) -> PostKind | None:
    """A post's kind as TikTok reports it: ``item_type``, else ``CAROUSEL`` when
    ``carousel_info.image_info`` lists images (TikTok sends ``carousel_info`` null for a
    video); None when TikTok says nothing (no ``item_type``, no images).

    >>> post_kind({"carousel_info": {"image_info": [{"image_id": "i1"}]}}, "item_info")
    <PostKind.CAROUSEL: 'CAROUSEL'>
    >>> post_kind({"carousel_info": None}, "item_info") is None
    True
    """
    stated = _text(info.get("item_type"), f"{where}.item_type")
    if stated is not None:
        try:
            return PostKind(stated.strip().upper())
        except ValueError:
            raise PayloadError(
                f"{where}.item_type: {shown(stated)} is not a post kind TikTok sends "
                "('VIDEO' or 'CAROUSEL')"
            ) from None
    carousel = info.get("carousel_info")
    if carousel is None:
        return None
    if not isinstance(carousel, Mapping):
        raise PayloadError(f"{where}.carousel_info: expected an object, got {_kind(carousel)}")
    images = carousel.get("image_info")
    if images is not None and (not isinstance(images, Sequence) or isinstance(images, str)):
        raise PayloadError(
            f"{where}.carousel_info.image_info: expected a list, got {_kind(images)}"
        )
    return PostKind.CAROUSEL if images else None


def _code(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{where}: the auth_code must be a non-empty string")
    return value


def _item(
    item: Any,
    index: int,
    where: str,
    ad_account_id: str | None = None,
    creators: dict[tuple[str, str | None], Creator] | None = None,
) -> Item | Skipped:
    """Translate one ``tt_video`` item; an item without a code authorization is skipped.

    ``creators``: the creators this page built, by (identity, nickname): a creator of many
    posts is built once.
    """
    if not isinstance(item, Mapping):
        raise PayloadError(f"{where}: expected an object, got {_kind(item)}")
    info = _part(item, "item_info", where)
    auth = item.get("auth_info")
    code = info.get("auth_code")
    if auth is None or code is None or code == "":
        user = item.get("user_info")
        identity_type = user.get("identity_type") if isinstance(user, Mapping) else None
        what = f" (identity_type {identity_type})" if isinstance(identity_type, str) else ""
        return Skipped(index, f"no code authorization{what}: auth_info or auth_code is empty")
    if not isinstance(auth, Mapping):
        raise PayloadError(f"{where}.auth_info: required object is {_kind(auth)}, not an object")
    user = _part(item, "user_info", where)
    raw_code = _code(code, f"{where}.item_info.auth_code")
    identity = _id(
        _required(user, "identity_id", f"{where}.user_info"), f"{where}.user_info.identity_id"
    )
    post_id = _id(_required(info, "item_id", f"{where}.item_info"), f"{where}.item_info.item_id")
    source = _source_post(info, f"{where}.item_info")
    status = _status(auth.get("ad_auth_status"), f"{where}.auth_info.ad_auth_status")
    times = {
        field: tiktok_time(_required(auth, name, f"{where}.auth_info"), f"{where}.auth_info.{name}")
        for field, name in (("starts_at", "auth_start_time"), ("expires_at", "auth_end_time"))
    }
    kind = post_kind(info, f"{where}.item_info")
    name = _text(user.get("tiktok_name"), f"{where}.user_info.tiktok_name")
    try:
        creator = creators.get((identity, name)) if creators is not None else None
        if creator is None:
            creator = Creator(
                id=identity, region=None, display_name=name, tiktok_identity_id=identity
            )
            if creators is not None:
                creators[identity, name] = creator
        return Item(
            index=index,
            creator=creator,
            post=Post(
                id=post_id,
                creator_id=identity,
                kind=kind or PostKind.VIDEO,
                caption=_text(info.get("text"), f"{where}.item_info.text"),
                source_post_id=source,
                status=_text(info.get("status"), f"{where}.item_info.status"),
            ),
            authorization=SparkAuthorization.from_code(
                raw_code, creator_id=identity, post_id=post_id, ad_account_id=ad_account_id, **times
            ),
            tiktok_status=status,
            kind_reported=kind is not None,
        )
    except InvalidRecordError as error:
        raise PayloadError(f"{where}: {error}") from None


def items_from_tt_video(
    payload: Any,
    *,
    allow_partial: bool = False,
    ad_account_id: str | None = None,
    creators: dict[tuple[str, str | None], Creator] | None = None,
) -> tuple[list[Item], list[Skipped]]:
    """The code authorizations of a ``/tt_video/info/`` or ``/tt_video/list/`` response.

    Takes the envelope or its ``data``; ``"list": null`` is an empty page. Items without a
    code authorization (``auth_info: null``, no ``auth_code``) are skipped and returned with
    the reason; a malformed item is a :class:`PayloadError` that names its index. Given the
    ``ad_account_id`` that listed them, each authorization is built with it (so a merge with
    what the ledger knows need not build it again). ``creators``: the creators earlier pages
    of the same sweep built, by (identity, nickname), reused (and added to).
    """
    data = unwrap(payload, allow_partial=allow_partial)
    if is_list(data):
        entries = data.get("list")
        if entries is None:
            entries = []
        if not isinstance(entries, Sequence) or isinstance(entries, str):
            raise PayloadError(f"tt_video/list: 'list' must be a list, got {_kind(entries)}")
        creators = {} if creators is None else creators
        found = [
            _item(entry, i, f"tt_video/list[{i}]", ad_account_id, creators)
            for i, entry in enumerate(entries)
        ]
    else:
        found = [_item(data, 0, "tt_video/info", ad_account_id)]
    items = [f for f in found if isinstance(f, Item)]
    return items, [f for f in found if isinstance(f, Skipped)]


def _records(items: list[Item], advertiser_id: str, seen_at: datetime | None) -> list[Record]:
    bound_at = seen_at or datetime.now(UTC)
    records: list[Record] = []
    for item in items:
        auth = attrs.evolve(item.authorization, ad_account_id=advertiser_id)
        binding = SparkBinding(
            authorization_id=auth.id,
            ad_account_id=advertiser_id,
            bound_at=bound_at,
            tiktok_status=item.tiktok_status,
        )
        records += [item.creator, item.post, auth, binding]
    return records


def records_from_tt_video_info(
    payload: Any, *, advertiser_id: str, seen_at: datetime | None = None
) -> list[Record]:
    """Creator, Post, SparkAuthorization and SparkBinding from a ``GET /tt_video/info/``.

    The binding to ``advertiser_id`` is dated ``seen_at`` (default: now). A payload that holds
    no code authorization gives no records.
    """
    items, _ = items_from_tt_video(payload)
    return _records(items, _id(advertiser_id, "advertiser_id"), seen_at)


def records_from_tt_video_list(
    payload: Any, *, advertiser_id: str, seen_at: datetime | None = None
) -> list[Record]:
    """The records of every code authorization on a ``GET /tt_video/list/`` page."""
    items, _ = items_from_tt_video(payload)
    return _records(items, _id(advertiser_id, "advertiser_id"), seen_at)


def records_from_creator_post(
    payload: Any,
    *,
    creator_id: str,
    advertiser_id: str | None = None,
    revoked_at: datetime | None = None,
) -> list[Record]:
    """A SparkAuthorization from the creator-side ``/business/post/authorize/*`` response.

    These carry no creator; pass ``creator_id`` (and ``advertiser_id`` to bind the code).
    ``auth_code_status`` ``DELETED`` means the creator deleted the code: it is recorded as
    revoked at ``revoked_at`` (the import time).
    """
    data = unwrap(payload)
    where = "business/post/authorize"
    code = _code(_required(data, "auth_code", where), f"{where}.auth_code")
    status = _text(data.get("auth_code_status"), f"{where}.auth_code_status") or ""
    try:
        return [
            SparkAuthorization.from_code(
                code,
                creator_id=_id(creator_id, "creator_id"),
                post_id=_id(_required(data, "item_id", where), f"{where}.item_id"),
                starts_at=tiktok_time(
                    _required(data, "auth_code_start_time", where), f"{where}.auth_code_start_time"
                ),
                expires_at=tiktok_time(
                    _required(data, "auth_code_end_time", where), f"{where}.auth_code_end_time"
                ),
                revoked_at=revoked_at if status.upper() == "DELETED" else None,
                ad_account_id=None
                if advertiser_id is None
                else _id(advertiser_id, "advertiser_id"),
            )
        ]
    except InvalidRecordError as error:
        raise PayloadError(f"{where}: {error}") from None


def is_creator_side(data: Mapping[str, Any]) -> bool:
    """True for a creator-side ``/business/post/authorize/*`` payload."""
    return "auth_code_status" in data or "auth_code_start_time" in data


def is_list(data: Mapping[str, Any]) -> bool:
    """True for a ``/tt_video/list/`` page (it has ``list`` or ``page_info``)."""
    return "list" in data or "page_info" in data


def entries(payload: Any, endpoint: str) -> list[Any]:
    """The entries of a TikTok listing: a response envelope, its ``data``, or the list itself
    (as a sweep gathers it); ``"list": null`` is no entries.

    >>> entries({"code": 0, "message": "OK", "data": {"list": None}}, "ad/get")
    []
    """
    if isinstance(payload, Sequence) and not isinstance(payload, str | bytes | bytearray):
        return list(payload)
    found = unwrap(payload).get("list")
    if found is None:
        return []
    if not isinstance(found, Sequence) or isinstance(found, str | bytes | bytearray):
        raise PayloadError(f"{endpoint}: 'list' must be a list, got {_kind(found)}")
    return list(found)


def _object(entry: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise PayloadError(f"{where}: expected an object, got {_kind(entry)}")
    return entry


def numbered(
    payload: Any, endpoint: str, offset: int = 0
) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """Each entry of a listing (see :func:`entries`) with its place (after ``offset`` entries
    of earlier pages) and the name errors give it, e.g. ``ad/get[3]``; an entry that is no
    object is a :class:`PayloadError` naming it."""
    for n, entry in enumerate(entries(payload, endpoint)):
        where = f"{endpoint}[{offset + n}]"
        yield offset + n, where, _object(entry, where)
