"""The format's SQL floor with each way of guarding it, alternated in one process (issue 27.3).

    PYTHONPATH=. python benchmarks/bench_guards.py --n 100000 --rounds 3 --base /work/wt/base
    PYTHONPATH=. python benchmarks/bench_guards.py --n 1000000 --rounds 1 --only today,lifted
    PYTHONPATH=. python benchmarks/bench_guards.py --n 1000000 --caches -131072,-524288 \\
        --mmaps 0,1073741824 --only lifted

The floor is bench_ledger.py's "SQL alone of the file format": the entries and version rows of
``n`` prebuilt authorizations, inserted by one ``executemany`` each into a fresh ledger that
already holds the world they refer to, in one transaction (CPU time: ``time.process_time``).

- ``today``: a ledger file made by ``--base`` (another tree: the guards as they were), its
  INSERT triggers firing for each row.
- ``guarded``: this tree's file, its triggers firing for each row.
- ``lifted``: this tree's file, through ``Store``: the INSERT guards lifted for the
  transaction and the batch checked set-wise before the commit (``Store._lift``/``_restore``).
- ``bare``: this tree's file with every trigger dropped (no guards at all: the floor's floor).

``--reader`` also times what a schema change costs another connection: its first statement
after a commit that lifted the guards against one after a commit that did not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import delvia_ledger as dl
from delvia_ledger.storage.schema import TABLES
from delvia_ledger.storage.sqlite import Store

sys.path.insert(0, str(Path(__file__).parent))
from bench_ledger import T0, authorizations, world

TABLE = "spark_authorization_versions"
MAKE = "import sys, delvia_ledger as dl; dl.Ledger.open(sys.argv[1]).close()"


def template(tree: str, path: Path) -> Path:
    """An empty ledger file as the package in ``tree`` makes it."""
    env = dict(os.environ, PYTHONPATH=tree)
    subprocess.run([sys.executable, "-c", MAKE, str(path)], check=True, env=env, cwd=tree)
    return path


def source_rows(tmp: Path, n: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The world's entries, then the n authorizations' entries and version rows."""
    ledger = dl.Ledger.open(tmp / "source.db", clock=lambda: T0)
    ledger.record_all(world())
    first = ledger.seq + 1
    ledger.record_all(list(authorizations(n)))
    conn = ledger._store.conn
    head = conn.execute("SELECT * FROM entries WHERE seq < ? ORDER BY seq", (first,)).fetchall()
    entries = conn.execute("SELECT * FROM entries WHERE seq >= ? ORDER BY seq", (first,))
    entry_rows = entries.fetchall()
    versions = conn.execute(f"SELECT * FROM {TABLE} WHERE seq >= ? ORDER BY seq", (first,))
    version_rows = versions.fetchall()
    ledger.close()
    return head, entry_rows, version_rows


def prepared(made: Path, path: Path, head: list[Any], bare: bool) -> None:
    """``made`` copied to ``path``, holding the world (the entries the batch refers to)."""
    shutil.copy(made, path)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("BEGIN")
    if bare:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            raw.execute(f"DROP TRIGGER {name}")
    raw.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", head)
    raw.execute("COMMIT")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()


def pragmas(conn: sqlite3.Connection, cache: int, mmap: int) -> None:
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size={cache}")
    conn.execute(f"PRAGMA mmap_size={mmap}")


def floor(
    variant: str,
    made: Path,
    path: Path,
    rows: tuple[list[Any], list[Any], list[Any]],
    cache: int,
    mmap: int,
) -> tuple[float, float]:
    """CPU and wall seconds of one variant's floor."""
    head, entries, versions = rows
    prepared(made, path, head, bare=variant == "bare")
    marks = ",".join("?" * len(versions[0]))
    insert = f"INSERT INTO {TABLE} VALUES ({marks})"
    if variant == "lifted":
        store = Store(path)
        pragmas(store.conn, cache, mmap)
        cpu, wall = time.process_time(), time.perf_counter()
        with store.transaction():
            store._appending(len(entries), {TABLE: len(versions)})
            # the store's own statements: its commit refuses rows any other statement wrote
            store._execute_many("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", entries)
            store._execute_many(insert, versions)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        store.close()
    else:
        raw = sqlite3.connect(path, isolation_level=None)
        pragmas(raw, cache, mmap)
        raw.execute("PRAGMA recursive_triggers=on")
        cpu, wall = time.process_time(), time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", entries)
        raw.executemany(insert, versions)
        raw.execute("COMMIT")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        raw.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return cpu, wall


def reader_cost(tmp: Path, rounds: int) -> None:
    """What a commit that lifted the guards (a schema change) costs another connection: its
    next statement after such a commit against one after a commit that did not lift them,
    each commit appending one authorization (median extra wall µs over a warm statement)."""
    path = tmp / "reader.db"
    with dl.Ledger.open(path, clock=lambda: T0) as ledger:
        ledger.record_all(world())
    writer = Store(path)
    reader = sqlite3.connect(path, isolation_level=None)
    query = f"SELECT count(*) FROM {TABLE} WHERE id = ?"
    table = TABLES[dl.SparkAuthorization]
    auths = authorizations(rounds * 2)
    spent: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for lift in (False, True):
            reader.execute(query, ("x",)).fetchall()
            start = time.perf_counter()
            reader.execute(query, ("y",)).fetchall()
            warm = time.perf_counter() - start
            auth = next(auths)
            with writer.transaction():
                if lift:
                    writer._lifted = writer._lift()
                writer.append([(table, auth, table.payload(auth), None)], T0)
            start = time.perf_counter()
            reader.execute(query, ("z",)).fetchall()
            spent[lift].append(time.perf_counter() - start - warm)
    for lift, times in spent.items():
        times.sort()
        print(
            f"a reader's next statement after a commit {'that lifted' if lift else 'without'} "
            f"the guards: +{times[len(times) // 2] * 1e6:.0f} us wall (median of {len(times)})"
        )
    writer.close()
    reader.close()


def threshold(tmp: Path, n: int, sizes: list[int], rounds: int) -> None:
    """CPU of ``record_all`` of ``size`` new authorizations into the ``n``-authorization
    ledger, its guards lifted against firing (``LIFT_AT`` out of reach), alternated: where
    lifting starts to pay sets ``LIFT_AT``."""
    import itertools

    import delvia_ledger.storage.sqlite as backend

    fresh = itertools.islice(authorizations(n + 2 * rounds * sum(sizes)), n, None)
    ledger = dl.Ledger.open(tmp / "source.db", clock=lambda: T0)
    lift_at = backend.LIFT_AT
    spent: dict[tuple[int, bool], list[float]] = {}
    for _ in range(rounds):
        for size in sizes:
            for lift in (True, False):
                batch = list(itertools.islice(fresh, size))
                backend.LIFT_AT = 1 if lift else 10**9
                start = time.process_time()
                ledger.record_all(batch, batch_size=max(size, 1))
                spent.setdefault((size, lift), []).append(time.process_time() - start)
    backend.LIFT_AT = lift_at
    ledger.close()
    print(f"record_all into a ledger of {n:,} (CPU us/record, median of {rounds}):")
    for size in sizes:
        lifted, fired = (sorted(spent[size, lift])[rounds // 2] for lift in (True, False))
        print(
            f"  {size:6} records: lifted {lifted / size * 1e6:7.2f}, guards firing "
            f"{fired / size * 1e6:7.2f} ({lifted / fired:.3f}x)"
        )


def supersede(tmp: Path, n: int, rounds: int) -> None:
    """CPU of ``record_all`` of a new version (revoked) of each of ``n`` authorizations: each
    marks its previous version superseded, through the version table's UPDATE guards. Run it
    under another tree's ``PYTHONPATH`` to compare (it uses only the public API)."""
    import attrs

    for r in range(rounds):
        path = tmp / f"supersede{r}.db"
        ledger = dl.Ledger.open(path, clock=lambda: T0)
        ledger.record_all(world())
        first = list(authorizations(n))
        ledger.record_all(first)
        again = [attrs.evolve(a, revoked_at=T0) for a in first]
        start = time.process_time()
        ledger.record_all(again)
        spent = time.process_time() - start
        ledger.close()
        print(
            f"record_all of {n:,} new versions (each a supersede): {spent / n * 1e6:.2f} us/row CPU"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default="/work/wt/base", help="the tree of 'today'")
    parser.add_argument("--only", default="today,guarded,lifted,bare")
    parser.add_argument("--caches", default="-131072", help="PRAGMA cache_size values")
    parser.add_argument("--mmaps", default="0", help="PRAGMA mmap_size values")
    parser.add_argument("--reader", action="store_true")
    parser.add_argument("--threshold", default="", help="record_all sizes to time lifting at")
    parser.add_argument("--supersede", action="store_true", help="time new versions only")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    if args.supersede:
        supersede(tmp, args.n, args.rounds)
        return
    here = str(Path(__file__).resolve().parent.parent)
    made = {
        "today": template(args.base, tmp / "base.db"),
        "mine": template(here, tmp / "mine.db"),
    }
    if args.reader:
        reader_cost(tmp, 25)
    start = time.process_time()
    rows = source_rows(tmp, args.n)
    print(f"n={args.n:,}; source built in {time.process_time() - start:.1f} s CPU")
    if args.threshold:
        threshold(tmp, args.n, [int(k) for k in args.threshold.split(",")], args.rounds)
        return
    variants = args.only.split(",")
    caches = [int(c) for c in args.caches.split(",")]
    mmaps = [int(m) for m in args.mmaps.split(",")]
    results: dict[tuple[str, int, int], list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        for variant in variants:
            for cache in caches:
                for mmap in mmaps:
                    file = made["today" if variant == "today" else "mine"]
                    got = floor(variant, file, tmp / "floor.db", rows, cache, mmap)
                    results.setdefault((variant, cache, mmap), []).append(got)
                    print(
                        f"round {r + 1} {variant:8} cache={cache} mmap={mmap}: "
                        f"{got[0] / args.n * 1e6:6.2f} us/row CPU, "
                        f"{got[1] / args.n * 1e6:6.2f} wall   load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
    key = (variants[0], caches[0], mmaps[0])
    reference = sorted(c for c, _ in results[key])[len(results[key]) // 2]
    print(f"\nmedians (CPU us/row), against {key[0]} cache={key[1]} mmap={key[2]}:")
    for (variant, cache, mmap), got in results.items():
        cpu = sorted(c for c, _ in got)[len(got) // 2]
        print(
            f"  {variant:8} cache={cache:>9} mmap={mmap:>11}: {cpu / args.n * 1e6:6.2f} "
            f"({cpu / reference:.3f}x; runs {', '.join(f'{c / args.n * 1e6:.2f}' for c, _ in got)})"
        )
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
