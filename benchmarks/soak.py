"""Soak test (run on demand, not in CI): writers, readers and random SIGKILLs on one ledger file.

    python benchmarks/soak.py --writers 3 --readers 1 --minutes 2

N writer processes append transactions (1-20 new creators, sometimes a new version of one of
their earlier creators) and report each one only after it committed; M reader processes query
and verify the chain on snapshots while the writers run; every few seconds one writer is
killed with SIGKILL (often mid-transaction) and started again. At the end the file must hold
every reported commit, its seqs must be gap-free, and verify(deep=True) must pass; readers
must never have seen a broken chain. Prints the figures and exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from pathlib import Path

import delvia_ledger as dl


def writer(path: str, report: str, name: str, seed: int) -> None:
    """Append transactions for ever; report each one after it has committed."""
    rng = random.Random(seed)
    ledger = dl.Ledger.open(path)
    mine: list[str] = []
    with open(report, "a", encoding="utf-8") as log:
        for n in range(10**9):
            new = [f"{name}-{n}-{i}" for i in range(rng.randint(1, 20))]
            records = [dl.Creator(id=id_, handle=f"@{id_}", region="US") for id_ in new]
            updated = []
            if mine and rng.random() < 0.3:  # a new version: exercises the supersede path
                old = rng.choice(mine)
                records.append(dl.Creator(id=old, handle=f"@{old}.v{n}", region="GB"))
                updated = [[old, f"{old}.v{n}"]]
            if rng.random() < 0.5:
                result = ledger.record_all(records, batch_size=rng.choice([1, 7, 1000]))
                last = result.last_seq
            else:
                with ledger.transaction():
                    for record in records:
                        last = ledger.record(record).seq
            # Committed: only now is it reported. A kill before this line loses the report,
            # never the entries (the file may hold more than was reported, never less).
            log.write(json.dumps({"new": new, "updated": updated, "last_seq": last}) + "\n")
            log.flush()
            mine += new


def reader(path: str, report: str, seed: int, stop_at: float) -> None:
    """Query and verify snapshots while the writers write; report what was seen."""
    rng = random.Random(seed)
    reads = verified = failures = 0
    errors: list[str] = []
    with dl.Ledger.open(path) as ledger:
        while time.time() < stop_at:
            try:
                ledger.findings(now="2026-11-24T09:00:00Z")
                ledger.get(dl.Creator, f"w0-{rng.randint(0, 500)}-0")
                reads += 1
                if reads % 5 == 0:
                    result = ledger.verify()
                    verified += 1
                    if not result.ok:
                        failures += 1
                        errors.append(str(result.reason))
            except dl.LedgerError as error:  # e.g. LedgerBusyError: counted, not fatal
                errors.append(f"{type(error).__name__}: {error}")
    Path(report).write_text(
        json.dumps({"reads": reads, "verified": verified, "failures": failures, "errors": errors})
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--readers", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--kill-every", type=float, default=4.0, help="mean seconds between kills")
    parser.add_argument("--db", help="ledger file (default: a new file in a temporary folder)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="delvia-soak-"))
    path = args.db or str(folder / "soak.db")
    dl.Ledger.open(path).close()
    rng = random.Random(args.seed)
    context = get_context("spawn")
    started = time.time()
    stop_at = started + args.minutes * 60

    def start_writer(i: int, generation: int) -> BaseProcess:
        process = context.Process(
            target=writer,
            args=(path, str(folder / f"w{i}.log"), f"w{i}g{generation}", rng.random()),
        )
        process.start()
        return process

    writers = [start_writer(i, 0) for i in range(args.writers)]
    generations = [0] * args.writers
    readers = [
        context.Process(
            target=reader, args=(path, str(folder / f"r{i}.json"), rng.random(), stop_at)
        )
        for i in range(args.readers)
    ]
    for process in readers:
        process.start()
    kills = 0
    while time.time() < stop_at:
        time.sleep(min(rng.expovariate(1 / args.kill_every), max(0.0, stop_at - time.time())))
        if time.time() >= stop_at:
            break
        i = rng.randrange(args.writers)
        os.kill(writers[i].pid or 0, signal.SIGKILL)
        writers[i].join()
        kills += 1
        generations[i] += 1
        writers[i] = start_writer(i, generations[i])
    for process in writers:  # the end: killed too, wherever they are
        os.kill(process.pid or 0, signal.SIGKILL)
        process.join()
    for process in readers:
        process.join()
    elapsed = time.time() - started

    reported_new: set[str] = set()
    reported_updates: list[tuple[str, str]] = []
    transactions = 0
    for log in folder.glob("w*.log"):
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: its transaction may still be in the file
            transactions += 1
            reported_new.update(item["new"])
            reported_updates += [tuple(pair) for pair in item["updated"]]

    start = time.perf_counter()
    with dl.Ledger.open(path) as ledger:
        result = ledger.verify(deep=True)
        verify_seconds = time.perf_counter() - start
        entries = list(ledger.entries())
        seqs = [e.seq for e in entries]
        ids = {e.record.id for e in entries}
        handles = {(e.record.id, getattr(e.record, "handle", None)) for e in entries}
    missing = reported_new - ids
    lost_updates = [pair for pair in reported_updates if pair not in handles]
    gap_free = seqs == list(range(1, len(seqs) + 1))
    seen = [json.loads((folder / f"r{i}.json").read_text()) for i in range(args.readers)]

    print(f"ledger file:                    {path}")
    print(f"ran:                            {elapsed:.0f} s, {args.writers} writers, "
          f"{args.readers} readers, {kills} SIGKILLs of writers")  # fmt: skip
    print(f"transactions reported:          {transactions:,}")
    print(f"new records reported:           {len(reported_new):,}")
    print(f"new versions reported:          {len(reported_updates):,}")
    print(f"entries in the file:            {len(entries):,} "
          f"({len(entries) / elapsed:,.0f} per second)")  # fmt: skip
    unreported = len(entries) - len(reported_new) - len(reported_updates)
    print(f"committed but not reported:     {unreported:,} (killed between commit and report)")
    print(f"reported but missing:           {len(missing) + len(lost_updates)}")
    print(f"seqs gap-free:                  {gap_free}")
    print(f"verify(deep=True):              {result} in {verify_seconds:.1f} s")
    for i, item in enumerate(seen):
        print(f"reader {i}:                       {item['reads']:,} queries, "
              f"{item['verified']:,} chain verifications, {item['failures']} failed, "
              f"{len(item['errors'])} errors")  # fmt: skip
        for error in item["errors"][:5]:
            print(f"    {error}")
    ok = (
        not missing
        and not lost_updates
        and gap_free
        and result.ok
        and all(not item["failures"] and not item["errors"] for item in seen)
    )
    print("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
