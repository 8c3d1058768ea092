"""PostgreSQL beside SQLite in the same run: record_all, verify() and findings() (on demand).

    eval "$(.ci/postgres)"                                  # a local server, or any URL:
    python benchmarks/bench_postgres.py --n 100000 [--url postgresql://...]

Each backend gets the same world and the same ``--n`` authorizations; the PostgreSQL ledger
goes into a fresh schema that is dropped afterwards. Also times the two ways of writing rows
to the server that ``append`` could use (COPY, which it uses, and batched INSERTs), on a bare
copy of the ``entries`` table, so the choice stays measured.

Measured 2026-12-03, n = 100,000 (111,001 entries), PostgreSQL 15 on 127.0.0.1 with fsync on,
2 shared cores at load 4-8, so ratios move by +-50% between runs: PostgreSQL/SQLite
`record_all` 1.45 and 2.20, `verify()` 0.65 and 1.09, `verify(deep=True)` 1.21 and 2.06,
`findings()` 0.71 and 1.02 (the same 101,671 findings on both); COPY 6.7x-8.6x faster than
batched INSERTs. What bounds the PostgreSQL figures: the client's Python, as on SQLite
(building and validating records, canonical JSON, SHA-256: the same code on both); the server
adds ~30% of `record_all` (COPY 18%, the per-batch lookups of current versions 11%: one round
trip each, over loopback) and about half of `verify()` (reading pages of 5,000 rows), and it
competes with the client for the same two cores. Commits cost little (one per `record_all`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

import delvia_ledger as dl

sys.path.insert(0, str(Path(__file__).parent))
from bench_ledger import T0, authorizations, world


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def measure(name: str, location: str, n: int) -> dict[str, float]:
    """The three figures for one backend, in µs per record / entry."""
    with dl.Ledger.open(location, clock=lambda: T0) as ledger:
        ledger.record_all(world())
        t_record, result = timed(lambda: ledger.record_all(authorizations(n)))
        assert result.written == n
        entries = ledger.seq
        t_verify, verified = timed(ledger.verify)
        assert verified.ok
        t_deep, deep = timed(lambda: ledger.verify(deep=True))
        assert deep.ok
        now = T0 + timedelta(days=1)
        t_findings, found = timed(lambda: ledger.findings(now=now))
        print(
            f"{name:<10} record_all {t_record:7.2f} s  verify() {t_verify:6.2f} s  "
            f"verify(deep) {t_deep:6.2f} s  findings() {t_findings:6.2f} s  "
            f"({len(found)} findings, {entries} entries)",
            flush=True,
        )
    return {
        "record_all": t_record / n * 1e6,
        "verify": t_verify / entries * 1e6,
        "verify_deep": t_deep / entries * 1e6,
        "findings": t_findings / n * 1e6,
    }


def copy_or_insert(url: str, n: int) -> tuple[float, float]:
    """Seconds to write ``n`` entry-sized rows to a bare table with COPY, and with batched
    INSERTs (executemany, which psycopg pipelines), in one transaction each."""
    rows = [
        (i, "2026-11-24T00:00:00.000000Z", "SparkAuthorization", f"auth_{i:016x}", "x" * 420)
        + ("ab" * 32,) * 3
        for i in range(1, n + 1)
    ]
    columns = "seq, recorded_at, type, id, payload, payload_hash, prev_hash, hash"
    times = []
    with psycopg.connect(url) as conn:
        for how in ("copy", "insert"):
            conn.execute(
                "CREATE TEMP TABLE bare (seq bigint PRIMARY KEY, recorded_at text, type text, "
                "id text, payload text, payload_hash text, prev_hash text, hash text)"
            )
            start = time.perf_counter()
            with conn.cursor() as cursor:
                if how == "copy":
                    with cursor.copy(f"COPY bare ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(f"INSERT INTO bare VALUES ({', '.join(['%s'] * 8)})", rows)
            conn.commit()
            times.append(time.perf_counter() - start)
            conn.execute("DROP TABLE bare")
            conn.commit()
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--url", default=os.environ.get("DELVIA_TEST_POSTGRES_URL"))
    options = parser.parse_args()
    if not options.url:
        sys.exit("give --url postgresql://... or set DELVIA_TEST_POSTGRES_URL")
    n = options.n
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(options.url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        server = admin.execute("SHOW server_version").fetchone()
        settings = admin.execute(
            "SELECT string_agg(name || '=' || setting, ', ') FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'shared_buffers')"
        ).fetchone()
    print(f"n = {n:,}; PostgreSQL {server[0] if server else '?'} on 127.0.0.1 "
          f"({settings[0] if settings else ''}); load {os.getloadavg()[0]:.1f}")  # fmt: skip
    try:
        url = f"{options.url}{'&' if '?' in options.url else '?'}options=-csearch_path%3D{schema}"
        lite = measure("SQLite", str(Path(tempfile.mkdtemp()) / "ledger.db"), n)
        pg = measure("PostgreSQL", url, n)
        print()
        print("| what | SQLite | PostgreSQL | ratio |")
        print("|---|---|---|---|")
        for key, label in [
            ("record_all", "`record_all`, µs per record"),
            ("verify", "`verify()`, µs per entry"),
            ("verify_deep", "`verify(deep=True)`, µs per entry"),
            ("findings", "`findings()`, µs per authorization"),
        ]:
            print(f"| {label} | {lite[key]:.1f} | {pg[key]:.1f} | {pg[key] / lite[key]:.2f} |")
        t_copy, t_insert = copy_or_insert(url, n)
        print()
        print(
            f"bare entries rows to the server: COPY {t_copy:.2f} s, batched INSERT "
            f"{t_insert:.2f} s ({t_insert / t_copy:.1f}x)"
        )
    finally:
        with psycopg.connect(options.url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
