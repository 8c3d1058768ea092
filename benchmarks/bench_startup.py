"""Benchmark start-up: ``import delvia_ledger`` against the import of its core, and
``delvia-ledger --version`` against an empty interpreter, each a fresh process, alternated.

PYTHONPATH=. python benchmarks/bench_startup.py [--runs 30] [--against OTHER_TREE ...]

``--against`` adds the same two commands run from another checkout (e.g. ``git archive main``
unpacked somewhere), in the same alternation, for a before/after in one run. Run it with every
extra installed (pandas, matplotlib, psycopg): that is where the import used to cost most.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[1]
CORE = "import sqlite3, attrs, cattrs, dateutil, click"
HEAVY = ("pandas", "numpy", "matplotlib", "psycopg", "httpx", "sqlite_utils", "tabulate")
#: Prints, at exit, the heavy modules the process had loaded (a run apart from the timed ones).
_REPORT = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
    f"set({HEAVY!r}))), file=sys.stderr))\n"
)


@attrs.frozen
class Command:
    """One process to start: a label, its ``python -c`` code and arguments, its path."""

    label: str
    code: str
    args: tuple[str, ...] = ()
    tree: Path | None = None

    def argv(self, prefix: str = "") -> list[str]:
        return [sys.executable, "-c", prefix + self.code, *self.args]

    def cwd(self) -> Path:
        """The tree itself (``python -c`` puts the working folder first on the path)."""
        return self.tree or Path(tempfile.gettempdir())

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if self.tree is not None:
            env["PYTHONPATH"] = str(self.tree)
        return env


def console_script(tree: Path) -> str:
    """What pip's ``delvia-ledger`` script runs, for the entry point ``tree`` declares."""
    scripts = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["delvia-ledger"].partition(":")
    return f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n"


def commands(trees: list[Path]) -> list[Command]:
    found = [Command("python -c pass", "pass"), Command("core imports", CORE)]
    for tree in trees:
        name = "this tree" if tree == ROOT else str(tree)
        found += [
            Command(f"import delvia_ledger ({name})", "import delvia_ledger", tree=tree),
            Command(
                f"... and dl.Ledger ({name})", "import delvia_ledger as dl; dl.Ledger", tree=tree
            ),
            Command(f"--version ({name})", console_script(tree), ("--version",), tree),
        ]
    return found


def time_once(command: Command) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``command`` in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command.argv(), env=command.env(), cwd=command.cwd(), check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def heavy_loaded(command: Command) -> list[str]:
    done = subprocess.run(
        command.argv(_REPORT),
        env=command.env(),
        cwd=command.cwd(),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command")
    parser.add_argument("--against", type=Path, action="append", default=[], help="another tree")
    args = parser.parse_args()
    extras = {
        m: importlib.util.find_spec(m) is not None for m in ("pandas", "matplotlib", "psycopg")
    }
    print(f"extras installed: {extras}; python {sys.version.split()[0]}; {args.runs} runs each")
    todo = commands([ROOT, *(tree.resolve() for tree in args.against)])
    for command in todo:
        time_once(command)  # warm: .pyc files written, pages cached
    walls: dict[str, list[float]] = {c.label: [] for c in todo}
    cpus: dict[str, list[float]] = {c.label: [] for c in todo}
    for _ in range(args.runs):
        for command in todo:  # alternated: each round runs every command once
            one_wall, one_cpu = time_once(command)
            walls[command.label].append(one_wall)
            cpus[command.label].append(one_cpu)
    wall = {label: statistics.median(times) * 1000 for label, times in walls.items()}
    cpu = {label: statistics.median(times) * 1000 for label, times in cpus.items()}
    print(f"{'command':<52}{'wall ms':>9}{'CPU ms':>9}  heavy modules loaded")
    for command in todo:
        label = command.label
        shown = ", ".join(heavy_loaded(command)) or "-"
        print(f"{label:<52}{wall[label]:>9.1f}{cpu[label]:>9.1f}  {shown}")
    print("\nratios (median wall, median CPU):")
    for command in todo:
        if command.label.startswith(("import delvia_ledger", "... and")):
            base = "core imports"
        elif command.label.startswith("--version"):
            base = "python -c pass"
        else:
            continue
        print(
            f"  {command.label} / {base}: {wall[command.label] / wall[base]:.2f}x wall, "
            f"{cpu[command.label] / cpu[base]:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
