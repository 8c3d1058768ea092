"""The fast write path writes exactly what the reference encoder writes, and restores the GC."""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from cattrs.gen import make_dict_unstructure_fn, override
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.chain import split_payload
from delvia_ledger.convert import canonical_json, canonical_json_of, converter, format_time
from delvia_ledger.errors import InvalidRecordError
from delvia_ledger.records import PERSONAL_FIELDS, RECORD_TYPES, Record, SparkCode
from delvia_ledger.storage.schema import TABLES, VersionTable, code_key
from delvia_ledger.writing import REFERENCES

from .conftest import Backend, Clock
from .strategies import nasty_texts, worlds

# --- the reference: the encoder and row builder as they were before the generated code ---------


def reference_time(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def _reference_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    conv.register_unstructure_hook(datetime, reference_time)
    conv.register_unstructure_hook(
        SparkCode, lambda code: {"fingerprint": code.fingerprint, "hint": code.hint}
    )
    conv.register_unstructure_hook(StrEnum, lambda member: member.value)
    for cls in RECORD_TYPES:
        conv.register_unstructure_hook(
            cls,
            make_dict_unstructure_fn(
                cls, conv, _cattrs_omit_if_default=True, id=override(omit_if_default=False)
            ),
        )
    return conv


_REFERENCE = _reference_converter()
_REFERENCE_JSON = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def reference_payload(record: Record) -> str:
    return _REFERENCE_JSON.encode(_REFERENCE.unstructure(record))


def reference_row(table: VersionTable, seq: int, record: Record) -> list[Any]:
    values = [seq, None, *(getattr(record, name) for name in table.fields)]
    for i in table.times:
        if values[i + 2] is not None:
            values[i + 2] = (values[i + 2] - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
                microseconds=1
            )
    for i in table.codes:
        values[i + 2] = code_key(values[i + 2].fingerprint)
    for i in table.lists:
        values[i + 2] = _REFERENCE_JSON.encode(list(values[i + 2]))
    return values


# --- hostile records of every type --------------------------------------------------------------

#: Text that stresses the escaper: controls, quotes, U+2028/9, astral characters, non-ASCII.
escaper_texts = nasty_texts | st.text(
    alphabet=st.sampled_from(
        [
            '"',
            "\\",
            "/",
            "\b",
            "\f",
            "\x1f",
            "\x7f",
            "\u2028",
            "\u2029",
            "é",
            "\U0001f600",
            "a",
            "Z",
        ]
    ),
    max_size=12,
)
#: Times at both ends of what a datetime holds, and offsets that still fit in UTC.
edge_times = st.one_of(
    st.sampled_from(
        [
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            datetime(1, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))),
            datetime(9999, 12, 31, 18, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
        ]
    ),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from([timezone(timedelta(hours=14)), timezone(timedelta(hours=-9))]),
    ),
)


def _candidates(field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    kind = str(field.type)
    if "datetime" in kind:
        return st.none() | edge_times
    if kind.startswith("tuple"):
        return st.lists(escaper_texts, max_size=4).map(tuple)
    if "str" in kind:
        return st.none() | escaper_texts
    return st.nothing()  # codes and enumerations stay as the world drew them


def _rebuilt(cls: type[Record], values: dict[str, Any]) -> Record | None:
    """``cls`` built from ``values`` (with its derived id, if kept fails), or None if refused."""
    for attempt in (values, {k: v for k, v in values.items() if k != "id"}):
        try:
            return cls(**attempt)
        except (InvalidRecordError, ValueError, TypeError, OverflowError):
            continue
    return None


#: Fields that name another record (changing them would break the references of a world).
_REFERRING = {field for fields in REFERENCES.values() for field, _ in fields}


def hostile(data: st.DataObject, record: Record, *, ids_too: bool = True) -> Record:
    """``record`` with each field, in turn, replaced by hostile text or a time at the edge,
    wherever the record's validators accept it (ids and references too, unless not
    ``ids_too``)."""
    cls = type(record)
    for field in attrs.fields(cls):
        if not ids_too and (field.name in ("id", "scope") or field.name in _REFERRING):
            continue
        candidates = _candidates(field)
        if candidates.is_empty or not data.draw(st.booleans()):
            continue
        values = {f.name: getattr(record, f.name) for f in attrs.fields(cls)}
        values[field.name] = data.draw(candidates)
        record = _rebuilt(cls, values) or record
    return record


@settings(max_examples=60)
@given(st.data())
def test_the_generated_payload_is_the_reference_encoders_text_for_every_record_type(
    data: st.DataObject,
) -> None:
    for record in data.draw(worlds()):
        record = hostile(data, record)
        expected = reference_payload(record)
        assert canonical_json_of(type(record))(record) == expected
        assert TABLES[type(record)].payload(record) == expected
        assert canonical_json(converter.unstructure(record)) == expected


@settings(max_examples=60)
@given(st.data())
def test_the_generated_version_row_is_the_reference_row_cell_for_cell(
    data: st.DataObject,
) -> None:
    seq = data.draw(st.integers(1, 2**62))
    for record in data.draw(worlds()):
        record = hostile(data, record)
        table = TABLES[type(record)]
        row, expected = table.row(seq, record), reference_row(table, seq, record)
        assert row == expected
        assert [type(cell) for cell in row] == [type(cell) for cell in expected]


@given(st.datetimes(timezones=st.just(UTC)) | edge_times)
def test_format_time_is_isoformats_text(moment: datetime) -> None:
    assert format_time(moment) == reference_time(moment)


@pytest.mark.parametrize(
    "moment",
    [datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)],
    ids=["smallest", "largest"],
)
def test_the_smallest_and_largest_times_keep_their_text(moment: datetime) -> None:
    person = dl.Person(id="p", name="Zoë \u2028 \U0001f600 \x01", left_at=moment)
    assert canonical_json_of(dl.Person)(person) == reference_payload(person)
    assert format_time(moment) in ("0001-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z")


def test_a_field_type_with_no_canonical_json_is_refused_when_the_code_is_generated() -> None:
    @attrs.frozen(kw_only=True)
    class Counter:
        id: str
        count: int

    with pytest.raises(
        TypeError, match=r"Counter.count is of type .*int.*, which has no canonical JSON"
    ):
        canonical_json_of(Counter)  # type: ignore[arg-type]


# --- the file the fast path writes --------------------------------------------------------------


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, each cell with its SQLite storage class."""
    conn = sqlite3.connect(path)
    tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    found = {}
    for name in tables:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({name})")]
        cells = ", ".join(f"{c}, typeof({c})" for c in columns)
        found[name] = conn.execute(f"SELECT {cells} FROM {name} ORDER BY rowid").fetchall()
    conn.close()
    return found


@settings(max_examples=5)
@given(st.data())
def test_entries_and_version_rows_are_what_the_reference_encoder_makes(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("fast") / "ledger.db"
    moment = datetime(2026, 11, 24, 9, tzinfo=UTC)
    with dl.Ledger.open(path, clock=lambda: moment) as ledger:
        world = [hostile(data, record, ids_too=False) for record in data.draw(worlds())]
        ledger.record_all(world, batch_size=data.draw(st.integers(1, 12)))
        creator, post = world[0], world[1]
        assert isinstance(creator, dl.Creator) and isinstance(post, dl.Post)
        ledger.record_all(  # supersedes across batches and inside one
            [
                attrs.evolve(creator, region="FR"),
                attrs.evolve(post, caption="\u2028 \U0001f600 \x01 nouveau"),
                attrs.evolve(creator, region="DE"),
            ],
            batch_size=data.draw(st.integers(1, 3)),
        )
        assert ledger.verify(deep=True).ok
        records = {entry.seq: entry.record for entry in ledger.entries()}
    cells = _cells(path)
    payloads = {row[0]: split_payload(row[8]) for row in cells["entries"]}  # seq -> parts
    # The record's canonical JSON, after its reserved keys: its source, and a salt where it
    # holds personal data (DESIGN §9, §16; docs/file-format.md).
    assert {seq: content for seq, (_, _, content) in payloads.items()} == {
        seq: reference_payload(record) for seq, record in records.items()
    }
    assert {source for _, source, _ in payloads.values()} == {"api"}
    for seq, (salt, _, _) in payloads.items():
        fields = PERSONAL_FIELDS.get(type(records[seq]), ())
        personal = any(getattr(records[seq], f) is not None for f in fields)
        record = records[seq]
        if isinstance(record, dl.Notice):  # only a channel naming an address (issue 26)
            personal = record.names_recipient
        assert (salt is not None) == personal and (salt is None or len(salt) == 32)
    for row in cells["entries"]:
        assert list(row[1::2]) == ["integer", *["text"] * 7]
    for table in TABLES.values():
        for row in cells[table.name]:
            wanted = reference_row(table, row[0], records[row[0]])
            assert list(row[0::2][2:]) == wanted[2:]
            assert list(row[1::2][2:]) == [_storage_class(v) for v in wanted[2:]]


def _storage_class(value: object) -> str:
    if value is None:
        return "null"
    return "integer" if isinstance(value, int) else "text"


# --- the garbage collector ----------------------------------------------------------------------


def _accounts(n: int, seen: list[bool]) -> Iterator[dl.AdAccount]:
    for i in range(n):
        seen.append(gc.isenabled())
        yield dl.AdAccount(id=f"a{i}", name="Brand", region="US")


def test_record_all_pauses_the_collector_for_each_batch_and_restores_it(
    backend: Backend, clock: Clock
) -> None:
    seen: list[bool] = []
    between: list[bool] = []
    asked: list[bool] = []  # the ledger asks its clock once per batch, as it writes it

    def watched_clock() -> datetime:
        asked.append(gc.isenabled())
        return clock()

    assert gc.isenabled()
    with backend.open(clock=watched_clock) as ledger:
        asked.clear()
        ledger.record_all(
            _accounts(7, seen), batch_size=3, progress=lambda _: between.append(gc.isenabled())
        )
    assert asked == [False, False, False]  # each batch checked and written with it paused
    assert seen == [True] * 7  # the caller's generator runs with the collector as it was
    assert between == [True, True, True]  # and it is back on between batches
    assert gc.isenabled()


def test_record_all_restores_the_collector_after_a_refused_record(ledger: dl.Ledger) -> None:
    refused = dl.Post(id="p", creator_id="nobody", kind="VIDEO")
    with pytest.raises(dl.MissingReferenceError):
        ledger.record_all([dl.AdAccount(id="a", name="Brand", region="US"), refused])
    assert gc.isenabled()
    assert ledger.seq == 0


def test_record_all_leaves_a_collector_the_caller_disabled_off(ledger: dl.Ledger) -> None:
    gc.disable()
    try:
        ledger.record_all(_accounts(5, []), batch_size=2)
        assert not gc.isenabled()
        with pytest.raises(dl.MissingReferenceError):
            ledger.record_all([dl.Post(id="p", creator_id="nobody", kind="VIDEO")])
        assert not gc.isenabled()
    finally:
        gc.enable()
