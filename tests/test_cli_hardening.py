"""The command line under hostile or careless input: one line, the right exit code, nothing
written when it refuses, and nothing a terminal would obey printed raw."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.cli import main

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
    done = run("report", "--all", cwd=tmp_path)  # --all: a code dead since 2020 is quiet
    assert "evil" in done.stdout
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in done.stdout
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202egnp.exe" in done.stdout
    as_json = run("report", "--all", "--json", cwd=tmp_path)
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


@pytest.mark.parametrize(
    "args",
    [
        ["offboard", "p1", "--at", "0001-01-01T00:00:00+01:00"],
        ["offboard", "p1", "--at", "9999-12-31T23:59:59-01:00", "--apply"],
        ["grant", "p1", "analyst", "ad_account:6900", "--at", "0001-01-01T00:30:00+01:00"],
        ["grant", "p1", "analyst", "ad_account:6900", "--expires", "9999-12-31T23:00:00-02:00"],
    ],
    ids=["offboard --at (year 0)", "offboard --at (year 10000)", "grant --at", "grant --expires"],
)
def test_a_time_outside_the_years_1_to_9999_in_utc_is_named(
    tmp_path: Path, args: list[str]
) -> None:
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        ledger.record(dl.AdAccount(id="6900", name="Brand", region="US"))
        ledger.record(dl.Person(id="p1", name="Ana"))
        before = ledger.digest()
    line = one_line_error(run(*args, cwd=tmp_path))
    option = args[-2] if args[-1] != "--apply" else args[-3]
    assert f"{option} {args[args.index(option) + 1]!r} is out of range" in line
    assert "unexpected" not in line and "please report" not in line
    assert dl.Ledger.open(tmp_path / "delvia-ledger.db").digest() == before


def test_a_backup_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    dl.Ledger.open(tmp_path / "delvia-ledger.db").close()
    line = one_line_error(run("backup", "nowhere/copy.db", cwd=tmp_path))
    assert line == (
        "delvia-ledger backup: nowhere/copy.db: the folder 'nowhere' does not exist; "
        "create it first, or name another place"
    )
    with (
        dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger,
        pytest.raises(dl.StorageError, match=r"the folder .* does not exist"),
    ):
        ledger.backup(tmp_path / "nowhere" / "copy.db")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "quoted",
    ["#Sekr3t+code/xyz=", "#in-file-code+q", "%23Sekr3t%2Bcode%2Fxyz%3D"],
    ids=["code-shaped", "a code of the file", "URL-encoded code of the file"],
)
def test_import_never_prints_a_raw_code_tiktoks_message_quotes(tmp_path: Path, quoted: str) -> None:
    """The sync path scrubs what TikTok says; an import of a saved answer does too (the same
    scrubber): the file's codes, in any encoding, and any code-shaped word."""
    in_file = "#in-file-code+q" if "in-file" in quoted else "#Sekr3t+code/xyz="
    answer = {
        "code": 40002,
        "message": f"auth_code {quoted} is invalid",
        "request_id": f"req-{quoted}",
        "data": {"item_info": {"auth_code": in_file, "item_id": "7301"}},
    }
    (tmp_path / "answer.json").write_text(json.dumps(answer))
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        ledger.record(dl.AdAccount(id="6900", name="Brand", region="US"))
    line = one_line_error(run("import", "answer.json", "--advertiser", "6900", cwd=tmp_path))
    assert line.startswith("delvia-ledger import: TikTok API error 40002: auth_code … is invalid")
    for raw in (quoted, in_file, in_file.strip("#=")):
        assert raw not in line


@settings(max_examples=15, deadline=None)
@given(
    bad_line=st.integers(2, 3000), byte=st.sampled_from([b"\xff", b"\xc3(", b"\xe2\x82", b"\x80"])
)
def test_invalid_utf8_in_a_csv_names_the_bad_line(bad_line: int, byte: bytes) -> None:
    """The decoder fails a whole chunk (8 KiB) at once: the error still names the line that
    holds the bad bytes, not the one where the chunk began."""
    with tempfile.TemporaryDirectory() as folder:
        lines = [b"id,handle,region"] + [b"c%d,h%d,US" % (n, n) for n in range(2, 3001)]
        lines[bad_line - 1] = b"c%d,h" % bad_line + byte + b",US"
        (Path(folder) / "creators.csv").write_bytes(b"\n".join(lines) + b"\n")
        dl.Ledger.open(Path(folder) / "l.db").close()
        err = io.StringIO()
        with redirect_stderr(err):
            code = main(
                ["import", f"{folder}/creators.csv", "--type", "Creator", "--db", f"{folder}/l.db"]
            )
        assert code == 2
        assert err.getvalue() == (
            f"delvia-ledger import: line {bad_line}: the file is not UTF-8 text; save it as "
            "UTF-8 and import again\n"
        )
        assert dl.Ledger.open(Path(folder) / "l.db").seq == 0
