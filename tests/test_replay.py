"""Ledger.replay and ``delvia-ledger copy``: a copy with the same seqs, record times and hashes,
from a ledger or from its JSON export; anything else is refused and leaves nothing."""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import delvia_ledger as dl
from delvia_ledger.cli import main
from delvia_ledger.demo import sample_records
from tests.conftest import T0, Backend, Clock
from tests.strategies import worlds


def test_a_replayed_copy_has_the_same_entries_and_digest(
    ledger: dl.Ledger, backend: Backend, clock: Clock
) -> None:
    ledger.record_all(sample_records(T0))
    clock.advance(hours=1)
    creator = next(ledger.records(dl.Creator))
    ledger.record(dl.Creator(id=creator.id, region="FR", handle="moved"))
    with backend.fresh().open() as copy:
        result = copy.replay(ledger.entries())
        assert result.written == ledger.seq == copy.seq
        assert list(copy.entries()) == list(ledger.entries())
        assert copy.digest() == ledger.digest() and copy.verify(deep=True).ok
        with pytest.raises(dl.LedgerError, match="already holds"):
            copy.replay(ledger.entries())
    out = io.StringIO()
    ledger.export_json(out)
    out.seek(0)
    with backend.fresh().open() as restored:
        restored.replay(dl.io.read_export(out))
        assert restored.digest() == ledger.digest()


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_any_world_replays_to_the_same_digest(backend: Backend, world: list[dl.Record]) -> None:
    with (
        backend.fresh().open(clock=Clock()) as original,
        backend.fresh().open() as copy,
    ):
        for record in world:  # one entry per call: several record times
            original.record(record)
        copy.replay(original.entries())
        assert copy.digest() == original.digest()


def test_an_edited_export_is_refused_and_nothing_is_kept(
    ledger: dl.Ledger, backend: Backend
) -> None:
    ledger.record_all(sample_records(T0))
    out = io.StringIO()
    ledger.export_json(out)
    document = json.loads(out.getvalue())
    document["entries"][0]["record"]["region"] = "FR"
    with backend.fresh().open() as copy:
        with pytest.raises(dl.PayloadError, match="entry 1: its hash does not extend the chain"):
            copy.replay(dl.io.read_export(io.StringIO(json.dumps(document))))
        assert copy.seq == 0
    with pytest.raises(dl.PayloadError, match="not a delvia_ledger JSON export"):
        list(dl.io.read_export(io.StringIO("[1, 2]")))


EXE = shutil.which("delvia-ledger")


@pytest.mark.skipif(EXE is None, reason="the package is not installed")
def test_the_copy_command(tmp_path: Path) -> None:
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "DELVIA_LEDGER_DB"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [EXE, *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60
        )

    assert run("demo").returncode == 0
    export = run("export")
    (tmp_path / "e.json").write_text(export.stdout)
    copied = run("copy", "delvia-ledger.db", "a.db")
    restored = run("copy", "e.json", "b.db")
    assert copied.returncode == restored.returncode == 0, copied.stderr + restored.stderr
    digest = dl.Ledger.open(tmp_path / "delvia-ledger.db").digest()
    assert f"digest {digest}" in copied.stdout and f"digest {digest}" in restored.stdout
    again = run("copy", "e.json", "a.db")
    assert again.returncode == 2 and "already exists" in again.stderr
    (tmp_path / "bad.json").write_text(export.stdout.replace('"region": "US"', '"region": "FR"', 1))
    refused = run("copy", "bad.json", "c.db")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert not (tmp_path / "c.db").exists()


def _edits() -> dict[str, Callable[[list[dict[str, Any]]], object]]:
    """Ways an export can lie, each applied to its list of entries."""

    def seqs_as_text(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            entry["seq"] = str(entry["seq"])

    return {
        "a wrong hash in the middle": lambda e: e[3].update(hash="a" * 64),
        "a wrong hash at the start": lambda e: e[0].update(hash="b" * 64),
        "seqs as text": seqs_as_text,
        "a seq as a float": lambda e: e[2].update(seq=3.0),
        "a seq as true": lambda e: e[0].update(seq=True),
        "a made-up seq": lambda e: e[2].update(seq=99),
        "a duplicated entry": lambda e: e.insert(2, dict(e[2])),
        "a missing entry": lambda e: e.pop(2),
        "two entries swapped": lambda e: e.__setitem__(slice(1, 3), [e[2], e[1]]),
        "an id not the record's": lambda e: e[1].update(id="someone-else"),
        "an entry that is no object": lambda e: e.__setitem__(1, [1, 2]),
        "a time that is a number": lambda e: e[1].update(recorded_at=1),
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("export")
    with dl.Ledger.open(folder / "l.db", clock=Clock()) as ledger:
        ledger.record_all(sample_records(T0))
        out = io.StringIO()
        ledger.export_json(out)
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


@pytest.mark.parametrize("edit", list(_edits()))
def test_copy_checks_the_whole_chain_of_an_export_before_writing(
    exported: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    document = copy.deepcopy(exported)
    _edits()[edit](document["entries"])
    (tmp_path / "e.json").write_text(json.dumps(document))
    assert main(["copy", str(tmp_path / "e.json"), str(tmp_path / "c.db")]) == 2
    said = capsys.readouterr().err
    assert said.startswith("delvia-ledger copy: export entry ") and len(said.splitlines()) == 1
    assert "please report" not in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.json"]  # nothing made, no partial


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@pytest.mark.slow
@pytest.mark.skipif(EXE is None, reason="the package is not installed")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_copy_cut_short_by_a_signal_leaves_no_dest(tmp_path: Path, how: signal.Signals) -> None:
    """DEST is written under a temporary name and renamed once it verifies: a copy killed
    midway leaves no DEST (so the retry is not refused); SIGTERM removes its temporary file,
    and what a SIGKILL left is removed by the next copy."""
    assert EXE is not None
    with dl.Ledger.open(tmp_path / "big.db", clock=Clock()) as ledger:
        ledger.record_all(
            dl.Creator(id=f"c{n}", handle=f"creator{n}", region="US") for n in range(40_000)
        )
        with (tmp_path / "e.json").open("w") as out:
            ledger.export_json(out)
        digest = ledger.digest()
    env = {k: v for k, v in os.environ.items() if k != "DELVIA_LEDGER_DB"}
    command = [EXE, "copy", "e.json", "c.db"]
    running = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not _partials(tmp_path) and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # well inside the copy's writing
    assert running.poll() is None, "the copy ended before it could be cut short"
    running.send_signal(how)
    _, err = running.communicate(timeout=60)
    assert not (tmp_path / "c.db").exists()
    if how == signal.SIGTERM:
        assert running.returncode == 130 and "interrupted" in err and "Traceback" not in err
        assert _partials(tmp_path) == []
    else:
        assert running.returncode == -signal.SIGKILL
    again = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert f"digest {digest}" in again.stdout
    assert _partials(tmp_path) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".c.db")]
