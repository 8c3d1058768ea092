"""Benchmark reminders() and changes() beside findings() in the same run (on demand, not in CI).

python benchmarks/bench_reminders.py            # the 1,000,000-code ledger of bench_checks.py
python benchmarks/bench_reminders.py --n 100000

Builds the ledger once (bench_checks' codes, plus 50 people with roles and owners on a third
of the codes), records a week of events (1,000 extensions, 100 revocations, an offboarding),
then times each query in its own fresh process on that file, so each peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice
from pathlib import Path

import attrs
from bench_checks import authorizations
from bench_ledger import T0, world

import delvia_ledger as dl

ACCOUNT = "6900000000000000001"
PEOPLE = 50
WEEK = timedelta(days=7)


def team() -> Iterator[dl.Record]:
    for p in range(PEOPLE):
        yield dl.Person(id=f"p{p}", name=f"Person {p}", email=f"p{p}@brand.example")
        role = "ADMIN" if p < 3 else "OPERATOR"
        yield dl.RoleGrant(
            id=f"g{p}",
            person_id=f"p{p}",
            scope=f"ad_account:{ACCOUNT}",
            role=role,
            granted_at=T0 - 400 * timedelta(days=1),
        )


def owned(n: int) -> Iterator[dl.SparkAuthorization]:
    for i, auth in enumerate(authorizations(n)):
        yield attrs.evolve(auth, owner_id=f"p{i % PEOPLE}") if i % 3 == 0 else auth


def build(path: Path, n: int) -> tuple[str, float]:
    """The ledger at ``path`` and a digest taken a week before its clock's now."""
    now = [T0]
    ledger = dl.Ledger.open(path, clock=lambda: now[0])
    start = time.perf_counter()
    ledger.record_all(world())
    ledger.record_all(team())
    ledger.record_all(owned(n))
    digest = str(ledger.digest())
    now[0] = T0 + WEEK
    auths = list(islice(ledger.records(dl.SparkAuthorization), 1100))
    with ledger.transaction():
        for auth in auths[:1000]:
            ledger.record(attrs.evolve(auth, expires_at=auth.expires_at + 30 * timedelta(days=1)))
        for auth in auths[1000:]:
            if auth.revoked_at is None:
                ledger.record(attrs.evolve(auth, revoked_at=T0 + 3 * timedelta(days=1)))
    ledger.offboard("p7", at=T0 + 5 * timedelta(days=1)).apply()
    ledger.close()
    return digest, time.perf_counter() - start


def measure(db: str, query: str, digest: str) -> None:
    """In a fresh process: run ``query`` twice, print its best time and this process's RSS."""
    ledger = dl.Ledger.open(db, clock=lambda: T0 + WEEK)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs, size = [], 0
    for _ in range(2):
        start = time.perf_counter()
        if query == "findings":
            size = len(ledger.findings(within="14d"))
        elif query == "reminders":
            size = sum(len(r.findings) for r in ledger.reminders(within="14d"))
        else:
            found = ledger.changes(since=digest, within="14d")
            size = len(found.entries) + len(found.new) + len(found.resolved) + len(found.changed)
        runs.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": min(runs), "size": size, "rss_before": before, "rss_peak": peak}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--measure", choices=["findings", "reminders", "changes"])
    parser.add_argument("--db")
    parser.add_argument("--digest")
    args = parser.parse_args()
    if args.measure:
        measure(args.db, args.measure, args.digest)
        return
    db = Path(tempfile.mkdtemp()) / "ledger.db"
    digest, built = build(db, args.n)
    print(f"authorizations: {args.n:,}; built and a week recorded in {built:.0f} s")
    results = {}
    for query in ("findings", "reminders", "changes"):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", query, "--db", str(db), "--digest", digest],
            capture_output=True,
            text=True,
            check=True,
        )
        results[query] = json.loads(out.stdout)
    base = results["findings"]["seconds"]
    for query, r in results.items():
        print(
            f"ledger.{query + '()':<12} {r['seconds']:7.2f} s  {r['seconds'] / base:5.2f}x findings()"
            f"  ({r['size']:,} items; peak RSS {r['rss_peak']:,.0f} MiB, "
            f"{r['rss_peak'] - r['rss_before']:,.0f} MiB above the open ledger)"
        )


if __name__ == "__main__":
    main()
