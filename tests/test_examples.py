"""Every notebook in examples/ runs top to bottom, and its plots render; the quickstart runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from delvia_ledger.demo import SAMPLE_CODES

EXAMPLES = Path(__file__).parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {"weekly_access_check", "embedding_and_audit"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = json.dumps([o for o in outputs if o.output_type != "error"])
    assert not [code for code in SAMPLE_CODES.values() if code in shown], "a raw code was shown"
    if path.stem == "weekly_access_check":
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(images) == 2, "the expiry timeline and the findings chart did not both render"
        assert any("text/html" in o.get("data", {}) for o in outputs), "no table rendered"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_ask_the_library_rather_than_restate_its_rules(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert not re.search(r"\.(expires_at|starts_at|revoked_at)\s*[<>]=?", code), (
        "the notebook compares times itself; use the findings, dl.frames or dl.plot"
    )
    if path.stem == "weekly_access_check":
        assert "dl.plot.timeline(" in code and "to_frame(" in code


def test_quickstart_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "verify: VerifyResult(ok=True" in result.stdout
