"""Benchmark the TikTok intake path against its own SQL floor, alternated with another tree.

PYTHONPATH=. python benchmarks/bench_import.py [--items 100000] [--runs 3]
    [--against /work/wt/base] [--sync] [--profile]

Each run times, in a child process of each tree in turn (this tree and ``--against``,
alternated): ``import_tiktok`` of one ``/tt_video/list/`` page of ``--items`` posts into a
fresh ledger (three entries per item), the same page re-imported unchanged, and the **SQL
floor** of that import: the very entry and version rows it wrote, inserted by one
``executemany`` per table into a fresh ledger file of that tree (its indexes and guards), in
one transaction. With ``--sync``, also ``sync_tiktok(..., ads=True)`` of the same posts and
one Spark Ad each, the sweeps read beforehand from the fake TikTok over HTTP and replayed (so
the HTTP client is not timed), with its own floor. CPU time (``time.process_time``) is the
measure; the machine is shared. ``--profile`` prints a cProfile of this tree's first import.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]

#: Run in a child process with PYTHONPATH set to a tree: one timed import (or sync) and its floor.
CHILD = r"""
import json, pickle, sqlite3, sys, time, cProfile, pstats, io
from pathlib import Path
import delvia_ledger as dl

what, folder, items, sweeps, profile = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
sys.path.insert(0, sys.argv[6])  # the tests of the benchmark's tree: one fake TikTok for both
from tests.fake_tiktok import ADVERTISER, make_items


class Replayed:
    # A client that answers the sweeps read beforehand (the HTTP client is not timed).
    def __init__(self, recorded):
        self.recorded = recorded
    def sweep_videos(self, advertiser_id, *, progress=None):
        return self.recorded["videos"]
    def sweep_ads(self, advertiser_id, *, progress=None, filtering=None):
        return self.recorded["ads"]
    def sweep_adgroups(self, advertiser_id, *, progress=None, filtering=None):
        return self.recorded["adgroups"]
    def confirm_unlisted(self, advertiser_id, ids, *, progress=None):
        raise SystemExit("a first sync confirms nothing")
    def scrub(self, text, *secrets):
        return str(text)


def clock():
    return time.process_time(), time.perf_counter()


def since(start):
    cpu, wall = clock()
    return cpu - start[0], wall - start[1]


def floor(source, path, first):
    # The entry and version rows written from seq `first` on, inserted by one executemany per
    # table (superseded_by set after, as append() does) into a fresh ledger file.
    dl.Ledger.open(path).close()  # the schema, its indexes and its guards
    tables = [n for (n,) in source.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%_versions'")]
    def rows(table, where):
        return source.execute(f"SELECT * FROM {table} WHERE seq {where} ORDER BY seq").fetchall()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA cache_size=-131072")  # as the ledger's own connection
    def insert(where, timed):
        entries = rows("entries", where)
        versions = {t: rows(t, where) for t in tables}
        cols = {t: [c[1] for c in source.execute(f"PRAGMA table_info({t})")] for t in tables}
        supersede = {t: [(r[1], r[0]) for r in v if r[1] is not None] for t, v in versions.items()}
        plain = {t: [(r[0], None, *r[2:]) for r in v] for t, v in versions.items()}
        start = clock()
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", entries)
        for t, v in plain.items():
            if v:
                marks = ",".join("?" * len(v[0]))
                raw.executemany(f"INSERT INTO {t} ({','.join(cols[t])}) VALUES ({marks})", v)
        for t, pairs in supersede.items():
            if pairs:
                raw.executemany(f"UPDATE {t} SET superseded_by = ? WHERE seq = ?", pairs)
        raw.execute("COMMIT")
        return since(start), len(entries)
    insert(f"< {first}", False)
    (cpu, wall), count = insert(f">= {first}", True)
    raw.close()
    return cpu, wall, count


out = {"tree": dl.__file__}
with dl.Ledger.open(folder / "ledger.db") as ledger:
    ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand", region="US"))
    first = ledger.record(dl.AdAccount(id="0", name="Other", region="US")).seq + 1
    profiler = cProfile.Profile() if profile else None
    if what == "import":
        payload = {"list": make_items(items),
                   "page_info": {"page": 1, "page_size": items, "total_number": items}}
        run = lambda: ledger.import_tiktok(payload, advertiser_id=ADVERTISER)
    else:
        with open(sweeps, "rb") as f:
            client = Replayed(pickle.load(f))
        run = lambda: ledger.sync_tiktok(client, ADVERTISER, ads=True)
    start = clock()
    if profiler:
        profiler.enable()
    done = run()
    if profiler:
        profiler.disable()
    out["first"] = since(start)
    out["written"] = done.written
    start = clock()
    again = run()
    out["again"] = since(start)
    assert again.written == 0, again
    conn = ledger._store.conn
    out["floor"] = floor(conn, folder / "floor.db", first)
    assert out["floor"][2] == done.written, (out["floor"], done)
if profiler:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(35)
    out["profile"] = text.getvalue()
print(json.dumps(out))
"""


def child(
    tree: Path, what: str, items: int, sweeps: Path | None, profile: bool = False
) -> dict[str, Any]:
    """One timed run of ``what`` by ``tree``, in a process of its own."""
    env = dict(os.environ, PYTHONPATH=str(tree), NO_PROXY="127.0.0.1")
    with tempfile.TemporaryDirectory() as folder:
        args = [what, folder, str(items), str(sweeps or ""), "1" if profile else "0", str(HERE)]
        done = subprocess.run(  # run from the folder: "-c" puts the cwd first on sys.path
            [sys.executable, "-c", CHILD, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=3600,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"{tree} {what}: {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert result["tree"].startswith(str(tree.resolve())), (tree, result["tree"])
    return result


def record_sweeps(items: int, path: Path) -> None:
    """Read a sweep of ``items`` posts and one Spark Ad each from the fake TikTok, and keep it."""
    from delvia_ledger.sync import TikTokClient
    from tests.fake_tiktok import ADVERTISER, TOKEN, FakeTikTok, make_adgroups, make_ads, make_items

    posts = make_items(items)
    with FakeTikTok(items={ADVERTISER: posts}) as fake:
        fake.ads[ADVERTISER] = make_ads(posts)
        fake.adgroups[ADVERTISER] = make_adgroups("1700000000000000001")
        with TikTokClient(TOKEN, base_url=fake.url) as client:
            recorded = {
                "videos": client.sweep_videos(ADVERTISER),
                "ads": client.sweep_ads(ADVERTISER),
                "adgroups": client.sweep_adgroups(ADVERTISER),
            }
    path.write_bytes(pickle.dumps(recorded))


def line(label: str, run: dict[str, Any], items: int) -> tuple[str, float]:
    first_cpu, first_wall = run["first"]
    again_cpu, _ = run["again"]
    floor_cpu, floor_wall, _ = run["floor"]
    ratio = first_cpu / floor_cpu
    return (
        f"{label}: {first_cpu / items * 1e6:6.1f} us CPU/item ({first_wall / items * 1e6:.1f} "
        f"wall), floor {floor_cpu / items * 1e6:5.1f} us CPU/item ({floor_wall / items * 1e6:.1f}"
        f" wall) -> {ratio:.2f}x its floor; {run['written']:,} entries; unchanged again "
        f"{again_cpu / items * 1e6:.1f} us CPU/item"
    ), first_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", type=Path, default=Path("/work/wt/base"))
    parser.add_argument("--sync", action="store_true", help="also sync_tiktok(ads=True)")
    parser.add_argument("--only-sync", action="store_true", help="sync_tiktok only")
    parser.add_argument("--profile", action="store_true", help="cProfile this tree's first run")
    args = parser.parse_args()
    whats = [] if args.only_sync else ["import"]
    sweeps = None
    if args.sync or args.only_sync:
        whats.append("sync")
        sweeps = Path(tempfile.mkstemp(suffix=".pickle")[1])
        record_sweeps(args.items, sweeps)
    print(f"{args.items:,} items (posts of 40 creators); this tree {HERE}; against {args.against}")
    if args.profile:
        for what in whats:
            print(child(HERE, what, args.items, sweeps, profile=True)["profile"])
    for what in whats:
        for number in range(1, args.runs + 1):
            cpu = {}
            for tree, label in ((args.against, "against"), (HERE, "this   ")):  # alternated
                text, cpu[label] = line(
                    f"run {number} {what} {label}",
                    child(tree, what, args.items, sweeps),
                    args.items,
                )
                print(text, flush=True)
            print(f"run {number} {what}: this is {cpu['against'] / cpu['this   ']:.2f}x faster")
    if sweeps:
        sweeps.unlink()


if __name__ == "__main__":
    main()
