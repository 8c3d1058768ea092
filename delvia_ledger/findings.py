"""What the checks report: ``Finding``, its kinds and severities, and the one catalogue of
causes and remedies (also behind :func:`~delvia_ledger.tiktok_errors.explain_error`)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import attrs

from .convert import generated, readable_time
from .errors import docs_url
from .fields import one_line

__all__ = [
    "CATALOGUE",
    "CONNECTION_KINDS",
    "EXTEND_ASK",
    "REPLACED",
    "Advice",
    "Catalogued",
    "Finding",
    "FindingKind",
    "Severity",
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
    POST_UNDER_REVIEW = "POST_UNDER_REVIEW"
    NOT_LISTED = "NOT_LISTED"
    AD_WITHOUT_CODE = "AD_WITHOUT_CODE"
    UNUSED_CODE = "UNUSED_CODE"
    # access: intended (approved in the ledger) against actual (listed by TikTok), DESIGN §8
    LEFT_WITH_ACCESS = "LEFT_WITH_ACCESS"
    UNAPPROVED_ACCESS = "UNAPPROVED_ACCESS"
    MISSING_ACCESS = "MISSING_ACCESS"
    PENDING_INVITE = "PENDING_INVITE"
    REVIEW_DUE = "REVIEW_DUE"
    # TikTok API conditions: explained by explain_error, never raised by the checks
    TRANSIENT_ERROR = "TRANSIENT_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    MISSING_PERMISSION = "MISSING_PERMISSION"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    REQUEST_REFUSED = "REQUEST_REFUSED"
    PARTIAL_RESULT = "PARTIAL_RESULT"


#: TikTok's answers that speak of the connection (token, permission, load, a refused request),
#: not of a code as TikTok documents it: :func:`explain_error` gives them, the checks never
#: raise them, and a diagnosis that meets one raises it (a 40002 on a code TikTok does not know
#: is undocumented as such, so it says nothing certain about the code).
CONNECTION_KINDS = frozenset(
    {
        FindingKind.TRANSIENT_ERROR,
        FindingKind.RATE_LIMITED,
        FindingKind.MISSING_PERMISSION,
        FindingKind.TOKEN_INVALID,
        FindingKind.TOKEN_EXPIRED,
        FindingKind.REQUEST_REFUSED,
        FindingKind.PARTIAL_RESULT,
    }
)


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

#: The ``detail`` of a REVOKED or EXPIRED finding about a *replaced* code (a newer code for the
#: post is bound in its account, DESIGN §6), raised only for the ads still on it: there is
#: nothing to ask of the creator, so it carries no message to them.
REPLACED = "replaced by a newer code for the post; move the ads still on it to the new code"
_NEVER = datetime.max.replace(tzinfo=UTC)


@attrs.frozen
class Advice:
    """The catalogue's text for one kind of finding, written for a person at a brand or agency.

    ``to_creator`` is a ready-to-send message to the creator, for the kinds a creator can fix
    ("" for the rest); ``{creator}``, ``{post}`` and ``{deadline}`` are filled in by
    :attr:`Finding.message_to_creator`. ``severity`` says, for people, which severity the
    checks give (DESIGN §6 decides it; this only documents it).
    """

    cause: str
    meaning: str
    remedy: str
    where: str
    to_creator: str = ""
    severity: str = ""


_APP = "in the TikTok app: the post → ··· → Ad settings"
_BC = "TikTok Business Center → Users / Assets"
_ADS = "TikTok Ads Manager → Creative → TikTok posts (Spark Ads)"
_API = "TikTok API for Business"
_UNDOCUMENTED = "running ads may stop; TikTok documents no guarantee either way"
_IN_APP = "in the TikTok app (the post → ··· → Ad settings)"
_THANKS = " Thank you!"
_BY_RULE = "ERROR while an active ad uses the code, else "

#: What to ask of a creator whose authorization ends, in every remedy and doc: TikTok's fix for
#: 4025 is "contact the creator to extend the authorization"; it does not say whether the code
#: string survives an extension (fact sheet §8.4), so nothing here says it does.
EXTEND_ASK = "ask the creator to extend it; if TikTok shows them a new code, they send it to you"

#: The same, in a message to the creator.
_EXTEND_PLEASE = "If TikTok shows you a new code, could you send it to us?"

#: Said wherever a message depends on whether an extended code keeps its string.
_CODE_AFTER_EXTENSION = (
    "whether the code itself stays the same after an extension, TikTok does not document"
)

#: The one catalogue of causes and remedies, keyed by kind. It says what TikTok documents and
#: marks what it does not (see DESIGN §1 and reference/tiktok-api-facts.md).
CATALOGUE: dict[FindingKind, Advice] = {
    FindingKind.EXPIRED: Advice(
        "the authorization window has passed",
        f"TikTok rejects the code as expired (error 4025) for new ads; {_UNDOCUMENTED}; "
        + _CODE_AFTER_EXTENSION,
        f"{EXTEND_ASK}; then sync",
        _APP,
        "Hi {creator}, the Spark Ads authorization for your post {post} ended on {deadline}. "
        f"Could you extend it {_IN_APP}? {_EXTEND_PLEASE}" + _THANKS,
        severity="ERROR while an active ad uses the code, else INFO (quiet after quiet_after)",
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
        severity="ERROR while an active ad uses the code, else INFO (quiet after quiet_after)",
    ),
    FindingKind.NOT_YET_ACTIVE: Advice(
        "the authorization window has not started yet",
        "the code cannot be used before its start time",
        "wait for the start time, or schedule the ad to start after it",
        "TikTok Ads Manager → the ad's schedule",
        severity="WARNING while an active ad uses the code, else INFO",
    ),
    FindingKind.EXPIRING: Advice(
        "the authorization expires soon",
        f"after expiry TikTok refuses the code for new ads (error 4025); {_UNDOCUMENTED}; "
        + _CODE_AFTER_EXTENSION,
        f"before the deadline, {EXTEND_ASK}; then sync",
        _APP,
        "Hi {creator}, the Spark Ads authorization for your post {post} ends on {deadline}. "
        f"Could you extend it before then {_IN_APP}? {_EXTEND_PLEASE}" + _THANKS,
        severity="WARNING",
    ),
    FindingKind.AD_OUTLIVES_CODE: Advice(
        "the ad is scheduled to run past the code's expiry",
        "the code expires while the ad is meant to run; " + _UNDOCUMENTED,
        f"{EXTEND_ASK}, past the ad's end; or end the ad before the code expires",
        "TikTok Ads Manager → the ad's schedule; " + _APP,
        "Hi {creator}, we would like to keep running your post {post} as an ad after "
        f"{{deadline}}, when its authorization ends. Could you extend the authorization {_IN_APP}? "
        + _EXTEND_PLEASE
        + _THANKS,
        severity="WARNING",
    ),
    FindingKind.WRONG_POST: Advice(
        "the code authorizes a different post than the ad intends",
        "a code is tied to exactly one post; the ad would show the wrong video",
        "ask the creator for the code of the intended post (post → ··· → Ad settings)",
        _APP,
        "Hi {creator}, the Spark Ads code we have is for your post {post}, but our ad is meant "
        "to use another of your posts. Could you send us the code of the intended post "
        "(that post → ··· → Ad settings)?" + _THANKS,
        severity="ERROR",
    ),
    FindingKind.REGION_INCOMPATIBLE: Advice(
        "the creator's region and the ad account's region are incompatible under your policy",
        "your team's policy says this pair does not work (TikTok publishes no region matrix)",
        "use an ad account in a compatible region, or work with a creator in one",
        "your region policy (RegionRule records); TikTok Ads Manager → account info",
        severity="ERROR",
    ),
    FindingKind.REGION_UNCONFIRMED: Advice(
        "no rule confirms that this creator region works with this account region",
        "it may work; TikTok publishes no region matrix, so nobody has confirmed it",
        "test the pair once and record a RegionRule with the result",
        "your region policy (RegionRule records)",
        severity="INFO",
    ),
    FindingKind.NO_ADMIN: Advice(
        "nobody active holds Admin on the ad account itself",
        "Business Center admins manage only the assets assigned to them, so nobody can manage "
        "the account's members, finance or settings",
        "a Business Center admin assigns Admin on the account to an active person",
        _BC,
        severity="WARNING",
    ),
    FindingKind.NO_OPERATOR: Advice(
        "nobody active holds Admin or Operator on the account of a running ad",
        "only Admin and Operator on the ad account can create or edit Spark Ads; a Business "
        "Center role alone is not enough",
        "a Business Center admin assigns Operator (or Admin) on the account to an active person",
        _BC,
        severity="ERROR",
    ),
    FindingKind.OWNER_MISSING: Advice(
        "nobody active is responsible for renewing this code",
        "an expiry or a change at TikTok will go unnoticed until the ad stops",
        "set the authorization's owner to an active person with a role",
        "this ledger: record the authorization with owner_id",
        severity="WARNING",
    ),
    FindingKind.ROLE_EXPIRING: Advice(
        "a role grant expires soon",
        "the person loses access on the deadline",
        "renew the grant if the access is still needed, or hand over the work",
        _BC,
        severity="WARNING",
    ),
    FindingKind.UNKNOWN_CODE: Advice(
        "the ledger holds no authorization for this code",
        "it was never recorded, was mistyped, or belongs to another ledger",
        "check the code character by character with the creator, then record it or sync",
        "this ledger: record the authorization",
        severity="ERROR (diagnose only)",
    ),
    FindingKind.MALFORMED_CODE: Advice(
        "the code is not in a form TikTok accepts",
        "it was probably mistyped or cut off when copied",
        "copy the code again from the creator's message, whole, and paste it once",
        "TikTok Ads Manager → Spark Ads post code",
        severity="ERROR (explain_error only)",
    ),
    FindingKind.POST_UNAVAILABLE: Advice(
        "TikTok reports the post deleted by the creator (USER_DELETE), removed by moderation "
        "(AUDIT_DELETE) or removed by moderators after posting (ONLY_USER_PASS)",
        "TikTok refuses new Spark Ads with a deleted or removed post (error 4002); running "
        "ads may stop, but TikTok documents no guarantee either way. Public, friends-only "
        "and private posts are all usable, so privacy is not the cause",
        "ask the creator whether the post was deleted or taken down; if so, choose another "
        "post together and get its code",
        "the creator's TikTok profile; TikTok Ads Manager → the ad's review status",
        "Hi {creator}, TikTok shows your post {post} as deleted or taken down, so our ad can no "
        "longer use it. Was that intended? If so, could we choose another post together, and "
        "you send us its code?" + _THANKS,
        severity=_BY_RULE + "WARNING",
    ),
    FindingKind.POST_UNSUPPORTED: Advice(
        "this kind of post cannot be a Spark Ad (a story, a carousel duet, a multi duet or "
        "stitch, a post mentioning several videos)",
        "TikTok refuses this post for Spark Ads",
        "choose another post with the creator",
        "the creator's TikTok profile",
        severity="ERROR (explain_error only)",
    ),
    FindingKind.NOT_AUTHORIZED: Advice(
        "TikTok reports the code as no longer authorized in this ad account",
        "TikTok's status for the code there is not AUTHORIZED (e.g. EXPIRED), whatever window "
        "the ledger recorded; TikTok is the authority",
        f"check the post in Ads Manager; {EXTEND_ASK}; apply the code TikTok shows in the "
        "account, then sync",
        _ADS,
        "Hi {creator}, TikTok no longer shows your post {post} as authorized for our ad "
        f"account. Could you check its authorization {_IN_APP} and extend it? {_EXTEND_PLEASE}"
        + _THANKS,
        severity="ERROR while an active ad in the account uses the code, else WARNING",
    ),
    FindingKind.UNBOUND: Advice(
        "TikTok no longer lists the code in the ad's account",
        "the post left the account's list of authorized Spark Ads posts (an unbind, which "
        "TikTok describes for after an expiry or a cancellation); what that does to an ad "
        "already running, TikTok does not document",
        "apply a valid code for the post in the account again (if the code expired, "
        f"{EXTEND_ASK}), then sync",
        _ADS,
        severity="ERROR while the ad is active, WARNING while it is scheduled",
    ),
    FindingKind.POST_UNDER_REVIEW: Advice(
        "TikTok reports the post as under review (REVIEW_PENDING)",
        "TikTok does not document a post under review as usable for new Spark Ads, nor what "
        "the review means for ads already running",
        "wait for the review to end and sync again; if it stays under review, ask the creator",
        "the creator's TikTok profile; " + _ADS,
        "Hi {creator}, TikTok shows your post {post} as under review, so we are waiting "
        "before we use it. Could you let us know if TikTok tells you anything about it?" + _THANKS,
        severity="WARNING",
    ),
    FindingKind.NOT_LISTED: Advice(
        "a complete sweep of the code's ad account did not list it, and TikTok has never "
        "listed it there",
        "a post TikTok does not list is not in the account's list of authorized Spark Ads "
        "posts: the code was never applied there, was unbound before the ledger first synced, "
        "or is recorded for the wrong account",
        "apply the code in the account (or correct the account the ledger holds for it), then sync",
        _ADS,
        severity=_BY_RULE + "WARNING",
    ),
    FindingKind.AD_WITHOUT_CODE: Advice(
        "TikTok runs this ad on a creator's post with an authorization code (identity "
        "AUTH_CODE), but the ledger holds no code for that post bound in the ad's account",
        "TikTok's ad names the post (tiktok_item_id), not the code: until the post's code is "
        "in the ledger, nothing watches the window the ad depends on",
        "sync the account's codes (delvia-ledger sync); if TikTok does not list the post's "
        "code there, ask the creator for it and apply it in the account",
        _ADS,
        severity="ERROR while the ad is active, else WARNING",
    ),
    FindingKind.UNUSED_CODE: Advice(
        "the code has been bound in an ad account for more than 14 days and no ad has used it",
        "authorized but never launched: the creator authorized the post and the window "
        "(auth_start_time to auth_end_time) runs whether or not an ad uses it",
        "launch an ad with it before the window ends, or record that it is done with "
        "(delvia-ledger retire)",
        _ADS,
        severity="INFO",
    ),
    FindingKind.LEFT_WITH_ACCESS: Advice(
        "a person recorded as having left still holds a role at TikTok",
        "TikTok still lets them do what the role allows: an ad account Admin manages its "
        "members, finance and settings, an Operator creates and edits ads, an Analyst views "
        "ads and reports; a Business Center Admin can access all of its functions",
        "a Business Center admin removes the person's role (only Admins manage members and "
        "assign assets), then sync access",
        _BC,
        severity="ERROR",
    ),
    FindingKind.UNAPPROVED_ACCESS: Advice(
        "TikTok lists a role that nobody approved in the ledger",
        "someone added it in Business Center; the access the ledger records as approved does "
        "not include it",
        "approve it (record the grant) or have a Business Center admin remove it, then sync access",
        _BC,
        severity="WARNING",
    ),
    FindingKind.MISSING_ACCESS: Advice(
        "TikTok does not list a role that was approved in the ledger",
        "the person cannot do at TikTok what the role allows: TikTok requires every member to "
        "be assigned Admin, Operator or Analyst to use an asset, and only Admin or Operator on "
        "the ad account can create Spark Ads",
        "a Business Center admin assigns the role on the asset, or end the approved grant if "
        "it is no longer needed; then sync access",
        _BC,
        severity="WARNING",
    ),
    FindingKind.PENDING_INVITE: Advice(
        "an invitation to the Business Center is still pending",
        "TikTok lists the person's relation as PENDING, not BOUND: an invitation, not a role",
        "remind the person to accept it, or have a Business Center admin withdraw it",
        _BC,
        severity="INFO; WARNING after 7 days",
    ),
    FindingKind.REVIEW_DUE: Advice(
        "no access review of this scope has been signed within its interval",
        "nobody has recently confirmed that who holds access is who should; the interval is "
        "your team's policy (TikTok requires no review)",
        "export the review sheet (delvia-ledger review export), decide keep or remove for each "
        "role, and sign it (delvia-ledger review sign --by PERSON)",
        "this ledger: delvia-ledger review",
        severity="WARNING",
    ),
    FindingKind.TRANSIENT_ERROR: Advice(
        "TikTok's backend failed for a moment or is under maintenance (call_rpc_fail, "
        "call_db_fail, a system error or timeout, maintenance)",
        "nothing is wrong with the code or the request; a 5xx means the request never reached "
        "the API logic",
        "try again later (TikTok suggests about 5 minutes); delvia-ledger sync retries these "
        "by itself",
        _API,
        severity="explain_error only",
    ),
    FindingKind.RATE_LIMITED: Advice(
        "TikTok throttled the requests (40100 for a per-second, per-minute or per-day limit alike)",
        "a per-minute limit recovers in about 5 minutes, a per-day limit at 00:00 UTC",
        "try again later; delvia-ledger sync waits and retries by itself, up to its limit",
        _API,
        severity="explain_error only",
    ),
    FindingKind.MISSING_PERMISSION: Advice(
        "the token lacks a permission for this request: an advertiser it does not reach, or a "
        "scope the app was not granted (TikTok's message names it)",
        "TikTok answers with this error rather than an empty list, so nothing can be concluded "
        "about the codes of that advertiser",
        "check the advertiser id; have the advertiser authorize the app for it, with the scope "
        "named in the message (Authorize TikTok Posts for /tt_video/list/, Query TikTok Posts "
        "for /tt_video/info/)",
        "TikTok API for Business → My Apps → the app's scopes and advertisers",
        severity="explain_error only",
    ),
    FindingKind.TOKEN_INVALID: Advice(
        "the request carried no access token, or one TikTok does not accept",
        "TikTok refuses every request made with it",
        "get a new long-term access token for the app and set TIKTOK_ACCESS_TOKEN to it",
        f"TikTok API for Business → My Apps; see {docs_url('sync')}",
        severity="explain_error only",
    ),
    FindingKind.TOKEN_EXPIRED: Advice(
        "the access token, or the refresh token that renews it, has expired",
        "TikTok refuses every request made with it until it is replaced",
        "have the advertiser authorize the app again for a new token and set "
        "TIKTOK_ACCESS_TOKEN to it",
        f"TikTok API for Business → My Apps; see {docs_url('sync')}",
        severity="explain_error only",
    ),
    FindingKind.REQUEST_REFUSED: Advice(
        "TikTok refused a parameter of the request, or the request itself; the reason is in "
        "the error's name, and TikTok documents no more",
        "when the request carried a code (check, diagnose), the code itself may be what TikTok "
        "refused; otherwise the request is at fault",
        "for a code, check it character by character with the creator; otherwise check the "
        "request against TikTok's API docs, and if delvia-ledger made it, report it with the "
        "request id",
        _API,
        severity="explain_error only",
    ),
    FindingKind.PARTIAL_RESULT: Advice(
        "TikTok answered with a partial success",
        "part of the answer is missing, so the absence of a code there proves nothing",
        "sync again later for a complete answer; a partial sweep unbinds nothing",
        _API,
        severity="explain_error only",
    ),
}


class Catalogued:
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
class Finding(Catalogued):
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
        if not template or self.creator_id is None or self.detail == REPLACED:
            return None
        deadline = self.deadline
        return template.format(
            creator=one_line(self.handle or self.creator_id),
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
                one_line(self.handle)
                if self.handle
                else self.creator_id and f"creator {self.creator_id}",
                self.post_id and f"post {self.post_id}",
                self.authorization_id and f"code {self.authorization_id}",
                self.ad_id and f"ad {self.ad_id}",
                self.ad_account_id and f"account {self.ad_account_id}",
                self.person_id and f"person {self.person_id}",
            )
            if part
        )
        when = f"by {readable_time(self.deadline)}" if self.deadline else ""
        detail = f"({one_line(self.detail)})" if self.detail else ""
        who = (
            f"[owner: {one_line(self.owner_name or self.owner_id)}]"
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
    name = f"new_{cls.__name__.lower()}"
    built: _NewFinding = generated(source, name, name, namespace)
    return built


#: ``Finding(kind=…, severity=…, …)`` with every field given in order, positionally.
new_finding = _positional(Finding)
