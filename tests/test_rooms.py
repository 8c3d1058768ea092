"""The rooms of DESIGN §3 as the imports show them: the facade, the write path, the imports and
the command line name no storage backend; intake and writing never call the facade; each
notify channel is one module, registered once; no test module imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.notify import CHANNELS, channel
from delvia_ledger.storage import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "delvia_ledger"


def imported(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports (at any depth of its code), as absolute names; ``from x
    import y`` counts ``x`` and ``x.y`` (``y`` may be a module)."""
    here = package.split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_imported_resolves_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from . import io\nfrom .storage import sqlite\nfrom ..x import y\nimport json\n"
        "def late():\n    from .storage.postgres import PostgresStore\n"
    )
    assert imported(source, "delvia_ledger.notify") == {
        "delvia_ledger.notify",
        "delvia_ledger.notify.io",
        "delvia_ledger.notify.storage",
        "delvia_ledger.notify.storage.sqlite",
        "delvia_ledger.x",
        "delvia_ledger.x.y",
        "json",
        "delvia_ledger.notify.storage.postgres",
        "delvia_ledger.notify.storage.postgres.PostgresStore",
    }


@pytest.mark.parametrize(
    "room", ["ledger.py", "ledger_intake.py", "queries.py", "writing.py", "intake.py", "cli.py"]
)
def test_these_rooms_name_no_storage_backend(room: str) -> None:
    backends = {f"delvia_ledger.storage.{module}" for module in BACKENDS.values()}
    names = imported(PACKAGE / room, "delvia_ledger")
    assert not {name for name in names if name.rsplit(".", 1)[0] in backends or name in backends}


@pytest.mark.parametrize("room", ["writing.py", "intake.py"])
def test_the_write_path_and_the_imports_never_call_the_facade(room: str) -> None:
    assert not {
        name for name in imported(PACKAGE / room, "delvia_ledger") if "delvia_ledger.ledger" in name
    }


def test_every_backend_named_in_the_registry_is_a_module_of_storage() -> None:
    assert {(PACKAGE / "storage" / f"{module}.py").is_file() for module in BACKENDS.values()} == {
        True
    }


def test_each_channel_module_holds_one_sender_registered_under_its_kind() -> None:
    modules = sorted(p.stem for p in (PACKAGE / "notify").glob("*.py") if p.stem != "__init__")
    assert sorted(module for module, _ in CHANNELS.values()) == modules
    for kind in CHANNELS:
        sender = channel(kind)
        assert sender.__dict__["kind"] == kind and sender.__module__.endswith(f".{kind}")
        assert callable(sender.__dict__["channel_for"]) and callable(sender.__dict__["send"])
    assert (channel("email"), channel("webhook")) == (dl.EmailSender, dl.WebhookSender)
    with pytest.raises(ValueError, match="no notify channel 'pager'; the channels are email"):
        channel("pager")


def test_no_test_module_imports_another() -> None:
    tests = ROOT / "tests"
    offenders = {
        (path.name, name)
        for path in tests.glob("*.py")
        for name in imported(path, "tests")
        if name.split(".")[1:2] and name.split(".")[1].startswith("test_")
    }
    assert offenders == set()
