"""``delvia-ledger sync`` in a subprocess against the fake TikTok over real HTTP: ads by default,
``--no-ads``, the mass-unbind hold and ``--allow-mass-unbind``, throttling said on stderr."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import delvia_ledger as dl
from tests.fake_tiktok import ADVERTISER, TOKEN, FakeTikTok, make_adgroups, make_ads, make_items

EXE = shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    posts = make_items(60)
    with FakeTikTok(items={ADVERTISER: posts}) as started:
        started.ads[ADVERTISER] = make_ads(posts[:10])
        started.adgroups[ADVERTISER] = make_adgroups()
        yield started


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "access.db"
    with dl.Ledger.open(path) as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
    return path


def sync(fake: FakeTikTok, db: Path, *options: str) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    env.update(NO_PROXY="127.0.0.1", DELVIA_LEDGER_DB=str(db), TIKTOK_ACCESS_TOKEN=TOKEN)
    return subprocess.run(
        [EXE, "sync", "--advertiser", ADVERTISER, "--base-url", fake.url, *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_sync_records_spark_ads_by_default_and_not_with_no_ads(
    fake: FakeTikTok, db: Path, tmp_path: Path
) -> None:
    done = sync(fake, db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("; 10 Spark Ads, 0 ended, 0 without a code")
    with dl.Ledger.open(db) as ledger:
        assert len(list(ledger.records(dl.SparkAd))) == 10
    other = tmp_path / "no-ads.db"
    with dl.Ledger.open(other) as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
    fake.requests.clear()
    done = sync(fake, other, "--no-ads")
    assert done.returncode == 0 and "Spark Ad" not in done.stdout
    assert fake.requests_for(path="ad/get/") == []


def test_a_mass_unbind_is_held_then_accepted_with_the_flag(fake: FakeTikTok, db: Path) -> None:
    assert sync(fake, db, "--no-ads").returncode == 0
    del fake.items[ADVERTISER][:20]
    held = sync(fake, db, "--no-ads")
    assert held.returncode == 0, held.stderr
    assert held.stdout.rstrip().endswith("0 unbound, 0 skipped (held: nothing unbound)")
    assert "would unbind 20 of the 60 bound codes" in held.stderr
    assert "--allow-mass-unbind" in held.stderr
    accepted = sync(fake, db, "--no-ads", "--allow-mass-unbind")
    assert accepted.returncode == 0 and ", 20 unbound," in accepted.stdout
    assert TOKEN not in held.stdout + held.stderr + accepted.stdout + accepted.stderr


def test_throttling_is_said_on_stderr_and_max_backoff_0_gives_up_at_once(
    fake: FakeTikTok, db: Path
) -> None:
    fake.throttle(2, http_429=True, retry_after=0)
    done = sync(fake, db, "--no-ads")
    assert done.returncode == 0, done.stderr
    waits = [line for line in done.stderr.splitlines() if "waiting" in line]
    assert len(waits) == 2
    assert waits[0].startswith(
        f"delvia-ledger sync: GET tt_video/list/ page 1, advertiser {ADVERTISER}"
    )
    assert "of at most 300 s in all" in waits[0]
    fake.throttle(1)
    stopped = sync(fake, db, "--no-ads", "--max-backoff", "0")
    assert stopped.returncode == 2
    assert "retry later" in stopped.stderr and "00:00 UTC" in stopped.stderr
