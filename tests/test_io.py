"""CSV import/export of every record type, and the JSON export of the whole ledger."""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.demo import SAMPLE_CODES, sample_records
from delvia_ledger.records import RECORD_TYPES

from .conftest import T0, Clock
from .strategies import raw_codes, worlds

DAY = timedelta(days=1)


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
        (
            "id,handle,region\nm,@m,US\nn,@n,XX\n",
            "line 3, column 'region': 'XX' must be an ISO 3166-1",
        ),
        (
            "id,region\nm,US\n,GB\n",
            "line 3, column 'id': the cell is blank; it must be a non-empty string",
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
    with pytest.raises(
        dl.MissingReferenceError, match="line 2502: Post 'p1': column 'creator_id' \\('nobody'\\)"
    ):
        ledger.import_csv(
            dl.Post, io.StringIO("id,creator_id,kind\n" + ok + text.split("\n", 1)[1])
        )
    assert ledger.digest().seq == 1  # nothing of the import was written


# --- hardening (issue 12): line numbers, malformed files, defaults, codes, formulas ----------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a bad row whose quoted cell spans lines 2-4 is named by the line it starts on
        ('id,region,display_name\nm,XX,"a\nb\nc"\n', "line 2, column 'region': 'XX'"),
        # and the rows after it keep their real line numbers
        ('id,region,display_name\nm,US,"a\nb\nc"\n\nn,XX,d\n', "line 6, column 'region': 'XX'"),
        ('id,region\nm,US\n"n\n",US\n', "line 3, column 'id': 'n\\\\n'"),
    ],
)
def test_line_numbers_count_physical_lines_and_name_where_a_row_starts(
    ledger: dl.Ledger, text: str, message: str
) -> None:
    with pytest.raises(dl.PayloadError, match=message):
        ledger.import_csv(dl.Creator, io.StringIO(text))
    assert ledger.digest().seq == 0


def test_a_row_refused_by_a_rule_names_its_own_line_and_keeps_the_record(
    ledger: dl.Ledger,
) -> None:
    """With the same id on two lines the later line was named, and error.record was lost."""
    ledger.record(dl.Creator(id="maya", region=None))
    text = 'id,creator_id,kind,caption\np1,nobody,VIDEO,"two\nlines"\np1,maya,VIDEO,\n'
    with pytest.raises(dl.MissingReferenceError, match="line 2: Post 'p1'") as error:
        ledger.import_csv(dl.Post, io.StringIO(text))
    assert error.value.record == dl.Post(
        id="p1", creator_id="nobody", kind="VIDEO", caption="two\nlines"
    )
    assert ledger.digest().seq == 1


def test_an_unterminated_quote_is_an_error_naming_its_line(ledger: dl.Ledger) -> None:
    """The rest of the file was silently read into the open cell, and one record written."""
    text = 'id,region,display_name\nm,US,ok\nn,US,"Nina\no,US,Olu\np,US,Pat\n'
    with pytest.raises(
        dl.PayloadError, match=r"line 3: a quoted cell opens on this line and is never closed"
    ):
        ledger.import_csv(dl.Creator, io.StringIO(text))
    assert ledger.digest().seq == 0


def test_malformed_quoting_is_an_error_naming_its_line(ledger: dl.Ledger) -> None:
    with pytest.raises(dl.PayloadError, match="line 3: the CSV is malformed"):
        ledger.import_csv(dl.Creator, io.StringIO('id,region\nm,US\n"n"x,US\n'))


def test_a_column_named_twice_is_an_error_naming_it(ledger: dl.Ledger) -> None:
    """The last of the two was kept without a word."""
    with pytest.raises(dl.PayloadError, match=r"line 1: column.s. 'region' appear more than once"):
        ledger.import_csv(dl.Creator, io.StringIO("id,region,handle,region\nm,US,@m,XX\n"))
    assert ledger.digest().seq == 0


def test_a_blank_cell_of_a_field_with_a_default_takes_the_default(ledger: dl.Ledger) -> None:
    """A blank id was refused even where the id is derived (bindings, rules, codes, notices)."""
    ledger.record_all(sample_records(T0))
    auth = next(iter(ledger.records(dl.SparkAuthorization)))
    account = next(iter(ledger.records(dl.AdAccount)))
    cases = [
        (
            dl.SparkBinding,
            f"id,authorization_id,ad_account_id,bound_at\n,{auth.id},{account.id},2026-11-01T00:00:00Z\n",
            f"{auth.id}@{account.id}",
        ),
        (dl.RegionRule, "id,creator_region,account_region,verdict\n,US,GB,COMPATIBLE\n", "US->GB"),
        (
            dl.SparkAuthorization,
            f"id,code,creator_id,post_id,starts_at,expires_at\n,#fresh-code-123=,{auth.creator_id},"
            f"{auth.post_id},2026-11-01T00:00:00Z,2026-12-01T00:00:00Z\n",
            dl.SparkAuthorization.from_code(
                "#fresh-code-123=", creator_id="c", post_id="p", starts_at=T0, expires_at=T0 + DAY
            ).id,
        ),
    ]
    for cls, text, expected in cases:
        assert ledger.import_csv(cls, io.StringIO(text)).written == 1
        assert ledger.get(cls, expected) is not None
    notice = "id,channel,sent_at,finding_keys\n,slack,2026-11-01T00:00:00Z,\n"
    assert [n.finding_keys for n in dl.io.read_csv(dl.Notice, io.StringIO(notice))] == [()]


def test_a_cell_over_the_csv_limit_names_its_line_and_column(ledger: dl.Ledger) -> None:
    """It ended in _csv.Error ('field larger than field limit (131072)')."""
    text = 'id,region,display_name,contact\nm,US,ok,\nn,US,"' + "x" * 200_000 + '",\n'
    with pytest.raises(
        dl.PayloadError, match=r"line 3: the cell in column 'display_name' is longer than 131,072"
    ):
        ledger.import_csv(dl.Creator, io.StringIO(text))
    assert ledger.digest().seq == 0


def test_a_file_that_is_not_utf8_is_refused_naming_its_line(
    ledger: dl.Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,region,display_name\nm,US,Zoë\n".encode("latin-1"))
    with (
        path.open(encoding="utf-8", newline="") as source,
        pytest.raises(dl.PayloadError, match="not UTF-8 text") as error,
    ):
        ledger.import_csv(dl.Creator, source)
    assert error.value.__context__ is None


RAW = "#RAW-pasted-spark-code+abc/123="


@pytest.mark.parametrize(
    ("fingerprint", "hint", "message"),
    [
        (
            RAW,
            "…23=",
            "column 'code_fingerprint': must be 64",
        ),  # the raw code pasted into the fingerprint
        ("0" * 64, RAW, "column 'code_hint': must be"),  # ... or into the hint
        ("0" * 64, "…12\u202e", "column 'code_hint': must be"),
    ],
)
def test_a_raw_code_in_the_exported_code_columns_is_refused_and_never_echoed(
    ledger: dl.Ledger, tmp_path: Path, fingerprint: str, hint: str, message: str
) -> None:
    ledger.record_all(sample_records(T0))
    auth = next(iter(ledger.records(dl.SparkAuthorization)))
    before = ledger.digest()
    text = (
        "code_fingerprint,code_hint,creator_id,post_id,starts_at,expires_at\n"
        f"{fingerprint},{hint},{auth.creator_id},{auth.post_id},2026-11-01T00:00:00Z,2026-12-01T00:00:00Z\n"
    )
    with pytest.raises(dl.PayloadError, match=message) as error:
        ledger.import_csv(dl.SparkAuthorization, io.StringIO(text))
    assert RAW not in str(error.value) and "line 2" in str(error.value)
    assert ledger.digest() == before
    ledger.close()
    for path in tmp_path.glob("ledger.db*"):
        assert RAW.encode() not in path.read_bytes()


def test_a_raw_code_column_and_the_exported_code_columns_are_not_mixed(ledger: dl.Ledger) -> None:
    with pytest.raises(dl.PayloadError, match="either a raw 'code' column or 'code_fingerprint'"):
        ledger.import_csv(
            dl.SparkAuthorization, io.StringIO("code,code_fingerprint,creator_id\n#a=,0,m\n")
        )


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "'=1",
        "''+1",
    ],
)
def test_formulas_are_neutralised_on_export_and_restored_on_import(
    ledger: dl.Ledger, tmp_path: Path, value: str
) -> None:
    """CSV export wrote =HYPERLINK(...) verbatim: a spreadsheet would run it."""
    creator = dl.Creator(id="m", region=None, display_name=value, contact=value)
    ledger.record(creator)
    out = io.StringIO()
    ledger.export_csv(dl.Creator, out)
    for cell in next(csv.DictReader(io.StringIO(out.getvalue()))).values():
        assert cell[:1] not in dl.io.FORMULA_START  # nothing a spreadsheet would run
    with dl.Ledger.open(tmp_path / "copy.db", clock=Clock()) as copy:
        copy.import_csv(dl.Creator, io.StringIO(out.getvalue()))
        assert copy.get(dl.Creator, "m") == creator


@given(st.text(max_size=12))
def test_neutralise_and_restore_round_trip_every_text(text: str) -> None:
    cell = dl.io.neutralise(text)
    assert cell[:1] not in dl.io.FORMULA_START
    assert dl.io.restore(cell) == text
    if cell == text:  # a cell the export did not touch is read as it is
        assert dl.io.restore(text) == text


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.sampled_from("=+-@'\t\r\n ,\"aé"), min_size=1, max_size=10).filter(
        lambda s: s.strip()
    )
)
def test_any_text_round_trips_through_csv(text: str) -> None:
    record = dl.Person(id="p", name=text)  # an email is one address (test_records)
    out = io.StringIO()
    dl.io.write_csv([record], dl.Person, out)
    assert list(dl.io.read_csv(dl.Person, io.StringIO(out.getvalue()))) == [record]


# --- CSV as spreadsheets write it (issue 14, DESIGN §15) -------------------------------------

#: A Google Sheets export: a byte-order mark, capitalised headers with spaces, a notes column,
#: dates without a time, roles and kinds in lower case.
SHEETS = {
    dl.Creator: "\ufeffID, Handle ,Region,Notes\r\nmaya,@maya.makes,us,met at VidCon\r\n",
    dl.Post: "\ufeffId,Creator ID,Kind,Posted At,Notes\r\n7301,maya,video,2026-10-30,\r\n",
    dl.AdAccount: "\ufeffID,Name,Region\r\n6900,Brand US,US\r\n",
    dl.Person: "\ufeffID,Name,Email,Team\r\nana,Ana,ana@example.com,growth\r\n",
    dl.SparkAuthorization: (
        "\ufeffCode,Creator ID,Post ID,Starts At,Expires At,Ad Account ID,Owner ID,Notes\r\n"
        "#sheet-code-1=,maya,7301,2026-11-01,2026-12-01,6900,ana,from DM\r\n"
    ),
    dl.RoleGrant: (
        "\ufeffID,Person ID,Scope,Role,Granted At\r\ng1,ana,ad_account:6900,admin,2026-10-01\r\n"
    ),
}

#: Python's reprs and advice that must never reach someone importing a spreadsheet.
PYTHON_TALK = re.compile(r"datetime\.datetime\(|tzinfo=|\{'|<[A-Za-z]+\.[A-Z_]+: ")


def test_a_google_sheets_export_imports(ledger: dl.Ledger, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for cls, text in SHEETS.items():
            path = tmp_path / f"{cls.__name__}.csv"
            path.write_bytes(text.encode("utf-8"))  # the BOM as bytes, as Sheets writes it
            assert ledger.import_csv(cls, path).written == 1
    ignored = [w.message for w in caught if isinstance(w.message, dl.io.IgnoredColumnsWarning)]
    assert [(w.record_type, w.columns) for w in ignored] == [
        ("Creator", ("Notes",)),
        ("Post", ("Notes",)),
        ("Person", ("Team",)),
        ("SparkAuthorization", ("Notes",)),
    ]
    auth = ledger.authorization_for("#sheet-code-1=")
    assert auth is not None and auth.starts_at == datetime(2026, 11, 1, tzinfo=UTC)
    assert ledger.get(dl.Creator, "maya") == dl.Creator(id="maya", handle="maya.makes", region="US")
    grant = ledger.get(dl.RoleGrant, "g1")
    assert grant is not None and grant.role is dl.Role.ADMIN


def test_a_bom_is_taken_off_an_already_open_file_too(ledger: dl.Ledger) -> None:
    text = io.StringIO('\ufeff"ID",Region\nmaya,US\n')
    assert ledger.import_csv(dl.Creator, text).written == 1
    assert ledger.get(dl.Creator, "maya") is not None


def test_the_ignored_columns_warning_points_at_the_callers_line(ledger: dl.Ledger) -> None:
    with pytest.warns(dl.io.IgnoredColumnsWarning, match="ignored column.s. 'Notes', 'x'") as got:
        ledger.import_csv(dl.Creator, io.StringIO("id,region,Notes,x,\nm,US,hi,1,\n"))
    assert got[0].filename == __file__


def test_a_header_named_twice_in_any_case_is_refused(ledger: dl.Ledger) -> None:
    with pytest.raises(dl.PayloadError, match=r"line 1: column.s. 'ID', 'id' appear more than"):
        ledger.import_csv(dl.Creator, io.StringIO("ID,region,id\nm,US,n\n"))


def test_a_missing_required_column_is_named_with_the_columns_ignored(ledger: dl.Ledger) -> None:
    with pytest.raises(
        dl.PayloadError, match=r"line 1: missing required field.s. region: .*\(ignored: 'Regoin'\)"
    ):
        ledger.import_csv(dl.Creator, io.StringIO("id,Regoin\nm,US\n"))


def test_offset_less_times_need_a_timezone(ledger: dl.Ledger) -> None:
    ledger.record(dl.Creator(id="maya", region="US"))
    text = "id,creator_id,kind,Posted At\n7301,maya,VIDEO,2026-11-01 00:00:00\n"
    with pytest.raises(dl.PayloadError) as error:
        ledger.import_csv(dl.Post, io.StringIO(text))
    assert str(error.value) == (
        "line 2, column 'Posted At': '2026-11-01 00:00:00' has no time zone; add Z (UTC) or an "
        "offset such as +01:00, or say which zone the sheet's times are in: --timezone "
        "Europe/Berlin (Python: timezone='Europe/Berlin')"
    )
    assert ledger.digest().seq == 1
    ledger.import_csv(dl.Post, io.StringIO(text), timezone="Europe/Berlin")
    post = ledger.get(dl.Post, "7301")
    assert post is not None and post.posted_at == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "hour"), [("UTC", 0), ("utc", 0), ("America/New_York", 4), ("Asia/Tokyo", 15)]
)
def test_a_timezone_is_a_zoneinfo_name_or_utc(ledger: dl.Ledger, zone: str, hour: int) -> None:
    text = "id,name,left_at\nana,Ana,2026-11-01T00:00\n"
    ledger.import_csv(dl.Person, io.StringIO(text), timezone=zone)
    person = ledger.get(dl.Person, "ana")
    assert person is not None and person.left_at is not None
    assert person.left_at.hour == hour


def test_a_date_alone_is_midnight_utc_whatever_the_timezone(ledger: dl.Ledger) -> None:
    ledger.import_csv(dl.Person, io.StringIO("id,name,left_at\nana,Ana,2026-11-01\n"))
    ledger.import_csv(
        dl.Person, io.StringIO("id,name,left_at\nbo,Bo,2026-11-01\n"), timezone="Asia/Tokyo"
    )
    for id_ in ("ana", "bo"):
        person = ledger.get(dl.Person, id_)
        assert person is not None and person.left_at == datetime(2026, 11, 1, tzinfo=UTC)


def test_an_unknown_timezone_is_refused_before_anything_is_read(ledger: dl.Ledger) -> None:
    with pytest.raises(dl.PayloadError, match="'Mars/Base' is not a known time zone"):
        ledger.import_csv(dl.Person, io.StringIO("id,name\nana,Ana\n"), timezone="Mars/Base")
    assert ledger.digest().seq == 0


@pytest.mark.parametrize(
    ("cls", "text", "line", "column", "value"),
    [
        (dl.Creator, "ID,Region\nm,US\nn,xx\n", 3, "Region", "'xx'"),
        (dl.Creator, "ID,Region\nm,US\n,GB\n", 3, "ID", "blank"),
        (dl.Post, "ID,Creator ID,Kind\n1,m,short\n", 2, "Kind", "'short'"),
        (dl.Post, "ID,Creator ID,Kind,Posted At\n1,m,VIDEO,1 Nov 2026\n", 2, "Posted At", "'1 Nov"),
        (
            dl.Post,
            "ID,Creator ID,Kind,Posted At\n1,m,VIDEO,2026-11-01 09:00\n",
            2,
            "Posted At",
            "'2026-11-01 09:00'",
        ),
        (dl.Person, "ID,Name,Left At\na,A,10000-01-01\n", 2, "Left At", "'10000-01-01'"),
        (dl.Person, "ID,Name,Left At\na,A,9999-12-31T23:00-05:00\n", 2, "Left At", "'9999-12-31"),
        (
            dl.SparkAuthorization,
            "Code,Creator ID,Post ID,Starts At,Expires At\n#c=,m,p,2026-11-01,2026-10-01\n",
            2,
            "Expires At",
            "'2026-10-01' must be after column 'Starts At' ('2026-11-01')",
        ),
        (
            dl.RoleGrant,
            "ID,Person ID,Scope,Role,Granted At\ng,a,creator:m,admin,2026-11-01\n",
            2,
            "Role",
            "'admin' cannot be granted on scope 'creator:m'",
        ),
        (
            dl.RoleGrant,
            "ID,Person ID,Scope,Role,Granted At\ng,a,team:x,ADMIN,2026-11-01\n",
            2,
            "Scope",
            "'team:x' must look like 'ad_account:<id>'",
        ),
        (
            dl.Notice,
            "Channel,Sent At,Finding Keys\nemail,2026-11-01,[1\n",
            2,
            "Finding Keys",
            "JSON",
        ),
        (
            dl.SparkBinding,
            "Authorization ID,Ad Account ID,Bound At,ID\na,b,2026-11-01,x\n",
            2,
            "ID",
            "'x'",
        ),
    ],
)
def test_each_error_names_line_column_and_value_in_the_users_words(
    ledger: dl.Ledger, cls: type[dl.Record], text: str, line: int, column: str, value: str
) -> None:
    with pytest.raises(dl.PayloadError) as error:
        ledger.import_csv(cls, io.StringIO(text))
    message = str(error.value)
    assert message.startswith(f"line {line}, column '{column}': ")
    assert value in message
    assert not PYTHON_TALK.search(message), message
    assert ledger.digest().seq == 0


def test_a_rule_refusal_names_the_column_as_the_header_spells_it(ledger: dl.Ledger) -> None:
    with pytest.raises(
        dl.MissingReferenceError, match=r"line 2: .*column 'Creator ID' \('nobody'\)"
    ):
        ledger.import_csv(dl.Post, io.StringIO("ID,Creator ID,Kind\np1,nobody,VIDEO\n"))


@pytest.mark.parametrize("as_path", [str, Path])
def test_paths_and_open_files_both_work(sample: dl.Ledger, tmp_path: Path, as_path: type) -> None:
    path = tmp_path / "creators.csv"
    assert sample.export_csv(dl.Creator, as_path(path)) > 0
    with path.open(newline="", encoding="utf-8") as opened:
        assert list(dl.io.read_csv(dl.Creator, opened)) == list(sample.records(dl.Creator))
    assert list(dl.io.read_csv(dl.Creator, as_path(path))) == list(sample.records(dl.Creator))
    with dl.Ledger.open(tmp_path / "copy.db", clock=Clock()) as copy:
        assert copy.import_csv(dl.Creator, as_path(path)).written > 0
        with path.open(newline="", encoding="utf-8-sig") as opened:
            assert copy.import_csv(dl.Creator, opened).written == 0
    out = io.StringIO()
    dl.io.write_csv(sample.records(dl.Creator), dl.Creator, out)
    assert out.getvalue() == path.read_bytes().decode("utf-8")
    json_path = tmp_path / "ledger.json"
    assert sample.export_json(as_path(json_path)) == sample.digest().seq
    buffer = io.StringIO()
    sample.export_json(buffer)
    assert json_path.read_bytes().decode("utf-8") == buffer.getvalue()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("id,region\nmaya,US\n", "got CSV text where a path or an open text file was expected"),
        ("nowhere.csv", "'nowhere.csv': no such file; give the path of a CSV file"),
    ],
)
def test_a_string_that_is_no_file_is_refused_and_not_read_as_csv(
    ledger: dl.Ledger, source: str, message: str
) -> None:
    with pytest.raises(dl.PayloadError, match=message) as error:
        ledger.import_csv(dl.Creator, source)
    assert "maya" not in str(error.value)
    assert ledger.digest().seq == 0


def test_a_folder_is_refused(ledger: dl.Ledger, tmp_path: Path) -> None:
    with pytest.raises(dl.PayloadError, match="is a folder"):
        ledger.import_csv(dl.Creator, tmp_path)


@settings(max_examples=30)
@given(
    header=st.lists(
        st.sampled_from(["id", "region", "handle"]), min_size=3, max_size=3, unique=True
    ),
    spelling=st.lists(
        st.tuples(
            st.sampled_from([str.upper, str.title, str.lower]), st.sampled_from(["", " ", "  "])
        ),
        min_size=3,
        max_size=3,
    ),
)
def test_headers_match_whatever_their_case_and_surrounding_spaces(
    header: list[str], spelling: list[tuple[Callable[[str], str], str]]
) -> None:
    values = {"id": "maya", "region": "us", "handle": "@maya"}
    written = [pad + case(name) + pad for name, (case, pad) in zip(header, spelling, strict=True)]
    text = ",".join(written) + "\n" + ",".join(values[name] for name in header) + "\n"
    assert list(dl.io.read_csv(dl.Creator, io.StringIO(text))) == [
        dl.Creator(id="maya", region="US", handle="maya")
    ]


# --- docs/reference.md: generated from the records, so it cannot drift ----------------------

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"


def test_the_reference_page_is_what_the_records_generate() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == dl.io.reference_markdown(), (
        'docs/reference.md is stale; regenerate it: python -c "import delvia_ledger as dl; '
        "print(dl.io.reference_markdown(), end='')\" > docs/reference.md"
    )


def test_the_reference_lists_every_column_of_every_type_in_csv_order() -> None:
    text = dl.io.reference_markdown()
    for cls in RECORD_TYPES:
        section = text.split(f"\n## {cls.__name__}\n", 1)[1].split("\n## ", 1)[0]
        columns = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
        assert columns == dl.io.csv_columns(cls)
        assert f"```csv\n{','.join(columns)}\n" in section


def test_the_reference_example_rows_import_into_a_fresh_ledger_in_order(tmp_path: Path) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    with dl.Ledger.open(tmp_path / "fresh.db", clock=Clock()) as fresh:
        for cls in RECORD_TYPES:
            section = text.split(f"\n## {cls.__name__}\n", 1)[1]
            example = section.split("```csv\n", 1)[1].split("```", 1)[0]
            path = tmp_path / f"{cls.__name__}.csv"
            path.write_text(example, encoding="utf-8")
            assert fresh.import_csv(cls, path).written == 1, cls.__name__
        examples = dl.io._example_records()
        assert [record for cls in RECORD_TYPES for record in fresh.records(cls)] == examples


def test_a_rule_the_reference_does_not_know_fails_the_generation() -> None:
    @attrs.frozen(kw_only=True)
    class Odd:
        id: str = attrs.field(validator=lambda *_: None)

    with pytest.raises(LookupError, match=r"describe Odd\.id's rule"):
        dl.io._reference_rows(Odd, attrs.fields(Odd).id)


def test_choices_and_regions_are_read_in_any_case(ledger: dl.Ledger) -> None:
    text = "Creator Region,Account Region,Verdict\nus,*,incompatible\n"
    assert ledger.import_csv(dl.RegionRule, io.StringIO(text)).written == 1
    assert ledger.get(dl.RegionRule, "US->*") == dl.RegionRule(
        creator_region="US", account_region="*", verdict=dl.RegionVerdict.INCOMPATIBLE
    )


def test_read_csv_warns_at_the_callers_line_too() -> None:
    text = "id,region,notes\nm,US,x\n"
    with pytest.warns(dl.io.IgnoredColumnsWarning) as got:
        list(dl.io.read_csv(dl.Creator, io.StringIO(text)))
    with pytest.warns(dl.io.IgnoredColumnsWarning) as rows:
        list(dl.io.read_csv_rows(dl.Creator, io.StringIO(text)))
    assert got[0].filename == rows[0].filename == __file__


# --- the fast path of CSV rows: the same records, and the same errors, as record() ----------

#: Time cells of every shape the import meets: canonical, offsets, naive, a date alone, the
#: edges of the range, spaces, lower case, and what is no time at all.
TIME_CELLS = st.one_of(
    st.sampled_from(
        [
            "2026-11-01T00:00:00Z",
            "2026-11-01T09:00:00.123456Z",
            "2026-11-01T09:00:00+01:00",
            "2026-11-01 09:00:00-05:30",
            "2026-11-01t09:00:00z",
            "2026-11-01 09:00:00",
            "2026-11-01T09:00",
            "2026-11-01",
            "20261101T090000Z",
            "2026-W45-1",
            " 2026-11-01T00:00:00Z ",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59.999999Z",
            "9999-12-31T23:59:59-01:00",
            "10000-01-01",
            "2026-13-01",
            "2026-11-01T24:00:00Z",
            "1 Nov 2026",
            "'2026-11-01",
            "'=2026-11-01",
            "-2026-11-01",
            "",
        ]
    ),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.none() | st.sampled_from([UTC, dl.io.time_zone("Europe/Berlin")]),
    ).map(lambda moment: moment.isoformat(sep=" " if moment.second % 2 else "T")),
    st.text(max_size=8),
)
#: Any other cell: ids, regions, choices, scopes, statuses, formulas, spaces, controls, text.
TEXT_CELLS = st.one_of(
    st.sampled_from(
        [
            "maya",
            "7301",
            "US",
            "us",
            "xx",
            "*",
            "VIDEO",
            "carousel",
            "ADMIN",
            "owner",
            "compatible",
            "ad_account:6900",
            "creator:maya",
            "authorization:auth_1",
            "AUTHORIZED",
            "item_status_user_delete",
            "@maya.makes",
            "",
            " ",
            " maya",
            "'=1+2",
            "''=1",
            "'Tis",
            "=1",
            "a\u202eb",
            "x\x00y",
            "auth_1@6900",
            "US->GB",
        ]
    ),
    st.text(max_size=10),
)
LIST_CELLS = st.sampled_from(
    ['["EXPIRING/authorization=auth_1"]', "[]", "", "[1]", '{"a": 1}', '"x"', "[", "[" * 5000]
)
CODE_CELLS = st.one_of(
    raw_codes, st.sampled_from(["", " ", "'=#code=", "#co\nde=", "\ud800#c="]), st.text(max_size=6)
)
FINGERPRINT_CELLS = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    st.sampled_from(["", "A" * 64, "#raw-code="]),
)
HINT_CELLS = st.sampled_from(["…", "…ab=", "", "ab", "…abcde", "#raw-code="])


#: Valid times, early ones (a start) and late ones (an end), with and without an offset.
EARLY = st.sampled_from(
    ["2026-11-01T00:00:00Z", "2026-11-01 09:00:00+01:00", "2026-11-01", "2026-11-01 09:00:00"]
)
LATE = st.sampled_from(
    ["2027-11-01T00:00:00.5Z", "2027-11-01T09:00:00-05:30", "2027-11-01", "2027-11-01T09:00"]
)
ENDS = {"expires_at", "runs_until", "unbound_at", "ended_at", "left_at", "paused_at"}
VALID_TEXT = st.text(min_size=1, max_size=12).filter(str.strip)
VALID_CELLS = {
    "region": st.sampled_from(["US", "us", " gb "]),
    "creator_region": st.sampled_from(["US", "*"]),
    "account_region": st.sampled_from(["gb", "*"]),
    "verdict": st.sampled_from(["COMPATIBLE", "unknown"]),
    "kind": st.sampled_from(["VIDEO", "carousel"]),
    "role": st.sampled_from(["ADMIN", "operator"]),
    "scope": st.just("ad_account:6900"),
    "status": st.sampled_from(["", "item_status_user_delete", "PUBLIC"]),
    "tiktok_status": st.sampled_from(["", "authorized"]),
    "finding_keys": st.sampled_from(['["EXPIRING/authorization=auth_1"]', "[]", ""]),
    "code": raw_codes,
    "code_fingerprint": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "code_hint": st.sampled_from(["…ab=", "…", ""]),
}
IDS = st.sampled_from(["maya", "7301", "'=x", "r\u00e9c", "auth_1"])


def _fields(cls: type[dl.Record]) -> dict[str, attrs.Attribute[object]]:
    return attrs.fields_dict(cast(Any, cls))


def _valid_cells_of(cls: type[dl.Record], column: str) -> st.SearchStrategy[str]:
    field = _fields(cls).get(column)
    if column in VALID_CELLS:
        return VALID_CELLS[column]
    if field is None:
        return st.text(max_size=6)  # an ignored column
    blank = st.just("") if field.default is not attrs.NOTHING else st.nothing()
    if column == "id" and field.default not in (attrs.NOTHING, None):
        return st.just("")  # derived (a custom one is refused, or checked, by the record)
    if field.converter is cast(Any, dl.records.to_utc):
        return (LATE if column in ENDS else EARLY) | blank
    if column.endswith("id"):
        return IDS | blank
    return VALID_TEXT | blank


def _cells_of(cls: type[dl.Record], column: str) -> st.SearchStrategy[str]:
    field = _fields(cls).get(column)
    if column == "code":
        return CODE_CELLS
    if column == "code_fingerprint":
        return FINGERPRINT_CELLS
    if column == "code_hint":
        return HINT_CELLS
    if field is not None and field.converter is cast(Any, dl.records.to_utc):
        return TIME_CELLS
    if field is not None and str(field.type).startswith("tuple"):
        return LIST_CELLS
    return TEXT_CELLS


@st.composite
def csv_texts(draw: st.DrawFn) -> tuple[type[dl.Record], str, tzinfo | None]:
    """A CSV of one record type (its columns in any order, some left out, one ignored, the
    code raw or exported, on any record), rows of mixed valid and hostile cells, a timezone."""
    cls = draw(st.sampled_from(RECORD_TYPES))
    columns = dl.io.csv_columns(cls)
    if cls is dl.SparkAuthorization and draw(st.booleans()):
        columns = ["code", *(c for c in columns if not c.startswith("code_"))]
    elif cls is not dl.SparkAuthorization and draw(st.integers(0, 9)) == 0:
        columns.append(draw(st.sampled_from(["code", "code_fingerprint", "code_hint"])))
    header = draw(st.permutations(columns))
    required = {name for name, f in _fields(cls).items() if f.default is attrs.NOTHING}
    header = [c for c in header if c in required or "code" in c or draw(st.integers(0, 3))]
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), "notes")
    spelled = [c.replace("_", " ").title() if draw(st.booleans()) else c for c in header]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(spelled)
    for _ in range(draw(st.integers(1, 4))):
        writer.writerow(
            [
                draw(_cells_of(cls, column) if draw(one_in(8)) else _valid_cells_of(cls, column))
                for column in header
            ]
        )
    zone = draw(st.sampled_from([None, "UTC", "Europe/Berlin", "America/St_Johns"]))
    return cls, out.getvalue(), dl.io.time_zone(zone)


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True once in ``n`` draws."""
    return st.sampled_from([True] + [False] * (n - 1))


def _outcome(make: Callable[[], dl.Record | None]) -> dl.Record | Exception | None:
    try:
        return make()
    except Exception as error:
        return error


def _same(fast: object, reference: dl.Record | Exception) -> bool:
    """The same record (type, every field with its timezone, canonical JSON), or the same error."""
    if isinstance(reference, Exception):
        return type(fast) is type(reference) and str(fast) == str(reference)
    canonical = dl.convert.canonical_json_of(type(reference))
    return (
        type(fast) is type(reference)
        and repr(fast) == repr(reference)
        and fast == reference
        and canonical(cast(Any, fast)) == canonical(reference)
    )


@settings(max_examples=400)
@given(case=csv_texts())
def test_the_fast_path_of_a_row_gives_what_record_gives(
    case: tuple[type[dl.Record], str, tzinfo | None],
) -> None:
    """Each row: where ``record()`` (the reference) builds a record the generated fast path
    builds the same one; where it refuses, the fast path refuses too; and iterating the file
    gives ``record()``'s records and its first error, message for message, not chained to
    the fast path's refusal (whose message may quote a cell)."""
    cls, text, zone = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dl.io.IgnoredColumnsWarning)
        try:
            reader = dl.io.CsvReader(cls, io.StringIO(text, newline=""), timezone=zone)
        except dl.PayloadError:
            return  # a header the reader refuses: no row is read
        expected: list[tuple[int, dl.Record | Exception]] = []
        ended = 1
        for ended_now, cells in reader._rows:
            line, ended = ended + 1, ended_now
            reference = _outcome(lambda: reader.record(line, cells))  # noqa: B023
            fast = _outcome(lambda: reader._build(line, cells))  # noqa: B023
            assert reference is not None
            if isinstance(reference, Exception):
                assert not isinstance(fast, RECORD_TYPES), (line, fast, reference)
            else:
                assert _same(fast, reference), (line, fast, reference)
            expected.append((line, reference))
            event(f"{cls.__name__}: {'refused' if isinstance(reference, Exception) else 'built'}")
            if isinstance(reference, Exception):
                break
        got: list[tuple[int, dl.Record | Exception]] = []
        try:
            got.extend(dl.io.CsvReader(cls, io.StringIO(text, newline=""), timezone=zone))
        except Exception as error:
            got.append((expected[-1][0], error))
            assert error.__context__ is None
    assert len(got) == len(expected)
    for (line, outcome), (want_line, want) in zip(got, expected, strict=True):
        assert line == want_line and _same(outcome, want), (line, outcome, want)
