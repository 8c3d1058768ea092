"""What a record's fields accept: the validators and converters the records declare, each
refusing a bad value with an error that names the record, the field and the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from enum import StrEnum
from typing import Any

import attrs
from dateutil.parser import isoparse

from .errors import InvalidRecordError

__all__ = [
    "ISO_REGIONS",
    "NOT_IN_IDS",
    "SURROGATE",
    "TIME_OUT_OF_RANGE",
    "blank_to_none",
    "chat_id_problem",
    "email_problem",
    "is_status_word",
    "one_line",
    "shown",
    "time_problem",
    "to_handle",
    "to_item_status",
    "to_region",
    "to_tiktok_status",
    "to_utc",
]

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

#: What an id may not contain: C0 and C1 controls, DEL, bidi overrides and isolates (which
#: make text display in another order than it is stored) and lone surrogates (not text at all:
#: they cannot be written as UTF-8).
NOT_IN_IDS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

#: Lone surrogates: a Python string can hold them, UTF-8 (the database, JSON, files) cannot.
SURROGATE = re.compile("[\ud800-\udfff]")

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


#: What a name may not bring into a line of output as it is: C0 and C1 controls (line feed,
#: carriage return and tab included), DEL, the Unicode line and paragraph separators, bidi
#: overrides and isolates, lone surrogates.
_NOT_IN_A_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    c = ord(match.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def one_line(text: object) -> str:
    r"""``text`` as one line of output: every character a terminal, a log reader or a chat
    client would act on (line breaks, controls, bidi overrides) shown as an escape.

    The one place a name, handle or other text from a record or a server is made safe to
    print, log or send: a crafted name cannot fake a line of a worklist or a log.

    >>> one_line("Maya\nERROR all codes revoked\r")
    'Maya\\x0aERROR all codes revoked\\x0d'
    """
    shown = text if isinstance(text, str) else str(text)
    return shown if shown.isprintable() else _NOT_IN_A_LINE.sub(_escape, shown)


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret blanked out, the longest first (so that a secret holding
    another is blanked whole): the one place secrets leave a text that goes out.

    >>> scrubbed("https://hooks.example/T0/abc?x=abc", ["abc", "/T0/abc"])
    'https://hooks.example…?x=…'
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def email_problem(value: object) -> str | None:
    """Why ``value`` is not one email address (an RFC 5322 addr-spec such as
    ``ana@brand.example``), or None when it is one.

    A list (``"a@x.example, b@y.example"``), a group (``"team: a@x.example;"``), a display
    name (``"Ana <ana@x.example>"``) or a line break is refused: reminders go to exactly the
    address recorded, never to one an attacker appended.

    >>> email_problem("two@brand.example, attacker@evil.example")
    "holds more than one address or other text: only 'two@brand.example' is an address"
    """
    if not isinstance(value, str):
        return "must be an email address such as 'ana@brand.example'"
    if value != value.strip() or not value.isprintable():
        return "must be one email address without spaces, line breaks or control characters"
    try:
        address = Address(addr_spec=value)
    except (ValueError, HeaderParseError, IndexError) as error:
        said = str(error)
        first = re.search(r"only '([^']*)' could be parsed", said)
        if first and "@" in first.group(1):
            return (
                f"holds more than one address or other text: only {first.group(1).strip()!r} "
                "is an address"
            )
        return "must be one email address such as 'ana@brand.example'"
    if not address.username or not address.domain or address.addr_spec != value:
        return "must be one email address such as 'ana@brand.example'"
    if "." not in address.domain.strip("[]") and not address.domain.startswith("["):
        return "needs a domain with a dot, such as 'ana@brand.example'"
    return None


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
    if value != value.strip() or NOT_IN_IDS.search(value):
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
    if not value.isascii() and SURROGATE.search(value):
        raise _fail(instance, field, value, _NOT_TEXT)


def _check_optional_text(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _fail(instance, field, value, "must be a string or None")
    if not value.isascii() and SURROGATE.search(value):
        raise _fail(instance, field, value, _NOT_TEXT)


def _check_optional_email(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    problem = email_problem(value)
    if problem is not None:
        raise _fail(instance, field, value, problem)


#: The longest chat handle kept: Slack member ids are 9 to 11 characters, Discord's 18 to 19
#: digits, Mattermost's 26 letters; 128 leaves room for the longer ids of other services.
CHAT_ID_LENGTH = 128
_CHAT_ID = re.compile(r"[^\s<>]+")


def chat_id_problem(value: object) -> str | None:
    """Why ``value`` is not one chat handle (a Slack member id such as ``U024BE7LH``, another
    service's user id), or None when it is one.

    >>> chat_id_problem("U024BE7LH") is None
    True
    >>> chat_id_problem("U024BE7LH <!channel>")
    "must be one chat handle such as 'U024BE7LH' (a Slack member id): no spaces, line \
breaks, control characters, '<' or '>'"
    """
    if not isinstance(value, str) or not value:
        return "must be a chat handle such as 'U024BE7LH' (a Slack member id)"
    if len(value) > CHAT_ID_LENGTH:
        return f"is {len(value)} characters long; a chat handle has at most {CHAT_ID_LENGTH}"
    if not _CHAT_ID.fullmatch(value) or not value.isprintable():
        return (
            "must be one chat handle such as 'U024BE7LH' (a Slack member id): no spaces, "
            "line breaks, control characters, '<' or '>'"
        )
    return None


def _check_optional_chat_id(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    problem = chat_id_problem(value)
    if problem is not None:
        raise _fail(instance, field, value, problem)


def to_chat_id(value: str | None) -> Any:
    """A chat handle as typed, without surrounding spaces; ``""`` is no handle."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def to_email(value: str | None) -> Any:
    """An email address as typed, without surrounding spaces; ``""`` is no address."""
    if isinstance(value, str):
        return value.strip() or None
    return value


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


def _to_tuple(value: Any) -> Any:
    """A list or set of values as a tuple (records hold tuples); anything else as given."""
    return tuple(value) if isinstance(value, list | tuple | set | frozenset) else value
