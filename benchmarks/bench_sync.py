"""Benchmark a sync sweep: 10,000 posts (200 pages of 50) and 10,000 ads from the fake TikTok API
over HTTP, the client of this tree against the client of another tree (``--against``, e.g. the
main checkout), alternated in one run; then the ledger side, both trees alike.

PYTHONPATH=. python benchmarks/bench_sync.py [--items 10000] [--runs 3] [--against /work/main]

The fake serves from this process; each client runs in a child process of its own tree, so the
two clients are timed on the same server and neither shares the server's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fake_tiktok import ADVERTISER, TOKEN, FakeTikTok, make_ads, make_items

HERE = Path(__file__).resolve().parents[1]

#: Run in a child process with PYTHONPATH set to a tree: time its client over one listing.
CHILD = r"""
import json, sys, time
from delvia_ledger.sync import TikTokClient
url, what, advertiser = sys.argv[1:4]
with TikTokClient(sys.argv[4], base_url=url) as client:
    def run():
        if what == "pass":  # one pass, as every tree can
            return sum(len(p.items) for p in client.iter_video_pages(advertiser)), 0
        if what == "stable":
            sweep = client.sweep_videos(advertiser)
            return len(sweep.items), sweep.requests
        if what == "ads":
            sweep = client.sweep_ads(advertiser)
            return len(sweep.items), sweep.requests
        if what == "confirm":
            ids = [f"73{n:017d}" for n in range(900_000, 900_000 + 100)]
            done = client.confirm_unlisted(advertiser, ids)
            return len(done.absent), done.requests
        if what in ("sync", "sync-ads"):  # the ledger side: a first sync, an unchanged one timed
            import tempfile, pathlib, delvia_ledger as dl
            options = {"ads": True} if what == "sync-ads" else {}
            folder = pathlib.Path(tempfile.mkdtemp())
            with dl.Ledger.open(folder / "sync.db") as ledger:
                ledger.record(dl.AdAccount(id=advertiser, name="Brand", region="US"))
                first = time.perf_counter()
                ledger.sync_tiktok(client, advertiser, **options)
                first = time.perf_counter() - first
                wall, cpu = time.perf_counter(), time.process_time()
                result = ledger.sync_tiktok(client, advertiser, **options)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                assert result.written == 0, result
                listed = result.items + (getattr(result, "ads", None) or 0)
                return listed, (wall, cpu, first)
        raise SystemExit(f"unknown {what}")
    run()  # warm the connection and the imports
    wall, cpu = time.perf_counter(), time.process_time()
    items, extra = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"items": items, "wall": wall, "cpu": cpu, "extra": extra}))
"""


def child(tree: Path, url: str, what: str) -> dict[str, object]:
    """One timed run of ``what`` by the client of ``tree``, in its own process."""
    env = dict(os.environ, PYTHONPATH=str(tree), NO_PROXY="127.0.0.1")
    done = subprocess.run(  # from /: "-c" puts the cwd first on sys.path, before PYTHONPATH
        [sys.executable, "-c", CHILD, url, what, ADVERTISER, TOKEN],
        cwd="/",
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{tree} {what}: {done.stderr}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def line(label: str, run: dict[str, object]) -> str:
    items = int(str(run["items"])) or 1
    wall, cpu = float(str(run["wall"])), float(str(run["cpu"]))
    return (
        f"{label}: {wall:.2f} s wall, {cpu / items * 1e6:.1f} us CPU/item "
        f"({wall / items * 1e6:.0f} us wall/item, {run['items']} items)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", type=Path, default=Path("/work/main"))
    parser.add_argument("--ledger", action="store_true", help="also time the ledger side")
    args = parser.parse_args()
    posts = make_items(args.items)
    with FakeTikTok(items={ADVERTISER: posts}) as fake:
        fake.ads[ADVERTISER] = make_ads(posts)
        print(f"{args.items:,} posts and ads, pages of 50, fake TikTok on 127.0.0.1")
        print(f"this tree {HERE}; against {args.against}")
        for run in range(1, args.runs + 1):
            for tree, label in ((args.against, "against"), (HERE, "this")):  # alternated
                print(f"run {run}", line(f"{label} one pass", child(tree, fake.url, "pass")))
            stable = child(HERE, fake.url, "stable")
            print(f"run {run}", line("this stable sweep", stable), f"{stable['extra']} requests")
            ads = child(HERE, fake.url, "ads")
            print(f"run {run}", line("this ads sweep", ads), f"{ads['extra']} requests")
        confirm = child(HERE, fake.url, "confirm")
        print(f"100 keyword confirmations: {confirm['extra']} requests, {confirm['wall']:.2f} s")
        if args.ledger:
            runs = [(args.against, "against", "sync"), (HERE, "this", "sync")]
            runs.append((HERE, "this", "sync-ads"))
            for run in range(1, args.runs + 1):
                for tree, label, what in runs:  # alternated
                    synced = child(tree, fake.url, what)
                    extra = synced["extra"]
                    assert isinstance(extra, list)
                    wall, cpu, first = (float(x) for x in extra)
                    items = int(str(synced["items"]))
                    print(
                        f"run {run} {label} {what}: first sync {first:.2f} s; unchanged sync of "
                        f"{items:,} items (posts + ads) {wall:.2f} s wall, "
                        f"{cpu / items * 1e6:.0f} us CPU/item, {wall / items * 1e6:.0f} us "
                        "wall/item"
                    )


if __name__ == "__main__":
    main()
