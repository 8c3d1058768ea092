"""The command line on each backend: the main job on a file and on a PostgreSQL server, with
the server's password in no output."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from .builders import EXE
from .conftest import Backend

pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")


def run(backend: Backend, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    return subprocess.run(
        [EXE, "--db", backend.location, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_main_job_runs_the_same_on_each_backend(backend: Backend, tmp_path: Path) -> None:
    said: list[str] = []

    def ok(*args: str, code: int = 0) -> str:
        done = run(backend, *args, cwd=tmp_path)
        said.append(done.stdout + done.stderr)
        assert done.returncode == code, (args, done.stderr)
        return done.stdout

    demo = ok("demo")
    assert "46 entries" in demo and "Next: delvia-ledger --db" in demo
    report = json.loads(ok("report", "--json", code=1))  # the sample has ERRORs on purpose
    assert {f["kind"] for f in report} >= {"EXPIRED", "REVOKED", "EXPIRING"}
    assert "ok: 46 entries verified" in ok("verify", "--deep")
    assert "owner_id: p_ana" in ok("history", "SparkAuthorization", "auth_future")
    assert "new" in ok("changes", "--since", "3")
    assert len(json.loads(ok("export"))["entries"]) == 46
    if backend.name == "postgres":  # a server's entries are never deleted: no second sample
        again = run(backend, "demo", cwd=tmp_path)
        assert again.returncode == 2 and "already holds 46 entries" in again.stderr
        said.append(again.stdout + again.stderr)
        password = urllib.parse.urlsplit(backend.location).password
        assert password and not any(password in text for text in said)
