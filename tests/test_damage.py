"""Damaged, foreign and unwritable files: verification reports instead of raising, opening never
changes a file it refuses, and storage failures are precise LedgerErrors, not driver errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.chain import SOURCES, chain_hash, compose_payload
from delvia_ledger.cli import main
from delvia_ledger.convert import canonical_json
from delvia_ledger.storage.schema import TABLES, derive_row

from .builders import CODES, build_versions, raw, read_only
from .conftest import T0, Backend, Clock
from .strategies import nasty_texts, worlds


def edit_payload(path: Path, seq: int, payload: bytes, *, rehash: bool = False) -> None:
    """Store ``payload`` as entry ``seq``'s text (any bytes); with ``rehash``, also recompute
    its hashes, as someone holding the file (and no saved digest) can for the last entry."""
    conn = raw(path)
    stamp, type_, id_, prev = conn.execute(
        "SELECT recorded_at, type, id, prev_hash FROM entries WHERE seq = ?", (seq,)
    ).fetchone()
    conn.execute("UPDATE entries SET payload = CAST(? AS TEXT) WHERE seq = ?", (payload, seq))
    if rehash:
        payload_hash = hashlib.sha256(payload).hexdigest()
        conn.execute(
            "UPDATE entries SET payload_hash = ?, hash = ? WHERE seq = ?",
            (payload_hash, chain_hash(prev, seq, stamp, type_, id_, payload_hash), seq),
        )
    conn.close()


def run_sql(sql: str) -> Callable[[Path], None]:
    return lambda path: raw(path).executescript(sql).close()


C1 = b'{"handle":"c1","id":"c1","region":null}'  # the last entry's payload (seq 6)

#: how -> (damage, (ok, first_bad_seq) of verify(), first_bad_seq of deep, words of its reason)
DAMAGE: dict[str, tuple[Callable[[Path], None], tuple[bool, int | None], int | None, str]] = {
    "an invalid UTF-8 byte in a payload": (
        lambda p: edit_payload(p, 3, b'{"id":"a1","name":"Br\xffnd","region":"US"}'),
        (False, 3),
        3,
        "payload is not valid UTF-8 text",
    ),
    "an invalid UTF-8 payload with its hashes recomputed": (
        lambda p: edit_payload(
            p, 6, C1.replace(b'"handle":"c1"', b'"handle":"c\xff"'), rehash=True
        ),
        (False, 6),
        6,
        "not valid UTF-8",
    ),
    "a BLOB payload": (
        run_sql("UPDATE entries SET payload = CAST(payload AS BLOB) WHERE seq = 3"),
        (False, 3),
        3,
        "payload is stored as a blob",
    ),
    "a deeply nested payload": (
        lambda p: edit_payload(p, 6, b"[" * 100_000 + b"]" * 100_000, rehash=True),
        (True, None),
        6,
        "the payload is not a valid Creator",
    ),
    "a payload with an extra key": (
        lambda p: edit_payload(p, 6, C1[:-1] + b',"x":1}', rehash=True),
        (True, None),
        6,
        "not the canonical JSON of its record",
    ),
    "a payload with a repeated key": (
        lambda p: edit_payload(p, 6, C1.replace(b"{", b'{"handle":"c1",'), rehash=True),
        (True, None),
        6,
        "not the canonical JSON of its record",
    ),
    "a payload spelt with spaces": (
        lambda p: edit_payload(p, 6, C1.replace(b":", b": "), rehash=True),
        (True, None),
        6,
        "not the canonical JSON of its record",
    ),
    "the entries table dropped": (
        run_sql("DROP TABLE entries"),
        (False, None),
        None,
        "the table entries is missing",
    ),
    "the entries table renamed": (
        run_sql("ALTER TABLE entries RENAME TO entries_old"),
        (False, None),
        None,
        "the table entries is missing",
    ),
    "a column of entries dropped": (
        run_sql("ALTER TABLE entries DROP COLUMN payload_hash"),
        (False, None),
        None,
        "entries lacks the column(s) payload_hash",
    ),
    "a version table dropped": (
        run_sql("DROP TABLE creator_versions"),
        (True, None),
        1,
        "the table creator_versions is missing",
    ),
    "a version table renamed": (
        run_sql("ALTER TABLE post_versions RENAME TO posts"),
        (True, None),
        2,
        "the table post_versions is missing",
    ),
    "a column of a version table dropped": (
        run_sql("ALTER TABLE spark_authorization_versions DROP COLUMN owner_id"),
        (True, None),
        4,
        "spark_authorization_versions lacks the column(s) owner_id",
    ),
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_verification_reports_damage_instead_of_raising(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    damage, (plain_ok, plain_bad), deep_bad, words = DAMAGE[how]
    damage(path)
    with dl.Ledger.open(path) as ledger:
        plain = ledger.verify()
        deep = ledger.verify(deep=True)
    assert (plain.ok, plain.first_bad_seq) == (plain_ok, plain_bad)
    assert (deep.ok, deep.first_bad_seq) == (False, deep_bad)
    assert deep.reason is not None and words in deep.reason
    if deep_bad is not None:
        assert deep.reason.startswith(f"seq {deep_bad}: ") and deep.checked == deep_bad - 1
    capsys.readouterr()
    assert main(["verify", "--deep", "--db", str(path)]) == 1
    assert main(["verify", "--db", str(path)]) == (0 if plain_ok else 1)
    out, err = capsys.readouterr()
    assert f"FAILED: {deep.reason}" in out and err == ""


def flip_in_index(path: Path, index: str, key: bytes) -> None:
    """Flip one bit of ``key`` where the index ``index`` holds it: a damaged page on disk."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (page,) = conn.execute("SELECT pageno FROM dbstat WHERE name = ?", (index,)).fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    start = (page - 1) * page_size
    at = data.find(key, start, start + page_size)
    assert at >= 0
    data[at + len(key) - 1] ^= 1
    path.write_bytes(bytes(data))


def test_a_damaged_index_fails_deep_verification_and_is_named(tmp_path: Path) -> None:
    """The chain and every table row are intact, but the index get() uses lost a record."""
    path = tmp_path / "l.db"
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="maya", handle="@maya", region="US"),
                dl.Post(id="p1", creator_id="maya", kind="VIDEO"),
                dl.AdAccount(id="a1", name="Brand", region="US"),
            ]
        )
        auth = ledger.record(
            dl.SparkAuthorization.from_code(
                CODES[0],
                creator_id="maya",
                post_id="p1",
                starts_at=T0 - timedelta(days=40),
                expires_at=T0 - timedelta(days=10),
                ad_account_id="a1",
            )
        ).record
        ledger.record(dl.Creator(id="leo", handle="@leo", region="GB"))
        assert ledger.authorization_for(CODES[0]) == auth
    flip_in_index(path, "idx_spark_authorization_versions_id", auth.id.encode())
    with dl.Ledger.open(path) as ledger:
        assert ledger.get(dl.SparkAuthorization, auth.id) is None  # silently dropped
        assert ledger.authorization_for(CODES[0]) is None
        assert ledger.verify().ok  # the chain cannot see it
        result = ledger.verify(deep=True)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert result.reason is not None
    assert result.reason.startswith("seq 4: the file's structure is damaged")
    assert "index idx_spark_authorization_versions_id" in result.reason


def test_deep_verify_names_the_earliest_bad_seq_of_chain_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    raw(path).executescript(
        "UPDATE entries SET recorded_at = '2020-01-01T00:00:00.000000Z' WHERE seq = 5;"
        "UPDATE post_versions SET kind = 'CAROUSEL' WHERE seq = 2;"
    )
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify().first_bad_seq == 5
        result = ledger.verify(deep=True)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 2, 1)
    assert result.reason == "seq 2: post_versions.kind differs from the entry"


def test_a_damaged_schema_is_a_clear_error_on_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid UTF-8 byte in a table's name made open() raise UnicodeDecodeError."""
    path = tmp_path / "l.db"
    build_versions(path)
    data = bytearray(path.read_bytes())
    at = data.find(b"tablecreator_versionscreator_versions")  # type, name, tbl_name
    assert at >= 0
    data[at + len(b"table")] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(dl.NotALedgerError, match="damaged"):
        dl.Ledger.open(path)
    capsys.readouterr()
    assert main(["verify", "--deep", "--db", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("FAILED: ") and "damaged" in out and err == ""


def _sqlite_file(path: Path, *sql: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in sql:
        conn.execute(statement)
    conn.close()


#: Files that are not ledgers; opening them as one must refuse and leave every byte as it was.
FOREIGN: dict[str, Callable[[Path], object]] = {
    "another application's tables": lambda p: _sqlite_file(
        p, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text)", "INSERT INTO notes VALUES (1, 'x')"
    ),
    "no tables but another application_id": lambda p: _sqlite_file(
        p, "PRAGMA application_id = 1234"
    ),
    "only a view": lambda p: _sqlite_file(p, "CREATE VIEW answer AS SELECT 42"),
    "only a user_version": lambda p: _sqlite_file(p, "PRAGMA user_version = 7"),
    "a one-byte file": lambda p: p.write_bytes(b"x"),
    "a text file": lambda p: p.write_text("id,name\n1,maya\n" * 50),
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_opening_another_applications_file_never_changes_it(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "theirs.db"
    FOREIGN[kind](path)
    before = path.read_bytes()
    with pytest.raises(dl.NotALedgerError, match="not a delvia_ledger database"):
        dl.Ledger.open(path)
    assert main(["init", "--db", str(path)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["theirs.db"]  # no -wal, -shm or -journal


def test_an_empty_file_becomes_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch()
    with dl.Ledger.open(path) as ledger:
        ledger.record(dl.Creator(id="c", handle=None, region=None))
    with dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 1)


def test_paths_that_cannot_be_a_ledger_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(dl.NotALedgerError, match="is a directory"):
        dl.Ledger.open(tmp_path)
    with pytest.raises(dl.StorageError, match="cannot open") as error:
        dl.Ledger.open(tmp_path / "missing" / "l.db")
    assert not isinstance(error.value, dl.NotALedgerError)


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("chattr"), reason="needs chattr")
@pytest.mark.parametrize("directory_too", [True, False], ids=["read-only directory", "file"])
def test_a_read_only_ledger_can_be_read_and_verified(tmp_path: Path, directory_too: bool) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    path = archive / "l.db"
    build_versions(path)
    assert [p.name for p in archive.iterdir()] == ["l.db"]  # closed cleanly: no -wal, no -shm
    before = path.read_bytes()
    with read_only(path, *([archive] if directory_too else [])):
        with dl.Ledger.open(path) as ledger:
            creator = ledger.get(dl.Creator, "c0")
            assert creator is not None and creator.handle == "c0.new"
            assert ledger.verify(deep=True) == dl.VerifyResult(True, 6)
            assert ledger.findings(now=T0) is not None
            with pytest.raises(dl.StorageError, match="read-only") as error:
                ledger.record(dl.Creator(id="new", handle=None, region=None))
            assert not isinstance(error.value, dl.NotALedgerError)
            assert ledger.seq == 6
        assert main(["verify", "--deep", "--db", str(path)]) == 0
    assert path.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("chattr"), reason="needs chattr")
def test_a_read_only_version_3_ledger_is_read_and_verified_without_migrating(
    tmp_path: Path,
) -> None:
    """Schema version 4 adds the Erasure table and new guards; a version-3 file on a read-only
    share cannot be migrated, and needs not be: it is read as it is."""
    archive = tmp_path / "archive"
    archive.mkdir()
    path = archive / "l.db"
    shutil.copy(Path(__file__).parent / "data" / "ledger-v3.db", path)
    before = path.read_bytes()
    with read_only(path, archive), dl.Ledger.open(path) as ledger:
        maya = ledger.get(dl.Creator, "cr_1")
        assert maya is not None and maya.display_name == "Maya M"
        assert ledger.verify(deep=True) == dl.VerifyResult(True, 6)
        with pytest.raises(dl.StorageError, match="read-only"):
            ledger.erase(dl.Creator, "cr_1", reason="asked", by="dpo")
    assert path.read_bytes() == before


FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    import delvia_ledger as dl
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails instead
    path, limit, step = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ledger = dl.Ledger.open(path) if step == "write" else None
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        if ledger is None:
            dl.Ledger.open(path)
        else:
            ledger.record_all(dl.Creator(id=f"n{i}", handle="@n", region=None) for i in range(9999))
        print("no error")
    except dl.LedgerError as error:
        print(f"{type(error).__name__}: {error}")
    """
)


@pytest.mark.parametrize("step", ["open", "write"])
def test_a_full_disk_is_a_storage_error_and_writes_nothing(tmp_path: Path, step: str) -> None:
    """A file size limit (RLIMIT_FSIZE) fails writes the way a full disk does."""
    path = tmp_path / "l.db"
    if step == "write":
        build_versions(path)
    limit = (path.stat().st_size if path.exists() else 0) + 48 * 1024
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path), str(limit), step],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr == ""
    assert re.fullmatch(r"StorageError: .*(disk is full|I/O error).*\n", done.stdout)
    assert "not a delvia_ledger database" not in done.stdout
    with dl.Ledger.open(path) as ledger:  # nothing of the failed write is left
        assert ledger.seq == (6 if step == "write" else 0)
        assert ledger.verify(deep=True).ok


def test_a_lock_held_past_the_busy_timeout_is_a_ledger_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build_versions(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing, and takes its time
    try:
        with dl.Ledger.open(path, busy_timeout=0.05) as ledger:
            assert ledger.get(dl.Creator, "c1") is not None  # readers are not blocked
            with pytest.raises(dl.LedgerBusyError, match="locked by another process"):
                ledger.record(dl.Creator(id="late", handle=None, region=None))
            with pytest.raises(dl.LedgerBusyError):
                ledger.record_all([dl.Creator(id="later", handle=None, region=None)])
            assert ledger.verify(deep=True).ok
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with dl.Ledger.open(path) as ledger:
        assert ledger.seq == 6 and ledger.get(dl.Creator, "late") is None
    for wrong in (-1, float("nan"), "5"):
        with pytest.raises(ValueError, match="busy_timeout"):
            dl.Ledger.open(path, busy_timeout=wrong)  # type: ignore[arg-type]


def test_a_closed_ledger_raises_a_storage_error_from_every_method(backend: Backend) -> None:
    build_versions(backend)
    ledger = backend.open()
    ledger.close()
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: ledger.get(dl.Creator, "c0"),
        "history": lambda: ledger.history(dl.Creator, "c0"),
        "entries": lambda: list(ledger.entries()),
        "records": lambda: list(ledger.records(dl.Creator)),
        "authorization_for": lambda: ledger.authorization_for(CODES[0]),
        "seq": lambda: ledger.seq,
        "digest": ledger.digest,
        "verify": ledger.verify,
        "deep verify": lambda: ledger.verify(deep=True),
        "as_of": lambda: ledger.as_of(recorded_at=T0),
        "findings": lambda: ledger.findings(now=T0),
        "diagnose": lambda: ledger.diagnose(CODES[0], now=T0),
        "access": lambda: ledger.access("ad_account:a1", now=T0),
        "record": lambda: ledger.record(dl.Creator(id="x", handle=None, region=None)),
        "record_all": lambda: ledger.record_all([dl.Creator(id="x", handle=None, region=None)]),
    }
    for name, call in calls.items():
        with pytest.raises(dl.StorageError, match="closed"):
            call()
            pytest.fail(f"{name} read a closed ledger")


def test_a_damaged_table_no_entry_uses_yet_fails_deep_verification(tmp_path: Path) -> None:
    """The checks query every version table: one they cannot read fails them, entries or not."""
    path = tmp_path / "l.db"
    build_versions(path)  # no RegionRule recorded
    raw(path).execute("ALTER TABLE region_rule_versions RENAME COLUMN superseded_by TO gone")
    with dl.Ledger.open(path) as ledger:
        with pytest.raises(dl.StorageError, match="superseded_by"):
            ledger.findings(now=T0)
        result = ledger.verify(deep=True)
    assert (result.ok, result.first_bad_seq) == (False, None)
    assert result.reason == "the table region_rule_versions lacks the column(s) superseded_by"


def test_a_stored_time_past_any_datetime_is_a_damaged_file_not_an_overflow(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="c", handle=None, region="US"),
                dl.Post(id="p", creator_id="c", kind="VIDEO"),
                dl.SparkAuthorization.from_code(
                    "#damaged-time=",
                    creator_id="c",
                    post_id="p",
                    starts_at=T0,
                    expires_at=T0 + timedelta(days=1),
                ),
            ]
        )
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER spark_authorization_versions_refuse_update")
    conn.execute("UPDATE spark_authorization_versions SET expires_at = -9000000000000000000")
    conn.close()
    with dl.Ledger.open(path, clock=Clock()) as damaged:
        try:  # the checks may read the damaged time or pass it by; they never overflow
            damaged.findings(include_quiet=True)
            damaged.expired()
        except dl.NotALedgerError as error:
            assert "out of range: the file is damaged" in str(error)
        assert not damaged.verify(deep=True).ok


def as_ordinary_user(check: Callable[[], str]) -> str:
    """Run ``check`` as an ordinary user: as root, in a forked child that has become ``nobody``
    (the modules already imported: the interpreter itself may sit where nobody cannot read);
    its answer, or its traceback, comes back through a pipe."""
    if os.geteuid() != 0:
        return check()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's lines are not traced
        os.close(reading)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            answer = check()
        except BaseException:
            import traceback

            answer = traceback.format_exc()
        with os.fdopen(writing, "w") as pipe:
            pipe.write(answer)
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    return answer


def test_a_ledger_on_a_read_only_share_opens_for_any_user() -> None:
    """A 0444 file in a 0555 folder, as docs/security.md promises: an ordinary user (not root,
    who writes through modes) reads and verifies it, and recording says it is read-only."""
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        top.chmod(0o755)
        share = top / "share"
        share.mkdir()
        path = share / "l.db"
        build_versions(path)
        before = path.read_bytes()
        path.chmod(0o444)
        share.chmod(0o555)

        def check() -> str:
            with dl.Ledger.open(path) as ledger:
                creator = ledger.get(dl.Creator, "c0")
                verified = ledger.verify(deep=True)
                try:
                    ledger.record(dl.Creator(id="new", handle=None, region=None))
                    refused = "recorded"
                except dl.StorageError as error:
                    refused = "read-only" if "read-only" in str(error) else str(error)
            code = main(["verify", "--deep", "--db", str(path)])
            return f"{creator.handle if creator else None} {verified} {refused} {code}"

        try:
            answer = as_ordinary_user(check)
        finally:
            share.chmod(0o755)
        assert answer == (
            "c0.new VerifyResult(ok=True, checked=6, first_bad_seq=None, reason=None) read-only 0"
        )
        assert path.read_bytes() == before
        assert sorted(p.name for p in share.iterdir()) == ["l.db"]


@settings(max_examples=200)
@given(st.data())
def test_the_quick_reading_of_a_payload_gives_the_row_the_long_reading_gives(
    data: st.DataObject,
) -> None:
    """Deep verify reads a payload in one quick call (``VersionTable.derived``) where it is the
    canonical JSON of a valid record under a well-formed head; any row it gives is the row the
    long reading (:func:`derive_row`, which says why a payload is wrong) gives, and it gives
    one for every payload a ledger writes."""
    salts = st.none() | st.just("0123456789abcdef" * 2) | st.sampled_from(["ABC", "0" * 31 + "g"])
    sources = st.none() | st.sampled_from([*SOURCES, "nowhere", 'a",'])
    for record in data.draw(worlds()):
        table = TABLES[type(record)]
        salt, source = data.draw(salts), data.draw(sources)
        payload = compose_payload(table.payload(record), source, salt)
        written = source in (None, *SOURCES) and salt in (None, "0123456789abcdef" * 2)
        edit = data.draw(st.sampled_from(["none", "insert", "delete", "value"]))
        payload = one_character_edited(data, payload, edit)
        if edit == "value" and source != 'a",':  # that source makes the text not JSON
            parsed = json.loads(payload)
            parsed[data.draw(st.sampled_from(sorted(parsed)))] = data.draw(
                st.none() | st.integers() | nasty_texts | st.just("2026-11-24T09:30:00.000000Z")
            )
            payload = canonical_json(parsed)
        quick = table.derived(7, payload)
        long = derive_row(table, 7, payload, lenient=True)  # lenient: always the long way
        if quick is not None:
            assert quick == long
        elif edit == "none" and written:
            pytest.fail(f"the quick reading refused a payload a ledger writes: {payload}")


def one_character_edited(data: st.DataObject, payload: str, edit: str) -> str:
    """``payload`` with one character inserted or deleted (as ``edit`` says), else as it is."""
    if edit == "insert":
        at = data.draw(st.integers(0, len(payload)))
        return payload[:at] + data.draw(st.sampled_from(' ,{}":0a\\é')) + payload[at:]
    if edit == "delete":
        at = data.draw(st.integers(0, len(payload) - 1))
        return payload[:at] + payload[at + 1 :]
    return payload


#: A salt as a ledger writes it.
salts = st.just("0123456789abcdef" * 2)


@settings(max_examples=200)
@given(st.data())
def test_the_quick_check_of_a_payload_against_its_row_agrees_with_the_long_reading(
    data: st.DataObject,
) -> None:
    """Deep verify checks a payload against its stored row in one quick call
    (``VersionTable.matches``, the record built from the row); it says yes only where the long
    reading (:func:`derive_row`) derives that very row, and it says yes for every payload and
    row a ledger writes."""
    for record in data.draw(worlds()):
        table = TABLES[type(record)]
        if table.matches is None:
            continue
        source = data.draw(st.none() | st.sampled_from([*SOURCES, "nowhere"]))
        payload = compose_payload(table.payload(record), source, data.draw(st.none() | salts))
        row = tuple(table.row(7, record))
        edit = data.draw(st.sampled_from(["none", "insert", "delete", "column"]))
        payload = one_character_edited(data, payload, edit)
        if edit == "column":
            at = data.draw(st.integers(2, len(row) - 1))
            value = data.draw(st.none() | st.integers() | nasty_texts | st.sampled_from(row))
            row = (*row[:at], value, *row[at + 1 :])
        long = derive_row(table, 7, payload, lenient=True)  # lenient: always the long way
        if table.matches(payload, row):
            assert isinstance(long, list) and tuple(long[2:]) == row[2:]
        elif edit == "none" and source != "nowhere":
            pytest.fail(f"the quick check refused a payload and row a ledger writes: {payload}")
