"""Benchmark CSV import of Spark authorizations: time and peak memory (run on demand).

cd benchmarks && python bench_csv.py [--n 1000000] [--profile]

Prints wall-clock and CPU time (``time.process_time()``, this process only: steadier on a
shared machine) of ``Ledger.import_csv``, then of ``io.read_csv`` alone over the same file
(the CSV side: rows to records, nothing written); ``--profile`` adds a cProfile summary of
the import.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import resource
import tempfile
import time
from pathlib import Path

from bench_ledger import CREATORS, POSTS_PER_CREATOR, T0, world

import delvia_ledger as dl
from delvia_ledger.convert import format_time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="a cProfile summary of the import")
    args = parser.parse_args()
    n = args.n
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "auths.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["code", "creator_id", "post_id", "starts_at", "expires_at", "ad_account_id"]
        )
        start, end = format_time(T0), format_time(T0.replace(year=2027))
        for i in range(n):
            c, p = i % CREATORS, (i // CREATORS) % POSTS_PER_CREATOR
            writer.writerow(
                [
                    f"#csv-code-{i:012d}=",
                    f"c{c}",
                    f"73{c:08d}{p:04d}",
                    start,
                    end,
                    "6900000000000000001",
                ]
            )
    ledger = dl.Ledger.open(tmp / "ledger.db", clock=lambda: T0)
    ledger.record_all(world())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profile = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    with path.open(newline="") as source:
        if profile is not None:
            profile.enable()
        result = ledger.import_csv(dl.SparkAuthorization, source)
        if profile is not None:
            profile.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert result.written == n
    print(f"CSV rows: {n:,} ({path.stat().st_size / 2**20:.0f} MiB)")
    print(f"import_csv: {elapsed:.1f} s = {elapsed / n * 1e6:.1f} us/row")
    print(f"import_csv, CPU time: {cpu:.1f} s = {cpu / n * 1e6:.1f} us/row")
    print(f"peak RSS: {peak:.0f} MiB (before the import: {before:.0f} MiB)")
    cpu = time.process_time()
    assert sum(1 for _ in dl.io.read_csv(dl.SparkAuthorization, path)) == n
    cpu = time.process_time() - cpu
    print(f"read_csv alone, CPU time: {cpu:.1f} s = {cpu / n * 1e6:.1f} us/row")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
