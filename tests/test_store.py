"""The file itself: its format, its triggers, its hash chain under tampering, and its safety
with several writer processes and with a writer killed mid-transaction."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path

import pytest
import sqlite_utils

import delvia_ledger as dl
from delvia_ledger.chain import chain_hash
from delvia_ledger.cli import main
from delvia_ledger.storage.schema import TABLES
from delvia_ledger.storage.sqlite import SCHEMA_VERSION

from .builders import CODES, TAMPERING, build, build_versions
from .conftest import T0, Backend, Clock


@pytest.mark.sqlite_only
def test_an_auditor_can_check_the_chain_with_sqlite3_and_sha256(tmp_path: Path) -> None:
    build(tmp_path / "l.db")
    conn = sqlite3.connect(tmp_path / "l.db")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
    assert columns == [
        "seq",
        "recorded_at",
        "type",
        "id",
        "payload",
        "payload_hash",
        "prev_hash",
        "hash",
    ]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert [
        t
        for t in tables
        if {"prev_hash", "hash"} <= {r[1] for r in conn.execute(f"PRAGMA table_info({t})")}
    ] == ["entries"]
    prev = "0" * 64
    for seq, (n, stamp, type_, id_, payload, payload_hash, prev_hash, hash_) in enumerate(
        conn.execute("SELECT * FROM entries ORDER BY seq"), start=1
    ):
        assert n == seq and prev_hash == prev
        assert payload_hash == hashlib.sha256(payload.encode()).hexdigest()
        assert (
            json.dumps(
                json.loads(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            == payload
        )
        line = f"{prev_hash}\n{seq}\n{stamp}\n{type_}\n{id_}\n{payload_hash}"
        assert hash_ == hashlib.sha256(line.encode()).hexdigest()
        prev = hash_


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entries SET id = 'x' WHERE seq = 2",
        "DELETE FROM entries WHERE seq = 6",
        "UPDATE creator_versions SET handle = 'x'",
        "DELETE FROM creator_versions",
    ],
)
def test_triggers_refuse_changes_even_from_raw_sql(backend: Backend, sql: str) -> None:
    build(backend)
    conn = backend.connect()
    with pytest.raises(backend.refused, match="cannot be"):
        conn.execute(sql)
    conn.close()


@pytest.mark.parametrize("how", list(TAMPERING))
def test_verify_names_the_first_bad_seq_after_tampering(backend: Backend, how: str) -> None:
    """On PostgreSQL the tables' owner disables the triggers: the same seq is named."""
    build(backend)
    tamper, first_bad = TAMPERING[how]
    conn = backend.raw()
    tamper(conn)
    conn.close()
    with backend.open() as ledger:
        result = ledger.verify()
    assert (result.ok, result.first_bad_seq) == (False, first_bad)
    assert result.checked == first_bad - 1 and f"seq {first_bad}" in (result.reason or "")


def test_a_digest_catches_truncation_and_a_rewritten_chain(backend: Backend) -> None:
    build(backend)
    with backend.open() as ledger:
        saved = str(ledger.digest())
        assert ledger.verify(digest=saved).ok
        assert ledger.as_of(seq=4).verify(digest=ledger.as_of(seq=4).digest()).ok
    conn = backend.raw()
    conn.execute("DELETE FROM entries WHERE seq >= 5")
    conn.close()
    with backend.open() as ledger:
        assert ledger.verify().ok  # the shorter chain is internally consistent...
        result = ledger.verify(digest=saved)  # ...but it no longer extends what we saw
    assert (result.ok, result.first_bad_seq) == (False, 5) and "removed" in (result.reason or "")

    other_place = backend.fresh()
    build(other_place, creators=6)  # same length, different history
    with other_place.open() as other:
        other.record(dl.Creator(id="extra", handle="@x", region=None))
        result = other.verify(digest=dl.Digest(3, "ab" * 32))
    assert (result.ok, result.first_bad_seq) == (False, 3)


VERSION_TAMPERING: dict[str, tuple[str, int, str]] = {
    "edit a column": (
        "UPDATE spark_authorization_versions SET expires_at = expires_at + 1 WHERE seq = 4",
        4,
        "expires_at differs",
    ),
    "edit a code key": (
        "UPDATE spark_authorization_versions SET code_key = code_key + 1 WHERE seq = 4",
        4,
        "code_key differs",
    ),
    "revive a superseded version": (
        "UPDATE creator_versions SET superseded_by = NULL WHERE seq = 1",
        1,
        "superseded_by",
    ),
    "delete a row": ("DELETE FROM post_versions WHERE seq = 2", 2, "no row for this entry"),
    "add a row no entry made": (
        "INSERT INTO creator_versions SELECT 7, NULL, id, handle, region, display_name, contact, "
        "tiktok_identity_id "
        "FROM creator_versions WHERE seq = 6",
        7,
        "no Creator entry made",
    ),
    "move a row onto another type's entry": (
        "UPDATE creator_versions SET seq = 3 WHERE seq = 6",
        3,
        "no Creator entry made",
    ),
}


@pytest.mark.parametrize("how", list(VERSION_TAMPERING))
def test_deep_verify_names_the_first_version_row_that_differs_from_its_entry(
    backend: Backend, how: str
) -> None:
    """The checks read the version tables, so a deep verify re-derives them from the entries."""
    build_versions(backend)
    with backend.open() as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6)
    sql, first_bad, problem = VERSION_TAMPERING[how]
    conn = backend.raw()
    conn.execute(sql)
    conn.close()
    with backend.open() as ledger:
        assert ledger.verify().ok  # the chain itself is untouched
        result = ledger.verify(deep=True)
        assert ledger.as_of(seq=first_bad - 1).verify(deep=True).ok
    assert (result.ok, result.first_bad_seq, result.checked) == (False, first_bad, first_bad - 1)
    assert result.reason is not None and problem in result.reason
    assert result.reason.startswith(f"seq {first_bad}: ")


@pytest.mark.parametrize(
    ("type_", "payload", "problem"),
    [
        ("Ghost", None, "unknown record type 'Ghost'"),
        ("Creator", '{"id":"c1"}', "the payload is not a valid Creator"),
    ],
)
def test_deep_verify_catches_a_rewritten_tail_the_chain_accepts(
    backend: Backend, type_: str, payload: str | None, problem: str
) -> None:
    """Someone who recomputes the hashes of the last entry fools the chain, not the tables."""
    build_versions(backend)
    conn = backend.raw()
    seq, stamp, id_, old_payload, prev = conn.execute(
        "SELECT seq, recorded_at, id, payload, prev_hash FROM entries WHERE seq = 6"
    ).fetchone()
    payload = payload or old_payload
    payload_hash = hashlib.sha256(payload.encode()).hexdigest()
    conn.execute(
        "UPDATE entries SET type = ?, payload = ?, payload_hash = ?, hash = ? WHERE seq = 6",
        (type_, payload, payload_hash, chain_hash(prev, seq, stamp, type_, id_, payload_hash)),
    )
    conn.close()
    with backend.open() as ledger:
        assert ledger.verify().ok
        result = ledger.verify(deep=True)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 6, 5)
    assert result.reason is not None and result.reason.startswith(f"seq 6: {problem}")


def test_an_empty_ledger_has_digest_zero(backend: Backend) -> None:
    with backend.open() as ledger:
        assert ledger.digest() == dl.Digest(0, "0" * 64)
        assert ledger.verify(digest=ledger.digest()) == dl.VerifyResult(True, 0)
    assert dl.Digest.parse(str(dl.Digest(7, "c" * 64))) == dl.Digest(7, "c" * 64)
    with pytest.raises(ValueError, match="not of the form"):
        dl.Digest.parse("7:xyz")


def test_a_raw_code_never_reaches_the_file(backend: Backend) -> None:
    with backend.open(clock=Clock()) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="maya", handle="@m", region="US"),
                dl.Post(id="p", creator_id="maya", kind="VIDEO"),
            ]
        )
        for i, code in enumerate(CODES):
            ledger.record(
                dl.SparkAuthorization.from_code(
                    code,
                    id=f"a{i}",
                    creator_id="maya",
                    post_id="p",
                    starts_at=T0,
                    expires_at=T0 + timedelta(days=7),
                )
            )
        with pytest.raises(dl.DuplicateCodeError) as error:
            ledger.record(
                dl.SparkAuthorization.from_code(
                    CODES[0],
                    creator_id="maya",
                    post_id="p",
                    starts_at=T0,
                    expires_at=T0 + timedelta(days=7),
                )
            )
        shown = [
            str(error.value),
            repr(ledger.get(dl.SparkAuthorization, "a0")),
            repr(list(ledger.entries())),
        ]
    files = backend.stored_bytes()
    for code in CODES:
        assert code.encode() not in files and code[1:-1].encode() not in files
        assert all(code not in text for text in shown)
    assert CODES[0][-4:].encode() in files  # the hint is there, so the search can find things


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(dl.NotALedgerError, match="not a delvia_ledger database"):
        dl.Ledger.open(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)")
    with pytest.raises(dl.NotALedgerError, match="already holds other tables"):
        dl.Ledger.open(other)


def _writer(path: str, worker: int, count: int) -> None:
    with dl.Ledger.open(path) as ledger:
        for i in range(count):
            if i % 5 == 0:
                ledger.record_all(
                    dl.Creator(id=f"w{worker}-{i}-{j}", handle="@w", region=None) for j in range(3)
                )
            else:
                ledger.record(dl.Creator(id=f"w{worker}-{i}", handle="@w", region=None))


@pytest.mark.slow
def test_several_writer_processes_lose_nothing_and_keep_the_chain(backend: Backend) -> None:
    path = backend.location
    dl.Ledger.open(path).close()
    workers, count = 4, 40
    context = get_context("spawn")
    processes = [context.Process(target=_writer, args=(path, w, count)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    with dl.Ledger.open(path) as ledger:
        expected = workers * (count // 5 * 3 + count - count // 5)
        entries = list(ledger.entries())
        assert [e.seq for e in entries] == list(range(1, expected + 1))
        assert len({e.record.id for e in entries}) == expected
        assert ledger.verify(deep=True) == dl.VerifyResult(True, expected)


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import delvia_ledger as dl
    ledger = dl.Ledger.open(sys.argv[1])
    ledger.record(dl.Creator(id="committed", handle="@ok", region=None))
    def creators():
        for i in range(100_000):
            if i == 5000:
                print("inside", flush=True)
                time.sleep(60)
            yield dl.Creator(id=f"c{i}", handle="@c", region=None)
    ledger.record_all(creators(), batch_size=1000)
    """
)


@pytest.mark.slow
def test_a_writer_killed_mid_transaction_leaves_only_what_was_committed(
    backend: Backend,
) -> None:
    path = backend.location
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "inside"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(30)
    with dl.Ledger.open(path) as ledger:
        assert [e.record.id for e in ledger.entries()] == ["committed"]
        assert ledger.get(dl.Creator, "c0") is None
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 1)
        ledger.record(
            dl.Creator(id="after", handle="@a", region=None)
        )  # the ledger is still writable (on PostgreSQL: the killed writer's lock is gone)
        assert ledger.digest().seq == 2


@pytest.mark.sqlite_only
def test_a_ledger_written_by_version_0_1_0_opens_migrates_once_and_verifies(
    tmp_path: Path,
) -> None:
    """tests/data/ledger-v0.1.0.db was written by delvia_ledger 0.1.0 (schema version 1)."""
    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "data" / "ledger-v0.1.0.db", path)
    before = sqlite3.connect(path).execute("SELECT * FROM entries ORDER BY seq").fetchall()
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True).ok and ledger.seq == 34
        maya = ledger.get(dl.Creator, "7000000000000000001")
        assert maya is not None and maya.handle == "maya.makes"  # recorded as "@maya.makes"
        assert [f.kind for f in ledger.findings(now="2026-11-01T09:00:00Z")]  # the checks run
        # the new record types work on the migrated file
        ledger.record(
            dl.SparkBinding(
                authorization_id="auth_live",
                ad_account_id="6900000000000000001",
                bound_at="2026-11-01T09:00:00Z",
            )
        )
        assert ledger.verify(deep=True).ok
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT * FROM entries WHERE seq <= 34 ORDER BY seq").fetchall() == before
    with pytest.raises(sqlite3.DatabaseError, match="cannot be changed"):  # guards are back
        conn.execute("UPDATE creator_versions SET handle = 'x'")
    with dl.Ledger.open(path) as again:  # a second open does not migrate again
        assert again.verify(deep=True).ok and again.seq == 35


def file_state(path: Path) -> tuple[list[tuple[object, ...]], ...]:
    """Every row of every table, read with plain sqlite3: what a refused write must not change."""
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    state = tuple(conn.execute(f"SELECT * FROM [{n}] ORDER BY rowid").fetchall() for n in names)
    conn.close()
    return state


# Each replaces or adds a row behind the ledger's back with every trigger in place.
REPLACING: dict[str, str] = {
    "INSERT OR REPLACE an entry": (
        "INSERT OR REPLACE INTO entries SELECT seq, recorded_at, type, 'evil', payload, "
        "payload_hash, prev_hash, hash FROM entries WHERE seq = 2"
    ),
    "REPLACE INTO entries": (
        "REPLACE INTO entries SELECT seq, recorded_at, type, id, '{}', payload_hash, prev_hash, "
        "hash FROM entries WHERE seq = 6"
    ),
    "upsert an entry": (
        "INSERT INTO entries SELECT * FROM entries WHERE seq = 3 "
        "ON CONFLICT(seq) DO UPDATE SET id = 'evil'"
    ),
    "UPDATE OR REPLACE an entry's seq": "UPDATE OR REPLACE entries SET seq = 2 WHERE seq = 3",
    "insert an entry with a gap": (
        "INSERT INTO entries SELECT 9, recorded_at, type, id, payload, payload_hash, prev_hash, "
        "hash FROM entries WHERE seq = 6"
    ),
    "REPLACE a version row": (
        "REPLACE INTO creator_versions (seq, superseded_by, id, handle, region) "
        "VALUES (6, NULL, 'c1', 'evil', 'US')"
    ),
    "INSERT OR REPLACE a superseded version back to current": (
        "INSERT OR REPLACE INTO creator_versions (seq, superseded_by, id, handle) "
        "VALUES (1, NULL, 'c0', 'c0')"
    ),
    "a version row no entry made": (
        "INSERT INTO creator_versions (seq, superseded_by, id, handle) VALUES (7, NULL, 'x', 'x')"
    ),
    "a version row for another type's entry": (
        "INSERT INTO creator_versions (seq, superseded_by, id, handle) VALUES (3, NULL, 'a1', 'x')"
    ),
    "hide a current version by marking it superseded": (
        "UPDATE spark_authorization_versions SET superseded_by = 6 WHERE seq = 4"
    ),
}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("how", list(REPLACING))
def test_replacing_inserts_and_stray_rows_are_refused_even_from_raw_sql(
    tmp_path: Path, how: str
) -> None:
    """REPLACE deletes the conflicting row without firing DELETE triggers; INSERT guards stop it."""
    path = tmp_path / "l.db"
    build_versions(path)
    before = file_state(path)
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 0  # the default
    with pytest.raises(
        sqlite3.IntegrityError, match=r"append-only|added only with|superseded only"
    ):
        conn.execute(REPLACING[how])
    conn.close()
    assert file_state(path) == before
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6)


@pytest.mark.sqlite_only
def test_sqlite_utils_cannot_replace_entries_or_version_rows(tmp_path: Path) -> None:
    """The `sqlite-utils` command line and its Python API, as people use them on a ledger."""
    path = tmp_path / "l.db"
    build_versions(path)
    before = file_state(path)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    entry = dict(conn.execute("SELECT * FROM entries WHERE seq = 2").fetchone())
    version = dict(conn.execute("SELECT * FROM creator_versions WHERE seq = 6").fetchone())
    conn.close()
    for table, row in (("entries", {**entry, "id": "evil"}), ("creator_versions", version)):
        rows = tmp_path / f"{table}.json"
        rows.write_text(json.dumps([row]))
        done = subprocess.run(
            [sys.executable, "-m", "sqlite_utils", "insert", "--replace", str(path), table,
             str(rows), "--pk", "seq"],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert done.returncode != 0
        assert "never replaced" in done.stderr  # not the DELETE guard's "cannot be deleted"
    db = sqlite_utils.Database(path, recursive_triggers=False)  # REPLACE fires no DELETE trigger
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.table("entries").insert({**entry, "id": "evil"}, replace=True)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.table("creator_versions").insert({**version, "handle": "evil"}, replace=True)
    db.close()
    assert file_state(path) == before


def test_the_ledger_itself_still_appends_and_supersedes_with_the_guards(
    backend: Backend,
) -> None:
    with backend.open(clock=Clock()) as ledger:
        ledger.record_all(
            [dl.Creator(id="c", handle=f"@v{i}", region=None) for i in range(3)]  # 3 versions
            + [dl.Creator(id=f"n{i}", handle="@n", region=None) for i in range(5)],
            batch_size=2,
        )
        with pytest.raises(dl.MissingReferenceError), ledger.transaction():
            ledger.record(dl.Creator(id="inside", handle="@i", region=None))
            ledger.record(dl.Post(id="p", creator_id="nobody", kind="VIDEO"))
        handles = [getattr(e.record, "handle", None) for e in ledger.history(dl.Creator, "c")]
        assert handles == ["v0", "v1", "v2"]
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 8)


def v2_file(path: Path) -> None:
    """A ledger as delvia_ledger wrote schema version 2: no insert guards."""
    build_versions(path)
    conn = sqlite3.connect(path, isolation_level=None)
    new = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%refuse_insert'"
    ).fetchall()
    assert len(new) == 1 + len(TABLES)  # on entries; one on each version table
    for (name,) in new:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("PRAGMA user_version = 2")
    conn.close()


def guards(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    conn.close()
    return names


@pytest.mark.sqlite_only
def test_an_older_file_gets_the_insert_guards_by_migrating_once(tmp_path: Path) -> None:
    old = tmp_path / "v1.db"
    shutil.copy(Path(__file__).parent / "data" / "ledger-v0.1.0.db", old)
    v2 = tmp_path / "v2.db"
    v2_file(v2)
    assert "entries_refuse_insert" not in guards(old) | guards(v2)
    for path in (old, v2):
        before = sqlite3.connect(path).execute("SELECT * FROM entries ORDER BY seq").fetchall()
        with dl.Ledger.open(path) as ledger:
            assert ledger.verify(deep=True).ok
        conn = sqlite3.connect(path, isolation_level=None)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 8
        assert conn.execute("SELECT * FROM entries ORDER BY seq").fetchall() == before
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(
                "REPLACE INTO entries SELECT seq, recorded_at, type, 'evil', payload, "
                "payload_hash, prev_hash, hash FROM entries WHERE seq = 2"
            )
        with pytest.raises(sqlite3.IntegrityError, match="added only with"):
            conn.execute("INSERT INTO creator_versions (seq, id) VALUES (999, 'ghost')")
        conn.close()
        migrated = guards(path)
        with dl.Ledger.open(path) as again:  # opened again: nothing left to migrate
            assert again.verify(deep=True).ok
        assert guards(path) == migrated


@pytest.mark.sqlite_only
def test_a_migration_that_cannot_take_the_lock_changes_nothing(tmp_path: Path) -> None:
    """The migration runs in one transaction: refused, it leaves the file as it was."""
    path = tmp_path / "v2.db"
    v2_file(path)
    before, triggers = file_state(path), guards(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    with pytest.raises(dl.LedgerBusyError, match="locked"):
        dl.Ledger.open(path, busy_timeout=0.05)
    holder.execute("ROLLBACK")
    holder.close()
    assert (file_state(path), guards(path)) == (before, triggers)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (":memory:", "in memory"),
        ("file::memory:", "URI"),
        ("file:ledger.db?mode=memory", "URI"),
        ("file:ledger.db", "URI"),
    ],
)
@pytest.mark.sqlite_only
def test_a_throw_away_database_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, problem: str
) -> None:
    """An in-memory ledger is gone on exit: `report` would say all is fine, imports vanish."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=problem):
        dl.Ledger.open(path)
    with pytest.raises(ValueError, match=problem):
        dl.Ledger.open(path.encode())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.sqlite_only
def test_a_bytes_path_names_the_file_it_spells(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with dl.Ledger.open(os.fsencode(path)) as ledger:
        ledger.record(dl.Creator(id="c", handle=None, region=None))
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))] == ["x.db"]
    with pytest.raises(ValueError, match="file name"):
        dl.Ledger.open(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--db", ""],
        ["init", "--db", ""],
        ["init", "--db", ":memory:"],
        ["report", "--db", ":memory:"],
        ["import", "creators.csv", "--type", "Creator", "--db", ":memory:"],
        ["verify", "--db", "file::memory:"],
    ],
)
@pytest.mark.sqlite_only
def test_the_command_line_refuses_a_throw_away_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.search("empty|in memory|URI", err)
    assert list(tmp_path.iterdir()) == []


def test_verify_reports_its_progress_through_the_chain(ledger: dl.Ledger) -> None:
    ledger.record_all(dl.Creator(id=f"c{i}", handle=None, region=None) for i in range(12_000))
    seen: list[int] = []
    assert ledger.verify(progress=seen.append).ok
    assert seen == [5000, 10000, 12000]
    assert ledger.verify(deep=True, progress=None).ok


# --- sources (DESIGN §9): where each entry came from, inside what the chain covers -----------


def test_each_entry_records_its_source_inside_the_hashed_payload(
    backend: Backend, clock: Clock
) -> None:
    with backend.open(clock=clock) as ledger:
        first = ledger.record(dl.Creator(id="maya", handle="@maya", region="US"))
        clock.advance(days=1)
        second = ledger.record(
            dl.Creator(id="maya", handle="@maya", region="US", display_name="Maya"), source="tiktok"
        )
        clock.advance(days=1)
        ledger.record_all([dl.AdAccount(id="69", name="Brand", region="US")], source="csv")
        assert (first.source, second.source) == ("api", "tiktok")
        assert [e.source for e in ledger.history(dl.Creator, "maya")] == ["api", "tiktok"]
        assert [e.source for e in ledger.entries()] == ["api", "tiktok", "csv"]
        assert ledger.verify(deep=True).ok
    conn = backend.connect()
    payload, payload_hash = conn.execute(
        "SELECT payload, payload_hash FROM entries WHERE seq = 3"
    ).fetchone()
    conn.close()
    assert payload == '{"_source":"csv","id":"69","name":"Brand","region":"US"}'
    assert hashlib.sha256(payload.encode()).hexdigest() == payload_hash
    # Changing the source by hand changes what the chain covers: verify names the entry.
    forged = backend.raw()
    forged.execute("UPDATE entries SET payload = replace(payload, 'csv', 'cli') WHERE seq = 3")
    forged.close()
    with backend.open() as ledger:
        assert ledger.verify().first_bad_seq == 3


def test_an_equal_record_from_another_source_writes_nothing(ledger: dl.Ledger) -> None:
    first = ledger.record(dl.AdAccount(id="69", name="Brand", region="US"), source="sheet")
    again = ledger.record(dl.AdAccount(id="69", name="Brand", region="US"), source="tiktok")
    result = ledger.record_all([dl.AdAccount(id="69", name="Brand", region="US")], source="csv")
    assert again == first and again.source == "sheet"
    assert (result.written, result.unchanged, ledger.seq) == (0, 1, 1)


@pytest.mark.parametrize("source", ["TikTok", "", None, 3, "sheet "])
def test_an_unknown_source_is_refused_naming_it_and_writes_nothing(
    ledger: dl.Ledger, source: object
) -> None:
    with pytest.raises(ValueError, match=r"source=.*must be one of tiktok, sheet, csv, cli, api"):
        ledger.record(dl.AdAccount(id="69", name="Brand", region="US"), source=source)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source must be one of"):
        ledger.record_all([dl.AdAccount(id="69", name="B", region="US")], source=source)  # type: ignore[arg-type]
    assert ledger.seq == 0


def test_last_from_gives_each_ids_last_version_from_a_source_and_when(
    ledger: dl.Ledger, clock: Clock
) -> None:
    store = ledger._store
    ledger.record_all(
        [dl.Creator(id=i, handle=f"@{i}", region="US") for i in ("a", "b", "c")], source="sheet"
    )
    clock.advance(days=1)
    told = clock.now
    ledger.record(dl.Creator(id="a", handle="@a", region="US", display_name="A1"), source="tiktok")
    ledger.record(dl.Creator(id="b", handle="@b", region="US", display_name="B1"), source="tiktok")
    clock.advance(days=1)
    ledger.record(dl.Creator(id="a", handle="@a", region="US", display_name="A2"), source="tiktok")
    ledger.record(dl.Creator(id="a", handle="@a2", region="US", display_name="A2"), source="sheet")
    found = store.last_from("tiktok", dl.Creator, ["a", "b", "c", "nobody"])
    assert {i: (r.display_name, t) for i, (r, t) in found.items()} == {
        "a": ("A2", clock.now),
        "b": ("B1", told),
    }
    before = store.last_from("tiktok", dl.Creator, ["a"], bound=4)
    assert before["a"][0].display_name == "A1"
    assert store.last_from("sheet", dl.Creator, ["a"])["a"][0].handle == "a2"
    assert store.last_from("cli", dl.Creator, ["a", "b"]) == {}
    with pytest.raises(ValueError, match="source='web' is not one of"):
        store.last_from("web", dl.Creator, ["a"])


def test_a_copy_and_an_export_keep_each_entrys_source(backend: Backend, tmp_path: Path) -> None:
    with backend.open(clock=Clock()) as ledger:
        ledger.record(dl.AdAccount(id="69", name="Brand", region="US"), source="cli")
        ledger.record(dl.AdAccount(id="70", name="Other", region="US"), source="tiktok")
        ledger.export_json(tmp_path / "export.json")
        digest = ledger.digest()
        entries = list(ledger.entries())
    exported = json.loads((tmp_path / "export.json").read_text())["entries"]
    assert [e["source"] for e in exported] == ["cli", "tiktok"]
    with dl.Ledger.open(tmp_path / "copy.db") as copy:
        copy.replay(entries)
        assert copy.digest() == digest
        assert [e.source for e in copy.entries()] == ["cli", "tiktok"]
    with (tmp_path / "export.json").open() as file, dl.Ledger.open(tmp_path / "c2.db") as copy:
        copy.replay(dl.io.read_export(file))
        assert copy.digest() == digest


APPENDING_WRITER = textwrap.dedent(
    """
    import sys
    import delvia_ledger as dl
    ledger = dl.Ledger.open(sys.argv[1])
    print("writing", flush=True)
    for i in range(100_000):
        ledger.record(dl.Creator(id=f"late{i}", handle="@late", region=None))
    """
)


@pytest.mark.sqlite_only
def test_deep_verify_checks_one_state_of_a_file_another_process_appends_to(
    tmp_path: Path,
) -> None:
    """Deep verify's file checks run on a second connection while the walks read; whatever a
    writer appends meanwhile, each verify is of one state and finds nothing wrong."""
    path = tmp_path / "l.db"
    build_versions(path)
    writer = subprocess.Popen(
        [sys.executable, "-c", APPENDING_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        with dl.Ledger.open(path) as ledger:
            results = [ledger.verify(deep=True)]
            while len(results) < 200 and len({result.checked for result in results}) < 3:
                results.append(ledger.verify(deep=True))
    finally:
        writer.kill()
        writer.wait(30)
    assert all(result.ok for result in results), results
    assert len({result.checked for result in results}) > 1  # the file grew between them
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, ledger.digest().seq)
