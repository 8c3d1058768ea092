"""Benchmark the checks against hand-written SQL in the same run (run on demand, not in CI).

python benchmarks/bench_checks.py            # 1,000,000 authorizations, 2% expiring in 7 days
python benchmarks/bench_checks.py --n 200000
python benchmarks/bench_checks.py --n 100000 --synced --against /path/to/main --rounds 5

``--synced`` also records what syncs record: a binding per live code (a fifth of them bound 20
days ago, the rest 3 days ago), one ad in fifty, from ``tiktok``. ``--against TREE`` times
``findings()`` and ``iter_findings()`` of this tree and of another checkout (``git worktree``
or ``git archive``) on the same file, alternated, each in a fresh process, and prints the
medians and their ratio (this tree's quiet findings left out, as by default, and included).

``findings()`` and ``iter_findings()`` are each timed in a fresh process on the same file, so
their peak RSS (``ru_maxrss``) is theirs alone, not the import's.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_ledger import CREATORS, POSTS_PER_CREATOR, T0, world

import delvia_ledger as dl
from delvia_ledger.convert import to_micros


def authorizations(n: int) -> Iterator[dl.SparkAuthorization]:
    """2% expire within 7 days; the rest are live for longer (half) or long expired (half)."""
    for i in range(n):
        c, p = i % CREATORS, (i // CREATORS) % POSTS_PER_CREATOR
        if i % 50 == 0:
            expires = T0 + timedelta(hours=1 + i % 160)
        elif i % 2:
            expires = T0 + timedelta(days=8 + i % 300)
        else:
            expires = T0 - timedelta(days=1 + i % 300)
        yield dl.SparkAuthorization.from_code(
            f"#spark-code-{i:012d}=",
            creator_id=f"c{c}",
            post_id=f"73{c:08d}{p:04d}",
            starts_at=expires - timedelta(days=365),
            expires_at=expires,
            ad_account_id="6900000000000000001",
        )


def synced(n: int) -> Iterator[dl.SparkBinding | dl.SparkAd]:
    """What syncs record for the live codes of :func:`authorizations`: bindings and some ads."""
    for i in range(n):
        if i % 2 == 0 and i % 50:  # the long-expired half: nothing bound
            continue
        auth_id = dl.SparkAuthorization.from_code(
            f"#spark-code-{i:012d}=",
            creator_id="c",
            post_id="p",
            starts_at=T0,
            expires_at=T0 + timedelta(days=1),
        ).id
        days = 20 if i % 5 == 0 else 3
        yield dl.SparkBinding(
            authorization_id=auth_id,
            ad_account_id="6900000000000000001",
            bound_at=T0 - timedelta(days=days),
            tiktok_status="AUTHORIZED",
        )
        if i % 50 == 1:
            c, p = i % CREATORS, (i // CREATORS) % POSTS_PER_CREATOR
            yield dl.SparkAd(
                id=f"ad{i}",
                ad_account_id="6900000000000000001",
                authorization_id=auth_id,
                intended_post_id=f"73{c:08d}{p:04d}",
                runs_from=T0 - timedelta(days=1),
            )


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(what: str, path: str) -> None:
    """In a fresh process: open the file, run ``what``, print seconds, findings, peak MiB."""
    ledger = dl.Ledger.open(path, clock=lambda: T0)
    what, _, every = what.partition(":")
    quiet: dict[str, Any] = {"include_quiet": True} if every else {}  # older trees: none
    start, cpu = time.perf_counter(), time.process_time()
    found = ledger.findings(**quiet) if what == "findings" else ledger.iter_findings(**quiet)
    count = sum(1 for _ in found)  # the list is built first; the stream is consumed as read
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(elapsed, cpu, count, peak)


def in_child(what: str, path: str, tree: Path | None = None) -> tuple[float, float, int, float]:
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", what, "--db", path],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), float(out[3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", metavar="PATH", help="build the ledger at PATH once, reuse it on later runs"
    )
    parser.add_argument("--synced", action="store_true", help="bindings and ads as syncs record")
    parser.add_argument("--against", type=Path, help="another tree, timed alternately")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.db)
        return
    if args.against:
        against(args)
        return
    n = args.n
    path = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "ledger.db"
    built = path.exists()
    ledger = dl.Ledger.open(path, clock=lambda: T0)
    if not built:
        ledger.record_all(world())
        ledger.record_all(authorizations(n))
    t, h = to_micros(T0), to_micros(T0 + timedelta(days=7))
    sql = (
        "SELECT a.id, a.creator_id, a.post_id, a.expires_at, a.ad_account_id, c.handle "
        "FROM spark_authorization_versions a LEFT JOIN creator_versions c "
        "ON c.id = a.creator_id AND c.superseded_by IS NULL "
        "WHERE a.superseded_by IS NULL AND (a.revoked_at IS NULL OR a.revoked_at > ?) "
        "AND a.expires_at > ? AND a.expires_at <= ?"
    )
    conn = ledger._store.conn
    rows = conn.execute(sql, (t, t, h)).fetchall()
    found = ledger.expiring("7d")
    assert len(found) == len(rows), (len(found), len(rows))
    t_sql = best(lambda: conn.execute(sql, (t, t, h)).fetchall())
    t_expiring = best(lambda: ledger.expiring("7d"))
    t_findings, cpu_list, count, rss_list = in_child("findings", str(path))
    t_stream, cpu_stream, streamed, rss_stream = in_child("iter_findings", str(path))
    assert streamed == count, (streamed, count)
    print(f"authorizations: {n:,}; expiring within 7 days: {len(rows):,}")
    print(f"hand-written SQL:       {t_sql * 1000:8.1f} ms")
    print(
        f"ledger.expiring('7d'):  {t_expiring * 1000:8.1f} ms  -> {t_expiring / t_sql:.2f}x the SQL (goal <= 2x)"
    )
    print(
        f"ledger.findings():      {t_findings:8.2f} s   ({cpu_list:.2f} s CPU; {count:,} findings; "
        f"goal < 4 s), peak RSS {rss_list:.0f} MiB (fresh process)"
    )
    print(
        f"ledger.iter_findings(): {t_stream:8.2f} s   ({cpu_stream:.2f} s CPU) consumed as a "
        f"stream, peak RSS {rss_stream:.0f} MiB (fresh process; goal < 250 MB)"
    )


def against(args: argparse.Namespace) -> None:
    """This tree against ``args.against`` on one file, alternated round by round."""
    path = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "ledger.db"
    if not path.exists():
        ledger = dl.Ledger.open(path, clock=lambda: T0)
        ledger.record_all(world())
        ledger.record_all(authorizations(args.n))
        if args.synced:
            ledger.record_all(synced(args.n), source="tiktok")
        ledger.close()
    here = Path(__file__).resolve().parent.parent
    runs: dict[str, list[tuple[float, int]]] = {}
    for _ in range(args.rounds):
        for label, what, tree in (
            ("main findings()", "findings", args.against),
            ("this findings()", "findings", here),
            ("this findings(include_quiet)", "findings:all", here),
            ("main iter_findings()", "iter_findings", args.against),
            ("this iter_findings()", "iter_findings", here),
            ("this iter_findings(include_quiet)", "iter_findings:all", here),
        ):
            _, cpu, count, _ = in_child(what, str(path), tree)
            runs.setdefault(label, []).append((cpu, count))
    # CPU seconds: on shared cores the wall clock measures the neighbours as much as the code
    medians = {label: statistics.median(s for s, _ in found) for label, found in runs.items()}
    print(f"authorizations: {args.n:,}; synced: {args.synced}; rounds: {args.rounds}; CPU s")
    for label, found in runs.items():
        base = medians["main iter_findings()" if "iter" in label else "main findings()"]
        print(
            f"{label:36s} {medians[label]:7.3f} s CPU (median, min {min(s for s, _ in found):.3f})"
            f"  {found[0][1]:>9,} findings  {medians[label] / base:5.2f}x main"
        )


if __name__ == "__main__":
    main()
