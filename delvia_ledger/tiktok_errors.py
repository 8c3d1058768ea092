"""TikTok's error codes, in TikTok's own names, explained by the catalogue's text: what a code
from Ads Manager or the API says about a Spark code, the token or the request."""

from __future__ import annotations

import attrs

from .findings import Catalogued, FindingKind

__all__ = ["ErrorExplanation", "explain_error"]


@attrs.frozen
class ErrorExplanation(Catalogued):
    """What a TikTok Ads Manager / API error code means, from the catalogue.

    ``name`` is TikTok's own name for the code: the Ads Manager error name for Spark code
    errors, the constant of TikTok's official SDK (``tiktok_code.py``) for API codes, or ""
    where TikTok publishes none. ``note`` is what is known about this code beyond its kind.
    """

    code: str
    name: str
    kind: FindingKind
    note: str = ""

    def __str__(self) -> str:
        named = self.code if self.name in ("", self.code) else f"{self.code} {self.name}"
        note = f" ({self.note})" if self.note else ""
        return f"{named}: {self.cause}{note} — {self.remedy}"


_SDK = "ERROR_CODE_"  # the prefix of every constant in TikTok's official SDK
_LISTED_AS_THROTTLING = "a third-party compilation of TikTok's pages lists it as rate limiting"
_NO_SCOPE = (
    "seen as 'advertiser does not grant you /tt_video/info/:GET permission' when the app lacks "
    "the scope; an advertiser the token does not reach answers it too"
)

# TikTok's documented Spark code errors (Ads Manager error notifications, fact sheet §2, §7)
# and the API envelope codes under the names TikTok's official SDK gives them (fact sheet
# §7, §8.3, §8.4): code -> (TikTok's name, kind, note).
_ERRORS: dict[str, tuple[str, FindingKind, str]] = {
    "4025": ("auth_code_expired", FindingKind.EXPIRED, ""),
    "auth_code_not_found": ("auth_code_not_found", FindingKind.REVOKED, "the code was deleted"),
    "4013": ("auth_code_format_error", FindingKind.MALFORMED_CODE, ""),
    "4002": ("video_unavailable", FindingKind.POST_UNAVAILABLE, ""),
    "video_deleted": ("video_deleted", FindingKind.POST_UNAVAILABLE, ""),
    "900012": ("illegal_item_status_error", FindingKind.POST_UNAVAILABLE, ""),
    "4027": ("story_video_not_supported", FindingKind.POST_UNSUPPORTED, ""),
    "4042": ("carousel_duet_not_supported", FindingKind.POST_UNSUPPORTED, ""),
    "930002": ("mention_multiple_videos", FindingKind.POST_UNSUPPORTED, ""),
    "900003": ("multi_duet_stitch_refused", FindingKind.POST_UNSUPPORTED, ""),
    "-500": ("call_rpc_fail", FindingKind.TRANSIENT_ERROR, "also reported as call_db_fail"),
    "call_db_fail": ("call_db_fail", FindingKind.TRANSIENT_ERROR, ""),
    "20001": (_SDK + "PARTIAL_OK", FindingKind.PARTIAL_RESULT, ""),
    "40001": (_SDK + "PERMISSION_ERROR", FindingKind.MISSING_PERMISSION, _NO_SCOPE),
    "40002": (
        _SDK + "PARAM_ERROR",
        FindingKind.REQUEST_REFUSED,
        "a parameter TikTok does not accept, e.g. a page_size over 20 on the Business Center "
        "member endpoints",
    ),
    "40016": (
        _SDK + "BIZ_FC_ERROR",
        FindingKind.RATE_LIMITED,
        _LISTED_AS_THROTTLING,
    ),
    "40100": (_SDK + "REQUEST_TOO_FREQUENT", FindingKind.RATE_LIMITED, ""),
    "40102": (_SDK + "ACCESS_TOKEN_EXPIRE", FindingKind.TOKEN_EXPIRED, ""),
    "40103": (_SDK + "REFRESH_TOKEN_EXPIRE", FindingKind.TOKEN_EXPIRED, ""),
    "40104": (_SDK + "EMPTY_ACCESS_TOKEN", FindingKind.TOKEN_INVALID, "no token was sent"),
    "40105": (_SDK + "INVALID_ACCESS_TOKEN", FindingKind.TOKEN_INVALID, ""),
    "40106": (
        _SDK + "INVALID_CORE_USER",
        FindingKind.TOKEN_INVALID,
        "TikTok's name says the user behind the token is not valid; it documents no more",
    ),
    "40130": (
        _SDK + "SCOPE_NOT_AUTHORIZED",
        FindingKind.MISSING_PERMISSION,
        "the app lacks a scope",
    ),
    "40132": (_SDK + "REQUEST_FREQUENCY_LIMITED", FindingKind.RATE_LIMITED, ""),
    "40133": (
        "",
        FindingKind.RATE_LIMITED,
        _LISTED_AS_THROTTLING + "; TikTok's SDK does not name it",
    ),
    "40202": (
        _SDK + "WRITE_CONFLICT",
        FindingKind.REQUEST_REFUSED,
        "TikTok's name says a write conflicted with another; it documents no more",
    ),
    "40300": (
        _SDK + "ADVERTISER_NOT_EXIST",
        FindingKind.MISSING_PERMISSION,
        "TikTok's name says there is no such advertiser: check the advertiser id",
    ),
    "50000": (_SDK + "SYS_ERROR", FindingKind.TRANSIENT_ERROR, ""),
    "50002": (_SDK + "SYS_TIMEOUT", FindingKind.TRANSIENT_ERROR, ""),
    "60001": (_SDK + "MAINTENANCE", FindingKind.TRANSIENT_ERROR, "TikTok is under maintenance"),
}
#: TikTok's names, each to its code: ``explain_error("ERROR_CODE_ACCESS_TOKEN_EXPIRE")`` is 40102.
_BY_NAME = {name.lower(): code for code, (name, _, _) in _ERRORS.items() if name}


def explain_error(code: str | int) -> ErrorExplanation | None:
    """Explain a TikTok error code or name (``4025``, ``"auth_code_not_found"``,
    ``"ERROR_CODE_ACCESS_TOKEN_EXPIRE"``, ...); None if unknown.

    >>> explain_error(4025).kind
    <FindingKind.EXPIRED: 'EXPIRED'>
    >>> explain_error("auth_code_not_found").kind
    <FindingKind.REVOKED: 'REVOKED'>
    >>> explain_error(40102).name
    'ERROR_CODE_ACCESS_TOKEN_EXPIRE'
    >>> explain_error("999") is None
    True
    """
    key = str(code).strip()
    key = key if key in _ERRORS else _BY_NAME.get(key.lower(), key)
    found = _ERRORS.get(key)
    if found is None:
        return None
    name, kind, note = found
    return ErrorExplanation(code=key, name=name, kind=kind, note=note)
