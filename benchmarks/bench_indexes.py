"""What each index of the authorizations' version table costs the format's SQL floor (on demand).

    PYTHONPATH=. python benchmarks/bench_indexes.py [--n 1000000] [--rounds 2]

Records ``--n`` prebuilt authorizations once (bench_ledger's), then inserts the very same entry
and version rows into fresh files, one ``executemany`` each in one transaction, with no guards,
under several sets of the version table's indexes (the order rotated each round), and prints
µs/row, CPU and wall. The variants: ``all`` (schema 7: ``retired_at`` indexed whole),
``retired_partial`` (schema 8), ``no_custom`` (no partial index of custom ids' code keys),
``both`` (the two changes together).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from bench_ledger import authorizations, world

import delvia_ledger as dl

TABLE = "spark_authorization_versions"
INDEXES = {
    "id": f"CREATE INDEX i_id ON {TABLE} (id)",
    "expires": f"CREATE INDEX i_expires ON {TABLE} (expires_at)",
    "post": f"CREATE INDEX i_post ON {TABLE} (post_id)",
    "retired": f"CREATE INDEX i_retired ON {TABLE} (retired_at)",
    "custom": f"CREATE INDEX i_custom ON {TABLE} (code_key) "
    "WHERE id != printf('auth_%016x', code_key)",
}
PARTIAL = f"CREATE INDEX i_retired ON {TABLE} (retired_at) WHERE retired_at IS NOT NULL"
VARIANTS = {
    "all": list(INDEXES.values()),
    "retired_partial": [s for k, s in INDEXES.items() if k != "retired"] + [PARTIAL],
    "no_custom": [s for k, s in INDEXES.items() if k != "custom"],
    "both": [s for k, s in INDEXES.items() if k not in ("retired", "custom")] + [PARTIAL],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with dl.Ledger.open(tmp / "source.db") as ledger:
        ledger.record_all(world())
        first = ledger.seq + 1
        ledger.record_all(authorizations(args.n))
    source = sqlite3.connect(tmp / "source.db")
    entries = source.execute("SELECT * FROM entries WHERE seq >= ?", (first,)).fetchall()
    rows = source.execute(f"SELECT * FROM {TABLE} WHERE seq >= ?", (first,)).fetchall()
    tables = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE name IN ('entries', ?)", (TABLE,)
        )
    ]
    marks = ",".join("?" * len(rows[0]))
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for r in range(args.rounds):
        order = list(VARIANTS)
        order = order[r % len(order) :] + order[: r % len(order)]
        for name in reversed(order) if r % 2 else order:
            path = tmp / f"{name}-{r}.db"
            conn = sqlite3.connect(path, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-131072"):
                conn.execute(f"PRAGMA {pragma}")  # as the ledger's own connection
            for sql in [*tables, *VARIANTS[name]]:
                conn.execute(sql)
            cpu, wall = time.process_time(), time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", entries)
            conn.executemany(f"INSERT INTO {TABLE} VALUES ({marks})", rows)
            conn.execute("COMMIT")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            times[name].append((cpu / args.n * 1e6, wall / args.n * 1e6))
            conn.close()
            path.unlink()
    for name, runs in times.items():
        cpu_text = " ".join(f"{c:6.2f}" for c, _ in runs)
        wall_text = " ".join(f"{w:6.2f}" for _, w in runs)
        print(f"{name:16s} µs/row CPU {cpu_text}   wall {wall_text}")


if __name__ == "__main__":
    main()
