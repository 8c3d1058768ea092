"""Start-up: what ``import delvia_ledger`` and the command line load (issue 27), and a Ctrl-C
during start-up or a command ending in one line and exit 130, never a traceback (issue 25).

Every check runs in a fresh interpreter, since the test process has imported everything."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

import delvia_ledger as dl
from tests.fake_tiktok import (
    ADVERTISER,
    TOKEN,
    FakeTikTok,
    fake_tiktok_fixture,  # noqa: F401 (the fake_tiktok fixture)
)

ROOT = Path(__file__).resolve().parents[1]
#: What the package must not load until a function that needs it is called.
HEAVY = ("pandas", "numpy", "matplotlib", "psycopg", "httpx", "sqlite_utils")
#: What ``--help`` and ``--version`` must not load either: the storage engine and the tables.
NOT_FOR_HELP = (*HEAVY, "tabulate", "delvia_ledger.storage", "delvia_ledger.ledger")


def _fresh(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter with this tree first on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def _loaded(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The list the child printed as its last line of stdout."""
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


REPORT_LOADED = """
    import json, sys
    def loaded(names):
        return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in sys.modules))
"""


def test_importing_the_package_and_its_command_line_loads_no_heavy_dependency() -> None:
    done = _fresh(
        REPORT_LOADED
        + f"""
    import delvia_ledger, delvia_ledger.cli
    print(json.dumps(loaded({HEAVY!r})))
    """
    )
    assert _loaded(done) == []


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["sync", "--help"], ["report", "-h"]])
def test_help_and_version_load_neither_the_storage_engine_nor_tables(args: list[str]) -> None:
    done = _fresh(
        REPORT_LOADED
        + f"""
    from delvia_ledger.__main__ import run
    sys.argv = ["delvia-ledger", *{args!r}]
    code = run()
    print(json.dumps(loaded({NOT_FOR_HELP!r})))
    sys.exit(code)
    """
    )
    assert "delvia-ledger" in done.stdout
    assert _loaded(done) == []


def test_a_ledger_that_exists_is_opened_read_and_written_without_sqlite_utils(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    with dl.Ledger.open(path) as ledger:  # creates the tables: sqlite-utils is used here only
        ledger.record(dl.Creator(id="maya", handle="@maya.makes", region="US"))
    done = _fresh(
        REPORT_LOADED
        + f"""
    import delvia_ledger as dl
    with dl.Ledger.open({str(path)!r}) as ledger:
        with ledger.transaction():  # the record inside joins it through a savepoint
            ledger.record(dl.Post(id="7301", creator_id="maya", kind="VIDEO"))
        assert ledger.verify(deep=True).ok and ledger.get(dl.Creator, "maya") is not None
        ledger.findings(within="7d")
        ledger.reminders(within="14d")
        ledger.export_json(open({str(tmp_path / "export.json")!r}, "w"))
    print(json.dumps(loaded({HEAVY!r})))
    """
    )
    assert _loaded(done) == []
    with dl.Ledger.open(path) as ledger:
        assert ledger.seq == 2


#: The homes whose own job is HTTP (the sync client, the webhook channel): they load httpx.
SPEAKS_HTTP = {"sync": ["httpx"], "notify.webhook": ["httpx"]}


@pytest.mark.parametrize("home", sorted(dl._HOMES))
def test_each_public_home_used_first_loads_no_extra(home: str) -> None:
    """The first name of each home, touched first in a fresh interpreter, loads no optional
    extra (pandas comes when a frame is made, matplotlib when a picture is drawn, psycopg when
    a postgresql:// URL is opened) and httpx only for what speaks HTTP."""
    done = _fresh(
        REPORT_LOADED
        + f"""
    import delvia_ledger as dl
    dl.{dl._HOMES[home][0]}
    print(json.dumps(loaded({HEAVY!r})))
    """
    )
    assert _loaded(done) == SPEAKS_HTTP.get(home, [])


def test_the_email_channel_loads_no_httpx() -> None:
    done = _fresh(
        REPORT_LOADED
        + """
    import delvia_ledger as dl
    dl.EmailSender
    print(json.dumps(loaded(["httpx"])))
    """
    )
    assert _loaded(done) == []


def test_every_public_name_resolves_from_its_home_and_is_listed() -> None:
    done = _fresh(
        """
    import importlib, json, types
    import delvia_ledger as dl
    wrong = []
    for name in dl.__all__:
        value = getattr(dl, name)
        home = importlib.import_module("delvia_ledger." + dl._HOME[name])
        expected = home if isinstance(value, types.ModuleType) else getattr(home, name)
        if value is not expected:
            wrong.append(name)
    print(json.dumps(wrong))
    """
    )
    assert _loaded(done) == []
    assert sorted(dl._HOME) == sorted(dl.__all__)  # one list of names, two spellings
    assert set(dl.__all__) <= set(dir(dl))
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        dl.NoSuchName  # type: ignore[attr-defined]  # noqa: B018


def test_star_import_gives_every_public_name() -> None:
    done = _fresh(
        """
    import json
    from delvia_ledger import *
    import delvia_ledger as dl
    print(json.dumps([n for n in dl.__all__ if globals().get(n) is not getattr(dl, n)]))
    """
    )
    assert _loaded(done) == []


def test_the_lazy_names_type_check_as_what_they_are(tmp_path: Path) -> None:
    """mypy sees each name as the object at its home, never as Any; a misspelt name is an
    error (mypy sees no module ``__getattr__``)."""
    pytest.importorskip("mypy", reason="mypy comes with the test extra")
    lines = ["import delvia_ledger as dl"]
    for name in dl.__all__:
        home = dl._HOME[name]
        if home == name:
            lines.append(f"import delvia_ledger.{home} as home_{name}")
        else:
            lines.append(f"from delvia_ledger.{home} import {name} as home_{name}")
    for name in dl.__all__:
        lines += [f"reveal_type(dl.{name})", f"reveal_type(home_{name})"]
    lines.append("dl.NoSuchName")
    (tmp_path / "names.py").write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "names.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    revealed = re.findall(r'names\.py:\d+: note: Revealed type is "(.*)"', done.stdout)
    assert len(revealed) == 2 * len(dl.__all__), done.stdout
    for name, lazy, home in zip(dl.__all__, revealed[::2], revealed[1::2], strict=True):
        assert lazy == home and lazy != "Any", (name, lazy, home)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and 'has no attribute "NoSuchName"' in errors[0], done.stdout


# --- Ctrl-C -------------------------------------------------------------------------------------


def _console_script() -> str:
    """The script pip writes for the ``delvia-ledger`` entry point pyproject.toml declares."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["delvia-ledger"].partition(":")
    return f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n"


#: Ctrl-C as in a shell's foreground job: a background job (as under ``make -j`` or ``&``)
#: inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
_AS_AT_A_TERMINAL = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"


def _command(
    args: Sequence[str], *, cwd: Path, interrupt_on_import: str | None = None, **env: str
) -> subprocess.Popen[str]:
    """``delvia-ledger args`` as installed, optionally sending itself SIGINT (a real signal)
    while it imports ``interrupt_on_import``."""
    trap = ""
    if interrupt_on_import is not None:
        trap = textwrap.dedent(
            f"""
            import os, signal, sys
            class _CtrlC:
                def find_spec(self, name, path=None, target=None):
                    if name == {interrupt_on_import!r}:
                        os.kill(os.getpid(), signal.SIGINT)
                    return None
            sys.meta_path.insert(0, _CtrlC())
            """
        )
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-c", _AS_AT_A_TERMINAL + trap + _console_script(), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "NO_PROXY": "127.0.0.1", **env},
    )


def _assert_interrupted(child: subprocess.Popen[str]) -> None:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    [line] = err.strip().splitlines()
    assert line.startswith("delvia-ledger") and "interrupted" in line, err
    assert out == ""


@pytest.fixture
def ledger_db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with dl.Ledger.open(path) as ledger:
        ledger.record(dl.AdAccount(id=ADVERTISER, name="Brand US", region="US"))
    return path


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["--version"], "delvia_ledger.cli"),  # the command line itself
        (["--version"], "click"),
        (["--version"], "delvia_ledger.records"),
        (["report"], "delvia_ledger.ledger"),  # a command's own imports
        (["report"], "tabulate"),
        (["report", "--format", "json"], "delvia_ledger.checks"),
    ],
)
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(
    ledger_db: Path, args: list[str], module: str
) -> None:
    child = _command(
        ["--db", str(ledger_db), *args], cwd=ledger_db.parent, interrupt_on_import=module
    )
    _assert_interrupted(child)


def test_ctrl_c_during_a_sync_is_one_line_and_exit_130_and_the_ledger_verifies(
    ledger_db: Path, fake_tiktok: FakeTikTok
) -> None:
    fake_tiktok.stall(20, page=2)  # the sweep waits on page 2: interrupted mid-command
    child = _command(
        ["--db", str(ledger_db), "sync", "--advertiser", ADVERTISER, "--base-url", fake_tiktok.url],
        cwd=ledger_db.parent,
        TIKTOK_ACCESS_TOKEN=TOKEN,
    )
    deadline = time.monotonic() + 60
    while not fake_tiktok.requests_for(page=2):
        assert child.poll() is None and time.monotonic() < deadline, "sync never asked for page 2"
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _assert_interrupted(child)
    with dl.Ledger.open(ledger_db) as ledger:
        assert ledger.verify(deep=True).ok
