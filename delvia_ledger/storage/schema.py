"""The file format's tables, whatever the backend: the columns of an entry a read may ask for,
and one version table per record type (its columns and indexes, how a record becomes its row
and how a stored payload is checked against it).

The backends (``storage.sqlite``, ``storage.postgres``) create these tables in their dialect;
the reads they share (``storage.sql``) name their columns through :func:`known_columns`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import cached_property
from types import NoneType
from typing import Any, cast, get_args

import attrs

from ..chain import SOURCES, compose_payload, redacted_payload, split_payload
from ..convert import (
    canonical_json,
    canonical_json_of,
    converter,
    from_micros,
    generated,
    parsed_json,
    record_from_json,
    structure_of,
    to_micros,
)
from ..records import (
    PERSONAL_FIELDS,
    STORED_TYPES,
    AdAccount,
    Creator,
    Erasure,
    Notice,
    Person,
    Record,
    RoleGrant,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
    to_handle,
)
from .filters import All, Equals, Filter, OneOf
from .sql import short

__all__ = [
    "ENTRY_FIELDS",
    "TABLES",
    "VersionTable",
    "code_key",
    "column",
    "derive_row",
    "ids_wanted",
    "known_columns",
    "table_problem",
    "version_column",
]

#: Columns of a record's entry that a read of current versions may ask for beside the
#: version columns: the entry's ``payload`` (canonical JSON) and its ``recorded_at`` text.
ENTRY_FIELDS = ("payload", "recorded_at")


#: Fields kept in the entry's payload (so in the chain) but not as version-table columns: no
#: query filters on them, and a file of this schema version has no such column (so adding one
#: needs no migration). Read them from the records (``current_entries``).
PAYLOAD_ONLY: dict[type[Record], tuple[str, ...]] = {
    AdAccount: ("last_swept_at",),
}


@attrs.frozen(eq=False)  # compared and hashed by identity: one instance per record type
class VersionTable:
    """The ``<type>_versions`` table of one record type: which columns, and how to fill them.

    Columns hold the record's fields for fast queries (the record itself is the entry's
    payload): times as integer microseconds since the epoch, a Spark code as ``code_key``,
    the first 64 bits of its fingerprint. Small integer keys keep bulk inserts fast.
    """

    cls: type[Record]
    name: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    times: tuple[int, ...]  # positions of datetime fields
    codes: tuple[int, ...]  # positions of SparkCode fields
    lists: tuple[int, ...]  # positions of tuple fields (stored as canonical JSON text)
    indexes: tuple[tuple[str, ...], ...]
    sparse: tuple[str, ...] = ()  # indexed only where set: see _SPARSE_INDEXES

    @classmethod
    def of(
        cls,
        record_cls: type[Record],
        indexes: tuple[tuple[str, ...], ...] = (),
        sparse: tuple[str, ...] = (),
    ) -> VersionTable:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", record_cls.__name__).lower()
        only_in_payload = PAYLOAD_ONLY.get(record_cls, ())
        fields = [f for f in attrs.fields(cast(Any, record_cls)) if f.name not in only_in_payload]
        kinds = [str(f.type) for f in fields]
        codes = tuple(i for i, kind in enumerate(kinds) if "SparkCode" in kind)
        return cls(
            cls=record_cls,
            name=f"{snake}_versions",
            fields=tuple(f.name for f in fields),
            columns=tuple("code_key" if i in codes else f.name for i, f in enumerate(fields)),
            times=tuple(i for i, kind in enumerate(kinds) if "datetime" in kind),
            codes=codes,
            lists=tuple(i for i, kind in enumerate(kinds) if kind.startswith("tuple")),
            indexes=(("id",), *indexes),
            sparse=sparse,
        )

    @cached_property
    def type(self) -> str:
        """The record type's name, as the ``entries.type`` column holds it."""
        return self.cls.__name__

    @cached_property
    def insert_sql(self) -> str:
        names = ", ".join(("seq", "superseded_by", *self.columns))
        marks = ",".join("?" * (len(self.columns) + 2))
        return f"INSERT INTO {self.name} ({names}) VALUES ({marks})"

    @cached_property
    def unstructure(self) -> Callable[[Record], dict[str, Any]]:
        """The converter's hook for this record type (``record_to_dict``, looked up once)."""
        return cast(Callable[[Record], dict[str, Any]], converter.get_unstructure_hook(self.cls))

    @cached_property
    def payload(self) -> Callable[[Record], str]:
        """A record's canonical JSON, the entry's payload (``convert.canonical_json_of``)."""
        return canonical_json_of(self.cls)

    @cached_property
    def row(self) -> Callable[[int, Record], list[Any]]:
        """The table row for an entry: ``row(seq, record)`` gives seq, superseded_by (None),
        then the columns (a function generated once for the record type)."""
        values = []
        for i, name in enumerate(self.fields):
            value = f"record.{name}"
            if i in self.times:
                value = f"(None if (t := {value}) is None else _micros(t))"
            elif i in self.codes:
                value = f"_code_key({value}.fingerprint)"
            elif i in self.lists:
                value = f"_canonical_json(list({value}))"
            values.append(value)
        source = f"def {self.name}_row(seq, record):\n    return [seq, None, {', '.join(values)}]"
        namespace: dict[str, Any] = {
            "_micros": to_micros,
            "_code_key": code_key,
            "_canonical_json": canonical_json,
        }
        row = generated(source, f"{self.name}_row", f"{self.name}_row", namespace)
        return cast(Callable[[int, Record], list[Any]], row)

    @cached_property
    def matches(self) -> Callable[[str, tuple[Any, ...]], bool] | None:
        """Whether a stored payload and its stored version row agree, in one quick call (see
        :func:`_row_matcher`); None for a table whose rows do not hold every field."""
        return _row_matcher(self)

    @cached_property
    def derived(self) -> Callable[[int, str], list[Any] | None]:
        """The row a stored payload makes, when it is the canonical JSON of a valid record
        (see :func:`derive_row`, which says why when it is not)."""
        return _derived_row(self)


def _derived_row(table: VersionTable) -> Callable[[int, str], list[Any] | None]:
    """:func:`derive_row`'s common case for ``table``, in one call: the row of a payload that
    is the canonical JSON of a valid record with a well-formed ``_salt`` and ``_source`` head;
    None for anything else (which :func:`derive_row` then reads the long way, to say why).

    The record is read as :func:`~delvia_ledger.convert.record_from_json` reads it (``json``'s
    scanner, the generated structure function); the payload must be its head followed by the
    record's canonical JSON, compared in place rather than cut apart.
    """
    structure = structure_of(table.cls)
    encode, make_row = table.payload, table.row
    erased = PERSONAL_FIELDS.get(table.cls, ())  # a null there: the long way (ERASED)

    def derived(seq: int, payload: str) -> list[Any] | None:
        try:
            data = parsed_json(payload)
            if type(data) is not dict:
                return None
            for name in erased:
                if name in data and data[name] is None:
                    return None
            record = structure(data)
            canonical = encode(record)
            row = make_row(seq, record)
        except Exception:  # not JSON, or an invalid record: the long way says why
            return None
        return row if _written_as(payload, canonical) else None

    return derived


def _written_as(payload: str, canonical: str) -> bool:
    """Whether ``payload`` is a record's ``canonical`` JSON as a ledger writes it: the text
    itself, or a well-formed ``_salt``/``_source`` head followed by its fields (compared in
    place rather than cut apart)."""
    cut = len(payload) - len(canonical) + 1  # the head's length
    if cut == 1:  # no head: the payload is the canonical JSON itself (or not)
        return payload == canonical
    return cut > 1 and payload.endswith(canonical[1:]) and _head_ok(payload[:cut])


def _head_ok(head: str) -> bool:
    """:func:`_good_head`, remembered for the few heads without a salt (one per source)."""
    known = _HEADS.get(head)
    if known is None:
        known = _good_head(head)
        if len(_HEADS) < 64 and not head.startswith(_SALT_HEAD):
            _HEADS[head] = known
    return known


def _row_matcher(table: VersionTable) -> Callable[[str, tuple[Any, ...]], bool] | None:
    """Deep verify's common case for ``table`` without reading the payload's JSON: the record
    is built from the stored row instead (times from their microseconds, a code's fingerprint
    and hint found in the payload's text, each other column through the converter's hook, as
    :func:`~delvia_ledger.convert.structure_of` hands it to the class), and the payload must be
    a well-formed head followed by that record's canonical JSON, the row the record's row.

    True only then, and then :func:`derive_row` gives that row too: a valid record reads back
    from its canonical JSON as itself. False for anything else, which :func:`derive_row` then
    reads the long way (a wrong column or payload makes a different record, so a different
    text). None for a table with list columns or fields kept only in the payload.
    """
    if table.lists or PAYLOAD_ONLY.get(table.cls) or len(table.codes) > 1:
        return None
    namespace: dict[str, Any] = {
        "_cls": table.cls,
        "_micros": from_micros,
        "_encode": table.payload,
        "_row": table.row,
        "_written_as": _written_as,
    }
    text = converter.get_structure_hook(str)
    arguments, lines = [], []
    for n, field in enumerate(attrs.fields_dict(cast(Any, table.cls))[f] for f in table.fields):
        value = f"row[{n + 2}]"
        if n in table.times:
            value = f"(None if (v := {value}) is None else _micros(v))"
        elif n in table.codes:
            namespace["_code"] = converter.get_structure_hook(field.type)
            namespace["_code_type"] = field.type
            key = f'"{field.name}":{{"fingerprint":"'
            lines += [
                f"    at = payload.find({key!r}) + {len(key)}",
                "    fingerprint = payload[at : at + 64]",
                '    if payload[at + 64 : at + 74] != \'","hint":"\': return False',
                "    end = payload.find('\"}', at + 74)",
                "    hint = payload[at + 74 : end]",
                f"    if at < {len(key)} or end < 0 or '\\\\' in hint: return False",
            ]
            value = "_code({'fingerprint': fingerprint, 'hint': hint}, _code_type)"
        else:
            kind, optional = field.type, False
            args = get_args(kind)
            if NoneType in args and len(args) == 2:
                kind, optional = next(a for a in args if a is not NoneType), True
            hook = converter.get_structure_hook(kind)
            if hook is not text:
                namespace[f"_hook{n}"], namespace[f"_type{n}"] = hook, kind
                call = f"_hook{n}(v, _type{n})"
                value = (
                    f"(None if (v := {value}) is None else {call})"
                    if optional
                    else (f"_hook{n}({value}, _type{n})")
                )
        if field.default is attrs.NOTHING or field.default is None:
            arguments.append(f"{field.name}={value}")
        else:  # a default made otherwise (a derived id): the row's value only where it has one
            lines.append(f"    if (v := {value}) is not None: res[{field.name!r}] = v")
    name = f"{table.name}_matches"
    source = "\n".join(
        [
            f"def {name}(payload, row):",
            "    res = {}",
            *lines,
            f"    record = _cls({', '.join([*arguments, '**res'])})",
            "    canonical = _encode(record)",
            "    if list(row[2:]) != _row(0, record)[2:]: return False",
            "    return _written_as(payload, canonical)",
        ]
    )
    matches = generated(source, name, name, namespace)

    def guarded(payload: str, row: tuple[Any, ...]) -> bool:
        try:
            return bool(matches(payload, row))
        except Exception:  # a value the record refuses: the long way says why
            return False

    return guarded


#: Heads of payloads seen (``{"_source":"csv",`` …) and whether each is well formed.
_HEADS: dict[str, bool] = {}
_SALT_HEAD = '{"_salt":'


def _good_head(head: str) -> bool:
    """Whether ``head`` (a payload's text before its record's fields, ending in ``,``) is
    exactly a well-formed ``_salt`` and ``_source``, as :func:`derive_row` checks them."""
    salt, source, rest = split_payload(head + "}")
    return (
        rest == "{}"
        and (source is None or source in SOURCES)
        and (salt is None or _SALT.fullmatch(salt) is not None)
    )


def code_key(fingerprint: str) -> int:
    """The first 64 bits of a code's fingerprint, as a signed (two's complement) SQLite integer.

    SQL's ``printf('%016x', code_key)`` gives those 16 hex digits back, which is how the
    code index below recognises an authorization recorded under its derived id.

    >>> fp = "9aa8eccc92a00ea1" + "0" * 48
    >>> hex(code_key(fp) % 2**64)
    '0x9aa8eccc92a00ea1'
    """
    key = int(fingerprint[:16], 16)
    return key - (1 << 64) if key >= 1 << 63 else key


_EXTRA_INDEXES: dict[type[Record], tuple[tuple[str, ...], ...]] = {
    Creator: (("tiktok_identity_id",),),
    SparkAuthorization: (("expires_at",), ("post_id",)),
    SparkBinding: (("ad_account_id",),),
    SparkAd: (("authorization_id",),),
    RoleGrant: (("scope",), ("person_id",)),
    Person: (("tiktok_user_id",),),
    Notice: (("person_id",),),
    Erasure: (("subject_id",),),
}

#: Columns almost every row leaves empty, indexed only where set (SQLite: a partial index,
#: ``WHERE column IS NOT NULL``, which every read of them may use: each compares a value, and
#: a comparison implies the value is set). A full index gave each new authorization one more
#: index entry to write: the format's SQL floor at 1M was 13.5-15.2 µs/row with the partial
#: index against 16.8-20.3 with the full one (benchmarks/README.md, issue 27).
_SPARSE_INDEXES: dict[type[Record], tuple[str, ...]] = {
    SparkAuthorization: ("retired_at",),
}

#: One version table per record type, with the indexes the checks need.
TABLES: dict[type[Record], VersionTable] = {
    cls: VersionTable.of(cls, _EXTRA_INDEXES.get(cls, ()), _SPARSE_INDEXES.get(cls, ()))
    for cls in STORED_TYPES
}


def known_columns(table: VersionTable) -> dict[str, str]:
    """Column name -> its SQL, for every column a read of ``table`` may name."""
    names = {"seq": "v.seq", "superseded_by": "v.superseded_by"}
    names.update({c: f"v.{c}" for c in table.columns})
    names.update({c: f"e.{c}" for c in ENTRY_FIELDS})
    return names


def column(names: dict[str, str], name: str) -> str:
    """The SQL of column ``name`` among ``names`` (:func:`known_columns`); a clear error if
    there is none."""
    try:
        return names[name]
    except (KeyError, TypeError):
        raise ValueError(f"no column {name!r} here; the columns are {', '.join(names)}") from None


def ids_wanted(where: Filter | None) -> tuple[tuple[Any, ...] | None, Filter | None]:
    """The ids ``where`` asks for at its top (``OneOf("id", ...)``, alone or in an ``All``),
    and what else it asks."""
    if isinstance(where, OneOf | Equals) and where.column == "id":
        return (where.values if isinstance(where, OneOf) else (where.value,)), None
    if isinstance(where, All):
        for i, part in enumerate(where.filters):
            if isinstance(part, OneOf | Equals) and part.column == "id":
                others = where.filters[:i] + where.filters[i + 1 :]
                ids = part.values if isinstance(part, OneOf) else (part.value,)
                return ids, (All(*others) if others else None)
    return None, where


def version_column(names: dict[str, str], name: str) -> str:
    """:func:`column`, refusing an entry's column: filters apply to version columns."""
    sql = column(names, name)
    if not sql.startswith("v."):
        raise ValueError(f"filters apply to version columns, not to the entry's {name}")
    return sql


def derive_row(
    table: VersionTable, seq: int, payload: Any, lenient: bool, redacted: bool = False
) -> list[Any] | str:
    """The version row entry ``seq`` makes, or why its payload is not a record's payload.

    A ``redacted`` entry (an Erasure names it) must hold the redacted form of its record, and
    its row has the personal columns empty.
    """
    if not redacted and not lenient and type(payload) is str:
        row = table.derived(seq, payload)
        if row is not None:
            return row
    if not isinstance(payload, str):
        return "the payload is not stored as text"
    if lenient:  # text read with surrogate escapes for the bytes that are not UTF-8
        try:
            payload.encode("utf-8")
        except UnicodeEncodeError:
            return "the payload is not valid UTF-8 text"
    try:
        record = record_from_json(table.cls, payload)
        canonical = table.payload(record)  # the generated encoder: byte-identical, tested
        row = table.row(seq, record)
    except Exception as exc:  # whatever the converter raises on a payload no ledger wrote
        return f"the payload is not a valid {table.type}: {short(exc)}"
    salt, source, content = split_payload(payload)
    if redacted:
        personal = PERSONAL_FIELDS.get(table.cls, ())
        if redacted_payload(table.type, compose_payload(canonical, source)) != payload:
            return "the payload is not the redacted form of its record"
        for name in personal:
            row[2 + table.columns.index(name)] = None
        return row
    if canonical != content and not _legacy_payload(table, content, canonical):
        return "the payload is not the canonical JSON of its record"
    if source is not None and source not in SOURCES:
        return f"the payload's _source {source!r} is not one of {', '.join(SOURCES)}"
    if salt is not None and not _SALT.fullmatch(salt):
        return "the payload's _salt is not 32 hex digits"
    return row


_SALT = re.compile("[0-9a-f]{32}")


def _legacy_payload(table: VersionTable, text: str, canonical: str) -> bool:
    """Whether ``text`` is how schema version 1 wrote the record that now reads as ``canonical``.

    Version 1 kept a creator's handle as typed, with its ``@`` (see ``Store._migrate_from_1``):
    those entries keep their text and read back without it.
    """
    if table.cls is not Creator:
        return False
    data = json.loads(text)
    if canonical_json(data) != text or not isinstance(data.get("handle"), str):
        return False
    handle = to_handle(data.pop("handle"))
    if handle is not None:
        data["handle"] = handle
    return bool(canonical_json(data) == canonical)


def table_problem(name: str, have: set[str], wanted: Sequence[str]) -> str | None:
    if not have:
        return f"the table {name} is missing"
    lacking = [column for column in wanted if column not in have]
    if lacking:
        return f"the table {name} lacks the column(s) {', '.join(lacking)}"
    return None
