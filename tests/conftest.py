"""Fixtures: a ledger in a real SQLite file under tmp_path, with a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings

import delvia_ledger as dl

# Time per example is no property of ours: these machines are shared and noisy.
settings.register_profile("delvia", deadline=None)
settings.load_profile("delvia")

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Iterator[dl.Ledger]:
    with dl.Ledger.open(tmp_path / "ledger.db", clock=clock) as opened:
        yield opened
