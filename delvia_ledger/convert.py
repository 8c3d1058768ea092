"""One cattrs converter: records to plain dicts and canonical JSON, and back.

Every (un)structuring hook is registered here and nowhere else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import InvalidRecordError, NotALedgerError
from .records import RECORD_TYPES, PostKind, Record, RegionVerdict, Role, SparkCode

__all__ = [
    "RECORD_BY_NAME",
    "canonical_json",
    "converter",
    "format_time",
    "from_micros",
    "parse_time",
    "record_from_dict",
    "record_from_json",
    "record_to_dict",
    "to_micros",
]

R = TypeVar("R")

#: Record classes by the name stored in the ledger's ``type`` column.
RECORD_BY_NAME: dict[str, type[Record]] = {cls.__name__: cls for cls in RECORD_TYPES}


def format_time(moment: datetime) -> str:
    """The canonical text of a time: UTC, microseconds, ``Z`` (fixed width, so it sorts).

    >>> format_time(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    '2026-11-24T09:30:00.000000Z'
    """
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """A time as whole microseconds since the Unix epoch (how version tables store times)."""
    return (moment - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The inverse of :func:`to_micros` (an aware UTC datetime).

    A stored time no datetime can hold means a damaged file: :class:`NotALedgerError`.
    """
    try:
        return EPOCH + timedelta(0, 0, micros)  # positional: the fast path
    except (OverflowError, TypeError, ValueError):
        raise NotALedgerError(
            f"a stored time ({micros!r} µs) is out of range: the file is damaged; "
            "run 'delvia-ledger verify --deep' to find where"
        ) from None


def parse_time(text: str) -> datetime:
    """Read a canonical time back (``datetime.fromisoformat``: the fast path)."""
    return datetime.fromisoformat(text)


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(data: Any) -> str:
    """The one JSON encoding hashed by the ledger: sorted keys, no spaces, UTF-8, no NaN."""
    return _CANONICAL.encode(data)


def _structure_time(value: Any, _: type) -> Any:
    # Canonical text takes the fast path; anything else is left for the record's own
    # converter, which parses ISO-8601 strictly and names the field when it refuses.
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _passthrough(value: Any, _: type) -> Any:
    # Records validate their own fields; cattrs must not coerce (e.g. 123 -> "123").
    return value


def _structure_keys(value: Any, _: type) -> Any:
    # A list becomes a tuple; anything else (a bare string) is left for the record to refuse.
    return tuple(value) if isinstance(value, list | tuple) else value


def _structure_code(value: Any, _: type) -> SparkCode:
    # Trusted: what the ledger stored. record_from_dict checks a code from outside first.
    if isinstance(value, SparkCode):
        return value
    if isinstance(value, dict) and "fingerprint" in value:
        return SparkCode.from_ledger(value["fingerprint"], value.get("hint", "…"))
    raise InvalidRecordError(
        "SparkAuthorization.code: expected a stored code {'fingerprint': …, 'hint': …}"
    )


def _code_from_outside(value: Any) -> Any:
    """A code given as ``{"fingerprint", "hint"}``, checked (neither is ever echoed)."""
    if isinstance(value, dict) and "fingerprint" in value:
        return SparkCode.from_fingerprint(value["fingerprint"], value.get("hint", "…"))
    return value


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    conv.register_unstructure_hook(datetime, format_time)
    conv.register_structure_hook(datetime, _structure_time)
    for passthrough in (str, Role, RegionVerdict, PostKind):
        conv.register_structure_hook(passthrough, _passthrough)
    conv.register_unstructure_hook(
        SparkCode, lambda code: {"fingerprint": code.fingerprint, "hint": code.hint}
    )
    conv.register_structure_hook(SparkCode, _structure_code)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_keys)
    conv.register_unstructure_hook(StrEnum, lambda member: member.value)
    for cls in RECORD_TYPES:
        # Fields left at their default (None) are omitted, so adding an optional field
        # later does not change the canonical JSON (and hash) of existing records.
        conv.register_unstructure_hook(
            cls,
            make_dict_unstructure_fn(
                cls, conv, _cattrs_omit_if_default=True, id=override(omit_if_default=False)
            ),
        )
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv))
    return conv


#: The module-level converter; use it to (un)structure records in your own code too.
converter = _make_converter()


def record_to_dict(record: Record) -> dict[str, Any]:
    """A record as a plain dict of JSON types (times as canonical text)."""
    data: dict[str, Any] = converter.unstructure(record)
    return data


def record_from_dict(cls: type[R], data: Any) -> R:
    """Build a record from a plain dict, with an error that names the record and the field."""
    if not isinstance(data, dict):
        raise InvalidRecordError(
            f"{cls.__name__}: expected a mapping of fields, got {type(data).__name__}"
        )
    known = {field.name for field in attrs.fields(cast(Any, cls))}
    unknown = sorted(str(name) for name in set(data) - known)
    if unknown:
        raise InvalidRecordError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
    required = [
        field.name
        for field in attrs.fields(cast(Any, cls))
        if field.default is attrs.NOTHING and field.name not in data
    ]
    if required:
        raise InvalidRecordError(f"{cls.__name__}: missing required field(s) {', '.join(required)}")
    if "code" in data:
        data = {**data, "code": _code_from_outside(data["code"])}
    try:
        return converter.structure(data, cls)
    except InvalidRecordError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidRecordError(f"{cls.__name__}: {exc}") from None


def record_from_json(cls: type[R], payload: str) -> R:
    """Read a record back from the canonical JSON the ledger stored (trusted: no extra checks)."""
    return converter.structure(json.loads(payload), cls)
