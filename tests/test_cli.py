"""The installed ``delvia-ledger`` console script, run in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from delvia_ledger.demo import SAMPLE_CODES

EXE = shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")


def run(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    return subprocess.run(
        [EXE, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_demo_then_report_check_verify_history(tmp_path: Path) -> None:
    demo = run("demo", cwd=tmp_path)
    assert demo.returncode == 0
    assert any(line.split()[:2] == ["ERROR", "WRONG_POST"] for line in demo.stdout.splitlines())
    assert (tmp_path / "delvia-ledger.db").exists()
    again = run("demo", cwd=tmp_path)  # the README line, run twice: it replaces its own sample
    assert again.returncode == 0 and "Wrote a sample ledger" in again.stdout
    run("add", "Person", "--id", "p_real", "--name", "A real person", cwd=tmp_path)
    refused = run("demo", cwd=tmp_path)  # no longer only the sample: never replaced
    assert (
        refused.returncode == 2
        and "already holds" in refused.stderr
        and "Traceback" not in refused.stderr
    )

    report = run("report", "--json", cwd=tmp_path)
    assert report.returncode == 1
    kinds = {f["kind"] for f in json.loads(report.stdout)}
    assert {"EXPIRED", "REVOKED", "WRONG_POST", "REGION_INCOMPATIBLE", "EXPIRING"} <= kinds

    check = run(
        "check",
        "-",
        "--post",
        "7301000000000000002",
        cwd=tmp_path,
        stdin=SAMPLE_CODES["wrong_post"] + "\n",
    )
    assert check.returncode == 1 and "WRONG_POST" in check.stdout
    healthy = run("check", "-", cwd=tmp_path, stdin=SAMPLE_CODES["live"])
    assert healthy.returncode == 0

    assert run("verify", cwd=tmp_path).returncode == 0
    assert "maya.makes" in run("history", "Creator", "7000000000000000001", cwd=tmp_path).stdout
    outputs = demo.stdout + report.stdout + check.stdout + healthy.stdout
    assert all(code not in outputs for code in SAMPLE_CODES.values())


def test_verify_deep_catches_an_edited_query_table(tmp_path: Path) -> None:
    assert run("demo", cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(tmp_path / "delvia-ledger.db", isolation_level=None)
    conn.execute("DROP TRIGGER spark_authorization_versions_refuse_update")
    seq = conn.execute("SELECT min(seq) FROM spark_authorization_versions").fetchone()[0]
    conn.execute("UPDATE spark_authorization_versions SET revoked_at = 0 WHERE seq = ?", (seq,))
    conn.close()
    assert run("verify", cwd=tmp_path).returncode == 0  # the chain is intact
    deep = run("verify", "--deep", cwd=tmp_path)
    assert deep.returncode == 1
    assert deep.stdout.strip() == (
        f"FAILED: seq {seq}: spark_authorization_versions.revoked_at differs from the entry"
    )


def test_db_comes_from_the_environment(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path, env={"DELVIA_LEDGER_DB": "env.db"}).returncode == 0
    assert (tmp_path / "env.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "--db", "missing.db"), "no such ledger"),
        (("report", "--db", "junk.db"), "not a delvia_ledger database"),
        (("report", "--db", "empty.db", "--within", "0d"), "within="),
        (("history", "--db", "empty.db", "Nope", "x"), "unknown record type"),
        (("check", "--db", "empty.db", "-"), "the code is empty"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 200)
    run("init", "--db", "empty.db", cwd=tmp_path)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_import_a_tiktok_response(tmp_path: Path) -> None:
    from .test_tiktok import ADVERTISER, CODE, envelope, item

    run("demo", cwd=tmp_path)
    (tmp_path / "info.json").write_text(json.dumps(envelope(item())))
    first = run("import", "info.json", "--advertiser", ADVERTISER, cwd=tmp_path)
    assert first.returncode == 0 and "4 new entries" in first.stdout
    again = run("import", "-", "--advertiser", ADVERTISER, cwd=tmp_path, stdin=json.dumps(item()))
    assert again.returncode == 0 and "0 new entries" in again.stdout
    refused = run("import", "info.json", "--advertiser", "nope", cwd=tmp_path)
    assert refused.returncode == 2 and "not in the ledger" in refused.stderr
    assert CODE not in first.stdout + again.stdout + refused.stderr


def test_export_csv_and_json_then_import_the_csv(tmp_path: Path) -> None:
    run("demo", cwd=tmp_path)
    exported = run("export", "--type", "SparkAuthorization", cwd=tmp_path)
    assert exported.returncode == 0 and exported.stdout.startswith("code_fingerprint,code_hint,id")
    (tmp_path / "auths.csv").write_text(exported.stdout)
    copy = run("import", "auths.csv", "--type", "SparkAuthorization", cwd=tmp_path)
    assert copy.returncode == 0 and "0 new entries, 9 unchanged" in copy.stdout
    assert run("import", "auths.csv", cwd=tmp_path).returncode == 2
    whole = run("export", cwd=tmp_path)
    assert len(json.loads(whole.stdout)["entries"]) == 46
    assert all(code not in exported.stdout + whole.stdout for code in SAMPLE_CODES.values())
