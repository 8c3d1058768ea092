"""Benchmark the ledger's write path against raw sqlite3 in the same run (on demand, not in CI).

    python benchmarks/bench_ledger.py             # 1,000,000 prebuilt authorizations
    python benchmarks/bench_ledger.py --n 100000  # a quicker run
    python benchmarks/bench_ledger.py --profile   # also a cProfile summary of record_all

Prints record_all of prebuilt records vs one plain executemany of the same entry rows into a
bare table, the SQL alone of the file format, eventsourcing's Application.save in batches of
1,000 aggregates when it is installed, and verify() vs a bare SHA-256 walk (unless --write-only).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import os
import pstats
import resource
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import delvia_ledger as dl
from delvia_ledger.storage.sqlite import Store

T0 = datetime(2026, 11, 24, tzinfo=UTC)
CREATORS = 1000
POSTS_PER_CREATOR = 10
ACCOUNT = "6900000000000000001"


def world() -> Iterator[dl.Creator | dl.Post | dl.AdAccount]:
    yield dl.AdAccount(id=ACCOUNT, name="Brand US", region="US")
    for c in range(CREATORS):
        yield dl.Creator(id=f"c{c}", handle=f"@creator{c}", region="US")
        for p in range(POSTS_PER_CREATOR):
            yield dl.Post(id=f"73{c:08d}{p:04d}", creator_id=f"c{c}", kind="VIDEO")


def authorizations(n: int) -> Iterator[dl.SparkAuthorization]:
    for i in range(n):
        c, p = i % CREATORS, (i // CREATORS) % POSTS_PER_CREATOR
        start = T0 - timedelta(days=i % 300)
        yield dl.SparkAuthorization.from_code(
            f"#spark-code-{i:012d}=",
            creator_id=f"c{c}",
            post_id=f"73{c:08d}{p:04d}",
            starts_at=start,
            expires_at=start + timedelta(days=(7, 30, 60, 365)[i % 4]),
            ad_account_id=ACCOUNT,
        )


def bare_connection(path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    return raw


class Stopwatch:
    """Wall-clock and CPU seconds of a block (CPU time is steadier on a shared machine)."""

    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def add(self, other: Stopwatch) -> None:
        self.wall += other.wall
        self.cpu += other.cpu


def raw_insert(path: Path, rows: list[tuple[Any, ...]]) -> Stopwatch:
    """The time ONE plain executemany of ``rows`` into a bare entries table takes."""
    raw = bare_connection(path)
    raw.execute(
        "CREATE TABLE entries (seq INTEGER PRIMARY KEY, recorded_at TEXT, type TEXT, "
        "id TEXT, payload TEXT, payload_hash TEXT, prev_hash TEXT, hash TEXT)"
    )
    with Stopwatch() as watch:
        raw.execute("BEGIN")
        raw.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", rows)
        raw.execute("COMMIT")
    raw.close()
    return watch


def sql_floor(source: sqlite3.Connection, path: Path, first: int) -> Stopwatch:
    """Seconds for the SQL alone of the file format: the entries and their version rows
    (with the version table's indexes and the ledger's guards), in one executemany each;
    where the store lifts its INSERT guards for a large write, through its lift and the
    set-wise checks of its commit."""
    dl.Ledger.open(path).close()  # the schema, its indexes and its triggers
    table = "spark_authorization_versions"
    head = source.execute("SELECT * FROM entries WHERE seq < ? ORDER BY seq", (first,)).fetchall()
    entries = source.execute("SELECT * FROM entries WHERE seq >= ? ORDER BY seq", (first,))
    entry_rows = entries.fetchall()
    version_rows = source.execute(f"SELECT * FROM {table} WHERE seq >= ? ORDER BY seq", (first,))
    versions = version_rows.fetchall()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA cache_size=-131072")  # as the ledger's own connection
    raw.execute("BEGIN")
    raw.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", head)
    raw.execute("COMMIT")
    marks = ",".join("?" * len(versions[0]))
    if hasattr(Store, "_lift"):  # since issue 27: a large write lifts the INSERT guards
        raw.close()
        store = Store(path)
        with Stopwatch() as watch, store.transaction():
            store._appending(len(entry_rows), {table: len(versions)})
            store._execute_many("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", entry_rows)
            store._execute_many(f"INSERT INTO {table} VALUES ({marks})", versions)
        store.close()
        return watch
    with Stopwatch() as watch:
        raw.execute("BEGIN")
        raw.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?)", entry_rows)
        raw.executemany(f"INSERT INTO {table} VALUES ({marks})", versions)
        raw.execute("COMMIT")
    raw.close()
    return watch


def eventsourcing_save(tmp: Path, n: int) -> Stopwatch | str:
    """Seconds eventsourcing's ``Application.save`` takes for ``n`` aggregates, 1,000 per call
    (SQLite persistence; building the aggregates is not timed), or why it was skipped."""
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate
    except ImportError:
        return "eventsourcing is not installed"

    class Authorization(Aggregate):  # type: ignore[misc]
        def __init__(
            self,
            fingerprint: str,
            hint: str,
            creator_id: str,
            post_id: str,
            starts_at: datetime,
            expires_at: datetime,
            ad_account_id: str | None,
        ) -> None:
            self.fingerprint, self.hint = fingerprint, hint
            self.creator_id, self.post_id = creator_id, post_id
            self.starts_at, self.expires_at = starts_at, expires_at
            self.ad_account_id = ad_account_id

    os.environ.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(tmp / "es.db"))
    warnings.simplefilter("ignore", DeprecationWarning)  # save(): the comparison
    app: Any = Application()
    source = authorizations(n)
    spent = Stopwatch()
    spent.wall = spent.cpu = 0.0
    for first in range(0, n, 1000):
        batch = []
        for auth in [next(source) for _ in range(min(1000, n - first))]:
            batch.append(
                Authorization(
                    fingerprint=auth.code.fingerprint,
                    hint=auth.code.hint,
                    creator_id=auth.creator_id,
                    post_id=auth.post_id,
                    starts_at=auth.starts_at,
                    expires_at=auth.expires_at,
                    ad_account_id=auth.ad_account_id,
                )
            )
        with Stopwatch() as watch:
            app.save(*batch)
        spent.add(watch)
    return spent


class Swallowed:
    """A connection whose ``executemany`` reads its rows and writes nothing (every other call
    goes to ``conn``): record_all through it times the Python above the SQL floor."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def executemany(self, sql: str, rows: Any) -> None:
        for _ in rows:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def swallowed(tmp: Path, prebuilt: list[dl.SparkAuthorization], **batch: Any) -> Stopwatch:
    """record_all of ``prebuilt`` into a fresh ledger whose inserts are swallowed."""
    import delvia_ledger.storage.sqlite as backend

    again = dl.Ledger.open(tmp / "swallowed.db", clock=lambda: T0)
    again.record_all(world())
    store: Any = again._store
    real, store.conn = store.conn, Swallowed(store.conn)
    lift_at = getattr(backend, "LIFT_AT", None)
    backend.LIFT_AT = 10**12  # nothing is written, so nothing to check at the commit
    try:
        with Stopwatch() as watch:
            again.record_all(prebuilt, **batch)
    finally:
        store.conn = real
        if lift_at is not None:
            backend.LIFT_AT = lift_at
    again.close()
    return watch


def profile_summary(profile: cProfile.Profile, top: int = 20) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="cProfile record_all as well")
    parser.add_argument("--write-only", action="store_true", help="skip the verify() timings")
    parser.add_argument("--no-eventsourcing", action="store_true")
    parser.add_argument("--batch", type=int, default=None, help="record_all's batch_size")
    parser.add_argument(
        "--swallow", action="store_true", help="also record_all with the inserts swallowed"
    )
    args = parser.parse_args()
    n = args.n
    batch = {} if args.batch is None else {"batch_size": args.batch}
    tmp = Path(tempfile.mkdtemp())

    ledger = dl.Ledger.open(tmp / "ledger.db", clock=lambda: T0)
    ledger.record_all(world())
    first = ledger.seq + 1
    start = time.perf_counter()
    prebuilt = list(authorizations(n))
    t_build = time.perf_counter() - start
    gc.collect()

    with Stopwatch() as t_ledger:
        result = ledger.record_all(prebuilt, **batch)
    assert result.written == n
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    conn = ledger._store.conn
    rows = conn.execute("SELECT * FROM entries WHERE seq >= ? ORDER BY seq", (first,)).fetchall()
    t_raw = raw_insert(tmp / "raw.db", rows)
    del rows
    t_floor = sql_floor(conn, tmp / "floor.db", first)

    us = lambda t: t / n * 1e6  # noqa: E731
    both = lambda w: f"{us(w.wall):6.2f} us/row wall, {us(w.cpu):6.2f} CPU"  # noqa: E731
    print(f"authorizations (prebuilt):      {n:,}  (building them: {us(t_build):.2f} us/row)")
    print(f"raw executemany, one call:      {both(t_raw)}")
    print(f"SQL alone of the file format:   {both(t_floor)}")
    print(
        f"ledger.record_all(prebuilt):    {both(t_ledger)}  -> {t_raw.wall / t_ledger.wall:.3f}x "
        f"the raw insert rate ({t_raw.cpu / t_ledger.cpu:.3f}x in CPU time; goal >= 0.22x at "
        "100k, 0.19x at 1M)"
    )
    print(f"peak RSS after the import:      {rss:6.1f} MiB")
    if args.swallow:
        above = swallowed(tmp, prebuilt, **batch)
        print(
            f"record_all, inserts swallowed: {both(above)}  -> {above.cpu / t_raw.cpu:.2f}x the "
            "raw insert (CPU): the Python above the floor"
        )

    if args.profile:
        again = dl.Ledger.open(tmp / "profiled.db", clock=lambda: T0)
        again.record_all(world())
        profile = cProfile.Profile()
        profile.enable()
        again.record_all(prebuilt, **batch)
        profile.disable()
        print(profile_summary(profile))
    del prebuilt

    if not args.no_eventsourcing:
        saved = eventsourcing_save(tmp, n)
        if isinstance(saved, str):
            print(f"eventsourcing: skipped ({saved})")
        else:
            print(
                f"eventsourcing save, 1,000/call: {both(saved)}  -> record_all is "
                f"{saved.wall / t_ledger.wall:.2f}x faster ({saved.cpu / t_ledger.cpu:.2f}x in "
                "CPU time; goal >= 1.6x)"
            )

    if args.write_only:
        return
    start, cpu = time.perf_counter(), time.process_time()
    assert ledger.verify(deep=True).ok
    t_deep, cpu_deep = time.perf_counter() - start, time.process_time() - cpu

    def bare_walk() -> None:
        prev = "0" * 64
        for seq, stamp, type_, id_, payload in conn.execute(
            "SELECT seq, recorded_at, type, id, payload FROM entries ORDER BY seq"
        ):
            digest = hashlib.sha256(payload.encode()).hexdigest()
            prev = hashlib.sha256(
                f"{prev}\n{seq}\n{stamp}\n{type_}\n{id_}\n{digest}".encode()
            ).hexdigest()

    def verify() -> None:
        assert ledger.verify().ok

    # Alternated, best of three each: whichever runs first after the import meets a colder
    # cache, which once made verify() look 0.5x the walk at a million.
    best = {bare_walk: float("inf"), verify: float("inf")}
    for _ in range(3):
        for run in best:
            start = time.perf_counter()
            run()
            best[run] = min(best[run], time.perf_counter() - start)
    t_walk, t_verify = best[bare_walk], best[verify]
    total = ledger.seq
    per = lambda t: t / total * 1e6  # noqa: E731
    print(f"bare SHA-256 walk:              {per(t_walk):6.2f} us/entry (best of 3)")
    print(
        f"ledger.verify():                {per(t_verify):6.2f} us/entry (best of 3, alternated) "
        f"-> {t_walk / t_verify:.2f}x the bare walk"
    )
    print(
        f"ledger.verify(deep=True):       {per(t_deep):6.2f} us/entry wall, "
        f"{per(cpu_deep):.2f} CPU (both of its threads: SQLite's checks run on a second "
        "connection beside the walks; goal <= 15 at 1M)"
    )


if __name__ == "__main__":
    main()
