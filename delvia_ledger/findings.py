"""What the checks report: ``Finding``, its kinds and severities, and the one catalogue of
causes and remedies (also behind :func:`explain_error` for TikTok's error codes)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import attrs

from .convert import readable_time

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
    NOT_AUTHORIZED = "NOT_AUTHORIZED"
    UNBOUND = "UNBOUND"
    # TikTok API conditions: explained by explain_error, never raised by the checks
    TRANSIENT_ERROR = "TRANSIENT_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    MISSING_PERMISSION = "MISSING_PERMISSION"
    TOKEN_INVALID = "TOKEN_INVALID"
    PARTIAL_RESULT = "PARTIAL_RESULT"


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
    """The catalogue's text for one kind of finding, written for a person at a brand or agency.

    ``to_creator`` is a ready-to-send message to the creator, for the kinds a creator can fix
    ("" for the rest); ``{creator}``, ``{post}`` and ``{deadline}`` are filled in by
    :attr:`Finding.message_to_creator`.
    """

    cause: str
    meaning: str
    remedy: str
    where: str
    to_creator: str = ""


_APP = "in the TikTok app: the post → ··· → Ad settings"
_BC = "TikTok Business Center → Users / Assets"
_ADS = "TikTok Ads Manager → Creative → TikTok posts (Spark Ads)"
_API = "TikTok API for Business"
_UNDOCUMENTED = "running ads may stop; TikTok documents no guarantee either way"
_IN_APP = "in the TikTok app (the post → ··· → Ad settings)"
_THANKS = " Thank you!"

#: The one catalogue of causes and remedies, keyed by kind. It says what TikTok documents and
#: marks what it does not (see DESIGN §1 and reference/tiktok-api-facts.md).
CATALOGUE: dict[FindingKind, Advice] = {
    FindingKind.EXPIRED: Advice(
        "the authorization window has passed",
        "TikTok rejects the code as expired (error 4025) for new ads; " + _UNDOCUMENTED,
        "ask the creator to extend the authorization in the post's Ad settings (the same code "
        "keeps working, no new code needed), or to send a fresh code; then sync",
        _APP,
        "Hi {creator}, the Spark Ads authorization for your post {post} ended on {deadline}. "
        f"Could you extend it {_IN_APP}? Extending keeps the same code, so there is no new "
        "code to send us." + _THANKS,
    ),
    FindingKind.REVOKED: Advice(
        "the code was deleted or cancelled",
        "TikTok lets a creator delete a code only once every ad using it is deleted, so a "
        "revoked code under ads the ledger thinks active usually means the ledger missed a change",
        "first reconcile with TikTok Ads Manager (do the ads still exist?) and sync; if the "
        "creator deleted the code, ask for a fresh code and rebuild the ads with it",
        "TikTok Ads Manager → Ads; " + _APP,
        "Hi {creator}, the Spark Ads code for your post {post} no longer works for us: it "
        "looks deleted or cancelled. If you are happy to carry on, could you send us a fresh "
        f"code {_IN_APP}?" + _THANKS,
    ),
    FindingKind.NOT_YET_ACTIVE: Advice(
        "the authorization window has not started yet",
        "the code cannot be used before its start time",
        "wait for the start time, or schedule the ad to start after it",
        "TikTok Ads Manager → the ad's schedule",
    ),
    FindingKind.EXPIRING: Advice(
        "the authorization expires soon",
        "after expiry TikTok refuses the code for new ads; " + _UNDOCUMENTED,
        "ask the creator to extend the authorization in the post's Ad settings before the "
        "deadline: extending keeps the same code",
        _APP,
        "Hi {creator}, the Spark Ads authorization for your post {post} ends on {deadline}. "
        f"Could you extend it before then {_IN_APP}? Extending keeps the same code: no new "
        "code needed." + _THANKS,
    ),
    FindingKind.AD_OUTLIVES_CODE: Advice(
        "the ad is scheduled to run past the code's expiry",
        "the code expires while the ad is meant to run; " + _UNDOCUMENTED,
        "ask the creator to extend the authorization past the ad's end, or end the ad before "
        "the code expires",
        "TikTok Ads Manager → the ad's schedule; " + _APP,
        "Hi {creator}, we would like to keep running your post {post} as an ad after "
        f"{{deadline}}, when its authorization ends. Could you extend the authorization {_IN_APP}? "
        "The same code keeps working." + _THANKS,
    ),
    FindingKind.WRONG_POST: Advice(
        "the code authorizes a different post than the ad intends",
        "a code is tied to exactly one post; the ad would show the wrong video",
        "ask the creator for the code of the intended post (post → ··· → Ad settings)",
        _APP,
        "Hi {creator}, the Spark Ads code we have is for your post {post}, but our ad is meant "
        "to use another of your posts. Could you send us the code of the intended post "
        "(that post → ··· → Ad settings)?" + _THANKS,
    ),
    FindingKind.REGION_INCOMPATIBLE: Advice(
        "the creator's region and the ad account's region are incompatible under your policy",
        "your team's policy says this pair does not work (TikTok publishes no region matrix)",
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
        "nobody active holds Admin on the ad account itself",
        "Business Center admins manage only the assets assigned to them, so nobody can manage "
        "the account's members, finance or settings",
        "a Business Center admin assigns Admin on the account to an active person",
        _BC,
    ),
    FindingKind.NO_OPERATOR: Advice(
        "nobody active holds Admin or Operator on the account of a running ad",
        "only Admin and Operator on the ad account can create or edit Spark Ads; a Business "
        "Center role alone is not enough",
        "a Business Center admin assigns Operator (or Admin) on the account to an active person",
        _BC,
    ),
    FindingKind.OWNER_MISSING: Advice(
        "nobody active is responsible for renewing this code",
        "an expiry or a change at TikTok will go unnoticed until the ad stops",
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
        "check the code character by character with the creator, then record it or sync",
        "this ledger: record the authorization",
    ),
    FindingKind.MALFORMED_CODE: Advice(
        "the code is not in a form TikTok accepts",
        "it was probably mistyped or cut off when copied",
        "copy the code again from the creator's message, whole, and paste it once",
        "TikTok Ads Manager → Spark Ads post code",
    ),
    FindingKind.POST_UNAVAILABLE: Advice(
        "TikTok reports the post deleted by the creator or removed by moderation",
        "TikTok refuses new Spark Ads with a deleted or removed post (error 4002); running "
        "ads may stop, but TikTok documents no guarantee either way. Public, friends-only "
        "and private posts are all usable, so privacy is not the cause",
        "ask the creator whether the post was deleted or taken down; if so, choose another "
        "post together and get its code",
        "the creator's TikTok profile; TikTok Ads Manager → the ad's review status",
        "Hi {creator}, TikTok shows your post {post} as deleted or taken down, so our ad can no "
        "longer use it. Was that intended? If so, could we choose another post together, and "
        "you send us its code?" + _THANKS,
    ),
    FindingKind.POST_UNSUPPORTED: Advice(
        "this kind of post cannot be a Spark Ad (a story, a carousel duet, a multi duet or "
        "stitch, a post mentioning several videos)",
        "TikTok refuses this post for Spark Ads",
        "choose another post with the creator",
        "the creator's TikTok profile",
    ),
    FindingKind.NOT_AUTHORIZED: Advice(
        "TikTok reports the code as no longer authorized in this ad account",
        "TikTok's status for the code there is not AUTHORIZED (e.g. EXPIRED), whatever window "
        "the ledger recorded; TikTok is the authority",
        "check the post in Ads Manager; ask the creator to extend or re-authorize, re-apply "
        "the code in the account, then sync",
        _ADS,
        "Hi {creator}, TikTok no longer shows your post {post} as authorized for our ad "
        f"account. Could you check its authorization {_IN_APP} and extend or re-authorize it?"
        + _THANKS,
    ),
    FindingKind.UNBOUND: Advice(
        "TikTok no longer lists the code in the ad's account",
        "the code was unbound there (after expiry or cancellation, or in Ads Manager), so the "
        "ad cannot use the post in that account",
        "apply a valid code for the post in the account again, then sync",
        _ADS,
    ),
    FindingKind.TRANSIENT_ERROR: Advice(
        "TikTok's backend failed for a moment (call_rpc_fail, call_db_fail or a system error)",
        "nothing is wrong with the code or the request",
        "try again later; delvia-ledger sync retries these by itself",
        _API,
    ),
    FindingKind.RATE_LIMITED: Advice(
        "too many requests reached TikTok's API in a short time",
        "TikTok throttles the app or the advertiser for a while",
        "try again later; delvia-ledger sync waits and retries by itself",
        _API,
    ),
    FindingKind.MISSING_PERMISSION: Advice(
        "the app lacks the permission scope this endpoint needs (TikTok's message names it)",
        "the advertiser has not granted the app that scope",
        "add the scope named in the message to the app (Authorize TikTok Posts for "
        "/tt_video/list/, Query TikTok Posts for /tt_video/info/) and have the advertiser "
        "authorize the app again",
        "TikTok API for Business → My Apps → the app's scopes",
    ),
    FindingKind.TOKEN_INVALID: Advice(
        "the access token is invalid or has expired",
        "TikTok refuses every request made with it",
        "get a new long-term access token for the app and set TIKTOK_ACCESS_TOKEN to it",
        "TikTok API for Business → My Apps; see docs/sync.md",
    ),
    FindingKind.PARTIAL_RESULT: Advice(
        "TikTok answered with a partial success",
        "part of the answer is missing, so the absence of a code there proves nothing",
        "sync again later for a complete answer; a partial sweep unbinds nothing",
        _API,
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

    @property
    def to_creator(self) -> str:
        """The catalogue's message template to the creator ("" when a creator cannot help)."""
        return CATALOGUE[self.kind].to_creator


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
    owner_id: str | None = None
    owner_name: str | None = None
    grant_id: str | None = None
    handle: str | None = None
    detail: str = ""

    @property
    def key(self) -> str:
        """A stable text identity: the kind and the ids involved, not severity or deadline.

        Two runs can be compared by it (``ledger.changes``, notices), a million findings at a
        time: so it is spelled out rather than joined from a list (3x faster).
        """
        key: str = self.kind._value_
        if self.authorization_id is not None:
            key += "/authorization=" + self.authorization_id
        if self.ad_id is not None:
            key += "/ad=" + self.ad_id
        if self.ad_account_id is not None:
            key += "/account=" + self.ad_account_id
        if self.person_id is not None:
            key += "/person=" + self.person_id
        if self.grant_id is not None:
            key += "/grant=" + self.grant_id
        return key

    @property
    def message_to_creator(self) -> str | None:
        """A ready-to-send message to the code's creator, from the catalogue; None for kinds a
        creator cannot fix (or a finding about no creator). It never holds the code itself.
        """
        template = CATALOGUE[self.kind].to_creator
        if not template or self.creator_id is None:
            return None
        deadline = self.deadline
        return template.format(
            creator=self.handle or self.creator_id,
            post=self.post_id or "",
            deadline="" if deadline is None else f"{deadline.day} {deadline:%B %Y, %H:%M} UTC",
        )

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
        when = f"by {readable_time(self.deadline)}" if self.deadline else ""
        detail = f"({self.detail})" if self.detail else ""
        who = (
            f"[owner: {self.owner_name or self.owner_id}]"
            if self.owner_id
            else ""
            if self.kind is FindingKind.UNKNOWN_CODE
            else "[no owner]"
        )
        what = " ".join(part for part in (subject, when, detail, who) if part)
        return f"{self.severity} {self.kind}: {what} — {self.remedy}"


class _NewFinding(Protocol):
    """:data:`new_finding`'s signature: every field of :class:`Finding`, in order (a test holds
    the two to the same names), so mypy checks each argument of the checks' hot path."""

    def __call__(
        self,
        kind: FindingKind,
        severity: Severity,
        deadline: datetime | None,
        authorization_id: str | None,
        ad_id: str | None,
        ad_account_id: str | None,
        person_id: str | None,
        creator_id: str | None,
        post_id: str | None,
        affected_ad_ids: tuple[str, ...],
        owner_id: str | None,
        owner_name: str | None,
        grant_id: str | None,
        handle: str | None,
        detail: str,
        /,
    ) -> Finding: ...


def _positional(cls: type[Finding]) -> _NewFinding:
    """``cls(**fields)`` from every field in order, positionally: generated once.

    The checks build a million findings at a time; the keyword ``__init__`` costs about twice
    this (measured 1.2 against 0.63 µs). Exact only for a dict class whose ``__init__`` takes
    every field by its name and only stores it, so anything else is refused.
    """
    fields = attrs.fields(cls)
    stored = all(
        f.validator is None and f.converter is None and f.init and f.alias == f.name for f in fields
    )
    hooks = ("__attrs_post_init__", "__attrs_pre_init__")
    if not stored or any(hasattr(cls, hook) for hook in hooks) or "__slots__" in vars(cls):
        raise TypeError(f"{cls.__name__} needs its __init__: it does more than store fields")
    names = [f.name for f in fields]
    source = "\n".join(
        [
            f"def new_{cls.__name__.lower()}({', '.join(names)}, /):",
            "    made = new(cls)",
            "    fields = made.__dict__",
            *(f"    fields[{name!r}] = {name}" for name in names),
            "    return made",
        ]
    )
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "__name__": __name__}
    exec(compile(source, f"<generated {cls.__name__} builder>", "exec"), namespace)
    built: _NewFinding = namespace[f"new_{cls.__name__.lower()}"]
    return built


#: ``Finding(kind=…, severity=…, …)`` with every field given in order, positionally.
new_finding = _positional(Finding)


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
    "900003": ("multi_duet_stitch_refused", FindingKind.POST_UNSUPPORTED),
    # TikTok API for Business envelope codes (DESIGN §9, §12)
    "-500": ("call_rpc_fail", FindingKind.TRANSIENT_ERROR),
    "call_rpc_fail": ("call_rpc_fail", FindingKind.TRANSIENT_ERROR),
    "call_db_fail": ("call_db_fail", FindingKind.TRANSIENT_ERROR),
    "50000": ("system_error", FindingKind.TRANSIENT_ERROR),
    "50002": ("system_error", FindingKind.TRANSIENT_ERROR),
    "40100": ("rate_limited", FindingKind.RATE_LIMITED),
    "40133": ("rate_limited", FindingKind.RATE_LIMITED),
    "40016": ("rate_limited", FindingKind.RATE_LIMITED),
    "40001": ("no_permission", FindingKind.MISSING_PERMISSION),
    "40102": ("access_token_invalid", FindingKind.TOKEN_INVALID),
    "40105": ("access_token_invalid", FindingKind.TOKEN_INVALID),
    "20001": ("partial_success", FindingKind.PARTIAL_RESULT),
}


def explain_error(code: str | int) -> ErrorExplanation | None:
    """Explain a TikTok error code (``4025``, ``"auth_code_not_found"``, ...); None if unknown.

    >>> explain_error(4025).kind
    <FindingKind.EXPIRED: 'EXPIRED'>
    >>> explain_error("auth_code_not_found").kind
    <FindingKind.REVOKED: 'REVOKED'>
    >>> explain_error(40100).cause
    "too many requests reached TikTok's API in a short time"
    >>> explain_error("999") is None
    True
    """
    key = str(code).strip()
    found = _ERRORS.get(key) or _ERRORS.get(key.lower())
    if found is None:
        return None
    return ErrorExplanation(code=key, name=found[0], kind=found[1])
