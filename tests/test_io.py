"""CSV import/export of every record type, and the JSON export of the whole ledger."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import delvia_ledger as dl
from delvia_ledger.demo import SAMPLE_CODES, sample_records
from delvia_ledger.records import RECORD_TYPES

from .conftest import T0, Clock
from .strategies import worlds


@pytest.fixture
def sample(ledger: dl.Ledger) -> dl.Ledger:
    ledger.record_all(sample_records(T0))
    return ledger


def test_every_type_round_trips_through_csv_into_a_new_ledger(
    sample: dl.Ledger, tmp_path: Path
) -> None:
    with dl.Ledger.open(tmp_path / "copy.db", clock=Clock()) as copy:
        for cls in RECORD_TYPES:
            out = io.StringIO()
            count = sample.export_csv(cls, out)
            assert count == len(list(sample.records(cls))) > 0
            assert all(code not in out.getvalue() for code in SAMPLE_CODES.values())
            result = copy.import_csv(cls, io.StringIO(out.getvalue()))
            assert result.written == count
            assert list(copy.records(cls)) == list(sample.records(cls))
        assert copy.authorization_for(SAMPLE_CODES["live"]) is not None


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_generated_records_round_trip_through_csv(world: list[dl.Record]) -> None:
    for record in world:
        out = io.StringIO()
        dl.io.write_csv([record], type(record), out)
        assert list(dl.io.read_csv(type(record), io.StringIO(out.getvalue()))) == [record]


def test_raw_codes_import_from_csv(ledger: dl.Ledger) -> None:
    ledger.record_all(list(sample_records(T0))[:20])
    text = (
        "code,creator_id,post_id,starts_at,expires_at\n"
        "#fresh-code-123=,7000000000000000001,7301000000000000001,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z\n"
    )
    assert ledger.import_csv(dl.SparkAuthorization, io.StringIO(text)).written == 1
    assert ledger.authorization_for("#fresh-code-123=") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,handle,region,age\nm,@m,US,3\n", "line 1: .*unknown column\\(s\\) age"),
        ("id,handle,region\nm,@m,US\nn,@n,XX\n", "line 3: Creator.region='XX'"),
        (
            "id,region\nm,US\n,GB\n",
            "line 3: Creator.id=None: must be a non-empty string",
        ),
        ("id,handle,region\nm,@m,US,extra\n", "line 2: more cells than columns"),
    ],
)
def test_a_bad_row_fails_the_whole_import_with_its_line(
    ledger: dl.Ledger, text: str, message: str
) -> None:
    with pytest.raises(dl.PayloadError, match=message):
        ledger.import_csv(dl.Creator, io.StringIO(text))
    assert ledger.digest().seq == 0


def test_json_export_has_every_entry_and_no_raw_code(sample: dl.Ledger) -> None:
    out = io.StringIO()
    count = sample.export_json(out)
    entries = json.loads(out.getvalue())["entries"]
    assert count == len(entries) == sample.digest().seq
    assert entries[-1]["hash"] == sample.digest().hash
    assert all(code not in out.getvalue() for code in SAMPLE_CODES.values())


def test_a_row_refused_by_a_ledger_rule_names_its_line(ledger: dl.Ledger) -> None:
    text = "id,creator_id,kind\np1,nobody,VIDEO\n"
    ledger.record(dl.Creator(id="maya", handle="@m", region=None))
    ok = "".join(f"q{i},maya,VIDEO\n" for i in range(2500))
    with pytest.raises(dl.MissingReferenceError, match="line 2502: Post 'p1': creator_id='nobody'"):
        ledger.import_csv(
            dl.Post, io.StringIO("id,creator_id,kind\n" + ok + text.split("\n", 1)[1])
        )
    assert ledger.digest().seq == 1  # nothing of the import was written
