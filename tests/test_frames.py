"""dl.frames / ledger.to_frame: tabular DataFrames of every record type and of the findings."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from datetime import datetime
from enum import Enum
from typing import Any

import attrs
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pytest
from hypothesis import given, settings

import delvia_ledger as dl
from delvia_ledger.dataframes import CATALOGUE_COLUMNS, record_frame
from delvia_ledger.demo import SAMPLE_CODES, sample_records
from delvia_ledger.records import RECORD_TYPES

from .conftest import T0
from .strategies import worlds


@pytest.fixture
def sample(ledger: dl.Ledger) -> dl.Ledger:
    ledger.record_all(sample_records(T0))
    return ledger


def time_fields(cls: type[Any]) -> set[str]:
    """Fields declared as a time (``datetime`` or ``datetime | None``)."""
    hints = typing.get_type_hints(cls)
    return {
        field.name
        for field in attrs.fields(cls)
        if hints[field.name] in (datetime, datetime | None)
    }


def expected_columns(cls: type[Any]) -> list[str]:
    names = [field.name for field in attrs.fields(cls)]
    names = ["code_hint" if name == "code" else name for name in names]
    return ["id", *(name for name in names if name != "id")] if "id" in names else names


def cell(value: Any) -> Any:
    """What a frame holds for a field value: missing for None, the text of an enum."""
    if value is None:
        return None
    return value.value if isinstance(value, Enum) else value


def same(frame_value: Any, value: Any) -> bool:
    if value is None:
        return bool(pd.isna(frame_value))
    if isinstance(value, datetime):
        return bool(frame_value == pd.Timestamp(value))
    return bool(frame_value == value)


def test_one_frame_per_record_type_and_the_findings(sample: dl.Ledger) -> None:
    frames = dl.frames(sample)
    assert list(frames) == [cls.__name__ for cls in RECORD_TYPES] + ["findings"]
    for cls in RECORD_TYPES:
        frame = frames[cls.__name__]
        records = list(sample.records(cls))
        assert list(frame.columns) == expected_columns(cls)
        assert len(frame) == len(records) > 0


def tuple_fields(cls: type[dl.Record]) -> set[str]:
    return {f.name for f in attrs.fields(cls) if str(f.type).startswith("tuple")}


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
def test_columns_have_proper_dtypes(sample: dl.Ledger, cls: type[dl.Record]) -> None:
    frame = sample.to_frame(cls)
    times = time_fields(cls)
    for column in frame.columns:
        dtype = frame[column].dtype
        if column in times:
            assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC", column
        elif column in tuple_fields(cls):  # e.g. Notice.finding_keys: one tuple per cell
            assert pd.api.types.is_object_dtype(dtype) and all(
                isinstance(v, tuple) for v in frame[column]
            ), column
        else:
            assert isinstance(dtype, pd.StringDtype), (column, dtype)


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
def test_rows_hold_the_records_values(sample: dl.Ledger, cls: type[dl.Record]) -> None:
    frame = sample.to_frame(cls.__name__)
    for (_, row), record in zip(frame.iterrows(), sample.records(cls), strict=True):
        for field in attrs.fields(cls):
            value = getattr(record, field.name)
            if field.name == "code":
                assert row["code_hint"] == value.hint
            else:
                assert same(row[field.name], cell(value)), (field.name, row[field.name], value)


@settings(max_examples=25, deadline=None)
@given(world=worlds())
def test_any_record_becomes_one_faithful_row(world: list[dl.Record]) -> None:
    for record in world:
        frame = record_frame([record], type(record))
        assert len(frame) == 1
        row = frame.iloc[0]
        for field in attrs.fields(type(record)):
            value = getattr(record, field.name)
            if field.name == "code":
                assert row["code_hint"] == value.hint
                assert value.fingerprint not in frame.to_csv()
            else:
                assert same(row[field.name], cell(value)), (field.name, value)


def test_no_raw_code_or_fingerprint_appears_in_any_frame(sample: dl.Ledger) -> None:
    auths = list(sample.records(dl.SparkAuthorization))
    secrets = [*SAMPLE_CODES.values(), *(auth.code.fingerprint for auth in auths)]
    for name, frame in dl.frames(sample, within="30d").items():
        text = frame.to_csv(index=False) + frame.to_string()
        assert not [secret for secret in secrets if secret in text], name
        assert "code" not in frame.columns and "code_fingerprint" not in frame.columns


def test_findings_frame_is_tabular_with_the_catalogue_text(sample: dl.Ledger) -> None:
    findings = sample.findings(within="14d")
    frame = sample.to_frame("findings", within="14d")
    fields = [field.name for field in attrs.fields(dl.Finding)]
    assert list(frame.columns) == [*fields, *CATALOGUE_COLUMNS]
    assert len(frame) == len(findings) > 5
    assert isinstance(frame["deadline"].dtype, pd.DatetimeTZDtype)
    assert isinstance(frame["kind"].dtype, pd.StringDtype)
    assert isinstance(frame["severity"].dtype, pd.StringDtype)
    for (_, row), finding in zip(frame.iterrows(), findings, strict=True):
        assert row["kind"] == finding.kind.value and row["severity"] == finding.severity.value
        assert same(row["deadline"], finding.deadline)
        assert row["affected_ad_ids"] == finding.affected_ad_ids
        assert (row["cause"], row["remedy"]) == (finding.cause, finding.remedy)
    # a frame people can filter and count, not one column of objects
    errors = frame[frame["severity"] == "ERROR"]
    assert set(errors["kind"]) == {f.kind.value for f in findings if f.severity == "ERROR"}


def test_to_frame_passes_within_and_now_to_the_findings(sample: dl.Ledger) -> None:
    later = "2026-12-20T00:00:00Z"
    assert len(sample.to_frame("findings", within="30d")) == len(sample.findings(within="30d"))
    assert list(sample.to_frame("findings", now=later)["kind"]) == [
        f.kind.value for f in sample.findings(now=later)
    ]
    assert len(dl.frames(sample, within="30d")["findings"]) == len(sample.findings(within="30d"))
    assert len(sample.findings(within="30d")) != len(sample.findings(within="1d"))


def test_to_frame_accepts_a_type_its_name_in_any_case_or_findings(sample: dl.Ledger) -> None:
    by_class = sample.to_frame(dl.SparkAuthorization)
    assert by_class.equals(sample.to_frame("SparkAuthorization"))
    assert by_class.equals(sample.to_frame(" sparkauthorization "))
    assert sample.to_frame("Findings").equals(sample.to_frame("findings"))
    with pytest.raises(ValueError, match=r"to_frame\('Creators'\): .*Creator, Post, .*findings"):
        sample.to_frame("Creators")
    with pytest.raises(ValueError, match="to_frame\\('int'\\)"):
        sample.to_frame(int)  # type: ignore[arg-type]


def test_a_view_as_of_an_earlier_seq_sees_only_what_was_recorded_then(
    sample: dl.Ledger,
) -> None:
    creators = len(list(sample.records(dl.Creator)))
    view = sample.as_of(seq=2)
    frames = dl.frames(view)
    assert len(frames["Creator"]) == 2 < creators
    assert frames["SparkAuthorization"].empty
    assert view.to_frame("Creator")["id"].tolist() == frames["Creator"]["id"].tolist()


def test_an_empty_ledger_gives_empty_frames_with_the_same_columns_and_dtypes(
    ledger: dl.Ledger, sample_dtypes: dict[str, pd.Series]
) -> None:
    frames = dl.frames(ledger)
    assert all(frame.empty for frame in frames.values())
    assert {name: frame.dtypes.to_dict() for name, frame in frames.items()} == {
        name: dtypes.to_dict() for name, dtypes in sample_dtypes.items()
    }


@pytest.fixture
def sample_dtypes(tmp_path: Any) -> dict[str, pd.Series]:
    with dl.Ledger.open(tmp_path / "sample.db", clock=lambda: T0) as other:
        other.record_all(sample_records(T0))
        return {name: frame.dtypes for name, frame in dl.frames(other).items()}


def test_without_pandas_the_error_says_how_to_install_it(
    sample: dl.Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pandas .*pip install 'delvia-ledger\[notebooks\]'"):
        dl.frames(sample)
    with pytest.raises(ImportError, match=r"delvia-ledger\[notebooks\]"):
        sample.to_frame("Creator")


def test_importing_delvia_ledger_does_not_import_pandas() -> None:
    # sqlite-utils itself tries `import pandas` when it is imported; record who asks for it.
    script = """
import json
import sys

class Watch:
    importers = set()
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("pandas", "matplotlib"):
            frame = sys._getframe(1)
            while frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen")):
                frame = frame.f_back
            self.importers.add(frame.f_globals.get("__name__"))
        return None

watch = Watch()
sys.meta_path.insert(0, watch)
import delvia_ledger
print(json.dumps(sorted(name for name in watch.importers if name)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    importers = json.loads(result.stdout)
    assert not [name for name in importers if name.startswith("delvia_ledger")], importers


def test_delvia_ledger_works_where_pandas_and_matplotlib_are_not_installed(
    tmp_path: Any,
) -> None:
    script = f"""
import sys
sys.modules["pandas"] = sys.modules["matplotlib"] = None  # as if not installed
import delvia_ledger as dl
from delvia_ledger.demo import sample_records
from datetime import UTC, datetime
now = datetime(2026, 11, 24, tzinfo=UTC)
ledger = dl.Ledger.open({str(tmp_path / "plain.db")!r}, clock=lambda: now)
ledger.record_all(sample_records(now))
print(len(ledger.findings()))
try:
    dl.frames(ledger)
except ImportError as error:
    print(error)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    count, message = result.stdout.splitlines()
    assert int(count) > 0
    assert message.endswith("pip install 'delvia-ledger[notebooks]' for pandas and matplotlib")
