"""The daily signal people trust (DESIGN §15): ``report``/``check --fail-on``, filters that are
checked, an empty answer that never says all is well, a table that fits the terminal, and
``remind`` as one flat row per person and finding. Run in-process on a real ledger file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.cli import fit_table, main
from tests.conftest import Clock

SHEET = Path(__file__).parent / "data" / "team-sheet.csv"


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The team sheet imported into a ledger whose clock stands at 2026-11-24."""
    path = tmp_path_factory.mktemp("team") / "team.db"
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        ledger.record_all([
            dl.AdAccount(id="6900000000000000001", name="Brand US", region="US"),
            dl.AdAccount(id="6900000000000000002", name="Brand UK", region="GB"),
            dl.Person(id="p_ana", name="Ana Lima"),
            dl.Person(id="p_ben", name="Ben Okafor"),
            dl.Person(id="p_chloe", name="Chloe Park"),
        ])  # fmt: skip
        ledger.import_sheet(SHEET, date_order="MDY")
    return path


def cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


def findings(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> list[dict[str, str]]:
    code, out, _ = cli(capsys, db, "report", "--format", "json", *args)
    assert code in (0, 1)
    found: list[dict[str, str]] = json.loads(out)
    return found


def test_creator_by_id_or_handle_with_or_without_at(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    every = findings(capsys, team)
    shown = next(f["handle"] for f in every if f["handle"])  # as the report prints it: @maya
    handle = shown.removeprefix("@")
    creator_id = next(f["creator_id"] for f in every if f["handle"] == shown)
    by_id = findings(capsys, team, "--creator", creator_id)
    assert by_id and all(f["creator_id"] == creator_id for f in by_id)
    assert findings(capsys, team, "--creator", f"@{handle}") == by_id
    assert findings(capsys, team, "--creator", handle.upper()) == by_id
    code, out, err = cli(capsys, team, "report", "--creator", "@nobody.here")
    assert code == 2 and out == "" and "--creator '@nobody.here': no creator" in err


def test_account_by_id_or_name_and_an_unknown_one_exits_2_naming_it(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_id = findings(capsys, team, "--account", "6900000000000000002")
    assert by_id and findings(capsys, team, "--account", "brand  uk") == by_id
    code, _, err = cli(capsys, team, "report", "--account", "999")
    assert code == 2 and "--account '999'" in err and "Brand UK (6900000000000000002)" in err
    code, _, err = cli(capsys, team, "report", "--owner", "p_nobody")
    assert code == 2 and "p_nobody" in err
    code, _, err = cli(capsys, team, "report", "--kind", "NOT_A_KIND")
    assert code == 2 and "NOT_A_KIND" in err


def test_an_empty_answer_with_filters_never_says_all_is_fine(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, team, "report", "--account", "Brand UK", "--severity", "ERROR")
    assert code == 0
    assert out.startswith("No findings match --severity ERROR --account Brand UK (")
    assert "fine" not in out


def test_fail_on_sets_the_exit_code_at_the_chosen_severity(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    severities = {f["severity"] for f in findings(capsys, team)}
    assert "ERROR" not in severities and "WARNING" in severities  # the team sheet's state
    assert cli(capsys, team, "report")[0] == 0
    assert cli(capsys, team, "report", "--fail-on", "error")[0] == 0
    assert cli(capsys, team, "report", "--fail-on", "warning")[0] == 1
    assert cli(capsys, team, "report", "--fail-on", "INFO")[0] == 1
    assert cli(capsys, team, "report", "--fail-on", "warning", "--severity", "INFO")[0] == 0


def test_the_table_shows_names_hints_and_remedies_and_no_internal_ids(
    team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    _, out, _ = cli(capsys, team, "report")
    assert "Brand UK" in out and "…" in out and "What to do:" in out
    assert "auth_" not in out and "6900000000000000002" not in out and "cr_" not in out
    _, wide, _ = cli(capsys, team, "report", "--wide")
    assert "auth_" in wide and "6900000000000000002" in wide


@pytest.mark.parametrize("width", [50, 72, 100, 160])
def test_the_table_fits_the_terminal(
    team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    _, out, _ = cli(capsys, team, "report")
    assert max(map(len, out.splitlines())) <= width


words = st.text(alphabet="abcdefghij0123456789_…@.", min_size=1, max_size=22)


@given(
    st.lists(st.dictionaries(st.sampled_from(["severity", "kind", "creator", "code", "account",
                                              "owner"]), words, min_size=6), min_size=1, max_size=8),
    st.integers(min_value=30, max_value=200),
)  # fmt: skip
def test_fit_table_never_cuts_a_cell_it_drops_whole_columns(
    rows: list[dict[str, str]], width: int
) -> None:
    text = fit_table(rows, width)
    table, _, note = text.partition("\n(left out to fit the terminal: ")
    lines = table.splitlines()
    dropped = set(" ".join(note.split()).split(";")[0].split(", ")) if note else set()
    assert max(map(len, note.splitlines()), default=0) <= max(width, 40)
    kept = [c for c in rows[0] if c not in dropped]
    assert len(kept) <= 2 or max(map(len, lines)) <= width
    header = lines[0].split()
    assert header == kept
    for row, line in zip(rows, lines[2:], strict=True):
        assert line.split() == [row[c] for c in kept]  # every cell shown is whole


def test_remind_csv_and_jsonl_have_one_flat_row_per_person_and_finding(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = cli(capsys, team, "remind", "--format", "json")
    reminders = json.loads(out)
    expected = [(r["person_id"], f["key"]) for r in reminders for f in r["findings"]]
    assert expected
    _, out, _ = cli(capsys, team, "remind", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["recipient_id"] or None, r["key"]) for r in rows] == expected
    for row in rows:
        assert not any(cell.startswith(("[", "{", "(")) for cell in row.values())
    _, out, _ = cli(capsys, team, "remind", "--format", "jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["recipient_id"], r["key"]) for r in lines] == expected
    assert all(not isinstance(v, dict) for r in lines for v in r.values())


def test_check_takes_the_authorization_id(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    auth = next(f for f in findings(capsys, team) if f["authorization_id"])
    code, out, err = cli(capsys, team, "check", auth["authorization_id"])
    assert code in (0, 1) and err == "" and auth["authorization_id"] in out
    code, _, err = cli(capsys, team, "check", "--fail-on", "info", auth["authorization_id"])
    assert code == 1


def test_import_into_a_missing_ledger_is_refused_and_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "creators.csv", tmp_path / "bad.csv"
    good.write_text("id,handle,region\nc1,maya,US\n", encoding="utf-8")
    bad.write_text("id,handle,region\nc1,maya,NOWHERE\n", encoding="utf-8")
    db = tmp_path / "typo.db"
    code, _, err = cli(capsys, db, "import", str(good), "--type", "Creator")
    assert code == 2 and "no such ledger" in err and not db.exists()
    code, _, err = cli(capsys, db, "import", str(bad), "--type", "Creator", "--create")
    assert code == 2 and "import: import:" not in err and not db.exists()
    assert not list(tmp_path.glob("typo.db*"))
    code, out, _ = cli(capsys, db, "import", str(good), "--type", "Creator", "--create")
    assert code == 0 and "1 new entry," in out and db.exists()


def test_add_type_help_lists_the_records_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, tmp_path / "x.db", "add", "Person", "--help")
    assert code == 0
    for field in ("--id", "--name", "--email", "--left_at"):
        assert field in out
    assert not (tmp_path / "x.db").exists()
    code, out, _ = cli(capsys, tmp_path / "x.db", "add", "SparkAd", "-h")
    assert code == 0 and "--intended_post_id" in out
