"""A hostile TikTok server over real HTTP (issue 25 items 1, 2, 7): lying paging, a gzip bomb, a
drip, token echoes, non-JSON, redirects, huge texts. Every sync ends in bounded time and memory,
writes nothing, and never shows the token."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import delvia_ledger as dl
from delvia_ledger.sync import TikTokClient
from delvia_ledger.sync_wire import scrub
from tests.fake_tiktok import (
    ADVERTISER,
    TOKEN,
    FakeTikTok,
    VirtualClock,
    envelope,
    gzip_bomb,
    make_items,
)

#: What any hostile sync may take, at most, with the suite's client settings (seconds).
BOUND = 30.0


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(400 * 2**20)


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok(items={ADVERTISER: make_items(120)}) as started:
        yield started


@pytest.fixture
def synced(tmp_path: Path, fake: FakeTikTok) -> Iterator[dl.Ledger]:
    """A ledger already in step with the fake's 120 posts: a hostile sync must change nothing."""
    with dl.Ledger.open(tmp_path / "access.db") as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
        with TikTokClient(TOKEN, base_url=fake.url) as client:
            assert ledger.sync_tiktok(client, ADVERTISER).written > 0
        yield ledger


def client_of(fake: FakeTikTok, **options: Any) -> TikTokClient:
    """The suite's client: 1 s per request in all, one retry, 40 pages at most, virtual waits."""
    clock = VirtualClock()
    settings: dict[str, Any] = {
        "base_url": fake.url,
        "timeout": 1.0,
        "max_retries": 1,
        "max_pages": 40,
        "sleep": clock.sleep,
        "clock": clock,
    }
    return TikTokClient(TOKEN, **(settings | options))


HOSTILE: dict[str, Callable[[FakeTikTok, bytes], object]] = {
    "total_page always one more": lambda f, _: f.lie_about_pages("one-more"),
    "the same page for every page number": lambda f, _: f.lie_about_pages("repeat"),
    "new posts on every page, for ever": lambda f, _: f.lie_about_pages("endless"),
    "total_page 10**400": lambda f, _: f.lie_about_pages("huge"),
    "a 0.4 MB gzip bomb of 400 MiB": lambda f, b: f.respond(
        200, b, times=None, headers={"Content-Encoding": "gzip"}
    ),
    "one byte every 0.25 s": lambda f, _: f.drip(0.25),
    "the token in message": lambda f, _: f.echo_token("message", code=40002),
    "the token in request_id": lambda f, _: f.echo_token("request_id", code=40002),
    "the token as the code": lambda f, _: f.echo_token("code"),
    "the token in page_info": lambda f, _: f.echo_token("page_info"),
    "the token in item fields": lambda f, _: f.echo_token("item"),
    "the token JSON-escaped in item fields": lambda f, _: f.echo_token("escaped"),
    "the token in a throttled message": lambda f, _: f.echo_token("message", 1000, code=40100),
    "not JSON": lambda f, _: f.break_page(1, invalid_json=True),
    "a redirect elsewhere": lambda f, _: f.respond(
        302, b"", times=None, headers={"Location": "http://127.0.0.1:9/steal"}
    ),
    "a 5 MB message with line feeds": lambda f, _: f.respond(
        200, envelope(40002, "forged\nline " * 400_000), times=None
    ),
}


@pytest.mark.parametrize("mode", list(HOSTILE))
def test_a_hostile_server_cannot_hold_grow_write_or_leak(
    mode: str,
    fake: FakeTikTok,
    synced: dl.Ledger,
    bomb: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    HOSTILE[mode](fake, bomb)
    before = synced.digest()
    caplog.set_level(logging.DEBUG)  # httpx's and httpcore's loggers too
    tracemalloc.start()
    started = time.monotonic()
    outcome: object
    try:
        with client_of(fake) as client:
            outcome = synced.sync_tiktok(client, ADVERTISER)
    except (dl.LedgerError, ValueError) as error:
        outcome = error
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < BOUND
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB"  # the bomb alone would be 400 MiB
    assert synced.digest() == before  # nothing written, nothing unbound
    if isinstance(outcome, dl.SyncResult):
        assert outcome.unbound == 0 and outcome.written == 0
    texts = [repr(outcome), str(outcome)]
    if isinstance(outcome, BaseException):
        texts.append("".join(traceback.format_exception(outcome)))
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert TOKEN not in text
    if isinstance(outcome, BaseException):
        assert "\n" not in str(outcome)  # a server cannot forge lines in what we print
    assert len(str(outcome)) < 2_000  # a server's text is quoted capped


def test_the_expected_refusals_say_what_happened(
    fake: FakeTikTok, synced: dl.Ledger, bomb: bytes
) -> None:
    """Each bound has its own clear error (not a generic failure)."""
    expected = {
        "the same page for every page number": "lists the very same entries as page 1",
        "new posts on every page, for ever": "total_page is 41, more than max_pages=40",
        "total_page 10**400": "more than max_pages=40",
        "a 0.4 MB gzip bomb of 400 MiB": "gzip-compressed answer is longer than 8,388,608 bytes",
        "one byte every 0.25 s": "no complete answer within 1 s",
        "a redirect elsewhere": "a redirect, which this client does not follow",
        "not JSON": "the answer is not JSON",
    }
    for mode, text in expected.items():
        with FakeTikTok(items={ADVERTISER: make_items(120)}) as hostile:
            HOSTILE[mode](hostile, bomb)
            with client_of(hostile) as client, pytest.raises(dl.TikTokAPIError) as raised:
                client.sweep_videos(ADVERTISER)
        assert text in str(raised.value), (mode, str(raised.value))


def test_a_drip_is_cut_by_the_total_deadline_not_per_read(fake: FakeTikTok) -> None:
    """Each byte comes within 0.25 s, so a per-read timeout of 1 s would wait for ever."""
    fake.drip(0.25)
    started = time.monotonic()
    with client_of(fake, max_retries=0) as client, pytest.raises(dl.TikTokAPIError):
        client.sweep_videos(ADVERTISER)
    assert time.monotonic() - started < 3.0  # one request of 1 s in all, then the error
    assert len(fake.requests) == 1


def test_an_echoed_token_never_reaches_the_pages_or_the_ledger(
    fake: FakeTikTok, synced: dl.Ledger, tmp_path: Path
) -> None:
    fake.echo_token("escaped")
    with client_of(fake) as client:
        pages = client.video_pages(ADVERTISER)
    first = pages[0].items[0]
    assert first["item_info"]["text"] == "…"
    assert TOKEN not in repr([page.data for page in pages])
    assert TOKEN.encode() not in (tmp_path / "access.db").read_bytes()


def test_the_scrubber_is_the_one_place_and_caps_every_text() -> None:
    token, code = "tok-4b1d9e", "#raw+code/="
    text = scrub(f"{token} %23raw%2Bcode%2F%3D {code}\r\n{'x' * 1000}", [token, code])
    assert token not in text and code not in text and "%23raw%2Bcode" not in text
    assert "\n" not in text and "\\r\\n" in text and len(text) <= 300 and text.endswith("…")
    assert scrub("x" * 299 + token, [token]).endswith("…")  # cut after removal, never inside


EXE = shutil.which("delvia-ledger")


@pytest.mark.skipif(EXE is None, reason="the package is not installed")
@pytest.mark.parametrize("where", ["message", "request_id", "code", "page_info", "item"])
def test_the_cli_never_prints_an_echoed_token(
    where: str, fake: FakeTikTok, synced: dl.Ledger, tmp_path: Path
) -> None:
    fake.echo_token(where, code=40002 if where in ("message", "request_id") else None)
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    env.update(NO_PROXY="127.0.0.1", TIKTOK_ACCESS_TOKEN=TOKEN)
    done = subprocess.run(
        [
            EXE,
            "--db",
            str(tmp_path / "access.db"),
            "sync",
            "--advertiser",
            ADVERTISER,
            "--base-url",
            fake.url,
            "--max-retries",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert done.stderr.startswith(f"delvia-ledger sync: advertiser {ADVERTISER}: ")
