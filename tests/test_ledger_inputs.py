"""Bad input on the ledger's own entry points is a ValueError or a LedgerError that says what
is wrong, never a TypeError, an OverflowError or a sqlite3 error, and it writes nothing."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import delvia_ledger as dl

from .builders import code, world
from .conftest import T0


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_as_of_a_time_beyond_the_limits_is_a_value_error(ledger: dl.Ledger, moment: str) -> None:
    """as_of(recorded_at=...) raised OverflowError."""
    with pytest.raises(ValueError, match=r"as_of: recorded_at='.*': is out of range"):
        ledger.as_of(recorded_at=moment)


def test_as_of_seq_refuses_a_bool_and_takes_any_whole_number(ledger: dl.Ledger) -> None:
    world(ledger)
    with pytest.raises(ValueError, match="seq must be a whole number"):
        ledger.as_of(seq=True)
    far = ledger.as_of(seq=2**80)  # beyond what SQLite holds (it raised OverflowError)
    ledger.record(dl.Creator(id="later", region=None))
    assert far.get(dl.Creator, "maya") is not None and far.get(dl.Creator, "later") is not None


@pytest.mark.parametrize("batch_size", [0, -1, True, 1.5, "10"])
def test_record_all_refuses_a_batch_size_that_is_not_a_count(
    ledger: dl.Ledger, batch_size: object
) -> None:
    """batch_size=0 silently wrote nothing."""
    with pytest.raises(ValueError, match=r"batch_size=.*whole number >= 1"):
        ledger.record_all([dl.Creator(id="maya", region=None)], batch_size=batch_size)  # type: ignore[arg-type]
    assert ledger.digest().seq == 0


@pytest.mark.parametrize("bad", [5, None, b"#bytes-code=", ["#a-code="]])
def test_a_code_that_is_not_text_is_refused_by_lookups(ledger: dl.Ledger, bad: object) -> None:
    """authorization_for(5) and diagnose(None) raised AttributeError."""
    with pytest.raises(dl.InvalidRecordError, match="a code must be text"):
        ledger.authorization_for(bad)  # type: ignore[arg-type]
    with pytest.raises(dl.InvalidRecordError, match="a code must be text"):
        ledger.diagnose(bad)  # type: ignore[arg-type]


def test_diagnose_refuses_ids_that_are_not_text(ledger: dl.Ledger) -> None:
    world(ledger)
    auth = code(ledger)
    raw = "#code-0000-xyz="
    assert ledger.authorization_for(raw) == auth
    with pytest.raises(ValueError, match=r"diagnose\(ad_account_id=...\): expected text"):
        ledger.diagnose(raw, ad_account_id=["6900"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"diagnose\(post_id=...\): expected text"):
        ledger.diagnose(raw, post_id=7301)  # type: ignore[arg-type]


def test_a_lookup_by_a_code_with_a_lone_surrogate_does_not_carry_the_code(
    ledger: dl.Ledger,
) -> None:
    with pytest.raises(dl.InvalidRecordError, match="lone surrogate") as error:
        ledger.authorization_for("#SECRET-\ud800=")
    assert error.value.__context__ is None and "SECRET" not in repr(error.value.args)


@pytest.mark.parametrize("cls", [str, dict, dl.SparkCode, None])
def test_import_csv_refuses_what_is_not_a_record_type(ledger: dl.Ledger, cls: object) -> None:
    with pytest.raises(ValueError, match="is not a record type; use one of Creator"):
        ledger.import_csv(cls, io.StringIO("id\nx\n"))  # type: ignore[arg-type]


@pytest.mark.parametrize("source", ["id,region\nmaya,US\n", b"id,region\nmaya,US\n", 5])
def test_import_csv_refuses_what_is_not_an_open_text_file(
    ledger: dl.Ledger, source: object
) -> None:
    """A path given as text was read character by character as if it were the file."""
    with pytest.raises(dl.PayloadError, match="open text file"):
        ledger.import_csv(dl.Creator, source)  # type: ignore[arg-type]
    assert ledger.digest().seq == 0


def test_import_csv_refuses_a_file_opened_in_binary_mode(ledger: dl.Ledger) -> None:
    """It ended in _csv.Error ('iterator should return strings, not bytes')."""
    with pytest.raises(dl.PayloadError, match="open the CSV as text"):
        ledger.import_csv(dl.Creator, io.BytesIO(b"id,region\nmaya,US\n"))  # type: ignore[arg-type]


def test_offboard_names_the_time_it_refuses(ledger: dl.Ledger) -> None:
    world(ledger)
    with pytest.raises(ValueError, match=r"offboard: at='2026-11-24T09:00:00': has no time zone"):
        ledger.offboard("ana", at="2026-11-24T09:00:00")
    assert ledger.offboard("ana", at=T0).person.id == "ana"


def test_diagnose_a_live_code_at_the_end_of_time(ledger: dl.Ledger) -> None:
    world(ledger)
    code(ledger, starts_at="9999-12-29T00:00:00Z", expires_at="9999-12-31T23:59:59Z")
    diagnosis = ledger.diagnose("#code-0000-xyz=", now="9999-12-30T00:00:00Z")
    assert [f.kind for f in diagnosis.findings] == ["EXPIRING"]


@pytest.mark.parametrize("records", [None, 5, "maya", dl.Creator(id="maya", region=None)])
def test_record_all_refuses_what_is_not_a_collection_of_records(
    ledger: dl.Ledger, records: object
) -> None:
    """None or a single record raised TypeError ('object is not iterable'); a string was
    taken letter by letter."""
    with pytest.raises(dl.InvalidRecordError, match="record_all: expected records"):
        ledger.record_all(records)  # type: ignore[arg-type]


def test_record_all_refuses_a_progress_that_cannot_be_called(ledger: dl.Ledger) -> None:
    with pytest.raises(ValueError, match="progress"):
        ledger.record_all([dl.Creator(id="maya", region=None)], progress=5)  # type: ignore[arg-type]
    assert ledger.digest().seq == 0


@pytest.mark.parametrize(
    ("returned", "error"),
    [
        ("2026-11-24T09:00:00Z", TypeError),
        (None, TypeError),
        (1764000000, TypeError),
        (datetime(2026, 11, 24, 9, 0), ValueError),  # naive
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), ValueError),  # year 0 in UTC
    ],
    ids=["text", "None", "a number", "naive", "before the year 1 in UTC"],
)
def test_a_clock_returning_the_wrong_thing_is_named(
    tmp_path: Path, returned: object, error: type[Exception]
) -> None:
    def wrong_clock() -> Any:
        return returned

    with dl.Ledger.open(tmp_path / "l.db", clock=wrong_clock) as ledger:
        with pytest.raises(error, match=r"the ledger clock \(clock=.*wrong_clock\) returned"):
            ledger.record(dl.Creator(id="c1", handle="maya", region="US"))
        assert ledger.seq == 0
