"""What only PostgreSQL has to show: writers on many connections, its guards and locks, the
same hashes as SQLite, ``copy`` both ways, and a URL's password kept out of every message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import delvia_ledger as dl
from delvia_ledger.storage.postgres import redacted
from delvia_ledger.storage.schema import TABLES

from .builders import CODES, TAMPERING, build, build_versions
from .conftest import T0, Backend, Clock, PostgresSchemas, postgres_url_or_skip
from .strategies import worlds

EXE = "delvia-ledger"


@pytest.fixture
def url(postgres_schemas: PostgresSchemas) -> str:
    """A fresh, empty schema on the test server."""
    return postgres_schemas.new()


@pytest.fixture
def pg(postgres_schemas: PostgresSchemas) -> Backend:
    """A ledger location on the test server; ``fresh()`` makes another schema."""
    return Backend("postgres", postgres_schemas.new)


def _append(url: str, worker: int, count: int) -> None:
    with dl.Ledger.open(url) as ledger:
        for i in range(count):
            if i % 4 == 0:
                ledger.record_all(
                    dl.Creator(id=f"w{worker}-{i}-{j}", handle="@w", region=None) for j in range(5)
                )
            else:
                ledger.record(dl.Creator(id=f"w{worker}-{i}", handle="@w", region=None))


@pytest.mark.slow
def test_three_processes_appending_at_once_keep_seqs_gap_free(url: str) -> None:
    dl.Ledger.open(url).close()
    workers, count = 3, 60
    context = get_context("spawn")
    processes = [context.Process(target=_append, args=(url, w, count)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(180)
        assert process.exitcode == 0
    expected = workers * (count // 4 * 5 + count - count // 4)
    with dl.Ledger.open(url) as ledger:
        entries = list(ledger.entries())
        assert [e.seq for e in entries] == list(range(1, expected + 1))
        assert len({e.record.id for e in entries}) == expected  # no record lost
        assert ledger.verify(deep=True) == dl.VerifyResult(True, expected)


def test_a_writer_waits_for_another_then_gives_up_and_readers_never_wait(url: str) -> None:
    """The write lock is per ledger (an advisory lock held by the open transaction)."""
    holder = dl.Ledger.open(url, clock=Clock())
    holder.record(dl.Creator(id="before", handle="@b", region=None))
    other = dl.Ledger.open(url, busy_timeout=0.2)
    try:
        with holder.transaction():
            holder.record(dl.Creator(id="inside", handle="@i", region=None))
            with pytest.raises(dl.LedgerBusyError, match=r"locked by another writer.*0\.2 s"):
                other.record(dl.Creator(id="blocked", handle="@x", region=None))
            assert other.get(dl.Creator, "before") is not None  # a reader is not blocked
            assert other.get(dl.Creator, "inside") is None  # nor sees what is uncommitted
            assert other.verify().ok
        assert other.record(dl.Creator(id="after", handle="@a", region=None)).seq == 3
        assert other.get(dl.Creator, "blocked") is None
    finally:
        holder.close()
        other.close()


def test_a_snapshot_sees_one_state_while_another_host_writes(url: str) -> None:
    reader, writer = dl.Ledger.open(url), dl.Ledger.open(url, clock=Clock())
    try:
        writer.record(dl.Creator(id="c0", handle="@c", region=None))
        with reader._store.snapshot():
            first = [e.seq for e in reader.entries()]
            writer.record(dl.Creator(id="c1", handle="@c", region=None))
            assert [e.seq for e in reader.entries()] == first == [1]
            assert reader.get(dl.Creator, "c1") is None
        assert reader.get(dl.Creator, "c1") is not None
    finally:
        reader.close()
        writer.close()


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_the_same_records_give_the_same_entries_and_digest_on_both_backends(
    tmp_path: Path, postgres_schemas: PostgresSchemas, world: list[dl.Record]
) -> None:
    file = Path(tmp_path) / f"{uuid.uuid4().hex}.db"
    with (
        dl.Ledger.open(file, clock=Clock()) as lite,
        dl.Ledger.open(postgres_schemas.new(), clock=Clock()) as server,
    ):
        for record in world:
            mine, theirs = lite.record(record), server.record(record)
            assert (mine.seq, mine.record, mine.source) == (
                theirs.seq,
                theirs.record,
                theirs.source,
            )
        # Personal payloads carry a random salt (DESIGN §16), so the hashes of the same records
        # differ; the same entries, copied, have the same hashes and digest on both.
        assert [(e.seq, e.record) for e in lite.entries()] == [
            (e.seq, e.record) for e in server.entries()
        ]
        assert server.verify(deep=True) == lite.verify(deep=True)
        with dl.Ledger.open(postgres_schemas.new()) as copy:
            copy.replay(lite.entries())
            assert copy.digest() == lite.digest()
            assert list(copy.entries()) == list(lite.entries())
            assert copy.verify(deep=True) == lite.verify(deep=True)


def test_tampering_is_located_at_the_same_seq_as_on_sqlite(tmp_path: Path, pg: Backend) -> None:
    """The same edits, made with the triggers disabled by the tables' owner, give the very
    same verification result on both backends."""
    for how, (tamper, first_bad) in TAMPERING.items():
        lite = Backend("sqlite", lambda: str(tmp_path / f"{uuid.uuid4().hex}.db"))
        server = pg.fresh()
        results = []
        for backend in (lite, server):
            build(backend)
            conn = backend.raw()
            tamper(conn)
            conn.close()
            with backend.open() as ledger:
                results.append(ledger.verify(deep=True))
        assert results[0] == results[1], how
        assert results[1].first_bad_seq == first_bad, how


# Each changes a row behind the ledger's back, with every guard in place.
REFUSED = {
    "TRUNCATE entries": "TRUNCATE entries",
    "TRUNCATE a version table": "TRUNCATE creator_versions CASCADE",
    "upsert an entry": (
        "INSERT INTO entries SELECT * FROM entries WHERE seq = 3 "
        "ON CONFLICT (seq) DO UPDATE SET id = 'evil'"
    ),
    "insert an entry with a gap": (
        "INSERT INTO entries SELECT 9, recorded_at, type, id, payload, payload_hash, prev_hash, "
        "hash FROM entries WHERE seq = 6"
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
    "revive a superseded version": "UPDATE creator_versions SET superseded_by = NULL WHERE seq = 1",
    "change the schema version": "UPDATE ledger_schema SET schema_version = 99",
}


@pytest.mark.parametrize("how", list(REFUSED))
def test_the_guards_refuse_what_sqlites_refuse_and_truncate(pg: Backend, how: str) -> None:
    build_versions(pg)
    conn = pg.connect()
    before = _state(conn)
    with pytest.raises(pg.refused, match=r"cannot be|append-only|added only|superseded|only by"):
        conn.execute(REFUSED[how])
    assert _state(conn) == before
    conn.close()
    with pg.open() as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6)


def _state(conn: object) -> list[object]:
    tables = ["entries", "creator_versions", "spark_authorization_versions", "ledger_schema"]
    return [
        conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()  # type: ignore[attr-defined]
        for t in tables
    ]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_copy_from_a_file_to_the_server_and_back_is_byte_identical(
    tmp_path: Path, url: str
) -> None:
    build_versions(tmp_path / "start.db")
    done = _cli("copy", "start.db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _cli("copy", url, "back.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = []
    for name in ("start.db", "back.db"):
        conn = Backend("sqlite", lambda: str(tmp_path / name)).connect()  # noqa: B023
        rows.append(conn.execute("SELECT * FROM entries ORDER BY seq").fetchall())
        conn.close()
    assert rows[0] == rows[1] and len(rows[0]) == 6
    server = Backend("postgres", lambda: url).connect()
    assert server.execute("SELECT * FROM entries ORDER BY seq").fetchall() == rows[0]
    server.close()
    with dl.Ledger.open(tmp_path / "start.db") as start, dl.Ledger.open(url) as middle:
        assert start.digest() == middle.digest()
    assert redacted(url) in done.stdout + done.stderr
    again = _cli("copy", "start.db", url, cwd=tmp_path)  # the server's copy is not empty now
    assert again.returncode == 2 and "already holds a ledger of 6 entries" in again.stderr


def _with_password(url: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def test_a_urls_password_never_appears_in_an_error_a_repr_or_the_output(
    tmp_path: Path, url: str
) -> None:
    password = urllib.parse.urlsplit(url).password
    assert password
    with dl.Ledger.open(url) as ledger:
        shown = [repr(ledger), repr(ledger._store), ledger._store.path]
    wrong = _with_password(url, "not-the-password-Zq7")
    with pytest.raises(dl.StorageError, match="cannot connect to the PostgreSQL server") as error:
        dl.Ledger.open(wrong)
    shown.append(str(error.value))
    done = _cli("--db", wrong, "init", cwd=tmp_path)
    assert done.returncode != 0
    shown += [done.stdout, done.stderr]
    done = _cli("--db", url, "init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown += [done.stdout, done.stderr]
    for text in shown:
        assert password not in text and "not-the-password-Zq7" not in text
    assert "delvia_test" in shown[-2] or "@" in shown[-2]  # it still says which ledger


def test_a_server_that_is_not_there_is_a_storage_error(tmp_path: Path) -> None:
    postgres_url_or_skip()
    with pytest.raises(dl.StorageError, match="cannot connect") as error:
        dl.Ledger.open("postgresql://someone:s3cret-pw@127.0.0.1:1/nothing?connect_timeout=3")
    assert "s3cret-pw" not in str(error.value)
    assert "postgresql://someone@127.0.0.1:1/nothing" in str(error.value)


def test_a_schema_holding_someone_elses_entries_table_is_refused(url: str) -> None:
    conn = Backend("postgres", lambda: url).connect()
    conn.execute("CREATE TABLE entries (a int)")
    conn.close()
    with pytest.raises(dl.NotALedgerError, match="already holds a table named entries"):
        dl.Ledger.open(url)


def test_without_psycopg_the_error_names_the_extra(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["psycopg"] = None  # as if it were not installed
        import delvia_ledger as dl
        try:
            dl.Ledger.open("postgresql://app:pw@127.0.0.1/access")
        except dl.StorageError as error:
            print(error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert "pip install 'delvia-ledger[postgres]'" in done.stdout
    assert "pw@" not in done.stdout


@pytest.fixture
def app_role(url: str) -> Iterator[str]:
    """A URL for an application role that may INSERT and SELECT, as docs/postgres.md grants."""
    with dl.Ledger.open(url):
        pass  # the tables exist, owned by the test role
    role, password = f"app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    owner = Backend("postgres", lambda: url).connect()
    may = owner.execute(
        "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()[0]
    if not may:
        owner.close()
        pytest.skip("the test server's role may not create roles (.ci/postgres's may)")
    schema = owner.execute("SELECT current_schema()").fetchone()[0]
    owner.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    owner.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    owner.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    versions = ", ".join(table.name for table in TABLES.values())
    owner.execute(f"GRANT INSERT ON entries, {versions} TO {role}")  # not ledger_schema
    owner.execute(f"GRANT UPDATE (superseded_by) ON {versions} TO {role}")
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    try:
        yield urllib.parse.urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))
    finally:
        owner.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
        owner.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {role}")
        owner.execute(f"DROP ROLE {role}")
        owner.close()


def test_an_application_role_records_and_reads_but_cannot_rewrite(app_role: str) -> None:
    with dl.Ledger.open(app_role, clock=Clock()) as ledger:
        ledger.record(dl.Creator(id="maya", handle="@m", region="US"))
        ledger.record(dl.Creator(id="maya", handle="@m2", region="US"))  # supersedes
        ledger.record(dl.Post(id="p", creator_id="maya", kind="VIDEO"))
        ledger.record(
            dl.SparkAuthorization.from_code(
                CODES[0],
                creator_id="maya",
                post_id="p",
                starts_at=T0,
                expires_at=T0 + timedelta(days=3),
            )
        )
        assert ledger.findings(now=T0 + timedelta(days=1))
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 4)
    import psycopg

    app = Backend("postgres", lambda: app_role).connect()
    for sql in ("UPDATE entries SET id = 'x'", "DELETE FROM entries", "TRUNCATE entries"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute(sql)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("ALTER TABLE entries DISABLE TRIGGER ALL")  # only the owner may
    app.close()


def test_the_application_role_writes_nothing_but_new_entries_and_their_rows(
    app_role: str, url: str
) -> None:
    """Issue 25: one INSERT into ledger_schema by the documented role bricked the ledger."""
    import psycopg

    with dl.Ledger.open(app_role, clock=Clock()) as ledger:
        ledger.record(dl.Creator(id="maya", handle="maya.makes", region="US"))
        with pytest.raises(dl.StorageError, match="may not do this"):
            ledger.erase(dl.Creator, "maya", reason="asked", by="dpo")  # not this role's job
        assert ledger.seq == 1
    app = Backend("postgres", lambda: app_role).connect()
    for sql in (
        "INSERT INTO ledger_schema VALUES (1, 4)",
        "UPDATE ledger_schema SET schema_version = 5",
        "UPDATE entries SET payload = payload",
        "UPDATE creator_versions SET handle = NULL",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute(sql)
    app.close()
    owner = Backend("postgres", lambda: url).connect()
    with pytest.raises(psycopg.errors.RaiseException, match="written only when"):
        owner.execute("INSERT INTO ledger_schema VALUES (1, 4)")  # not even the owner
    owner.close()
    with dl.Ledger.open(app_role) as ledger:
        assert ledger.verify(deep=True).ok


def test_a_killed_writer_releases_the_lock_with_its_connection(url: str) -> None:
    """SIGKILL ends the session: the server rolls its transaction back and frees the lock,
    so the next writer does not wait for a busy timeout."""
    script = textwrap.dedent(
        """
        import sys, time
        import delvia_ledger as dl
        ledger = dl.Ledger.open(sys.argv[1])
        with ledger.transaction():
            ledger.record(dl.Creator(id="never", handle="@n", region=None))
            print("inside", flush=True)
            time.sleep(120)
        """
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "inside"
        with dl.Ledger.open(url, busy_timeout=0.2) as other:
            with pytest.raises(dl.LedgerBusyError):
                other.record(dl.Creator(id="blocked", handle="@b", region=None))
            os.kill(writer.pid, 9)
            writer.wait(30)
            recorded = False
            for _ in range(100):  # the server notices the closed socket within moments
                try:
                    other.record(dl.Creator(id="after", handle="@a", region=None))
                    recorded = True
                    break
                except dl.LedgerBusyError:
                    continue
            assert recorded
            assert [e.record.id for e in other.entries()] == ["after"]
            assert other.verify(deep=True) == dl.VerifyResult(True, 1)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(30)


def _regions_world(seed: int) -> list[dl.Record]:
    """Codes of creators in three regions (one unknown) bound to three accounts, in shuffled
    order, then bindings and ads elsewhere: many REGION_* findings with equal keys."""
    import random

    rng = random.Random(seed)
    day = timedelta(days=1)
    records: list[dl.Record] = [
        dl.Creator(id="maya", region="US"),
        dl.Creator(id="juan", region="MX"),
        dl.Creator(id="kim", region=None),
        *(dl.Post(id=f"p{c}", creator_id=c, kind="VIDEO") for c in ("maya", "juan", "kim")),
        *(
            dl.AdAccount(id=f"acc{i}", name="Brand", region=r)
            for i, r in enumerate("US DE US".split())
        ),
        dl.RegionRule(creator_region="MX", account_region="US", verdict="INCOMPATIBLE"),
    ]
    codes = []
    for i in range(60):
        creator = rng.choice(["maya", "juan", "kim"])
        codes.append(
            dl.SparkAuthorization.from_code(
                f"#region-{seed}-{i:03d}=",
                creator_id=creator,
                post_id=f"p{creator}",
                starts_at=T0 - 5 * day,
                expires_at=T0 + rng.randint(-2, 20) * day,
                ad_account_id=rng.choice([None, "acc0", "acc1", "acc2"]),
            )
        )
    rng.shuffle(codes)
    records += codes
    records += [
        dl.SparkBinding(
            authorization_id=code.id,
            ad_account_id=rng.choice(["acc0", "acc1", "acc2"]),
            bound_at=T0 - 2 * day,
        )
        for code in rng.sample(codes, 25)
    ]
    records += [
        dl.SparkAd(
            id=f"ad{j}",
            ad_account_id=rng.choice(["acc0", "acc1", "acc2"]),
            authorization_id=rng.choice(codes).id,
            intended_post_id="pmaya",
        )
        for j in range(10)
    ]
    return records


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_findings_with_equal_keys_come_in_the_same_order_on_both_backends(
    tmp_path: Path, pg: Backend, seed: int
) -> None:
    """A backend may answer a read through whichever index it likes: the checks ask for seq
    order wherever the order of equal keys depends on it (REGION_* findings here)."""
    world = _regions_world(seed)
    with (
        dl.Ledger.open(tmp_path / "regions.db", clock=Clock()) as lite,
        pg.fresh().open(clock=Clock()) as server,
    ):
        lite.record_all(world)
        server.record_all(world)
        found = lite.findings(now=T0)
        assert {f.kind for f in found} >= {
            dl.FindingKind.REGION_INCOMPATIBLE,
            dl.FindingKind.REGION_UNCONFIRMED,
        }
        assert server.findings(now=T0) == found
        assert list(server.iter_findings(now=T0)) == found
