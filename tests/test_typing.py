"""The installed package is typed for its users: a script using the public API passes
``mypy --strict`` from outside the repository (``py.typed`` ships, editable installs too)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy comes with the test extra")

SCRIPT = """
from datetime import UTC, datetime
from pathlib import Path

import delvia_ledger as dl


def weekly_check(path: Path) -> list[str]:
    ledger = dl.Ledger.open(path, clock=lambda: datetime(2026, 11, 24, tzinfo=UTC))
    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya.makes", region="US"),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            dl.SparkAuthorization.from_code(
                "#example-code=", creator_id="maya", post_id="7301",
                starts_at="2026-11-01T00:00:00Z", expires_at="2026-11-28T00:00:00Z",
            ),
        ]
    )
    findings: list[dl.Finding] = ledger.findings(within="7d")
    reminders: list[dl.Reminder] = ledger.reminders(within="14d")
    digest: dl.Digest = ledger.digest()
    result: dl.VerifyResult = ledger.verify(digest=digest)
    diagnosis: dl.Diagnosis = ledger.diagnose("#example-code=", post_id="7301")
    kinds: list[dl.FindingKind] = [f.kind for f in findings]
    explained = dl.explain_error(4025)
    assert result.ok and diagnosis.steps and reminders is not None
    return [k.value for k in kinds] + ([explained.remedy] if explained else [])
"""


def test_a_users_script_type_checks_strictly(tmp_path: Path) -> None:
    (tmp_path / "weekly.py").write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "weekly.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
