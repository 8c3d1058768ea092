"""A damaged ``CREATE TABLE`` text: whatever byte of a table's schema is changed, opening refuses
the file clearly or ``verify(deep=True)`` reports ``ok=False`` with a reason; nothing raises."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.cli import main
from delvia_ledger.storage.schema import TABLES

from .builders import build_versions

TABLE_NAMES = ["entries", *(table.name for table in TABLES.values())]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A small ledger (every table made, four of them with rows) and each table's text."""
    path = tmp_path_factory.mktemp("schema") / "l.db"
    build_versions(path)
    conn = sqlite3.connect(path)
    texts = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    conn.close()
    return path, {name: texts[name] for name in TABLE_NAMES}


def flipped(source: Path, into: Path, table: str, text: str, where: int, byte: int) -> str:
    """A copy of ``source`` at ``into`` whose table text has character ``where`` replaced."""
    changed = text[:where] + chr(byte) + text[where + 1 :]
    shutil.copy(source, into)
    conn = sqlite3.connect(into)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (changed, table))
    conn.commit()
    conn.close()
    return changed


def verdict(path: Path) -> dl.VerifyResult | None:
    """What the ledger says of the file: None when opening refuses it (a clear LedgerError),
    else the deep verification's result. Anything else raised fails the test."""
    try:
        ledger = dl.Ledger.open(path)
    except dl.LedgerError as error:
        assert str(error)
        return None
    with ledger:
        result = ledger.verify(deep=True)
    assert isinstance(result, dl.VerifyResult)
    assert result.ok or result.reason
    return result


def test_every_byte_of_every_table_text_changed_never_raises(
    original: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Each character of each table's text, changed (to a value that walks 1..255 across the
    characters, so every value is used), opens clearly or verifies with a reason."""
    source, texts = original
    seen: dict[str, int] = {"refused": 0, "bad": 0, "ok": 0}
    for number, (table, text) in enumerate(texts.items()):
        for where in range(len(text)):
            byte = (where * 97 + number * 31) % 255 + 1
            if byte == ord(text[where]):
                byte = byte % 255 + 1
            flipped(source, tmp_path / "l.db", table, text, where, byte)
            result = verdict(tmp_path / "l.db")
            seen["refused" if result is None else "ok" if result.ok else "bad"] += 1
    assert seen["bad"] > 100 and seen["refused"] > 100, seen


@pytest.mark.parametrize("table", [TABLES[dl.Creator].name, "entries"])
def test_the_seq_declaration_changed_to_each_byte_is_reported(
    original: tuple[Path, dict[str, str]], tmp_path: Path, table: str
) -> None:
    """The reproducer: one byte of ``"seq" INTEGER PRIMARY KEY`` changed made ``seq`` an
    ordinary column (each row then reads no seq) and ``verify(deep=True)`` raised TypeError."""
    source, texts = original
    text = texts[table]
    where = text.index('"seq" INTEGER PRIMARY') + len('"seq" INTEGER ')  # the P
    for byte in range(1, 256):
        if byte == ord("P"):
            continue
        changed = flipped(source, tmp_path / "l.db", table, text, where, byte)
        result = verdict(tmp_path / "l.db")
        if byte == ord("p"):  # keywords ignore case: still the row id
            assert result == dl.VerifyResult(True, 6), changed
        elif result is not None:
            assert not result.ok, changed
            assert result.reason is not None and "not INTEGER PRIMARY KEY" in result.reason


def test_the_command_says_the_schema_is_damaged(
    original: tuple[Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, texts = original
    table = TABLES[dl.Creator].name
    text = texts[table]
    flipped(source, tmp_path / "l.db", table, text, text.index('"seq" INTEGER P') + 14, ord("Z"))
    assert main(["verify", "--deep", "--db", str(tmp_path / "l.db")]) == 1
    said = capsys.readouterr()
    assert "please report" not in said.err + said.out
    assert f"the table {table}'s schema text is damaged" in said.err + said.out


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=st.sampled_from(TABLE_NAMES), where=st.integers(0, 400), byte=st.integers(1, 255))
def test_any_changed_byte_opens_clearly_or_verifies_with_a_reason(
    original: tuple[Path, dict[str, str]], tmp_path: Path, table: str, where: int, byte: int
) -> None:
    source, texts = original
    text = texts[table]
    where %= len(text)
    flipped(source, tmp_path / "l.db", table, text, where, byte)
    verdict(tmp_path / "l.db")
