"""``delvia-ledger import FILE.csv`` on spreadsheet exports, in a subprocess: a BOM, headers in
any case, ignored columns named on stderr, --timezone, errors in the user's words."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import delvia_ledger as dl

_BESIDE = Path(sys.executable).with_name("delvia-ledger")
EXE = str(_BESIDE) if _BESIDE.exists() else shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")

#: Python's reprs and advice that must never reach someone importing a spreadsheet.
PYTHON_TALK = re.compile(r"datetime\.datetime\(|tzinfo=|\{'|Traceback")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "DELVIA_LEDGER_DB"}
    return subprocess.run(
        [EXE, "--db", "ledger.db", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def sheet(folder: Path, name: str, text: str) -> str:
    """A CSV as Google Sheets downloads it: UTF-8 with a byte-order mark, CRLF line ends."""
    (folder / name).write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))
    return name


def digest(folder: Path) -> str:
    with dl.Ledger.open(folder / "ledger.db") as ledger:
        return str(ledger.digest())


def test_a_spreadsheet_export_imports_and_ignored_columns_are_named_on_stderr(
    tmp_path: Path,
) -> None:
    creators = sheet(
        tmp_path, "creators.csv", "ID,Handle,Region,Notes\nmaya,@maya.makes,us,VidCon\n"
    )
    done = run("import", creators, "--type", "creator", "--create", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "imported creators.csv: 1 new entry, 0 unchanged\n"
    assert done.stderr == (
        "delvia-ledger import: creators.csv: ignored column(s) 'Notes': Creator has no such "
        "field (its columns: https://github.com/delvia/delvia-ledger/tree/main/docs/reference.md)\n"
    )
    posts = sheet(
        tmp_path, "posts.csv", " Id ,Creator ID,KIND,Posted At\n7301,maya,Video,2026-10-30\n"
    )
    assert run("import", posts, "--type", "Post", cwd=tmp_path).stderr == ""
    with dl.Ledger.open(tmp_path / "ledger.db") as ledger:
        post = ledger.get(dl.Post, "7301")
        assert post is not None and post.kind is dl.PostKind.VIDEO
        assert (
            post.posted_at is not None and post.posted_at.isoformat() == "2026-10-30T00:00:00+00:00"
        )


def test_offset_less_times_are_refused_without_timezone_and_accepted_with_it(
    tmp_path: Path,
) -> None:
    people = sheet(tmp_path, "people.csv", "ID,Name,Left At\nana,Ana,2026-11-01 00:00:00\n")
    assert run("init", cwd=tmp_path).returncode == 0
    before = digest(tmp_path)
    refused = run("import", people, "--type", "person", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(
        "delvia-ledger import: line 2, column 'Left At': '2026-11-01 00:00:00' has no time zone"
    )
    assert "--timezone" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert digest(tmp_path) == before  # nothing written
    done = run("import", people, "--type", "person", "--timezone", "Europe/Berlin", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with dl.Ledger.open(tmp_path / "ledger.db") as ledger:
        person = ledger.get(dl.Person, "ana")
        assert person is not None and person.left_at is not None
        assert person.left_at.isoformat() == "2026-10-31T23:00:00+00:00"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("creators.csv", "ID,Region\nm,xx\n", "line 2, column 'Region': 'xx' must be an ISO"),
        ("creators.csv", "ID,Region\nm,US\n,GB\n", "line 3, column 'ID': the cell is blank"),
        (
            "people.csv",
            "ID,Name,Left At\na,A,01/11/2026 09:00\n",
            "line 2, column 'Left At': '01/11/2026 09:00' is not a date or time",
        ),
        (
            "grants.csv",
            "ID,Person ID,Scope,Role,Granted At\ng,a,ad_account:1,boss,2026-11-01\n",
            "line 2, column 'Role': 'boss' must be one of ADMIN, OPERATOR",
        ),
    ],
)
def test_each_error_names_line_column_and_value_in_one_line_and_writes_nothing(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    before = digest(tmp_path)
    kind = {"creators.csv": "Creator", "people.csv": "Person", "grants.csv": "RoleGrant"}[name]
    done = run("import", sheet(tmp_path, name, text), "--type", kind, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"delvia-ledger import: {expected}"), done.stderr
    assert len(done.stderr.splitlines()) == 1 and not PYTHON_TALK.search(done.stderr)
    assert digest(tmp_path) == before


def test_an_unknown_timezone_is_a_usage_error(tmp_path: Path) -> None:
    people = sheet(tmp_path, "people.csv", "ID,Name\nana,Ana\n")
    done = run("import", people, "--type", "person", "--timezone", "Berlin", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "delvia-ledger import: --timezone: 'Berlin' is not a known time zone; use a name such "
        "as 'Europe/Berlin' or 'UTC'\n"
    )
    assert not (tmp_path / "ledger.db").exists()
