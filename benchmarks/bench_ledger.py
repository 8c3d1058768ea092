"""Benchmark the ledger core against raw sqlite3 in the same run (run on demand, not in CI).

    python benchmarks/bench_ledger.py            # 1,000,000 authorizations
    python benchmarks/bench_ledger.py --n 100000 # a quicker run

Prints record_all vs plain executemany of the same rows into a bare table, verify() vs a bare
SHA-256 walk over the same entries, and the peak memory of the import (records from a generator).
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import delvia_ledger as dl

T0 = datetime(2026, 11, 24, tzinfo=UTC)
CREATORS = 1000
POSTS_PER_CREATOR = 10


def world() -> Iterator[dl.Creator | dl.Post | dl.AdAccount]:
    yield dl.AdAccount(id="6900000000000000001", name="Brand US", region="US")
    for c in range(CREATORS):
        yield dl.Creator(id=f"c{c}", handle=f"@creator{c}", region="US")
        for p in range(POSTS_PER_CREATOR):
            yield dl.Post(id=f"73{c:08d}{p:04d}", creator_id=f"c{c}", kind="VIDEO")


def authorizations(n: int) -> Iterator[dl.SparkAuthorization]:
    for i in range(n):
        c, p = i % CREATORS, (i // CREATORS) % POSTS_PER_CREATOR
        start = T0 - timedelta(days=i % 300)
        yield dl.SparkAuthorization.from_code(
            f"#spark-code-{i:012d}=",
            creator_id=f"c{c}",
            post_id=f"73{c:08d}{p:04d}",
            starts_at=start,
            expires_at=start + timedelta(days=(7, 30, 60, 365)[i % 4]),
            ad_account_id="6900000000000000001",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument(
        "--memory", action="store_true", help="trace peak memory (slows the import)"
    )
    n = parser.parse_args().n
    tmp = Path(tempfile.mkdtemp())

    ledger = dl.Ledger.open(tmp / "ledger.db", clock=lambda: T0)
    ledger.record_all(world())
    tracemalloc.start() if "--memory" in sys.argv else None
    start = time.perf_counter()
    result = ledger.record_all(authorizations(n))
    t_ledger = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    assert result.written == n

    start = time.perf_counter()
    for _ in authorizations(n):
        pass
    t_build = time.perf_counter() - start

    rows = ledger._store.conn.execute(
        "SELECT seq, recorded_at, type, id, payload, payload_hash, prev_hash, hash FROM entries"
    ).fetchall()
    insert = "INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)"

    def raw_insert(name: str, rows: list[tuple[object, ...]], batches: int) -> float:
        """Time plain executemany of ``rows`` into a bare table (in slices of ``batches``)."""
        raw = sqlite3.connect(tmp / f"{name}.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute(
            "CREATE TABLE entries (seq INTEGER PRIMARY KEY, recorded_at TEXT, type TEXT, "
            "id TEXT, payload TEXT, payload_hash TEXT, prev_hash TEXT, hash TEXT)"
        )
        start = time.perf_counter()
        raw.execute("BEGIN")
        for first in range(0, len(rows), batches):
            raw.executemany(insert, rows[first : first + batches])
        raw.execute("COMMIT")
        return time.perf_counter() - start

    # The baseline is the faster of one executemany and slices of 2,000 (the ledger's batch),
    # which measures faster here: the ratio is taken against the best plain insert.
    t_one = raw_insert("raw_one", rows, len(rows))
    t_sliced = raw_insert("raw_sliced", rows, 2000)
    t_raw = min(t_one, t_sliced)
    raw = sqlite3.connect(tmp / ("raw_one.db" if t_one <= t_sliced else "raw_sliced.db"))
    del rows

    start = time.perf_counter()
    verdict = ledger.verify()
    t_verify = time.perf_counter() - start
    assert verdict.ok
    start = time.perf_counter()
    assert ledger.verify(deep=True).ok
    t_deep = time.perf_counter() - start

    start = time.perf_counter()
    prev = "0" * 64
    for seq, stamp, type_, id_, payload in raw.execute(
        "SELECT seq, recorded_at, type, id, payload FROM entries ORDER BY seq"
    ):
        digest = hashlib.sha256(payload.encode()).hexdigest()
        prev = hashlib.sha256(
            f"{prev}\n{seq}\n{stamp}\n{type_}\n{id_}\n{digest}".encode()
        ).hexdigest()
    t_walk = time.perf_counter() - start

    us = lambda t: t / n * 1e6  # noqa: E731
    print(f"authorizations:                 {n:,}")
    print(
        f"raw executemany (bare table):   {us(t_raw):6.2f} us/row  "
        f"(one call {us(t_one):.2f}, slices of 2,000 {us(t_sliced):.2f})"
    )
    print(f"building the records alone:     {us(t_build):6.2f} us/row")
    print(
        f"ledger.record_all (incl. build):{us(t_ledger):6.2f} us/row  "
        f"-> {t_raw / t_ledger:.2f}x the raw insert rate (goal >= 0.25x)"
    )
    print(
        f"ledger.record_all (excl. build):{us(t_ledger - t_build):6.2f} us/row  "
        f"-> {t_raw / (t_ledger - t_build):.2f}x"
    )
    print(f"peak RSS after the import:      {rss:6.1f} MiB (goal < 400 MB)")
    if "--memory" in sys.argv:
        print(f"peak traced Python allocations: {peak / 2**20:6.1f} MiB")
    print(f"bare SHA-256 walk:              {us(t_walk):6.2f} us/row")
    print(
        f"ledger.verify():                {us(t_verify):6.2f} us/row  "
        f"-> {t_walk / t_verify:.2f}x the bare walk (goal >= 0.5x)"
    )
    print(f"ledger.verify(deep=True):       {us(t_deep):6.2f} us/row  (no goal)")


if __name__ == "__main__":
    main()
