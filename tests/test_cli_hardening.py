"""The command line under hostile or careless input: one line, the right exit code, nothing
written when it refuses, and nothing a terminal would obey printed raw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import delvia_ledger as dl

EXE = shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    env = {**os.environ}
    env.pop("DELVIA_LEDGER_DB", None)
    return subprocess.run(
        [EXE, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    return line


def test_escape_sequences_in_a_handle_are_shown_not_obeyed(tmp_path: Path) -> None:
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        ledger.record_all(
            [
                dl.Creator(id="c1", handle="evil\x1b[2J\x1b]0;pwned\x07\u202egnp.exe", region="US"),
                dl.Post(id="7301", creator_id="c1", kind="VIDEO"),
                dl.SparkAuthorization.from_code(
                    "#x-code=",
                    creator_id="c1",
                    post_id="7301",
                    starts_at="2020-01-01T00:00:00Z",
                    expires_at="2020-02-01T00:00:00Z",
                ),
            ]
        )
    done = run("report", cwd=tmp_path)
    assert "evil" in done.stdout
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in done.stdout
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202egnp.exe" in done.stdout
    as_json = run("report", "--json", cwd=tmp_path)
    assert "\u202e" not in as_json.stdout and "\x1b" not in as_json.stdout
    assert json.loads(as_json.stdout)[0]["handle"] == "@evil\x1b[2J\x1b]0;pwned\x07\u202egnp.exe"


def test_a_bad_within_for_the_demo_writes_nothing(tmp_path: Path) -> None:
    line = one_line_error(run("demo", "--within", "0d", cwd=tmp_path))
    assert "0d" in line
    assert not (tmp_path / "delvia-ledger.db").exists()


def test_importing_a_missing_file_creates_no_ledger(tmp_path: Path) -> None:
    line = one_line_error(run("import", "nowhere.csv", "--type", "Creator", cwd=tmp_path))
    assert "nowhere.csv" in line
    assert not (tmp_path / "delvia-ledger.db").exists()


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (["frobnicate"], ["report", "--within"], ["check"], []):
        line = one_line_error(run(*args, cwd=tmp_path))
        assert line.startswith("delvia-ledger") and "--help" in line


def test_deeply_nested_json_is_refused_in_one_line(tmp_path: Path) -> None:
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        ledger.record(dl.AdAccount(id="6900", name="Brand", region="US"))
    nested = "[" * 200_000 + "]" * 200_000
    line = one_line_error(run("import", "-", "--advertiser", "6900", cwd=tmp_path, stdin=nested))
    assert "nested too deeply" in line


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["report", "--within", "99999999999999d"], "", "within="),
        (["import", "big.csv", "--type", "Creator"], "", "line 2"),
        (["import", "late.csv", "--type", "Person"], "", "left_at"),
        (["import", "-", "--advertiser", "6900"], '{"code": false, "data": {}}', "false"),
    ],
)
def test_inputs_that_once_crashed_end_in_one_line(
    tmp_path: Path, args: list[str], stdin: str, message: str
) -> None:
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        ledger.record(dl.AdAccount(id="6900", name="Brand", region="US"))
        before = ledger.digest()
    (tmp_path / "big.csv").write_text("id,region\n" + "x" * 200_000 + ",US\n")
    (tmp_path / "late.csv").write_text("id,name,left_at\np1,Ana,9999-12-31T23:59:59-05:00\n")
    line = one_line_error(run(*args, cwd=tmp_path, stdin=stdin))
    assert message in line
    assert dl.Ledger.open(tmp_path / "delvia-ledger.db").digest() == before
