"""Every page of the docs and the README runs as pasted: each file's snippets, in order, in a
fresh interpreter with no fixtures (``python -m doctest``), from the repository's root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_page_runs_as_pasted(page: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "doctest", str(page)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
