"""Ledger.replay and ``delvia-ledger copy``: a copy with the same seqs, record times and hashes,
from a ledger or from its JSON export; anything else is refused and leaves nothing."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import delvia_ledger as dl
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
        with pytest.raises(dl.LedgerError, match="differs from the source"):
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
