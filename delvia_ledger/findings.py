"""What the checks report: ``Finding``, its kinds and severities, and the one catalogue of
causes and remedies (also behind :func:`explain_error` for TikTok's error codes)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import attrs

__all__ = [
    "CATALOGUE",
    "Advice",
    "ErrorExplanation",
    "Finding",
    "FindingKind",
    "Severity",
    "explain_error",
]


class FindingKind(StrEnum):
    """Why a code, an ad or an account is (or will be) in trouble."""

    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    NOT_YET_ACTIVE = "NOT_YET_ACTIVE"
    EXPIRING = "EXPIRING"
    AD_OUTLIVES_CODE = "AD_OUTLIVES_CODE"
    WRONG_POST = "WRONG_POST"
    REGION_INCOMPATIBLE = "REGION_INCOMPATIBLE"
    REGION_UNCONFIRMED = "REGION_UNCONFIRMED"
    NO_ADMIN = "NO_ADMIN"
    NO_OPERATOR = "NO_OPERATOR"
    OWNER_MISSING = "OWNER_MISSING"
    ROLE_EXPIRING = "ROLE_EXPIRING"
    UNKNOWN_CODE = "UNKNOWN_CODE"
    MALFORMED_CODE = "MALFORMED_CODE"
    POST_UNAVAILABLE = "POST_UNAVAILABLE"
    POST_UNSUPPORTED = "POST_UNSUPPORTED"


class Severity(StrEnum):
    """ERROR fails now; WARNING will fail before the horizon or the ad's end; INFO is context."""

    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """0 for the worst (ERROR), so findings sort worst first."""
        return _RANKS[self]


_RANKS = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_NEVER = datetime.max.replace(tzinfo=UTC)


@attrs.frozen
class Advice:
    """The catalogue's text for one kind of finding, written for a person at a brand or agency."""

    cause: str
    meaning: str
    remedy: str
    where: str


_APP = "in the TikTok app: the post → ··· → Ad settings"
_BC = "TikTok Business Center → Users / Assets"

#: The one catalogue of causes and remedies, keyed by kind.
CATALOGUE: dict[FindingKind, Advice] = {
    FindingKind.EXPIRED: Advice(
        "the authorization window has passed",
        "TikTok rejects the code as invalid or expired; ads using it stop or cannot be created",
        "ask the creator to extend the authorization or send a fresh code, then record it",
        _APP,
    ),
    FindingKind.REVOKED: Advice(
        "the creator revoked the authorization",
        "authorization can be withdrawn at any time; new (and sometimes running) ads stop",
        "talk to the creator; if they agree, ask for a fresh code and replace it in the ads",
        _APP,
    ),
    FindingKind.NOT_YET_ACTIVE: Advice(
        "the authorization window has not started yet",
        "the code cannot be used before its start time",
        "wait for the start time, or schedule the ad to start after it",
        "TikTok Ads Manager → the ad's schedule",
    ),
    FindingKind.EXPIRING: Advice(
        "the authorization expires soon",
        "ads using the code will stop when it expires",
        "ask the creator to extend the authorization before the deadline",
        _APP,
    ),
    FindingKind.AD_OUTLIVES_CODE: Advice(
        "the ad is scheduled to run past the code's expiry",
        "the ad will stop early when the code expires",
        "ask the creator for a longer window, or end the ad before the code expires",
        "TikTok Ads Manager → the ad's schedule; " + _APP,
    ),
    FindingKind.WRONG_POST: Advice(
        "the code authorizes a different post than the ad intends",
        "a code is tied to exactly one post; the ad would show the wrong video",
        "ask the creator for the code of the intended post (post → ··· → Ad settings)",
        _APP,
    ),
    FindingKind.REGION_INCOMPATIBLE: Advice(
        "the creator's region and the ad account's region are incompatible under your policy",
        "the code will not attach to this ad account",
        "use an ad account in a compatible region, or work with a creator in one",
        "your region policy (RegionRule records); TikTok Ads Manager → account info",
    ),
    FindingKind.REGION_UNCONFIRMED: Advice(
        "no rule confirms that this creator region works with this account region",
        "it may work; TikTok publishes no region matrix, so nobody has confirmed it",
        "test the pair once and record a RegionRule with the result",
        "your region policy (RegionRule records)",
    ),
    FindingKind.NO_ADMIN: Advice(
        "nobody active holds admin on the ad account (directly or as Business Center admin)",
        "nobody can manage the account's users, finance or settings",
        "grant Admin on the account to an active person",
        _BC,
    ),
    FindingKind.NO_OPERATOR: Advice(
        "nobody active can create or edit ads on the account of a running ad",
        "only Admin and Operator can create Spark Ads or fix this one",
        "grant Operator (or Admin) on the account to an active person",
        _BC,
    ),
    FindingKind.OWNER_MISSING: Advice(
        "nobody active is responsible for renewing this code",
        "an expiry or revocation will go unnoticed until the ad stops",
        "set the authorization's owner to an active person with a role",
        "this ledger: record the authorization with owner_id",
    ),
    FindingKind.ROLE_EXPIRING: Advice(
        "a role grant expires soon",
        "the person loses access on the deadline",
        "renew the grant if the access is still needed, or hand over the work",
        _BC,
    ),
    FindingKind.UNKNOWN_CODE: Advice(
        "the ledger holds no authorization for this code",
        "it was never recorded, was mistyped, or belongs to another ledger",
        "check the code character by character with the creator, then record it",
        "this ledger: record the authorization",
    ),
    FindingKind.MALFORMED_CODE: Advice(
        "the code is not in a form TikTok accepts",
        "it was probably mistyped or cut off when copied",
        "copy the code again from the creator's message, whole, and paste it once",
        "TikTok Ads Manager → Spark Ads post code",
    ),
    FindingKind.POST_UNAVAILABLE: Advice(
        "the post is deleted, private or otherwise unavailable",
        "an ad cannot use a post that TikTok does not show",
        "ask the creator whether the post still exists and is public",
        "the creator's TikTok profile",
    ),
    FindingKind.POST_UNSUPPORTED: Advice(
        "this kind of post cannot be a Spark Ad (e.g. a story or a carousel duet)",
        "TikTok refuses this post for Spark Ads",
        "choose another post with the creator",
        "the creator's TikTok profile",
    ),
}


class _Catalogued:
    """``cause``, ``meaning``, ``remedy`` and ``where``: the catalogue's text for ``self.kind``."""

    __slots__ = ()
    kind: FindingKind

    @property
    def advice(self) -> Advice:
        return CATALOGUE[self.kind]

    @property
    def cause(self) -> str:
        return CATALOGUE[self.kind].cause

    @property
    def meaning(self) -> str:
        return CATALOGUE[self.kind].meaning

    @property
    def remedy(self) -> str:
        return CATALOGUE[self.kind].remedy

    @property
    def where(self) -> str:
        return CATALOGUE[self.kind].where


@attrs.frozen(kw_only=True, slots=False)  # a dict class: attrs builds these ~40% faster
class Finding(_Catalogued):
    """One problem, the ids it involves, and (through the catalogue) what to do about it."""

    kind: FindingKind
    severity: Severity
    deadline: datetime | None = None
    authorization_id: str | None = None
    ad_id: str | None = None
    ad_account_id: str | None = None
    person_id: str | None = None
    creator_id: str | None = None
    post_id: str | None = None
    affected_ad_ids: tuple[str, ...] = ()
    handle: str | None = None
    detail: str = ""

    def sort_key(self) -> tuple[int, bool, datetime, str]:
        """Worst severity first, then earliest deadline (none last)."""
        return (_RANKS[self.severity], self.deadline is None, self.deadline or _NEVER, self.kind)

    def __str__(self) -> str:
        subject = " ".join(
            part
            for part in (
                self.handle or (self.creator_id and f"creator {self.creator_id}"),
                self.post_id and f"post {self.post_id}",
                self.authorization_id and f"code {self.authorization_id}",
                self.ad_id and f"ad {self.ad_id}",
                self.ad_account_id and f"account {self.ad_account_id}",
                self.person_id and f"person {self.person_id}",
            )
            if part
        )
        when = f"by {self.deadline:%Y-%m-%d %H:%M} UTC" if self.deadline else ""
        detail = f"({self.detail})" if self.detail else ""
        what = " ".join(part for part in (subject, when, detail) if part)
        return f"{self.severity} {self.kind}: {what} — {self.remedy}"


@attrs.frozen
class ErrorExplanation(_Catalogued):
    """What a TikTok Ads Manager / API error code means, from the catalogue."""

    code: str
    name: str
    kind: FindingKind

    def __str__(self) -> str:
        return f"{self.code} {self.name}: {self.cause} — {self.remedy}"


# TikTok's documented Spark code errors (Ads Manager error notifications, see DESIGN §11).
_ERRORS: dict[str, tuple[str, FindingKind]] = {
    "4025": ("auth_code_expired", FindingKind.EXPIRED),
    "auth_code_expired": ("auth_code_expired", FindingKind.EXPIRED),
    "auth_code_not_found": ("auth_code_not_found", FindingKind.REVOKED),
    "4013": ("auth_code_format_error", FindingKind.MALFORMED_CODE),
    "auth_code_format_error": ("auth_code_format_error", FindingKind.MALFORMED_CODE),
    "4002": ("video_unavailable", FindingKind.POST_UNAVAILABLE),
    "video_unavailable": ("video_unavailable", FindingKind.POST_UNAVAILABLE),
    "video_deleted": ("video_deleted", FindingKind.POST_UNAVAILABLE),
    "900012": ("illegal_item_status_error", FindingKind.POST_UNAVAILABLE),
    "4027": ("story_video_not_supported", FindingKind.POST_UNSUPPORTED),
    "4042": ("carousel_duet_not_supported", FindingKind.POST_UNSUPPORTED),
    "930002": ("mention_multiple_videos", FindingKind.POST_UNSUPPORTED),
}


def explain_error(code: str | int) -> ErrorExplanation | None:
    """Explain a TikTok error code (``4025``, ``"auth_code_not_found"``, ...); None if unknown.

    >>> explain_error(4025).kind
    <FindingKind.EXPIRED: 'EXPIRED'>
    >>> explain_error("auth_code_not_found").remedy
    'talk to the creator; if they agree, ask for a fresh code and replace it in the ads'
    >>> explain_error("999") is None
    True
    """
    key = str(code).strip()
    found = _ERRORS.get(key) or _ERRORS.get(key.lower())
    if found is None:
        return None
    return ErrorExplanation(code=key, name=found[0], kind=found[1])
