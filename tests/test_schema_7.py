"""Schema version 7 (a person's chat handle; every guard made again): a version-6 ledger, as
the release before wrote it, migrates once on both backends, keeps its entries, and its guards
are then exactly a new ledger's, refusing every hand edit and allowing an erasure."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.storage.postgres import SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION
from delvia_ledger.storage.sqlite import SCHEMA_VERSION

from .builders import read_only
from .conftest import Backend, Clock

DATA = Path(__file__).parent / "data"

#: A trigger by a name no generator of today makes, on a table whose rows an erasure updates:
#: the migration drops every trigger of the ledger's tables, whatever its name.
STRAY = {
    "sqlite": "CREATE TRIGGER guard_of_old BEFORE UPDATE ON person_versions "
    "BEGIN SELECT RAISE(ABORT, 'an old guard'); END",
    "postgres": "CREATE TRIGGER guard_of_old BEFORE UPDATE ON person_versions FOR EACH ROW "
    "EXECUTE FUNCTION ledger_refuse('an old guard')",
}


def version_6_ledger(backend: Backend) -> str:
    """``ledger-v6.db`` (written by commit db84832, schema version 6: people, creators, posts,
    a code, two Notices, one on ``email:ana@brand.example``, and creator cr_2 erased) at the
    backend's location: on PostgreSQL, the schema that commit made (``postgres-v6-schema.sql``)
    holding the file's rows. Both with a stray trigger; returns the digest of the last entry."""
    source = sqlite3.connect(DATA / "ledger-v6.db")
    last = source.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    if backend.name == "sqlite":
        target = sqlite3.connect(backend.location, isolation_level=None)
        source.backup(target)
        target.execute(STRAY["sqlite"])
        target.close()
    else:
        conn = backend.connect()
        conn.conn.execute((DATA / "postgres-v6-schema.sql").read_text())  # one round trip
        conn.close()
        raw = backend.raw()  # the guards off, to put the file's rows in as they are
        tables = [
            n for (n,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            for row in source.execute(f"SELECT * FROM {table}").fetchall():
                raw.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
        for table in [*tables, "ledger_schema"]:
            raw.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        raw.execute(STRAY["postgres"])
        raw.close()
    source.close()
    return f"{last[0]}:{last[1]}"


def guards(backend: Backend) -> set[tuple[str, ...]]:
    """Every guard of the ledger: SQLite, each trigger's name and SQL; PostgreSQL, each
    trigger's name, table and the source of the function it runs."""
    conn = backend.connect()
    if backend.name == "sqlite":
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    else:
        rows = conn.execute(
            "SELECT t.tgname, c.relname, p.prosrc FROM pg_trigger t JOIN pg_class c "
            "ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal "
            "AND c.relnamespace = current_schema()::regnamespace"
        )
    found = {tuple(row) for row in rows.fetchall()}
    conn.close()
    return found


def schema_version(backend: Backend) -> int:
    conn = backend.connect()
    if backend.name == "sqlite":
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    else:
        version = conn.execute("SELECT schema_version FROM ledger_schema").fetchone()[0]
    conn.close()
    return int(version)


def test_a_version_6_ledger_migrates_once_and_gets_every_guard_of_a_new_one(
    backend: Backend,
) -> None:
    digest = version_6_ledger(backend)
    conn = backend.connect()
    before = conn.execute("SELECT * FROM entries ORDER BY seq").fetchall()
    conn.close()
    assert schema_version(backend) == 6
    with backend.open() as ledger:
        assert ledger.verify(deep=True, digest=digest).ok
    expected = SCHEMA_VERSION if backend.name == "sqlite" else POSTGRES_SCHEMA_VERSION
    assert schema_version(backend) == expected
    conn = backend.connect()
    assert conn.execute("SELECT * FROM entries ORDER BY seq").fetchall() == before
    conn.close()
    migrated = guards(backend)
    fresh = backend.fresh()
    with fresh.open():
        pass
    assert migrated == guards(fresh)  # the stray trigger is gone, every guard is today's
    assert not any("an old guard" in " ".join(g) for g in migrated)
    with backend.open() as again:  # opened again: nothing left to migrate
        assert again.verify(deep=True).ok
    assert guards(backend) == migrated


def test_after_the_migration_the_guards_refuse_every_hand_edit_and_allow_an_erasure(
    backend: Backend, tmp_path: Path
) -> None:
    digest = version_6_ledger(backend)
    with backend.open(clock=Clock()) as ledger:
        ledger.record(
            dl.Person(id="p_ana", name="Ana Ruiz", email="ana@brand.example", chat_id="U024BE7LH")
        )
        seq = ledger.seq
    conn = backend.connect()
    attempts = [
        "UPDATE person_versions SET chat_id = NULL WHERE seq = {seq}",
        "UPDATE person_versions SET chat_id = 'U0EVIL' WHERE seq = {seq}",
        "UPDATE person_versions SET name = NULL, email = NULL, chat_id = NULL WHERE seq = {seq}",
        'UPDATE entries SET payload = \'{{"_source":"api","id":"p_ana","name":null}}\' '
        "WHERE seq = {seq}",
        "UPDATE creator_versions SET region = 'GB' WHERE id = 'cr_2'",
    ]
    for sql in attempts:
        with pytest.raises(backend.refused, match="cannot be changed"):
            conn.execute(sql.format(seq=seq))
    for sql in ("DELETE FROM entries WHERE seq = 1", "DELETE FROM person_versions"):
        with pytest.raises(backend.refused, match="cannot be deleted"):
            conn.execute(sql)
    with pytest.raises(backend.refused, match="append-only"):
        conn.execute(
            "INSERT INTO entries SELECT seq + 100, recorded_at, type, id, payload, "
            "payload_hash, prev_hash, hash FROM entries WHERE seq = 1"
        )
    conn.close()
    with backend.open(clock=Clock()) as ledger:
        done = ledger.erase(dl.Person, "p_ana", reason="asked", by="p_bo")
        assert {seq, 10} <= {r.seq for r in done.redacted}  # 10: email:ana@brand.example
        assert ("name", "email", "chat_id") in {r.fields for r in done.redacted}
        assert ledger.get(dl.Person, "p_ana") == dl.Person(id="p_ana", name="(erased)")
        assert ledger.verify(deep=True).ok and ledger.verify(digest=digest).ok
    conn = backend.connect()
    rows = conn.execute(
        "SELECT name, email, chat_id FROM person_versions WHERE id = 'p_ana'"
    ).fetchall()
    conn.close()
    assert [tuple(r) for r in rows] == [(None, None, None)] * 2
    kept = backend.stored_bytes()
    # her name, handle and address: the address was in a notice of version 6 too
    assert [s for s in (b"U024BE7LH", b"Ana Ruiz", b"ana@brand.example") if s in kept] == []


@pytest.mark.sqlite_only
@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("chattr"), reason="needs chattr")
def test_a_read_only_version_6_file_is_read_and_verified_without_migrating(
    tmp_path: Path,
) -> None:
    """Version 7 adds a column no version-6 entry fills: a version-6 file on a read-only share
    cannot be migrated, and needs not be."""
    archive = tmp_path / "archive"
    archive.mkdir()
    path = archive / "l.db"
    shutil.copy(DATA / "ledger-v6.db", path)
    before = path.read_bytes()
    with read_only(path, archive), dl.Ledger.open(path) as ledger:
        ana = ledger.get(dl.Person, "p_ana")
        assert ana is not None and (ana.name, ana.chat_id) == ("Ana Ruiz", None)
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 12)
        with pytest.raises(dl.StorageError, match="read-only"):
            ledger.record(dl.Person(id="p_cy", name="Cy", chat_id="U0CY"))
    assert path.read_bytes() == before
