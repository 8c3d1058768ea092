"""The conventions a command-line user expects (DESIGN §15): --version, python -m, --db before
or after the subcommand, --format for every listing, report filters, small changes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.demo import SAMPLE_CODES

EXE = shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "DELVIA_LEDGER_DB"}
    return subprocess.run(
        [EXE, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    assert run("--db", "s.db", "demo", cwd=folder).returncode == 0
    return folder


def test_version_and_python_m(tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path)
    assert (
        version.returncode == 0
        and version.stdout.strip() == f"delvia-ledger, version {dl.__version__}"
    )
    module = subprocess.run(
        [sys.executable, "-m", "delvia_ledger", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert module.stdout == version.stdout


def test_db_before_or_after_the_subcommand(sample: Path) -> None:
    before = run("--db", "s.db", "report", "--format", "json", cwd=sample)
    after = run("report", "--db", "s.db", "--format", "json", cwd=sample)
    assert before.returncode == after.returncode == 1
    assert json.loads(before.stdout) == json.loads(after.stdout)


@pytest.mark.parametrize(
    "command",
    [
        ["report"],
        ["remind"],
        ["history", "Creator", "7000000000000000001"],
        ["changes", "--since", "1"],
    ],
)
def test_every_listing_prints_each_format(sample: Path, command: list[str]) -> None:
    outputs = {}
    for fmt in ("table", "csv", "json", "jsonl"):
        done = run("--db", "s.db", *command, "--format", fmt, cwd=sample)
        assert done.returncode in (0, 1), done.stderr
        outputs[fmt] = done.stdout
    as_json = json.loads(outputs["json"])
    lines = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert len(rows) == len(lines)
    if command[0] == "changes":  # one JSON object; CSV and JSON lines: one row per change
        assert {"entries", "new", "resolved", "changed"} <= set(as_json)
        assert len(lines) == sum(len(as_json[k]) for k in ("entries", "new", "resolved", "changed"))
    elif command[0] == "remind":  # JSON: one object per person; CSV and JSON lines: a row per
        # person and finding, flat (no nested findings in a cell)
        assert [(r["recipient_id"], r["key"]) for r in lines] == [
            (p["person_id"], f["key"]) for p in as_json for f in p["findings"]
        ]
    else:
        assert lines == as_json
    assert outputs["table"].strip()
    short = json.loads(run("--db", "s.db", *command, "--json", cwd=sample).stdout)
    if command[0] == "changes":  # "until" is the moment each ran
        short.pop("until"), as_json.pop("until")
    assert short == as_json
    assert all(code not in "".join(outputs.values()) for code in SAMPLE_CODES.values())


def test_report_filters_and_limit(sample: Path) -> None:
    def kinds(*args: str) -> list[dict[str, str]]:
        done = run("--db", "s.db", "report", "--format", "json", *args, cwd=sample)
        return list(json.loads(done.stdout))

    everything = kinds()
    assert len(everything) > 5
    errors = kinds("--severity", "error")
    assert errors and {f["severity"] for f in errors} == {"ERROR"}
    assert [f["kind"] for f in kinds("--kind", "WRONG_POST")] == ["WRONG_POST"]
    assert kinds("--limit", "2") == everything[:2]
    owner = next(f["owner_id"] for f in everything if f["owner_id"])
    assert {f["owner_id"] for f in kinds("--owner", owner)} == {owner}
    account = next(f["ad_account_id"] for f in everything if f["ad_account_id"])
    assert {f["ad_account_id"] for f in kinds("--account", account)} == {account}
    creator = next(f["creator_id"] for f in everything if f["creator_id"])
    assert {f["creator_id"] for f in kinds("--creator", creator)} == {creator}
    only_info = run("--db", "s.db", "report", "--severity", "INFO", cwd=sample)
    assert only_info.returncode == 0  # no ERROR among what is shown
    bad = run("--db", "s.db", "report", "--kind", "NOPE", cwd=sample)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "NOPE" in bad.stderr


def test_small_changes_without_a_spreadsheet(tmp_path: Path) -> None:
    assert run("demo", cwd=tmp_path).returncode == 0
    added = run(
        "add",
        "Person",
        "--id",
        "p_new",
        "--name",
        "New Person",
        "--email",
        "new@brand.com",
        cwd=tmp_path,
    )
    assert added.returncode == 0 and "recorded Person p_new" in added.stdout
    granted = run("grant", "p_new", "operator", "ad_account:6900000000000000001", cwd=tmp_path)
    assert granted.returncode == 0, granted.stderr
    extended = run(
        "extend", "-", "--until", "2027-06-01", cwd=tmp_path, stdin=SAMPLE_CODES["live"] + "\n"
    )
    assert extended.returncode == 0, extended.stderr
    revoked = run("revoke", "-", cwd=tmp_path, stdin=SAMPLE_CODES["live"] + "\n")
    assert revoked.returncode == 0, revoked.stderr
    history = run("history", "--code", "-", cwd=tmp_path, stdin=SAMPLE_CODES["live"] + "\n")
    assert "expires_at:" in history.stdout and " → 2027-06-01T00:00:00" in history.stdout
    assert "revoked_at: None → " in history.stdout
    preview = run("offboard", "p_new", cwd=tmp_path)
    assert (
        "ends OPERATOR on ad_account:6900000000000000001" in preview.stdout
        and "preview" in preview.stdout
    )
    applied = run("offboard", "p_new", "--apply", cwd=tmp_path)
    assert applied.returncode == 0 and "recorded: 2 entries" in applied.stdout
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        person = ledger.get(dl.Person, "p_new")
        assert person is not None and person.left_at is not None
        assert ledger.roles_of("p_new") == []
        auth = ledger.authorization_for(SAMPLE_CODES["live"])
        assert auth is not None and auth.revoked_at is not None and auth.expires_at.year == 2027
    outputs = "".join(d.stdout + d.stderr for d in (added, granted, extended, revoked, history))
    assert all(code not in outputs for code in SAMPLE_CODES.values())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "Person", "--id", "p2"], "missing required field"),
        (["add", "Person", "--id"], "--name value"),
        (["add", "Persn", "--id", "x"], "unknown record type 'Persn'"),
        (["extend", "auth_live", "--until", "2027-06-01 10:00"], "no time zone"),
        (["extend", "auth_live", "--until", "soon"], "is not a time"),
        (["revoke", "#not-a-known-code="], "no authorization in the ledger"),
        (["grant", "p_nobody", "ADMIN", "ad_account:1"], "no person with id 'p_nobody'"),
        (["explain", "12345"], "not in the catalogue"),
        (["backup", "s.db"], "already exists"),
    ],
)
def test_small_changes_refuse_bad_input_in_one_line_and_write_nothing(
    sample: Path, args: list[str], message: str
) -> None:
    before = dl.Ledger.open(sample / "s.db").digest()
    done = run("--db", "s.db", *args, cwd=sample)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and len(done.stderr.splitlines()) == 1
    assert "#not-a-known-code=" not in done.stderr
    assert dl.Ledger.open(sample / "s.db").digest() == before


def test_explain_and_backup(sample: Path, tmp_path: Path) -> None:
    explained = run("explain", "4025", cwd=sample)
    assert (
        explained.returncode == 0
        and "EXPIRED" in explained.stdout
        and "remedy:" in explained.stdout
    )
    copy = tmp_path / "copy.db"
    done = run("--db", "s.db", "backup", str(copy), cwd=sample)
    assert done.returncode == 0 and "backed up" in done.stdout
    with dl.Ledger.open(copy) as backed, dl.Ledger.open(sample / "s.db") as original:
        assert backed.digest() == original.digest() and backed.verify(deep=True).ok
