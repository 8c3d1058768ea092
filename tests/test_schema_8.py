"""Schema version 8 (the SQLite file only): a sparse column's index holds only the rows that set
it. A version-7 file, whose index held every row, migrates once and then has exactly a new file's
schema; the retired codes are found through the partial index, the same before and after; a
read-only version-7 file is read as it is. PostgreSQL's schema did not change."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.storage.sqlite import SCHEMA_VERSION

from .builders import DAY, code, read_only, world
from .conftest import T0, Clock

pytestmark = pytest.mark.sqlite_only

INDEX = "idx_spark_authorization_versions_retired_at"
#: The index as version 7 made it (through sqlite-utils' create_index): every row in it.
WHOLE = f'CREATE INDEX "{INDEX}"\n    ON "spark_authorization_versions" ("retired_at")'
RETIRED = (
    "SELECT id FROM spark_authorization_versions WHERE superseded_by IS NULL "
    "AND retired_at <= ?"
)  # as World reads the retired codes (rules.retired_at)


def version_7_file(path: Path) -> list[str]:
    """Three codes, the first retired at T0, in a file laid out as version 7 left it (the index
    of ``retired_at`` whole, ``user_version`` 7); returns the codes' ids."""
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        world(ledger)
        ids = [code(ledger, n).id for n in range(3)]
        ledger.retire(ids[0], "campaign ended", at=T0)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"DROP INDEX {INDEX}")
    conn.execute(WHOLE)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    return ids


def layout(path: Path) -> set[tuple[str, str, str]]:
    """Every table, index and trigger of the file, with its SQL."""
    conn = sqlite3.connect(path)
    found = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    rows = {tuple(row) for row in found.fetchall()}
    conn.close()
    return rows


def index_rows(path: Path) -> int:
    """How many rows the index holds (read through the index alone)."""
    conn = sqlite3.connect(path)
    (count,) = conn.execute(
        f"SELECT count(*) FROM spark_authorization_versions INDEXED BY {INDEX} "
        "WHERE retired_at IS NOT NULL"
    ).fetchone()
    conn.close()
    return int(count)


def test_a_version_7_file_migrates_once_to_a_new_files_schema(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    ids = version_7_file(path)
    plain = sqlite3.connect(path)
    entries = plain.execute("SELECT * FROM entries ORDER BY seq").fetchall()
    assert plain.execute("PRAGMA user_version").fetchone()[0] == 7
    assert plain.execute(RETIRED, (10**18,)).fetchall() == [(ids[0],)]
    whole = f"SELECT count(*) FROM spark_authorization_versions INDEXED BY {INDEX}"
    assert plain.execute(whole).fetchone()[0] == 4  # every row: 3 codes, 1 retirement
    plain.close()
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        assert ledger.verify(deep=True).ok
        assert [a.id for a in ledger.records(dl.SparkAuthorization) if a.retired_at] == [ids[0]]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 8
    assert conn.execute("SELECT * FROM entries ORDER BY seq").fetchall() == entries
    assert conn.execute(RETIRED, (10**18,)).fetchall() == [(ids[0],)]
    plan = " ".join(str(r) for r in conn.execute(f"EXPLAIN QUERY PLAN {RETIRED}", (10**18,)))
    assert INDEX in plan  # the partial index serves a comparison of retired_at
    conn.close()
    assert index_rows(path) == 1  # only the retired version
    fresh = tmp_path / "new.db"
    dl.Ledger.open(fresh).close()
    assert layout(path) == layout(fresh)
    with dl.Ledger.open(path) as again:  # nothing left to migrate
        assert again.verify(deep=True).ok
    assert layout(path) == layout(fresh)


def test_a_new_file_indexes_only_the_retired_codes(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        world(ledger)
        ids = [code(ledger, n, expires_at=T0 + 2 * DAY).id for n in range(5)]
        assert index_rows(path) == 0
        ledger.retire(ids[1], at=T0)
        ledger.retire(ids[3], "campaign ended", at=T0)
        assert index_rows(path) == 2
        ledger.unretire(ids[1])
        assert index_rows(path) == 2  # the retired version stays in history; now superseded
        retired = [a.id for a in ledger.records(dl.SparkAuthorization) if a.retired_at]
        assert retired == [ids[3]]
        about = {f.authorization_id for f in ledger.findings(now=T0)}  # each expires in 2 days
        assert ids[3] not in about and {ids[0], ids[1], ids[2], ids[4]} <= about


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("chattr"), reason="needs chattr")
def test_a_read_only_version_7_file_is_read_as_it_is(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    path = archive / "l.db"
    ids = version_7_file(path)
    before = path.read_bytes()
    with read_only(path, archive), dl.Ledger.open(path) as ledger:
        assert ledger.verify(deep=True).ok
        held = {a.id: a.retired_at for a in ledger.records(dl.SparkAuthorization)}
        assert held == {ids[0]: T0, ids[1]: None, ids[2]: None}
        with pytest.raises(dl.StorageError, match="read-only"):
            ledger.retire(ids[1], at=T0)
    assert path.read_bytes() == before
