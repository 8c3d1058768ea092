"""Time ``verify(deep=True)`` of a kept ledger file, alternated with another tree (on demand).

    cd benchmarks && python bench_checks.py --n 1000000 --keep /tmp/l1m.db   # build it once
    python benchmarks/bench_verify.py /tmp/l1m.db [--against OTHER_TREE --other-file COPY] [--rounds 3]

Each run is a fresh process importing the tree it names (``PYTHONPATH``) and prints CPU time
(``time.process_time()``: every thread of the process), wall-clock time, peak RSS and the load
average. A tree of a newer schema migrates the file it opens, so give ``--other-file`` a copy
for the other tree.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def measure(path: str) -> None:
    import delvia_ledger as dl

    ledger = dl.Ledger.open(path, clock=None)
    entries = ledger.digest().seq
    cpu, wall = time.process_time(), time.perf_counter()
    result = ledger.verify(deep=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert result.ok, result
    print(
        f"{dl.__file__.rsplit('/delvia_ledger/', 1)[0]}: {entries:,} entries, "
        f"{cpu / entries * 1e6:.2f} us/entry CPU, {wall / entries * 1e6:.2f} wall, "
        f"peak RSS {peak:.0f} MiB, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--against", type=Path, help="another tree, timed alternately")
    parser.add_argument("--other-file", help="the file the other tree reads (default: FILE)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.file)
        return
    runs = [(HERE, args.file)]
    if args.against:
        runs.insert(0, (args.against.resolve(), args.other_file or args.file))
    for _ in range(args.rounds):
        for tree, path in runs:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            command = [sys.executable, __file__, path, "--measure"]
            subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
