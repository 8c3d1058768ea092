"""One cattrs converter: records to plain dicts and canonical JSON, and back.

Every (un)structuring hook is registered here and nowhere else.
"""

from __future__ import annotations

import json
import linecache
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from json.encoder import encode_basestring
from json.scanner import make_scanner
from types import NoneType, UnionType
from typing import Any, TypeVar, cast, get_args

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import InvalidRecordError, NotALedgerError
from .records import (
    ERASED,
    PERSONAL_FIELDS,
    STORED_TYPES,
    PostKind,
    Record,
    RegionVerdict,
    Role,
    SparkCode,
)

__all__ = [
    "RECORD_BY_NAME",
    "canonical_json",
    "canonical_json_of",
    "converter",
    "format_time",
    "from_micros",
    "generated",
    "parse_time",
    "parsed_json",
    "readable_time",
    "record_from_dict",
    "record_from_json",
    "record_to_dict",
    "structure_of",
    "to_micros",
]

R = TypeVar("R")

#: Record classes by the name stored in the ledger's ``type`` column.
RECORD_BY_NAME: dict[str, type[Record]] = {cls.__name__: cls for cls in STORED_TYPES}


def generated(source: str, name: str, what: str, namespace: dict[str, Any]) -> Any:
    r"""Run generated ``source`` in ``namespace`` and return what it defines as ``name``.

    The one way the package builds code: the source is compiled under a file name of its own,
    ``<delvia_ledger generated what>``, whose lines are registered with :mod:`linecache`, so a
    traceback through the generated function shows its lines (and ``inspect`` finds them).

    >>> twice = generated("def twice(x):\n    return 2 * x\n", "twice", "doubler", {})
    >>> twice(21), twice.__code__.co_filename
    (42, '<delvia_ledger generated doubler>')
    >>> linecache.getline(twice.__code__.co_filename, 2)
    '    return 2 * x\n'
    """
    lines = source.splitlines(keepends=True)
    filename, n = f"<delvia_ledger generated {what}>", 1
    while (held := linecache.getlines(filename)) and held != lines:
        n += 1  # the same name for another source: keep both readable
        filename = f"<delvia_ledger generated {what} #{n}>"
    # no modification time: linecache.checkcache keeps an entry it cannot check on disk
    linecache.cache[filename] = (len(source), None, lines, filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def format_time(moment: datetime) -> str:
    """The canonical text of a time: UTC, microseconds, ``Z`` (fixed width, so it sorts).

    >>> format_time(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    '2026-11-24T09:30:00.000000Z'
    """
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _TIME_TEXT % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


# %-formatting gives isoformat(timespec="microseconds")'s text for any year 1-9999, at less
# than half its cost (and no slicing off of "+00:00").
_TIME_TEXT = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def readable_time(moment: datetime, *, zone: bool = True) -> str:
    """A time as people read it in messages and tables: UTC, to the minute.

    >>> readable_time(datetime(2026, 11, 24, 9, 30, 59, tzinfo=UTC))
    '2026-11-24 09:30 UTC'
    >>> readable_time(datetime(2026, 11, 24, 9, 30, tzinfo=UTC), zone=False)
    '2026-11-24 09:30'
    """
    if moment.utcoffset() is not None:
        moment = moment.astimezone(UTC)
    text = f"{moment:%Y-%m-%d %H:%M}"
    return f"{text} UTC" if zone else text


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


def canonical_json_of(cls: type[Record]) -> Callable[[Record], str]:
    """A function giving a record's canonical JSON, generated once for record type ``cls``.

    Its text is exactly ``canonical_json(converter.unstructure(record))`` (the payload the
    ledger hashes), written straight from the fields: keys in sorted order, each string through
    ``json``'s own escaper, times as :func:`format_time` writes them, fields left at their
    default (None) omitted, ``id`` always kept.

    >>> from delvia_ledger.records import AdAccount
    >>> canonical_json_of(AdAccount)(AdAccount(id="69", name="Brand \u00e9", region="us"))
    '{"id":"69","name":"Brand \u00e9","region":"US"}'
    """
    found = _GENERATED_JSON.get(cls)
    if found is None:
        found = _GENERATED_JSON[cls] = _generated_json(cls)
    return found


_GENERATED_JSON: dict[type[Record], Callable[[Record], str]] = {}


def _quoted_time(moment: datetime) -> str:
    """A time as a JSON string: :func:`format_time`'s text in quotes (it needs no escaping)."""
    return f'"{format_time(moment)}"'


def _json_value(kind: Any, value: str) -> str | None:
    """Python source for the JSON text of a field's non-None value held in variable ``value``
    (None for a kind of value canonical JSON does not hold)."""
    if kind is datetime:
        return f"_time({value})"
    if kind is SparkCode:
        return (
            f"'{{\"fingerprint\":' + _text({value}.fingerprint) + ',\"hint\":' + "
            f"_text({value}.hint) + '}}'"
        )
    if kind == tuple[str, ...]:
        return f"'[' + ','.join(map(_text, {value})) + ']'"
    if kind is str or (isinstance(kind, type) and issubclass(kind, StrEnum)):
        return f"_text({value})"  # a StrEnum member's text is its value
    return None


def _generated_json(cls: type[Record]) -> Callable[[Record], str]:
    fields = sorted(attrs.fields(cast(Any, cls)), key=lambda f: f.name)
    kept = [f for f in fields if f.name == "id" or f.default is attrs.NOTHING]  # always written
    lines = [f"def canonical_json_{cls.__name__}(record):"]
    parts = []
    for n, field in enumerate(fields):
        kind, nullable = field.type, False
        if isinstance(kind, UnionType):  # X | None
            args = [a for a in get_args(kind) if a is not NoneType]
            kind, nullable = args[0] if len(args) == 1 else None, len(args) < len(get_args(kind))
        value = _json_value(kind, f"v{n}")
        if value is None:
            raise TypeError(
                f"canonical_json_of: {cls.__name__}.{field.name} is of type {field.type!r}, "
                "which has no canonical JSON here"
            )
        key = encode_basestring(field.name) + ":"
        lines.append(f"    v{n} = record.{field.name}")
        if field in kept:
            if nullable:
                value = f"('null' if v{n} is None else {value})"
            comma = "," if field is not kept[0] else ""
            lines.append(f"    p{n} = {comma + key!r} + {value}")
        elif field.default is None:  # omitted when None, as the converter's hook omits it
            before = n < fields.index(kept[0])  # a kept field follows: the comma goes after
            text = f"{key!r} + {value} + ','" if before else f"{',' + key!r} + {value}"
            lines.append(f"    p{n} = '' if v{n} is None else {text}")
        else:
            raise TypeError(f"canonical_json_of: {cls.__name__}.{field.name}'s default is unusual")
        parts.append(f"p{n}")
    lines.append(f"    return ''.join(('{{', {', '.join(parts)}, '}}'))")
    namespace: dict[str, Any] = {"_text": encode_basestring, "_time": _quoted_time}
    source, name = "\n".join(lines), f"canonical_json_{cls.__name__}"
    return cast(Callable[[Record], str], generated(source, name, name, namespace))


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
    for cls in STORED_TYPES:
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
    """Read a record back from the canonical JSON the ledger stored (trusted: no extra checks);
    a redacted payload's null ``Person.name`` reads as ``"(erased)"``.

    The same as ``converter.structure(json.loads(payload), cls)``, through :func:`structure_of`.
    """
    data = parsed_json(payload)
    erased = _ERASED_REQUIRED.get(cast(Any, cls))
    if erased and type(data) is dict:  # a redacted payload: a required personal field is null
        for name in erased:
            if name in data and data[name] is None:
                data[name] = ERASED
    return cast(R, structure_of(cast(Any, cls))(data))


#: Required personal fields, which a redacted payload holds as null and which read back as
#: :data:`~delvia_ledger.records.ERASED` (``Person.name``).
_ERASED_REQUIRED: dict[type[Any], tuple[str, ...]] = {
    cls: required
    for cls, fields in PERSONAL_FIELDS.items()
    if (required := tuple(n for n in fields if attrs.fields_dict(cls)[n].default is attrs.NOTHING))
}


def parsed_json(text: str) -> Any:
    """``json.loads(text)``, with the same value and the same error for any text.

    Canonical JSON (no whitespace around the value) goes straight to ``json``'s own scanner;
    anything else, and anything it does not read to the end, takes ``json.loads`` itself.
    """
    if type(text) is not str:  # bytes from a damaged cell: json.loads decodes them first
        return json.loads(text)
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # no value at the start: leading whitespace, a BOM, not JSON
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


#: The scanner json.loads reads with (its default decoder's).
_scan: Callable[[str, int], tuple[Any, int]] = make_scanner(cast(Any, json.JSONDecoder()))


def structure_of(cls: type[Record]) -> Callable[[Any], Record]:
    """A function building a record from its parsed JSON, generated once for record type ``cls``.

    It does exactly what ``converter.structure(data, cls)`` does, with the same result and the
    same error for any ``data``: the converter's own generated function, with each hook it
    calls that hands the value through unchanged (text, members, optional text) left out. The
    record's class then converts and validates every field as always. The converter's hooks
    are looked up when the function is generated (they are all registered on import).

    >>> from delvia_ledger.records import AdAccount
    >>> structure_of(AdAccount)({"id": "69", "name": "Brand", "region": "us"})
    AdAccount(id='69', name='Brand', region='US', business_center_id=None, last_swept_at=None)
    """
    found = _GENERATED_STRUCTURE.get(cls)
    if found is None:
        found = _GENERATED_STRUCTURE[cls] = _generated_structure(cls)
    return found


_GENERATED_STRUCTURE: dict[type[Any], Callable[[Any], Any]] = {}


def _generated_structure(cls: type[Record]) -> Callable[[Any], Record]:
    # The converter's function for cls (cattrs' make_dict_structure_fn): optional fields are
    # read first, each only if present, then the required ones as keywords, in field order.
    # Built in the same order here, a missing key or a payload that is not a mapping fails
    # at the same field with the same exception.
    namespace: dict[str, Any] = {"_cls": cls}
    optional, required = [], []
    for n, field in enumerate(attrs.fields(cast(Any, cls))):
        kind = field.type
        namespace[f"_hook{n}"] = hook = converter.get_structure_hook(kind)
        namespace[f"_type{n}"] = kind
        value = f"_hook{n}(o[{field.name!r}], _type{n})"
        if hook is _passthrough:
            value = f"o[{field.name!r}]"
        elif hook == converter._structure_optional:  # None, else the inner type's hook
            args = get_args(kind)
            inner = args[0] if args[1] is NoneType else args[1]
            namespace[f"_inner{n}"] = inner_hook = converter.get_structure_hook(inner)
            namespace[f"_type{n}"] = inner
            if inner_hook is _passthrough:
                value = f"o[{field.name!r}]"
            else:
                value = f"(None if (v := o[{field.name!r}]) is None else _inner{n}(v, _type{n}))"
        if field.default is attrs.NOTHING:
            required.append(f"{field.name}={value}")
        else:
            optional.append(f"    if {field.name!r} in o:\n        res[{field.name!r}] = {value}")
    lines = [
        f"def structure_{cls.__name__}(o):",
        "    res = {}",
        *optional,
        f"    return _cls({', '.join([*required, '**res'])})",
    ]
    source, name = "\n".join(lines), f"structure_{cls.__name__}"
    return cast(Callable[[Any], Record], generated(source, name, name, namespace))
