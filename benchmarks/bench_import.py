"""Benchmark ``import_tiktok`` of one big ``/tt_video/list/`` page against raw sqlite3 (on demand).

PYTHONPATH=. python benchmarks/bench_import.py [--items 100000] [--runs 3] [--profile]

Each run imports the list into a fresh ledger, re-imports it unchanged, and inserts the very
entry rows the import wrote into a bare table with one ``executemany``, all in one process.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import tempfile
import time
from pathlib import Path

import delvia_ledger as dl
from tests.fake_tiktok import ADVERTISER, make_items


def raw_insert(rows: list[tuple[object, ...]], path: Path) -> float:
    """Seconds to insert ``rows`` (the ledger's own entry rows) into a bare table, one call."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE entries (seq INTEGER PRIMARY KEY, recorded_at TEXT, type TEXT, "
        "payload TEXT, hash TEXT)"
    )
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", rows)
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def run(payload: dict[str, object], items: int, folder: Path, profile: bool) -> str:
    with dl.Ledger.open(folder / "ledger.db") as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
        before = ledger.record(dl.AdAccount(id="0", name="Other", region="US")).seq
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        first = ledger.import_tiktok(payload, advertiser_id=ADVERTISER)
        if profiler:
            profiler.disable()
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = ledger.import_tiktok(payload, advertiser_id=ADVERTISER)
        again_s = time.perf_counter() - started
        rows = ledger._store.conn.execute(
            "SELECT seq, recorded_at, type, payload, hash FROM entries WHERE seq > ?", (before,)
        ).fetchall()
    assert first.written == len(rows) and again.written == 0, (first, again, len(rows))
    raw_s = raw_insert(rows, folder / "raw.db")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return (
        f"import_tiktok {first_s:.2f} s = {first_s / items * 1e6:.1f} us/item "
        f"({first.written:,} entries; goal <= 40 us/item) | raw executemany of the same rows "
        f"{raw_s:.3f} s = {raw_s / items * 1e6:.1f} us/item -> the import is "
        f"{first_s / raw_s:.1f}x the raw insert | unchanged re-import {again_s:.2f} s = "
        f"{again_s / items * 1e6:.1f} us/item"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the first import")
    args = parser.parse_args()
    payload: dict[str, object] = {
        "list": make_items(args.items),
        "page_info": {"page": 1, "page_size": args.items, "total_number": args.items},
    }
    print(f"{args.items:,} items in one /tt_video/list/ page, 40 creators")
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            print(f"run {number}: " + run(payload, args.items, Path(folder), args.profile))


if __name__ == "__main__":
    main()
