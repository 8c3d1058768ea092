"""Names every doctest (in the package and in docs/) can use: a temporary folder and a clock."""

from datetime import UTC, datetime
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object], tmp_path: Path) -> None:
    doctest_namespace["tmp_path"] = tmp_path
    doctest_namespace["fixed_clock"] = lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
