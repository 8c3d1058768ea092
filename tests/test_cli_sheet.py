"""``delvia-ledger import-sheet`` on a real one-tab sheet (tests/data/team-sheet.csv: 40
creators, 50 codes, two accounts, owners by name, US dates, notes), run as users run it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

EXE = shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")
SHEET = Path(__file__).parent / "data" / "team-sheet.csv"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    return subprocess.run(
        [EXE, "--db", "team.db", *args], cwd=cwd, capture_output=True, text=True,
        env=os.environ, timeout=60,
    )  # fmt: skip


def entries(cwd: Path) -> int:
    with sqlite3.connect(cwd / "team.db") as db:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])


@pytest.fixture(scope="module")
def built_team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ledger the sheet goes into, made once by the commands a team runs (init, two
    accounts, three people): six processes, which each test would otherwise start again."""
    folder = tmp_path_factory.mktemp("team")
    assert run("init", cwd=folder).returncode == 0
    for args in (
        ("AdAccount", "--id", "6900000000000000001", "--name", "Brand US", "--region", "US"),
        ("AdAccount", "--id", "6900000000000000002", "--name", "Brand UK", "--region", "GB"),
        ("Person", "--id", "p_ana", "--name", "Ana Lima"),
        ("Person", "--id", "p_ben", "--name", "Ben Okafor"),
        ("Person", "--id", "p_chloe", "--name", "Chloe Park"),
    ):
        assert run("add", *args, cwd=folder).returncode == 0
    return folder


@pytest.fixture
def team(built_team: Path, tmp_path: Path) -> Path:
    """A folder of the test's own holding a copy of :func:`built_team`'s ledger."""
    for path in built_team.glob("team.db*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_the_team_sheet_goes_in_with_one_command_and_its_reimport_writes_nothing(
    team: Path,
) -> None:
    dry = run("import-sheet", str(SHEET), "--date-order", "MDY", "--dry-run", cwd=team)
    assert dry.returncode == 0, dry.stderr
    assert "would write 140 entries" in dry.stdout and entries(team) == 5
    first = run("import-sheet", str(SHEET), "--date-order", "mdy", cwd=team)
    assert first.returncode == 0, first.stderr
    assert "50 rows: wrote 140 entries" in first.stdout
    for line in (
        "creators: 40 new",
        "posts: 50 new",
        "codes: 50 new",
        "50 posts recorded as VIDEO",
    ):
        assert line in first.stdout
    assert entries(team) == 145
    again = run("import-sheet", str(SHEET), "--date-order", "MDY", cwd=team)
    assert again.returncode == 0 and "nothing new" in again.stdout
    assert entries(team) == 145
    assert run("verify", cwd=team).returncode == 0
    raw = SHEET.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[2]
    assert raw.encode() not in (team / "team.db").read_bytes()
    assert raw not in first.stdout + first.stderr


def test_a_refused_sheet_names_row_column_and_value_and_writes_nothing(team: Path) -> None:
    text = SHEET.read_text(encoding="utf-8-sig").replace("Brand UK", "Brand FR", 1)
    (team / "bad.csv").write_text(text, encoding="utf-8")
    refused = run("import-sheet", "bad.csv", cwd=team)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "unknown ad account(s) 'Brand FR' (row 3)" in refused.stderr
    assert "Brand US (6900000000000000001)" in refused.stderr
    assert entries(team) == 5
    missing = run("import-sheet", "nope.csv", cwd=team)
    assert missing.returncode == 2 and "nope.csv" in missing.stderr
    bad_map = run("import-sheet", str(SHEET), "--map", "Owner", cwd=team)
    assert bad_map.returncode == 2 and 'give it as "Header=field"' in bad_map.stderr


def test_import_sheet_into_a_missing_ledger_is_refused(tmp_path: Path) -> None:
    refused = run("import-sheet", str(SHEET), cwd=tmp_path)
    assert refused.returncode == 2 and "no such ledger" in refused.stderr
    assert not (tmp_path / "team.db").exists()


def test_retire_unretire_and_report_all(team: Path) -> None:
    assert run("import-sheet", str(SHEET), "--date-order", "MDY", cwd=team).returncode == 0
    code = SHEET.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[2]
    done = subprocess.run(
        [EXE or "", "--db", "team.db", "retire", "-", "--reason", "campaign ended"],
        cwd=team, input=code + "\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and "retired auth_" in done.stdout and code not in done.stdout
    auth_id = done.stdout.split()[1]
    listed = run("report", "--all", cwd=team)
    assert "Retired codes (1):" in listed.stdout and "campaign ended" in listed.stdout
    assert "Retired codes" not in run("report", cwd=team).stdout
    assert run("unretire", auth_id, cwd=team).returncode == 0
    again = run("unretire", auth_id, cwd=team)
    assert again.returncode == 2 and "is not retired" in again.stderr
    assert "No retired codes." in run("report", "--all", cwd=team).stdout


def test_import_sheet_force_records_an_erased_creator_again(team: Path) -> None:
    """``import-sheet --force`` as ``import --force``: the same refusal, the same remedy."""
    assert run("import-sheet", str(SHEET), "--date-order", "MDY", cwd=team).returncode == 0
    with sqlite3.connect(team / "team.db") as db:
        creator = db.execute("SELECT id FROM creator_versions ORDER BY seq LIMIT 1").fetchone()[0]
    erased = run("erase", "Creator", creator, "--reason", "asked", "--by", "p_ana", cwd=team)
    assert erased.returncode == 0, erased.stderr
    before = entries(team)
    refused = run("import-sheet", str(SHEET), "--date-order", "MDY", cwd=team)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert f"row 2: Creator '{creator}'" in refused.stderr
    assert "needs force=True (--force), for a new consent" in refused.stderr
    assert entries(team) == before
    forced = run("import-sheet", str(SHEET), "--date-order", "MDY", "--force", cwd=team)
    assert forced.returncode == 0, forced.stderr
    assert entries(team) == before + 1  # the creator, its handle back
    assert run("verify", "--deep", cwd=team).returncode == 0
