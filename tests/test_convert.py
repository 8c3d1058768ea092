"""The converter: records to dicts and canonical JSON, and back, for every record type."""

from __future__ import annotations

import json
import linecache
import traceback
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.convert import (
    canonical_json,
    converter,
    generated,
    parsed_json,
    record_from_dict,
    record_from_json,
    record_to_dict,
    structure_of,
)
from delvia_ledger.records import RECORD_TYPES

from .strategies import nasty_texts, worlds


@given(worlds())
def test_every_record_round_trips_through_a_plain_dict(world: list[dl.Record]) -> None:
    for record in world:
        data = record_to_dict(record)
        assert json.loads(canonical_json(data)) == data
        assert record_from_dict(type(record), data) == record


def test_canonical_json_is_compact_sorted_and_omits_unset_fields() -> None:
    creator = dl.Creator(id="maya", handle="@maya ✨", region=None)
    assert (
        canonical_json(record_to_dict(creator)) == '{"handle":"maya ✨","id":"maya","region":null}'
    )


def test_times_are_fixed_width_utc() -> None:
    post = dl.Post(id="1", creator_id="m", kind="VIDEO", posted_at="2026-11-24T10:00:00.5+01:00")
    assert record_to_dict(post)["posted_at"] == "2026-11-24T09:00:00.500000Z"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "m", "handle": "@m"}, "missing required field(s) region"),
        ({"id": "m", "handle": "@m", "region": None, "age": 3}, "unknown field(s) age"),
        ({"id": 7, "handle": "@m", "region": None}, "Creator.id=7"),
        (["m"], "expected a mapping"),
    ],
)
def test_bad_dicts_name_the_problem(data: object, message: str) -> None:
    with pytest.raises(
        dl.InvalidRecordError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        record_from_dict(dl.Creator, data)


def test_a_code_from_outside_is_checked_and_never_echoed_but_a_stored_one_is_trusted() -> None:
    code = dl.SparkCode("#a-code-to-store=")
    data = record_to_dict(
        dl.SparkAuthorization(
            code=code,
            creator_id="m",
            post_id="p",
            starts_at="2026-11-01T00:00:00Z",
            expires_at="2026-12-01T00:00:00Z",
        )
    )
    assert record_from_dict(dl.SparkAuthorization, data).code == code
    pasted = {**data, "code": {"fingerprint": code.fingerprint, "hint": "#RAW-code-pasted="}}
    with pytest.raises(dl.InvalidRecordError, match="hint") as error:
        record_from_dict(dl.SparkAuthorization, pasted)
    assert "RAW" not in str(error.value)
    # what the ledger itself wrote is read back as it is (an old file may hold any hint)
    stored = record_from_json(dl.SparkAuthorization, canonical_json(pasted))
    assert stored.code.fingerprint == code.fingerprint


def test_keys_of_mixed_types_are_an_invalid_record_not_a_type_error() -> None:
    with pytest.raises(dl.InvalidRecordError, match="unknown field"):
        record_from_dict(dl.Creator, {"id": "m", "region": None, 1: "x"})


# What a damaged payload may parse to: any JSON, and text that is nearly a field's value.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_texts, inner, max_size=3),
    max_leaves=6,
)
near_values = (
    st.sampled_from(
        [
            "",
            " ",
            "us",
            "US",
            "@maya",
            "video",
            "admin",
            "2026-11-24T09:30:00Z",
            "2026-11-24",
            "2026-11-24T09:30:00.000000+02:00",
            "not a time",
            "ITEM_STATUS_USER_DELETE",
            "x@y",
            "*",
        ]
    )
    | st.just({"fingerprint": "ab" * 32, "hint": "…"})
    | st.just({"hint": "…"})
)


def _outcome(build: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "record", build(*args)
    except Exception as exc:  # the same exception, with the same message
        return type(exc).__name__, str(exc)


@settings(max_examples=150)
@given(st.data())
def test_the_generated_structurer_does_what_the_converter_does_for_any_parsed_payload(
    data: st.DataObject,
) -> None:
    for record in data.draw(worlds()):
        cls = type(record)
        parsed: Any = json.loads(canonical_json(record_to_dict(record)))
        for name in list(parsed):
            choice = data.draw(st.sampled_from(["keep", "drop", "json", "near"]))
            if choice == "drop":
                del parsed[name]
            elif choice != "keep":
                parsed[name] = data.draw(json_values if choice == "json" else near_values)
        if data.draw(st.booleans()):
            parsed[data.draw(nasty_texts)] = data.draw(json_values)
        if data.draw(st.integers(0, 9)) == 0:
            parsed = data.draw(json_values)
        text = json.dumps(parsed)  # both read the same JSON text, each its own copy
        fast = _outcome(structure_of(cls), json.loads(text))
        assert fast == _outcome(converter.structure, json.loads(text), cls)


def test_both_structurers_see_a_split_surrogate_pair_as_json_reads_it() -> None:
    # CI found this: JSON text may spell one character as two escaped surrogates,
    # and json.loads joins them, so each path must read the same text.
    text = '{"id": "p", "creator_id": {"\\ud800\\udfff": null}, "kind": "VIDEO"}'
    fast = _outcome(structure_of(dl.Post), json.loads(text))
    assert fast == _outcome(converter.structure, json.loads(text), dl.Post)
    assert fast[0] == "InvalidRecordError" and fast[1].startswith("Post.creator_id=")


@given(worlds())
def test_record_from_json_reads_back_the_record_the_converter_reads(
    world: list[dl.Record],
) -> None:
    assert {type(record) for record in world} == set(RECORD_TYPES)
    for record in world:
        cls, payload = type(record), canonical_json(record_to_dict(record))
        assert record_from_json(cls, payload) == converter.structure(json.loads(payload), cls)
        assert record_from_json(cls, payload) == record


@settings(max_examples=300)
@given(
    st.one_of(
        json_values.map(lambda value: json.dumps(value, ensure_ascii=False)),
        json_values.map(lambda value: json.dumps(value, indent=1)),
        st.text(max_size=30),
        st.text(alphabet='{}[]",:0123456789.eE+-tfnaulrs \\\t\n\ufeff\x00é', max_size=30),
    ),
    st.sampled_from(["", " ", "\n", "\ufeff", "x", "\x00"]),
    st.sampled_from(["", " ", "\r\n", "}", ",1", "\ufeff"]),
)
def test_parsed_json_is_json_loads_for_any_text(text: str, before: str, after: str) -> None:
    whole = before + text + after
    ours, theirs = _outcome(parsed_json, whole), _outcome(json.loads, whole)
    assert (ours[0], repr(ours[1])) == (theirs[0], repr(theirs[1]))
    data = whole.encode("utf-8", "surrogatepass")
    assert _outcome(parsed_json, data) == _outcome(json.loads, data)


def test_a_traceback_through_generated_code_shows_its_lines() -> None:
    """Every generated function (here the structurer of Person, the builder of findings and a
    compiled filter) is registered with linecache: a traceback prints the failing line."""
    from delvia_ledger.findings import new_finding
    from delvia_ledger.storage import AtMost, predicate

    made = [structure_of(dl.Person), new_finding, predicate(AtMost("left_at", 5), ("left_at",))]
    for function in made:
        filename = function.__code__.co_filename
        assert filename.startswith("<delvia_ledger generated ")
        assert linecache.getline(filename, 1).startswith("def ")
    with pytest.raises(TypeError) as failed:
        structure_of(dl.Person)(None)
    shown = "".join(traceback.format_exception(failed.value))
    assert "delvia_ledger generated structure_Person" in shown
    assert " in o" in shown  # the generated line itself, not "<unknown>"


@given(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=4))
def test_two_sources_under_one_name_keep_their_own_lines(bodies: list[str]) -> None:
    """Generated code of one name but different sources gets a file name each."""
    functions = [generated(f"def f():\n    return {b!r}\n", "f", "same name", {}) for b in bodies]
    for body, function in zip(bodies, functions, strict=True):
        assert function() == body
        assert linecache.getline(function.__code__.co_filename, 2) == f"    return {body!r}\n"
