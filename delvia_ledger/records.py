"""The vocabulary: immutable records that the ledger stores, validated on construction.

An invalid record cannot be built: every field is checked and the error names the
record, the field and the offending value.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeAlias

import attrs
from dateutil.parser import isoparse

from .errors import InvalidRecordError

__all__ = [
    "ERASED",
    "PERSONAL_FIELDS",
    "RECORD_TYPES",
    "STORED_TYPES",
    "AdAccount",
    "Creator",
    "Erasure",
    "Notice",
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
]


class Role(StrEnum):
    """A person's role on a scope. Only ADMIN and OPERATOR on an ad account create Spark Ads."""

    ADMIN = "ADMIN"  # ad account
    OPERATOR = "OPERATOR"  # ad account
    ANALYST = "ANALYST"  # ad account, read-only
    BC_ADMIN = "BC_ADMIN"  # Business Center
    BC_STANDARD = "BC_STANDARD"  # Business Center
    OWNER = "OWNER"  # responsible person for a creator relationship or a code


class RegionVerdict(StrEnum):
    """Whether a creator region and an ad account region work together for Spark Ads."""

    COMPATIBLE = "COMPATIBLE"
    INCOMPATIBLE = "INCOMPATIBLE"
    UNKNOWN = "UNKNOWN"


class PostKind(StrEnum):
    """TikTok's ``item_type``."""

    VIDEO = "VIDEO"
    CAROUSEL = "CAROUSEL"


# ISO 3166-1 alpha-2: the 249 officially assigned codes.
ISO_REGIONS = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)

# Which scopes each role may be granted on ("ad_account:<id>", "business_center:<id>", ...).
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"ad_account"}),
    Role.OPERATOR: frozenset({"ad_account"}),
    Role.ANALYST: frozenset({"ad_account"}),
    Role.BC_ADMIN: frozenset({"business_center"}),
    Role.BC_STANDARD: frozenset({"business_center"}),
    Role.OWNER: frozenset({"creator", "authorization"}),
}

#: What an id may not contain: C0 and C1 controls, DEL, bidi overrides and isolates (which
#: make text display in another order than it is stored) and lone surrogates (not text at all:
#: they cannot be written as UTF-8).
_NOT_IN_IDS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

#: Lone surrogates: a Python string can hold them, UTF-8 (the database, JSON, files) cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Values longer than this are shortened in error messages.
_SHOWN = 80


def _where(instance: object, field: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{field.name}"


def shown(value: object) -> str:
    """A value as error messages quote it: times in ISO-8601, long text shortened."""
    if isinstance(value, datetime):
        return repr(value.isoformat())
    text = repr(value)
    if len(text) > _SHOWN:
        size = f"{len(value)} characters" if isinstance(value, str | list | dict) else "long"
        text = f"{text[: _SHOWN - 20]}… ({size})"
    return text


def _fail(
    instance: object, field: attrs.Attribute[Any], value: object, why: str
) -> InvalidRecordError:
    return InvalidRecordError(f"{_where(instance, field)}={shown(value)}: {why}")


# --- validators and converters, shared by the fields below ------------------------------------


def _check_id(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    # The common path: printable text (no controls, bidi or surrogates; of the spaces only
    # U+0020) that does not start or end with a space. Anything else takes the careful path.
    if (
        isinstance(value, str)
        and value
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    ):
        return
    if not isinstance(value, str) or not value.strip():
        raise _fail(instance, field, value, "must be a non-empty string")
    if value != value.strip() or _NOT_IN_IDS.search(value):
        raise _fail(
            instance,
            field,
            value,
            "must not have surrounding spaces, control characters, bidi controls "
            "(U+202A-U+202E, U+2066-U+2069) or lone surrogates",
        )


_check_optional_id = attrs.validators.optional(_check_id)


_NOT_TEXT = "holds a lone surrogate (U+D800-U+DFFF), which is not text and cannot be stored"


def _check_text(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _fail(instance, field, value, "must be a non-empty string")
    if not value.isascii() and _SURROGATE.search(value):
        raise _fail(instance, field, value, _NOT_TEXT)


def _check_optional_text(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _fail(instance, field, value, "must be a string or None")
    if not value.isascii() and _SURROGATE.search(value):
        raise _fail(instance, field, value, _NOT_TEXT)


# Converters normalise what they can (strings to times, lower-case regions, ...) and hand
# anything else through unchanged, so the validator that follows names the field and the value.


def blank_to_none(value: str | None) -> Any:
    """An empty optional text is no text: ``""`` becomes None (so CSV cells round-trip)."""
    return None if value == "" else value


def to_handle(value: str | None) -> Any:
    """A TikTok @username is stored without its ``@``: ``"@maya.makes"`` -> ``"maya.makes"``."""
    if isinstance(value, str):
        value = value.strip().lstrip("@").strip()
        return value or None
    return value


def to_item_status(value: str | None) -> Any:
    """TikTok's ``item_info.status`` without its ``ITEM_STATUS_`` prefix, upper-cased."""
    if isinstance(value, str):
        value = re.sub(r"^(ITEM_STATUS_)+", "", value.strip().upper())
        return value or None
    return value


def to_tiktok_status(value: str | None) -> Any:
    """TikTok's ``ad_auth_status``, upper-cased (``"authorized"`` -> ``"AUTHORIZED"``)."""
    if isinstance(value, str):
        return value.strip().upper() or None
    return value


_WORD = re.compile(r"[A-Z0-9_]+")


def is_status_word(value: object) -> bool:
    """True for a TikTok status word as records keep it: ``AUTHORIZED``, ``USER_DELETE``."""
    return isinstance(value, str) and _WORD.fullmatch(value) is not None


def _check_optional_word(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not is_status_word(value):
        raise _fail(
            instance,
            field,
            value,
            "must be a TikTok status word such as 'AUTHORIZED' or 'USER_DELETE'",
        )


#: A date without a time (``2026-12-06``): midnight UTC wherever a time is read (DESIGN §4).
_DATE_ALONE = re.compile(r"\d{4}-\d{2}-\d{2}")


def to_utc(value: datetime | str | None) -> Any:
    """An aware datetime, an ISO-8601 string with an offset, or a date alone (midnight UTC),
    as a UTC datetime.

    The one place a time from outside is normalised (record fields, every ``now=`` and
    ``as_of(recorded_at=...)``). Anything it cannot turn into a UTC time between the years 1
    and 9999 is handed back unchanged, and :func:`time_problem` says why.
    """
    if isinstance(value, datetime):
        if value.tzinfo is UTC:  # the hot path: values read back from the ledger
            return value
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = isoparse(text)
        except (ValueError, OverflowError):
            return value
        if _DATE_ALONE.fullmatch(text):  # a date alone is midnight UTC, as in CSV and the CLI
            return moment.replace(tzinfo=UTC)
    else:
        return value
    if moment.utcoffset() is None:
        return value
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in the year 0 in UTC
        return value


def time_problem(value: object) -> str:
    """Why ``value`` is not a time the ledger accepts (``to_utc`` handed it back unchanged)."""
    if isinstance(value, str):
        try:
            parsed = isoparse(value.strip())
        except OverflowError:
            return TIME_OUT_OF_RANGE
        except ValueError:
            return "is not an ISO-8601 time, e.g. '2026-11-24T09:00:00Z'"
        if parsed.utcoffset() is None:
            return (
                "has no time zone; a timezone-aware time is needed: add 'Z' or an offset "
                "such as '+00:00'"
            )
        return TIME_OUT_OF_RANGE
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            return (
                "naive datetime has no time zone; pass an aware datetime "
                "(e.g. tzinfo=timezone.utc) or an ISO-8601 string with 'Z' or an offset"
            )
        return TIME_OUT_OF_RANGE
    return "must be a timezone-aware datetime or an ISO-8601 string"


#: Why a time whose UTC value falls outside what Python's datetime can hold is refused.
TIME_OUT_OF_RANGE = (
    "is out of range: in UTC it falls before 0001-01-01 or after 9999-12-31, "
    "the times the ledger can hold"
)


def _check_time(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, datetime) and value.tzinfo is UTC:
        return
    raise _fail(instance, field, value, time_problem(value))


_check_optional_time = attrs.validators.optional(_check_time)


def to_region(value: str | None) -> Any:
    """Regions are upper-cased and stripped on input."""
    return value.strip().upper() if isinstance(value, str) else value


def _check_region(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    try:
        if value in ISO_REGIONS:
            return
    except TypeError:  # unhashable: a list, a dict
        pass
    raise _fail(instance, field, value, "must be an ISO 3166-1 alpha-2 region code such as 'US'")


_check_optional_region = attrs.validators.optional(_check_region)


def _check_region_pattern(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value != "*":
        _check_region(instance, field, value)


def _member_of(enum: type[StrEnum]) -> Any:
    allowed = ", ".join(member.value for member in enum)

    def check(instance: object, field: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, enum):
            raise _fail(instance, field, value, f"must be one of {allowed}")

    return check


def _as_member(enum: type[StrEnum], value: object) -> Any:
    if isinstance(value, str) and not isinstance(value, enum):
        try:
            return enum(value.strip().upper())
        except ValueError:
            return value
    return value


def to_role(value: Role | str) -> Any:
    """``"admin"`` -> ``Role.ADMIN``."""
    return _as_member(Role, value)


def to_verdict(value: RegionVerdict | str) -> Any:
    """``"compatible"`` -> ``RegionVerdict.COMPATIBLE``."""
    return _as_member(RegionVerdict, value)


def to_post_kind(value: PostKind | str) -> Any:
    """``"video"`` -> ``PostKind.VIDEO``."""
    return _as_member(PostKind, value)


def _after(instance: object, later: str, earlier: str, *, strict: bool = True) -> None:
    """Refuse a record whose ``later`` time is not after (or, non-strict, before) ``earlier``."""
    end, start = getattr(instance, later), getattr(instance, earlier)
    if end is None or start is None:
        return
    if end < start or (strict and end == start):
        relation = "after" if strict else "at or after"
        raise InvalidRecordError(
            f"{type(instance).__name__}.{later}={end.isoformat()!r} must be {relation} "
            f"{earlier}={start.isoformat()!r}"
        )


# --- the Spark code ------------------------------------------------------------------------------


@attrs.frozen(init=False)
class SparkCode:
    """A Spark Ads authorization code, kept only as a SHA-256 fingerprint and a short hint.

    The raw code is never stored and never printed:

    >>> code = SparkCode("#mX1nZq+example/code=")
    >>> code
    SparkCode(hint='…ode=')
    >>> code.matches("  #mX1nZq+example/code=\\n")
    True
    """

    fingerprint: str = attrs.field(repr=False)
    hint: str

    def __init__(self, raw: str) -> None:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidRecordError("SparkCode: the code must be a non-empty string")
        code = raw.strip()
        if code.isprintable():  # the common path: no controls, bidi or surrogates
            fingerprint = hashlib.sha256(code.encode("utf-8")).hexdigest()
        else:
            fingerprint = fingerprint_of(code)  # refuses lone surrogates
            if _NOT_IN_IDS.search(code):
                raise InvalidRecordError(
                    "SparkCode: the code holds a control character (e.g. a line break inside "
                    "it) or a bidi control; a Spark code is printable text, so copy it again "
                    "from TikTok (the code is not shown)"
                )
        shown = min(4, len(code) // 3)
        self.__attrs_init__(fingerprint=fingerprint, hint="…" + (code[-shown:] if shown else ""))

    @classmethod
    def from_fingerprint(cls, fingerprint: str, hint: str) -> SparkCode:
        """Rebuild a code from its fingerprint and hint (the raw code is not needed).

        Both are checked, and neither is ever echoed in the error: a raw code pasted into
        either must not travel on into a message. The hint must look like one
        :class:`SparkCode` makes: ``…`` and at most the last 4 characters of the code.
        """
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise InvalidRecordError(
                "SparkCode.fingerprint: must be 64 lowercase hex digits, as exported in "
                "code_fingerprint (the value is not shown: it may be a raw code)"
            )
        if not is_hint(hint):
            raise InvalidRecordError(
                "SparkCode.hint: must be '…' followed by at most the last 4 characters of "
                "the code, as exported in code_hint (the value is not shown: it may be a raw "
                "code)"
            )
        return cls.from_ledger(fingerprint, hint)

    @classmethod
    def from_ledger(cls, fingerprint: str, hint: str) -> SparkCode:
        """Rebuild a code the ledger itself stored (trusted: not checked again).

        Use :meth:`from_fingerprint` for anything that comes from outside the ledger.
        """
        code = cls.__new__(cls)
        code.__attrs_init__(fingerprint=fingerprint, hint=hint)
        return code

    def matches(self, raw: str) -> bool:
        """True if ``raw`` (surrounding whitespace ignored) is this code."""
        return fingerprint_of(raw) == self.fingerprint

    def __str__(self) -> str:
        return self.hint


_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def is_hint(hint: object) -> bool:
    """True for a hint of the shape :class:`SparkCode` makes: ``…`` and 0 to 4 characters.

    Those characters end a stripped code, which holds no control or bidi characters: so
    neither does a hint, nor does it end in a space.

    >>> is_hint("…ode="), is_hint("#mX1nZq+example/code=")
    (True, False)
    """
    return (
        isinstance(hint, str)
        and 1 <= len(hint) <= 5
        and hint[0] == "…"
        and not _NOT_IN_IDS.search(hint)
        and hint == hint.rstrip()
    )


def fingerprint_of(code: str) -> str:
    """The hex SHA-256 of a whitespace-stripped raw code.

    A code that is not text (not a string, or holding a lone surrogate, which UTF-8 cannot
    encode) is refused with an error that never carries the code.
    """
    if not isinstance(code, str):
        raise InvalidRecordError(
            f"SparkCode: a code must be text (a string), got {type(code).__name__}"
        )
    try:
        data = code.strip().encode("utf-8")
    except UnicodeEncodeError:
        data = None  # raised below, outside the handler: the error must not chain to this one
    if data is None:
        raise InvalidRecordError(
            "SparkCode: the code holds a lone surrogate (U+D800-U+DFFF), which is not text; "
            "copy the code again from TikTok (the code is not shown)"
        )
    return hashlib.sha256(data).hexdigest()


def to_code(value: SparkCode | str) -> SparkCode:
    """A raw code string becomes a :class:`SparkCode` (fingerprint and hint only)."""
    if isinstance(value, SparkCode):
        return value
    if isinstance(value, str) and value.strip():
        return SparkCode(value)
    # Refused here rather than by a validator, because the default id is derived from it.
    # Never echo the value: it may be a raw code.
    raise InvalidRecordError(
        "SparkAuthorization.code: must be a SparkCode or a non-empty raw code string"
    )


def _authorization_id(instance: SparkAuthorization) -> str:
    return derived_authorization_id(instance.code.fingerprint)


def derived_authorization_id(fingerprint: str) -> str:
    """The id a :class:`SparkAuthorization` gets by default: ``auth_`` + 16 fingerprint digits."""
    return "auth_" + fingerprint[:16]


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
    """One TikTok post (``item_id``); a Spark code is tied to exactly one post."""

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


#: ``Post.status`` values that mean TikTok no longer shows the post (DESIGN §6 POST_UNAVAILABLE).
UNAVAILABLE_POST_STATUSES = frozenset({"USER_DELETE", "AUDIT_DELETE"})

#: ``SparkBinding.tiktok_status`` that means the code still authorizes the post in the account.
AUTHORIZED = "AUTHORIZED"


@attrs.frozen(kw_only=True)
class AdAccount:
    """An advertiser account; its ``region`` (registration country) never changes."""

    id: str = attrs.field(validator=_check_id)
    name: str = attrs.field(validator=_check_text)
    region: str = attrs.field(converter=to_region, validator=_check_region)
    business_center_id: str | None = attrs.field(default=None, validator=_check_optional_id)


@attrs.frozen(kw_only=True)
class Person:
    """Someone at the brand or agency; ``left_at`` is set when they leave the organisation."""

    id: str = attrs.field(validator=_check_id)
    name: str = attrs.field(validator=_check_text)
    email: str | None = attrs.field(
        default=None, converter=blank_to_none, validator=_check_optional_text
    )
    left_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )


@attrs.frozen(kw_only=True)
class RoleGrant:
    """A role held by a person on a scope such as ``"ad_account:6900…"``."""

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


def _to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple | set | frozenset) else value


def _check_keys(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if not _are_keys(value):
        raise _fail(instance, field, value, "must be a tuple of finding keys (non-empty strings)")


def _are_keys(value: object) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(k, str) and k and not _SURROGATE.search(k) for k in value
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
    if _SURROGATE.search(text):
        return ""  # refused by the id validators
    return "notice_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@attrs.frozen(kw_only=True)
class Notice:
    """A reminder that was delivered: who was told what (``finding_keys``), where and when."""

    person_id: str | None = attrs.field(default=None, validator=_check_optional_id)
    channel: str = attrs.field(validator=_check_id)
    sent_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    finding_keys: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_check_keys)
    id: str = attrs.field(default=attrs.Factory(_notice_id, takes_self=True), validator=_check_id)


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


#: Who may be erased (DESIGN §16): the record types that are a person.
ERASABLE = ("Creator", "Person")

_REDACTED_ITEM = re.compile(r"([1-9][0-9]*):([0-9a-f]{64})")


def _check_subject_type(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value not in ERASABLE:
        raise _fail(instance, field, value, f"must be one of {', '.join(ERASABLE)}")


def _check_redacted(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(item, str) and _REDACTED_ITEM.fullmatch(item) for item in value
    ):
        raise _fail(
            instance, field, value, "must be a tuple of '<seq>:<SHA-256 of the redacted payload>'"
        )


def _erasure_id(instance: Erasure) -> str:
    if not (
        isinstance(instance.subject_type, str)
        and isinstance(instance.subject_id, str)
        and isinstance(instance.erased_at, datetime)
        and not _SURROGATE.search(instance.subject_id)
    ):
        return ""  # the fields' own validators (which run first) say what is wrong
    text = f"{instance.subject_type}\n{instance.subject_id}\n{instance.erased_at.isoformat()}"
    return "erasure_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@attrs.frozen(kw_only=True)
class Erasure:
    """A recorded erasure (DESIGN §16): the personal data of ``subject_type`` ``subject_id``
    was redacted from the entries ``redacted`` names, each as ``"<seq>:<SHA-256 of its
    redacted payload>"``, because of ``reason``, as ``requested_by`` asked, at ``erased_at``.

    Only ``Ledger.erase`` and ``Ledger.retention`` record one.
    """

    subject_type: str = attrs.field(validator=_check_subject_type)
    subject_id: str = attrs.field(validator=_check_id)
    redacted: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_check_redacted)
    reason: str = attrs.field(validator=_check_text)
    requested_by: str = attrs.field(validator=_check_id)
    erased_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    id: str = attrs.field(default=attrs.Factory(_erasure_id, takes_self=True), validator=_check_id)

    @property
    def seqs(self) -> dict[int, str]:
        """The seqs redacted, each with the SHA-256 of its redacted payload."""
        return {int(seq): digest for seq, _, digest in (i.partition(":") for i in self.redacted)}


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


# --- codes mangled in transit ("did you mean") ---------------------------------------------------


@attrs.frozen
class CodeRepair:
    """A code as it probably was before a form or a URL mangled it: only its fingerprint, and
    what was repaired in words (never a character of the code)."""

    fingerprint: str
    note: str


def repairs_of(raw: str) -> list[CodeRepair]:
    """The fingerprints of ``raw``'s repaired variants, for a "did you mean" (issue 21.5).

    Form decoding turns a code's ``+`` into a space; a code sent in a URL may arrive
    percent-encoded (``%2B``, ``%2F``, ``%3D``; every ``%XX`` is decoded). Each repair
    (spaces back to ``+``, the encodings decoded, both) that changes the code gives one
    variant, in that order, none twice and none equal to ``raw`` itself. Nothing raw is kept
    or shown:

    >>> [r.note for r in repairs_of("#ab cd%3D")]
    ["'+' read as a space, 1 place", 'percent-encoding decoded, 1 place', \
"'+' read as a space, 1 place; percent-encoding decoded, 1 place"]
    >>> repairs_of("#ab+cd=")
    []
    """
    code = raw.strip() if isinstance(raw, str) else raw
    own = fingerprint_of(code)  # refuses what is not text, without echoing it
    spaces = sum(1 for c in code if c.isspace())
    escapes = len(_PERCENT.findall(code))
    spaced = _SPACES.sub("+", code) if spaces else None
    steps = [
        (spaced, f"'+' read as a space, {_places(spaces)}"),
        (_unquote(code) if escapes else None, f"percent-encoding decoded, {_places(escapes)}"),
    ]
    if spaced is not None and escapes:
        steps.append((_unquote(spaced), f"{steps[0][1]}; {steps[1][1]}"))
    seen = {own}
    found = []
    for variant, note in steps:
        if variant is None or not variant.strip():
            continue
        fingerprint = fingerprint_of(variant)
        if fingerprint not in seen:
            seen.add(fingerprint)
            found.append(CodeRepair(fingerprint, note))
    return found


_PERCENT = re.compile("%[0-9A-Fa-f]{2}")
_SPACES = re.compile(r"\s")


def _unquote(text: str) -> str:
    from urllib.parse import unquote  # only a "did you mean" needs it

    return unquote(text)


def _places(n: int) -> str:
    return f"{n} place" if n == 1 else f"{n} places"


#: Every record type the ledger stores: those one records, and the Erasures that
#: ``Ledger.erase`` records with the redaction they name.
STORED_TYPES: tuple[type[Record], ...] = (*RECORD_TYPES, Erasure)

#: Personal data (DESIGN §16), by record type: what an erasure redacts.
PERSONAL_FIELDS: dict[type[Record], tuple[str, ...]] = {
    cls: tuple(name for name in names if name in attrs.fields_dict(cls))
    for cls, names in (
        (Creator, ("handle", "display_name", "contact")),
        (Post, ("caption",)),
        (Person, ("name", "email", "chat_id")),
    )
}

#: How a required personal field reads back once erased (``Person.name``).
ERASED = "(erased)"
