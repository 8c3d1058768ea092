"""A large write lifts the file's INSERT guards inside its own transaction (issue 27.3): no
other connection ever sees the file without them, a crash or a rollback brings them back, and
whatever they refuse is refused set-wise at the commit instead."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.storage import sqlite as backend
from delvia_ledger.storage.schema import TABLES

from .builders import build_versions
from .conftest import Clock

pytestmark = pytest.mark.sqlite_only

#: What the INSERT guards refuse, through plain sqlite3 (the file of ``build_versions``).
REFUSED = {
    "REPLACE a version row": (
        "REPLACE INTO creator_versions (seq, superseded_by, id, handle, region) "
        "VALUES (6, NULL, 'c1', 'evil', 'US')"
    ),
    "INSERT OR REPLACE an entry": (
        "INSERT OR REPLACE INTO entries SELECT seq, recorded_at, type, 'evil', payload, "
        "payload_hash, prev_hash, hash FROM entries WHERE seq = 2"
    ),
    "insert an entry with a gap": (
        "INSERT INTO entries SELECT 99, recorded_at, type, id, payload, payload_hash, prev_hash, "
        "hash FROM entries WHERE seq = 6"
    ),
    "a version row no entry made": (
        "INSERT INTO creator_versions (seq, superseded_by, id, handle) VALUES (99, NULL, 'x', 'x')"
    ),
    "a version row for another type's entry": (
        "INSERT INTO creator_versions (seq, superseded_by, id, handle) VALUES (3, NULL, 'a1', 'x')"
    ),
    "a wrong supersede": "UPDATE creator_versions SET superseded_by = 6 WHERE seq = 5",
    "revive a superseded version": "UPDATE creator_versions SET superseded_by = NULL WHERE seq = 1",
    "move a supersede": "UPDATE creator_versions SET superseded_by = 6 WHERE seq = 1",
    "an UPDATE of the rowid alias": "UPDATE creator_versions SET rowid = 77 WHERE seq = 6",
    "DELETE": "DELETE FROM entries WHERE seq = 6",
}
MESSAGES = r"append-only|added only with|superseded only|stays superseded|cannot be"


def guards(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    found = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    conn.close()
    return found


def state(path: Path) -> list[list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows = [conn.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall() for name in names]
    conn.close()
    return rows


def creators(n: int, start: int = 0) -> list[dl.Creator]:
    return [dl.Creator(id=f"n{i}", handle=f"@n{i}", region="US") for i in range(start, start + n)]


def own_connection(ledger: dl.Ledger) -> sqlite3.Connection:
    """The SQLite connection a ledger writes through."""
    store = ledger._store
    assert isinstance(store, backend.Store)
    return store.conn


def test_a_large_write_is_never_seen_without_its_guards_and_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    before = guards(path)
    inserts = {name for name in before if name.endswith("_refuse_insert")}
    assert len(inserts) == 1 + len(TABLES)
    with dl.Ledger.open(path, clock=Clock()) as ledger, ledger.transaction():
        ledger.record_all(creators(backend.LIFT_AT))
        mine = own_connection(ledger)  # the writer's own view: its INSERT guards are lifted
        lifted = {
            n for (n,) in mine.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert inserts - lifted == {"entries_refuse_insert", "creator_versions_refuse_insert"}
        assert guards(path) == before  # every other connection sees them all, as they were
    assert guards(path) == before
    for sql in REFUSED.values():
        conn = sqlite3.connect(path, isolation_level=None)
        with pytest.raises(sqlite3.IntegrityError, match=MESSAGES):
            conn.execute(sql)
        conn.close()
    db = sqlite_utils.Database(path, recursive_triggers=False)
    row = db.execute("SELECT * FROM creator_versions WHERE seq = 6").fetchone()
    columns = [c.name for c in db.table("creator_versions").columns]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.table("creator_versions").insert(
            {**dict(zip(columns, row, strict=True)), "handle": "x"}, replace=True
        )
    db.close()
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6 + backend.LIFT_AT)


def test_small_batches_lift_the_guards_once_they_add_up(tmp_path: Path) -> None:
    """A sweep writes page by page in one transaction: the pages count together."""
    path = tmp_path / "l.db"
    build_versions(path)
    before = guards(path)
    with dl.Ledger.open(path, clock=Clock()) as ledger, ledger.transaction():
        mine = own_connection(ledger)
        ledger.record_all(creators(backend.LIFT_AT - 1), batch_size=50)
        assert "entries_refuse_insert" in dict(mine.execute("SELECT name, 1 FROM sqlite_master"))
        ledger.record(dl.Creator(id="one more", handle="@m", region=None))
        assert "entries_refuse_insert" not in dict(
            mine.execute("SELECT name, 1 FROM sqlite_master")
        )
        ledger.record(dl.Creator(id="and another", handle="@a", region=None))
    assert guards(path) == before
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6 + backend.LIFT_AT + 1)


def test_an_outer_block_going_on_after_sqlite_rolled_it_all_back_writes_nothing(
    tmp_path: Path,
) -> None:
    """A disk-full error inside a savepoint makes SQLite roll the whole transaction back. An
    outer block that catches it and goes on would run in autocommit: a lifted guard's DROP
    committed at once, entries numbered from a stale head. Every write after it is refused."""
    path = tmp_path / "l.db"
    build_versions(path)
    before, kept = guards(path), state(path)
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        conn = own_connection(ledger)
        with pytest.raises(dl.StorageError, match="roll all of it back"), ledger.transaction():
            ledger.record_all(creators(backend.LIFT_AT - 50))
            with pytest.raises(dl.StorageError, match="disk is full"), ledger.transaction():
                ledger.record_all(creators(60, start=1000))
                conn.execute("PRAGMA max_page_count=1")
                ledger.record_all(creators(50, start=2000))
            conn.execute("PRAGMA max_page_count=1073741823")
            assert not conn.in_transaction  # SQLite gave up the outer block too
            with pytest.raises(dl.StorageError, match="roll all of it back"):
                ledger.record_all(creators(300, start=5000))
            assert guards(path) == before  # nothing was dropped in autocommit
        assert ledger.seq == 6
        ledger.record(dl.Creator(id="after", handle="@after", region=None))  # the next one works
    kept_rows = state(path)
    assert guards(path) == before and len(kept_rows[0]) == len(kept[0]) + 1
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 7)


@pytest.mark.parametrize("how", list(REFUSED))
def test_what_the_lifted_guards_refuse_is_refused_at_the_commit(tmp_path: Path, how: str) -> None:
    """Written through the ledger's own connection while its guards are lifted, each is
    refused when the transaction commits, and nothing of the transaction is kept."""
    path = tmp_path / "l.db"
    build_versions(path)
    before, kept = guards(path), state(path)
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        with pytest.raises(dl.StorageError, match=MESSAGES), ledger.transaction():
            ledger.record_all(creators(backend.LIFT_AT))
            own_connection(ledger).execute(REFUSED[how].replace("99", str(ledger.seq + 2)))
        assert ledger.seq == 6
    assert (guards(path), state(path)) == (before, kept)


#: The store's own entry INSERT gone wrong, as a bug in ``append`` would write it.
OWN_BUGS = {
    "a seq past the next": (
        "INSERT INTO entries VALUES (? + 1, ?, ?, ?, ?, ?, ?, ?)",
        "append-only: an entry is added once, with the next seq",
    ),
    "an entry whose id is not its version row's": (
        "INSERT INTO entries VALUES (?, ?, ?, 'x' || ?, ?, ?, ?, ?)",
        "a row is added only with the entry it derives from",
    ),
}


@pytest.mark.parametrize("how", list(OWN_BUGS))
def test_the_commit_checks_what_the_store_itself_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    before, kept = guards(path), state(path)
    sql, message = OWN_BUGS[how]
    monkeypatch.setattr(backend, "_INSERT_ENTRY", sql)
    with (
        dl.Ledger.open(path, clock=Clock()) as ledger,
        pytest.raises(dl.StorageError, match=message),
    ):
        ledger.record_all(creators(backend.LIFT_AT))
    assert (guards(path), state(path)) == (before, kept)


def test_a_lifted_write_inside_a_savepoint_that_fails_leaves_the_outer_one_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    before = guards(path)
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        with ledger.transaction():
            ledger.record_all(creators(backend.LIFT_AT))  # lifted here, in the outer block
            with pytest.raises(dl.MissingReferenceError), ledger.transaction():
                ledger.record_all(creators(backend.LIFT_AT, start=1000))
                ledger.record(dl.Post(id="p", creator_id="nobody", kind="VIDEO"))
            with pytest.raises(dl.MissingReferenceError), ledger.transaction():
                ledger.record_all(
                    [
                        *creators(backend.LIFT_AT, start=2000),
                        dl.Post(id="p", creator_id="x", kind="VIDEO"),
                    ]
                )
            ledger.record_all(creators(3, start=3000))
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6 + backend.LIFT_AT + 3)
    assert guards(path) == before


KILLED = textwrap.dedent(
    """
    import sys, time
    import delvia_ledger as dl
    ledger = dl.Ledger.open(sys.argv[1])
    def creators():
        for i in range(100_000):
            if i == 2000:
                print("inside", flush=True)
                time.sleep(60)
            yield dl.Creator(id=f"k{i}", handle="@k", region=None)
    ledger.record_all(creators(), batch_size=1000)
    """
)


@pytest.mark.slow
def test_a_writer_killed_while_its_guards_are_lifted_leaves_them_in_place(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    before, kept = guards(path), state(path)
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "inside"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(30)
    assert (guards(path), state(path)) == (before, kept)
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(REFUSED["INSERT OR REPLACE an entry"])
    conn.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(1, 3 * backend.LIFT_AT), min_size=1, max_size=4),
    again=st.lists(st.integers(0, 40), max_size=30),
)
def test_lifted_and_guarded_writes_make_the_same_file(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], again: list[int]
) -> None:
    """The same calls written with the guards lifted (large appends) or firing on every row
    (the threshold out of reach) make the same rows; supersedes in and across batches too."""
    base = tmp_path_factory.mktemp("same") / "base.db"
    build_versions(base)
    made = []
    for lift_at in (backend.LIFT_AT, 10**9):
        path = base.with_name(f"{lift_at}.db")
        shutil.copy(base, path)
        saved, backend.LIFT_AT = backend.LIFT_AT, lift_at
        try:
            with dl.Ledger.open(path, clock=Clock()) as ledger:
                start = 0
                for size in sizes:  # accounts carry no personal data: no salt in the payloads
                    batch = [
                        dl.AdAccount(id=f"a{i}", name=f"n{i}", region="US")
                        for i in range(start, start + size)
                    ]
                    batch += [
                        dl.AdAccount(id=f"a{i}", name=f"again{k}", region="US")
                        for k, i in enumerate(again)
                        if i < start + size
                    ]
                    ledger.record_all(batch, batch_size=size)
                    start += size
                assert ledger.verify(deep=True).ok
        finally:
            backend.LIFT_AT = saved
        made.append((state(path), guards(path)))
    assert made[0] == made[1]
