"""Benchmark erasure and the write path with sources and salts (issue 26; on demand, not in CI).

    python benchmarks/bench_erasure.py erase --entries 1000000      # one creator, 1,000 versions
    python benchmarks/bench_erasure.py erase --person                # one person, 1,000 notices
    python benchmarks/bench_erasure.py write --n 100000 --before DIR  # record_all, this tree vs DIR

``erase`` builds a ledger of ``--entries`` entries once (record_all, the fast path), in which
one creator has ``--versions`` versions spread over the whole chain, then times
``ledger.erase`` of that creator on fresh copies of the file (best of ``--rounds``), and the
same ledger's ``verify()`` for scale.

``write`` times ``record_all`` of ``--n`` creators with personal data (salted) and ``--n``
ad accounts (not) into a new file, in a fresh process per run, alternating this tree with the
tree at ``--before`` (a directory holding another ``delvia_ledger`` package, e.g. unpacked
with ``git archive 74db43c delvia_ledger | tar -x -C /tmp/before``); best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HERE = Path(__file__).resolve().parent.parent


def history(entries: int, versions: int, person: bool = False) -> Iterator[Any]:
    """``entries`` records: ad accounts, and every ``entries // versions`` one a new version of
    creator ``maya`` (a new display name), with one post of hers among the first; or, with
    ``person``, a notice to person ``ana`` as schema version 6 recorded one (its channel
    naming her address), which erasing her redacts (issue 26)."""
    import delvia_ledger as dl

    every = max(1, entries // versions)
    if person:
        yield dl.Person(id="ana", name="Ana Ops", email="ana@brand.example")
        for i in range(1, entries):
            if i % every == 0 and i // every < versions:
                yield dl.Notice(
                    person_id="ana",
                    channel="email:ana@brand.example",
                    sent_at=T0 + timedelta(hours=i),
                    finding_keys=(f"EXPIRING/authorization=a{i}",),
                )
            else:
                yield dl.AdAccount(id=f"69{i:012d}", name=f"Account {i}", region="US")
        return
    yield dl.Creator(id="maya", handle="maya.makes", display_name="Maya 0", region="US")
    yield dl.Post(id="7301", creator_id="maya", kind="VIDEO", caption="sunset over lisbon")
    for i in range(2, entries):
        if i % every == 0 and i // every < versions:
            yield dl.Creator(
                id="maya", handle="maya.makes", display_name=f"Maya {i // every}", region="US"
            )
        else:
            yield dl.AdAccount(id=f"69{i:012d}", name=f"Account {i}", region="US")


def erase_benchmark(args: argparse.Namespace) -> None:
    import delvia_ledger as dl

    folder = Path(tempfile.mkdtemp())
    built = folder / "built.db"
    started = time.perf_counter()
    with dl.Ledger.open(built, clock=lambda: T0) as ledger:
        ledger.record_all(history(args.entries, args.versions, args.person))
        assert ledger.seq == args.entries, ledger.seq
        ledger._store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
    print(f"built {args.entries:,} entries in {time.perf_counter() - started:.1f} s")
    timings, verify = [], 0.0
    for n in range(args.rounds):
        copy = folder / f"copy{n}.db"
        shutil.copy(built, copy)
        with dl.Ledger.open(copy, clock=lambda: T0 + timedelta(days=400)) as ledger:
            started = time.perf_counter()
            subject: Any = (dl.Person, "ana") if args.person else (dl.Creator, "maya")
            done = ledger.erase(*subject, reason="GDPR request", by="dpo")
            timings.append(time.perf_counter() - started)
            if n == 0:
                started = time.perf_counter()
                assert ledger.verify().ok
                verify = time.perf_counter() - started
        copy.unlink()
    print(
        f"erase one {'person' if args.person else 'creator'} ({len(done.redacted):,} entries "
        f"redacted) in a "
        f"{args.entries:,}-entry ledger: {min(timings):.3f} s (best of {args.rounds}; "
        f"{', '.join(f'{t:.3f}' for t in timings)}); verify() of the same ledger {verify:.1f} s"
    )
    shutil.rmtree(folder)


WRITE = """
import sys, tempfile, time
from pathlib import Path
import delvia_ledger as dl
n = int(sys.argv[1])
creators = [dl.Creator(id=f"c{i}", handle=f"creator{i}", display_name=f"C {i}", region="US")
            for i in range(n)]
accounts = [dl.AdAccount(id=f"69{i:012d}", name=f"Account {i}", region="US") for i in range(n)]
folder = Path(tempfile.mkdtemp())
with dl.Ledger.open(folder / "a.db") as ledger:
    started = time.perf_counter()
    ledger.record_all(creators)
    salted = time.perf_counter() - started
    started = time.perf_counter()
    ledger.record_all(accounts)
    plain = time.perf_counter() - started
print(salted, plain)
"""


def run_write(tree: Path, n: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", WRITE, str(n)], env=env, capture_output=True, text=True, check=True
    )
    salted, plain = out.stdout.split()
    return float(salted), float(plain)


def write_benchmark(args: argparse.Namespace) -> None:
    trees = {"this tree": HERE, "before": Path(args.before).resolve()}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):  # alternated, so both see the same machine
        for name, tree in trees.items():
            results[name].append(run_write(tree, args.n))
    best = {
        name: (min(r[0] for r in runs), min(r[1] for r in runs)) for name, runs in results.items()
    }
    for name, (salted, plain) in best.items():
        print(
            f"{name:>9}: record_all of {args.n:,} creators {salted:.2f} s "
            f"({salted / args.n * 1e6:.1f} us/record), of {args.n:,} ad accounts {plain:.2f} s "
            f"({plain / args.n * 1e6:.1f} us/record)  (best of {args.rounds})"
        )
    (now_s, now_p), (was_s, was_p) = best["this tree"], best["before"]
    print(f"ratio this/before: creators {now_s / was_s:.3f}, ad accounts {now_p / was_p:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    erase = sub.add_parser("erase")
    erase.add_argument("--entries", type=int, default=1_000_000)
    erase.add_argument("--versions", type=int, default=1000)
    erase.add_argument("--rounds", type=int, default=3)
    erase.add_argument(
        "--person",
        action="store_true",
        help="erase a person with --versions notices naming their address (as before schema 7)",
    )
    write = sub.add_parser("write")
    write.add_argument("--n", type=int, default=100_000)
    write.add_argument("--before", required=True)
    write.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    erase_benchmark(args) if args.what == "erase" else write_benchmark(args)


if __name__ == "__main__":
    main()
