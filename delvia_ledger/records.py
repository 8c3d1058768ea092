"""The vocabulary: immutable records that the ledger stores, validated on construction.

An invalid record cannot be built: every field is checked and the error names the
record, the field and the offending value.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, TypeAlias

import attrs

from .access_records import VERDICTS as VERDICTS
from .access_records import AccessReview as AccessReview
from .access_records import PendingInvite as PendingInvite
from .access_records import decision as decision
from .access_records import parse_decision as parse_decision
from .choices import ROLE_SCOPES as ROLE_SCOPES
from .choices import PostKind as PostKind
from .choices import RegionVerdict as RegionVerdict
from .choices import Role as Role
from .choices import to_post_kind as to_post_kind
from .choices import to_role as to_role
from .choices import to_verdict as to_verdict
from .codes import CodeRepair as CodeRepair
from .codes import SparkCode as SparkCode
from .codes import fingerprint_of as fingerprint_of
from .codes import is_hint as is_hint
from .codes import repairs_of as repairs_of
from .codes import to_code
from .erasure_record import ERASABLE as ERASABLE
from .erasure_record import Erasure as Erasure
from .errors import InvalidRecordError
from .fields import ISO_REGIONS as ISO_REGIONS
from .fields import (
    SURROGATE,
    _after,
    _check_id,
    _check_optional_chat_id,
    _check_optional_email,
    _check_optional_id,
    _check_optional_region,
    _check_optional_text,
    _check_optional_time,
    _check_optional_word,
    _check_region,
    _check_region_pattern,
    _check_text,
    _check_time,
    _fail,
    _member_of,
    _to_tuple,
    blank_to_none,
    to_chat_id,
    to_email,
    to_item_status,
    to_region,
)
from .fields import is_status_word as is_status_word
from .fields import shown as shown
from .fields import time_problem as time_problem
from .fields import to_handle as to_handle
from .fields import to_tiktok_status as to_tiktok_status
from .fields import to_utc as to_utc

__all__ = [
    "ACTUAL",
    "DERIVED_ID_DIGITS",
    "DERIVED_ID_PREFIX",
    "EMAIL_ROUTE",
    "ERASED",
    "PERSONAL_FIELDS",
    "PERSONAL_OWNER",
    "RECORD_TYPES",
    "STORED_TYPES",
    "AccessReview",
    "AdAccount",
    "Creator",
    "Erasure",
    "Notice",
    "PendingInvite",
    "Person",
    "Post",
    "PostKind",
    "Record",
    "RegionRule",
    "RegionVerdict",
    "Role",
    "RoleGrant",
    "SparkAd",
    "SparkAuthorization",
    "SparkBinding",
    "SparkCode",
    "binding_id",
    "derived_authorization_id",
    "holds_personal_data",
]


def _authorization_id(instance: SparkAuthorization) -> str:
    return derived_authorization_id(instance.code.fingerprint)


#: The id a code derives: this prefix, then the first this many hex digits of its fingerprint
#: (storage's SQL forms of the rule are spelled from these two).
DERIVED_ID_PREFIX, DERIVED_ID_DIGITS = "auth_", 16


def derived_authorization_id(fingerprint: str) -> str:
    """The id a :class:`SparkAuthorization` gets by default: ``auth_`` + 16 fingerprint digits."""
    return DERIVED_ID_PREFIX + fingerprint[:DERIVED_ID_DIGITS]


def _rule_id(instance: RegionRule) -> str:
    return f"{instance.creator_region}->{instance.account_region}"


# --- the records -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Creator:
    """A TikTok creator; ``region`` None means unknown.

    ``handle`` is the @username, kept without the ``@``; ``display_name`` is the nickname
    (TikTok's ``tiktok_name``). ``tiktok_identity_id`` links a creator recorded under the
    team's own id to TikTok's ``identity_id``, so imports find it:

    >>> Creator(id="yuki", handle="@yuki.styles", region="jp", tiktok_identity_id="7000123")
    Creator(id='yuki', handle='yuki.styles', region='JP', display_name=None, contact=None, \
tiktok_identity_id='7000123')
    """

    id: str = attrs.field(validator=_check_id)
    handle: str | None = attrs.field(
        default=None, converter=to_handle, validator=_check_optional_text
    )
    region: str | None = attrs.field(converter=to_region, validator=_check_optional_region)
    display_name: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_text
    )
    contact: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_text
    )
    tiktok_identity_id: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_id
    )

    @property
    def label(self) -> str:
        """How people know the creator: ``@handle``, else the nickname, else the id."""
        return f"@{self.handle}" if self.handle else self.display_name or self.id


@attrs.frozen(kw_only=True)
class Post:
    """One TikTok post (``item_id``); a Spark code is tied to exactly one post.

    Its identity is ``creator_id``. ``kind`` is not an identity field: when TikTok says
    nothing of it the ledger guesses ``VIDEO``, and TikTok's word (``item_type``, or images:
    ``CAROUSEL``) corrects the guess later.
    """

    id: str = attrs.field(validator=_check_id)
    creator_id: str = attrs.field(validator=_check_id)
    kind: PostKind = attrs.field(converter=to_post_kind, validator=_member_of(PostKind))
    caption: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_text
    )
    posted_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    source_post_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    status: str | None = attrs.field(
        default=None, converter=to_item_status, validator=_check_optional_word
    )

    @property
    def unavailable(self) -> bool:
        """True when TikTok last reported the post deleted by its creator or by moderation."""
        return self.status in UNAVAILABLE_POST_STATUSES


#: ``Post.status`` values that mean TikTok no longer shows the post (DESIGN §6 POST_UNAVAILABLE):
#: deleted by the creator, removed by moderation, removed by moderators after posting.
UNAVAILABLE_POST_STATUSES = frozenset({"USER_DELETE", "AUDIT_DELETE", "ONLY_USER_PASS"})

#: ``Post.status`` of a post TikTok is reviewing (DESIGN §6 POST_UNDER_REVIEW).
UNDER_REVIEW = "REVIEW_PENDING"

#: ``SparkBinding.tiktok_status`` that means the code still authorizes the post in the account.
AUTHORIZED = "AUTHORIZED"


@attrs.frozen(kw_only=True)
class AdAccount:
    """An advertiser account; its ``region`` (registration country) never changes."""

    id: str = attrs.field(validator=_check_id)
    name: str = attrs.field(validator=_check_text)
    region: str = attrs.field(converter=to_region, validator=_check_region)
    business_center_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    #: The last complete sweep of the account's codes (``sync_tiktok``) that the checks can
    #: judge codes by (``NOT_LISTED``): set by a sync only when it tells something new, so an
    #: unchanged sync still writes nothing. Kept in the payload, not as a query column.
    last_swept_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )


@attrs.frozen(kw_only=True)
class Person:
    """Someone at the brand or agency; ``left_at`` is set when they leave the organisation.

    ``chat_id`` is their handle in the team's chat (a Slack member id such as ``U024BE7LH``):
    webhook reminders mention them by it. ``name``, ``email`` and ``chat_id`` are personal data
    (DESIGN §16).
    """

    id: str = attrs.field(validator=_check_id)
    name: str = attrs.field(validator=_check_text)
    email: str | None = attrs.field(
        default=None, converter=to_email, validator=_check_optional_email
    )
    left_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    tiktok_user_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    chat_id: str | None = attrs.field(
        default=None, converter=to_chat_id, validator=_check_optional_chat_id
    )


#: ``RoleGrant.source`` of a role TikTok's Business Center lists: the *actual* side of DESIGN §8.
#: A grant with no source was typed or imported by people: the *intended* (approved) side.
ACTUAL = "tiktok"


def _check_source(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value != ACTUAL:
        raise _fail(
            instance,
            field,
            value,
            f"must be {ACTUAL!r} (a role TikTok lists) or empty (a role people approved)",
        )


@attrs.frozen(kw_only=True)
class RoleGrant:
    """A role held by a person on a scope such as ``"ad_account:6900…"``.

    ``source`` says which side of DESIGN §8 it is on: None (typed or imported by people) is
    the *intended* access, ``"tiktok"`` (recorded by ``sync_access`` from TikTok's Business
    Center) the *actual* access; ``granted_at`` of an actual grant is when a sync first saw it.
    """

    id: str = attrs.field(validator=_check_id)
    person_id: str = attrs.field(validator=_check_id)
    scope: str = attrs.field()
    role: Role = attrs.field(converter=to_role, validator=_member_of(Role))
    granted_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    expires_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    ended_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    granted_by: str | None = attrs.field(default=None, validator=_check_optional_id)
    source: str | None = attrs.field(default=None, validator=_check_source)

    @property
    def actual(self) -> bool:
        """True for a role TikTok lists (``source="tiktok"``), False for an approved one."""
        return self.source == ACTUAL

    @scope.validator
    def _check_scope(self, field: attrs.Attribute[Any], value: object) -> None:
        kind, _, target = value.partition(":") if isinstance(value, str) else ("", "", "")
        if (
            not target
            or target != target.strip()
            or kind not in {"ad_account", "business_center", "creator", "authorization"}
        ):
            raise _fail(
                self,
                field,
                value,
                "must look like 'ad_account:<id>', 'business_center:<id>', "
                "'creator:<id>' or 'authorization:<id>'",
            )

    def __attrs_post_init__(self) -> None:
        scope_kind = self.scope_kind
        if scope_kind not in ROLE_SCOPES[self.role]:
            allowed = " or ".join(sorted(ROLE_SCOPES[self.role]))
            raise InvalidRecordError(
                f"RoleGrant.role={self.role.value!r} cannot be granted on scope {self.scope!r}; "
                f"{self.role.value} applies to {allowed} scopes"
            )
        _after(self, "expires_at", "granted_at")
        _after(self, "ended_at", "granted_at", strict=False)

    @property
    def scope_kind(self) -> str:
        """``"ad_account"``, ``"business_center"``, ``"creator"`` or ``"authorization"``."""
        return self.scope.partition(":")[0]

    @property
    def scope_id(self) -> str:
        """The id after the colon in ``scope``."""
        return self.scope.partition(":")[2]


@attrs.frozen(kw_only=True)
class SparkAuthorization:
    """A creator's authorization code for one post, valid from ``starts_at`` to ``expires_at``.

    Build one from the raw code; the code itself is never kept:

    >>> auth = SparkAuthorization.from_code(
    ...     "#mX1nZq+example/code=", creator_id="maya", post_id="7301",
    ...     starts_at="2026-11-01T00:00:00Z", expires_at="2026-12-01T00:00:00Z")
    >>> auth.id, auth.code
    ('auth_c0d4d432df4f9033', SparkCode(hint='…ode='))
    """

    code: SparkCode = attrs.field(converter=to_code)
    id: str = attrs.field(
        default=attrs.Factory(_authorization_id, takes_self=True), validator=_check_id
    )
    creator_id: str = attrs.field(validator=_check_id)
    post_id: str = attrs.field(validator=_check_id)
    starts_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    expires_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    ad_account_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    owner_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    revoked_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    #: When the team marked the code done with (``Ledger.retire``): it raises nothing then;
    #: None again once unretired. Kept in the entry's payload, not as a query column.
    retired_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    retired_reason: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_text
    )

    def __attrs_post_init__(self) -> None:
        _after(self, "expires_at", "starts_at")
        if self.retired_reason is not None and self.retired_at is None:
            raise _fail(
                self,
                attrs.fields(SparkAuthorization).retired_reason,
                self.retired_reason,
                "needs retired_at: a reason is given only for a retired code",
            )
        if self.id == NO_CODE:
            raise InvalidRecordError(
                f"SparkAuthorization.id={NO_CODE!r} is reserved: it marks an ad with no code"
            )

    @classmethod
    def from_code(cls, raw_code: str, **fields: Any) -> SparkAuthorization:
        """Build an authorization from the raw code the creator sent."""
        return cls(code=SparkCode(raw_code), **fields)


def binding_id(authorization_id: str, ad_account_id: str) -> str:
    """The id of the binding of a code in an ad account: ``"<authorization_id>@<account>"``."""
    return f"{authorization_id}@{ad_account_id}"


def _binding_id(instance: SparkBinding) -> str:
    return binding_id(instance.authorization_id, instance.ad_account_id)


@attrs.frozen(kw_only=True)
class SparkBinding:
    """A code applied in one ad account, as TikTok lists it there.

    Unlike a revocation, an unbind can be followed by a re-bind (a new version with
    ``unbound_at=None``). The id is always ``"<authorization_id>@<ad_account_id>"``.
    """

    authorization_id: str = attrs.field(validator=_check_id)
    ad_account_id: str = attrs.field(validator=_check_id)
    bound_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    unbound_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    tiktok_status: str | None = attrs.field(
        default=None, converter=to_tiktok_status, validator=_check_optional_word
    )
    id: str = attrs.field(default=attrs.Factory(_binding_id, takes_self=True))

    @id.validator
    def _check_binding_id(self, field: attrs.Attribute[Any], value: object) -> None:
        if value != _binding_id(self):
            raise _fail(self, field, value, f"must be {_binding_id(self)!r}, the code@account pair")

    def __attrs_post_init__(self) -> None:
        _after(self, "unbound_at", "bound_at", strict=False)


def _check_keys(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if not _are_keys(value):
        raise _fail(instance, field, value, "must be a tuple of finding keys (non-empty strings)")


def _are_keys(value: object) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(k, str) and k and not SURROGATE.search(k) for k in value
    )


def _notice_id(instance: Notice) -> str:
    if not (
        isinstance(instance.channel, str)
        and isinstance(instance.person_id, str | None)
        and isinstance(instance.sent_at, datetime)
        and _are_keys(instance.finding_keys)
    ):
        return ""  # the fields' own validators (which run first) say what is wrong
    text = "\n".join(
        (
            instance.person_id or "",
            instance.channel,
            instance.sent_at.isoformat(),
            *instance.finding_keys,
        )
    )
    if SURROGATE.search(text):
        return ""  # refused by the id validators
    return "notice_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@attrs.frozen(kw_only=True)
class Notice:
    """A reminder that was delivered: who was told what (``finding_keys``), where and when.

    ``channel`` names the way, not the recipient (``"email"``, ``"slack"``): the recipient is
    ``person_id``. Notices recorded before schema version 7 name an email channel with its
    address (``"email:ana@brand.example"``): such a channel is personal data, and erasing the
    person redacts it (:attr:`names_recipient`).
    """

    person_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    channel: str = attrs.field(validator=_check_id)
    sent_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    finding_keys: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_check_keys)
    id: str = attrs.field(default=attrs.Factory(_notice_id, takes_self=True), validator=_check_id)

    @property
    def names_recipient(self) -> bool:
        """True when ``channel`` names its recipient's address (``"email:ana@brand.example"``,
        as notices were recorded before schema version 7): personal data, salted and erased
        with the person."""
        return self.channel.startswith(EMAIL_ROUTE)


#: How an email sender's route starts (``"email:ana@brand.example"``); a Notice records the
#: route without the address (``"email"``).
EMAIL_ROUTE = "email:"


@attrs.frozen(kw_only=True)
class SparkAd:
    """An ad built from an authorization, meant to show ``intended_post_id``."""

    id: str = attrs.field(validator=_check_id)
    ad_account_id: str = attrs.field(validator=_check_id)
    authorization_id: str = attrs.field(validator=_check_id)
    intended_post_id: str = attrs.field(validator=_check_id)
    runs_from: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    runs_until: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    paused_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )
    owner_id: str | None = attrs.field(default=None, validator=_check_optional_id)

    def __attrs_post_init__(self) -> None:
        _after(self, "runs_until", "runs_from")

    @property
    def has_code(self) -> bool:
        """False for an ad TikTok runs on a post with no code in the ledger (:data:`NO_CODE`)."""
        return self.authorization_id != NO_CODE


@attrs.frozen(kw_only=True)
class RegionRule:
    """Policy: whether creators of one region can run Spark Ads on accounts of another.

    ``"*"`` matches any region. The id is always ``"<creator_region>-><account_region>"``.
    """

    creator_region: str = attrs.field(converter=to_region, validator=_check_region_pattern)
    account_region: str = attrs.field(converter=to_region, validator=_check_region_pattern)
    verdict: RegionVerdict = attrs.field(converter=to_verdict, validator=_member_of(RegionVerdict))
    note: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_text
    )
    id: str = attrs.field(default=attrs.Factory(_rule_id, takes_self=True))

    @id.validator
    def _check_rule_id(self, field: attrs.Attribute[Any], value: object) -> None:
        if value != _rule_id(self):
            raise _fail(self, field, value, f"must be {_rule_id(self)!r}, the rule's region pair")


Record: TypeAlias = (
    Creator
    | Post
    | AdAccount
    | Person
    | RoleGrant
    | SparkAuthorization
    | SparkBinding
    | SparkAd
    | RegionRule
    | Notice
    | Erasure
    | PendingInvite
    | AccessReview
)

#: Every record type one records (imports, exports, ``record``), in dependency order
#: (referenced types first).
RECORD_TYPES: tuple[type[Record], ...] = (
    Creator,
    Post,
    AdAccount,
    Person,
    SparkAuthorization,
    SparkBinding,
    SparkAd,
    RoleGrant,
    RegionRule,
    Notice,
)


#: ``SparkAd.authorization_id`` of an ad TikTok runs on a post for which the ledger holds no
#: code bound in the ad's account (DESIGN §12, the ``AD_WITHOUT_CODE`` finding). It refers to
#: no record (the writer treats it as it treats None), and no authorization may take it as id.
NO_CODE = "AD_WITHOUT_CODE"


#: Every record type the ledger stores: those one records, the Erasures that ``Ledger.erase``
#: records with the redaction they name, and what access syncs and reviews record (DESIGN §8).
STORED_TYPES: tuple[type[Record], ...] = (*RECORD_TYPES, Erasure, PendingInvite, AccessReview)

#: Personal data (DESIGN §16), by record type: what an erasure redacts. A Notice's channel
#: only where it names its recipient (:attr:`Notice.names_recipient`, notices recorded before
#: schema version 7): erasing a person redacts those of their notices, and no other.
PERSONAL_FIELDS: dict[type[Record], tuple[str, ...]] = {
    cls: tuple(name for name in names if name in attrs.fields_dict(cls))
    for cls, names in (
        (Creator, ("handle", "display_name", "contact")),
        (Post, ("caption",)),
        (Person, ("name", "email", "chat_id")),
        (Notice, ("channel",)),
    )
}

#: Who a record's personal data belongs to, for the types that are not a subject themselves:
#: the subject's type and the field holding its id (a post is its creator's, a notice its
#: person's).
PERSONAL_OWNER: dict[type[Record], tuple[type[Record], str]] = {
    Post: (Creator, "creator_id"),
    Notice: (Person, "person_id"),
}


def holds_personal_data(record: Record) -> bool:
    """Whether ``record`` holds personal data (DESIGN §16): then its payload gets a salt, and
    recording it for an erased subject needs a new consent. A Notice only when its channel
    names its recipient; an erased field (None, or ``"(erased)"``) holds none."""
    if isinstance(record, Notice):
        return record.names_recipient
    fields = PERSONAL_FIELDS.get(type(record), ())
    return any(getattr(record, f) not in (None, ERASED) for f in fields)


#: How a required personal field reads back once erased (``Person.name``).
ERASED = "(erased)"
