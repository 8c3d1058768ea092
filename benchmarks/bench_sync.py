"""Benchmark a sync sweep: 10,000 posts (200 pages of 50) from the fake TikTok API over HTTP,
then the ledger side: a sweep of unchanged posts against re-importing the same 200 pages.

PYTHONPATH=. python benchmarks/bench_sync.py [--items 10000] [--runs 3]   (from the repo root)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import attrs
import httpx

import delvia_ledger as dl
from delvia_ledger.sync import TikTokClient, VideoPage
from tests.fake_tiktok import ADVERTISER, TOKEN, FakeTikTok, make_items


@attrs.frozen
class Sweep:
    """What one sweep fetched and how long it took."""

    pages: int
    items: int
    seconds: float

    @property
    def us_per_item(self) -> float:
        return self.seconds / self.items * 1e6

    @property
    def requests_per_second(self) -> float:
        return self.pages / self.seconds


def start_fake(items: int, *, advertiser: str = ADVERTISER) -> tuple[FakeTikTok, str]:
    """A started fake TikTok API serving ``items`` generated posts (stop it with ``.stop()``)."""
    fake = FakeTikTok(items={advertiser: make_items(items)}).start()
    return fake, fake.url


def client_sweep(base_url: str, *, advertiser: str = ADVERTISER) -> tuple[Sweep, list[VideoPage]]:
    """One complete sweep through ``TikTokClient.iter_video_pages``, and its pages."""
    with TikTokClient(TOKEN, base_url=base_url) as client:
        started = time.perf_counter()
        pages = list(client.iter_video_pages(advertiser))
        seconds = time.perf_counter() - started
    return Sweep(len(pages), sum(len(page.items) for page in pages), seconds), pages


def raw_sweep(base_url: str, *, advertiser: str = ADVERTISER) -> Sweep:
    """The baseline: the same pages with bare ``httpx.Client.get`` and ``.json()``, no retries."""
    with httpx.Client(base_url=base_url, headers={"Access-Token": TOKEN}) as http:
        started = time.perf_counter()
        number, total, items = 1, 1, 0
        while number <= total:
            params: dict[str, str | int] = {
                "advertiser_id": advertiser,
                "page": number,
                "page_size": 50,
            }
            data = http.get("tt_video/list/", params=params).json()["data"]
            items += len(data["list"] or [])
            total = data["page_info"]["total_page"]
            number += 1
        seconds = time.perf_counter() - started
    return Sweep(number - 1, items, seconds)


def ledger_side(base_url: str, pages: list[VideoPage], folder: Path, run: int) -> str:
    """A first sync, then an unchanged sync and a re-import of the same pages, timed.

    The ledger side of a sync is its time less a bare client sweep measured right after it.
    """
    with dl.Ledger.open(folder / f"sync-{run}.db") as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
        with TikTokClient(TOKEN, base_url=base_url) as client:
            started = time.perf_counter()
            first = ledger.sync_tiktok(client, ADVERTISER)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = ledger.sync_tiktok(client, ADVERTISER)
            again_s = time.perf_counter() - started
        http = client_sweep(base_url)[0].seconds
        started = time.perf_counter()
        reimported = [
            ledger.import_tiktok(dict(page.data), advertiser_id=ADVERTISER) for page in pages
        ]
        reimport_s = time.perf_counter() - started
    assert again.written == 0 and sum(r.written for r in reimported) == 0, (again, reimported)
    items = first.items
    unchanged_ledger = again_s - http
    return (
        f"  ledger: first sync {first_s:.2f} s ({first.written:,} written, "
        f"{first_s / items * 1e6:.0f} us/item) | unchanged sync {again_s:.2f} s, of which the "
        f"ledger side {unchanged_ledger:.2f} s ({unchanged_ledger / items * 1e6:.0f} us/item) | "
        f"re-import of the same {len(pages)} pages {reimport_s:.2f} s "
        f"({reimport_s / items * 1e6:.0f} us/item) | ledger side / re-import "
        f"{unchanged_ledger / reimport_s:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    fake, base_url = start_fake(args.items)
    try:
        raw_sweep(base_url)  # warm up both sides once
        print(f"{args.items:,} posts, pages of 50, fake TikTok API in this process (127.0.0.1)")
        for run in range(1, args.runs + 1):
            raw = raw_sweep(base_url)
            sweep, pages = client_sweep(base_url)
            assert sweep.items == raw.items == args.items, (sweep, raw)
            print(
                f"run {run}: client {sweep.seconds:.2f} s, {sweep.us_per_item:.1f} us/item, "
                f"{sweep.requests_per_second:.0f} requests/s | raw httpx {raw.seconds:.2f} s, "
                f"{raw.us_per_item:.1f} us/item, {raw.requests_per_second:.0f} requests/s | "
                f"client/raw {sweep.seconds / raw.seconds:.2f}x the time"
            )
            with tempfile.TemporaryDirectory() as folder:
                print(ledger_side(base_url, pages, Path(folder), run))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
