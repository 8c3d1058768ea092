"""``delvia-ledger sync``, ``import --creator`` and ``check --live`` in a subprocess, against the
fake TikTok API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import delvia_ledger as dl
from tests.fake_tiktok import (
    ADVERTISER,
    TOKEN,
    FakeTikTok,
    fake_tiktok_fixture,  # noqa: F401 (the fake_tiktok fixture)
    make_items,
)

EXE = shutil.which("delvia-ledger")
pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")
OTHER = "7000000000000000002"


def run(*args: str, db: Path, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    env.update(NO_PROXY="127.0.0.1", DELVIA_LEDGER_DB=str(db))
    if token is not None:
        env["TIKTOK_ACCESS_TOKEN"] = token
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "access.db"
    with dl.Ledger.open(path) as ledger:
        ledger.record_all(
            [
                dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"),
                dl.AdAccount(id=OTHER, name="Brand GB", region="GB"),
            ]
        )
    return path


def test_sync_two_advertisers_prints_a_summary_each_and_exits_0(
    db: Path, fake_tiktok: FakeTikTok
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(120)
    fake_tiktok.items[OTHER] = make_items(30)
    url = fake_tiktok.url
    done = run("sync", "--advertiser", ADVERTISER, "--advertiser", OTHER, "--base-url", url, db=db)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"advertiser {ADVERTISER}: 3 pages, 120 items, 400 written")
    assert lines[1].startswith(f"advertiser {OTHER}: 1 page, 30 items")
    again = run("sync", "--advertiser", ADVERTISER, "--base-url", url, db=db)
    assert again.returncode == 0 and ", 0 written, 400 unchanged, 0 unbound" in again.stdout
    output = done.stdout + done.stderr + again.stdout + again.stderr
    assert TOKEN not in output and "#fake-spark" not in output


def test_sync_failures_exit_2_with_tiktoks_code_and_the_other_advertisers_go_on(
    db: Path, fake_tiktok: FakeTikTok
) -> None:
    fake_tiktok.items[OTHER] = make_items(5)
    del fake_tiktok.items[ADVERTISER]  # not served: TikTok answers 40001 (no permission)
    done = run(
        "sync",
        "--advertiser",
        ADVERTISER,
        "--advertiser",
        OTHER,
        "--base-url",
        fake_tiktok.url,
        db=db,
    )
    assert done.returncode == 2
    [error] = done.stderr.splitlines()
    assert error.startswith(f"delvia-ledger sync: advertiser {ADVERTISER}: TikTok API error 40001")
    assert "request id fake-" in error
    assert done.stdout.startswith(f"advertiser {OTHER}: 1 page, 5 items")


def test_sync_with_a_bad_token_exits_2_at_once_without_the_token(
    db: Path, fake_tiktok: FakeTikTok
) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(5)
    before = dl.Ledger.open(db).digest()
    done = run(
        "sync",
        "--advertiser",
        ADVERTISER,
        "--base-url",
        fake_tiktok.url,
        db=db,
        token="bad-tok-123",
    )
    assert done.returncode == 2 and "40105" in done.stderr and "bad-tok-123" not in done.stderr
    assert len(fake_tiktok.requests) == 1
    assert dl.Ledger.open(db).digest() == before


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (["--advertiser", ADVERTISER], None, "set $TIKTOK_ACCESS_TOKEN"),
        (
            ["--advertiser", ADVERTISER, "--access-token", "tok-on-cli"],
            TOKEN,
            "never put the access token",
        ),
        ([], TOKEN, "--advertiser"),
        (["--advertiser", "7000000000000000009"], TOKEN, "is not in the ledger"),
        (["--advertiser", ADVERTISER, "--advertiser", " "], TOKEN, "' ' is not an ad account id"),
        (
            ["--advertiser", ADVERTISER, "--base-url", "ftp://x"],
            TOKEN,
            "base_url must be an http(s) URL",
        ),
    ],
)
def test_sync_usage_errors_are_one_line_and_exit_2(
    db: Path, fake_tiktok: FakeTikTok, args: list[str], token: str | None, message: str
) -> None:
    if "--base-url" not in args:
        args = [*args, "--base-url", fake_tiktok.url]
    done = run("sync", *args, db=db, token=token)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr and "tok-on-cli" not in done.stderr
    assert fake_tiktok.requests == []


def test_import_a_creator_side_response(db: Path, tmp_path: Path) -> None:
    with dl.Ledger.open(db) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="maya", handle="maya.makes", region="US"),
                dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            ]
        )
    response = {
        "code": 0,
        "message": "OK",
        "data": {
            "item_id": "7301",
            "auth_code": "#creator-side-code=",
            "auth_code_start_time": "2026-11-01 00:00:00",
            "auth_code_end_time": "2026-12-01 00:00:00",
            "authorization_days": 30,
            "auth_code_status": "IN_USE",
        },
    }
    path = tmp_path / "status.json"
    path.write_text(json.dumps(response))
    done = run("import", str(path), "--creator", "maya", db=db)
    assert done.returncode == 0, done.stderr
    assert "1 new entry," in done.stdout and "#creator-side-code=" not in done.stdout
    assert dl.Ledger.open(db).authorization_for("#creator-side-code=") is not None
    missing = run("import", str(path), db=db)
    assert missing.returncode == 2 and "--creator" in missing.stderr


def test_check_live_asks_tiktok_about_an_unknown_code(db: Path, fake_tiktok: FakeTikTok) -> None:
    fake_tiktok.items[ADVERTISER] = make_items(2)
    base = ["--account", ADVERTISER, "--base-url", fake_tiktok.url]
    done = run("check", "#fake-spark-00000001=", "--live", *base, db=db)
    assert done.returncode == 1  # unknown to the ledger is an ERROR: record it or sync
    assert "TikTok knows it" in done.stdout and "#fake-spark" not in done.stdout
    no_account = run("check", "#fake-spark-00000001=", "--live", db=db)
    assert no_account.returncode == 2 and "--account" in no_account.stderr
