"""The converter: records to dicts and canonical JSON, and back, for every record type."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

import delvia_ledger as dl
from delvia_ledger.convert import canonical_json, record_from_dict, record_from_json, record_to_dict

from .strategies import worlds


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
