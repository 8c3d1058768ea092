"""The ``delvia-ledger`` command: the daily check, diagnosis, verification and a demo.

Exit codes: 0 success (no ERROR finding), 1 an ERROR finding or a failed verification,
2 a usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .convert import RECORD_BY_NAME, converter, format_time
from .demo import sample_records
from .errors import LedgerError, NotALedgerError
from .findings import Finding, Severity
from .ledger import Ledger
from .records import Record
from .store import ledger_path

__all__ = ["main"]

DEFAULT_DB = "delvia-ledger.db"


class UsageError(Exception):
    """Bad arguments or input: exit 2 with this message."""


def _db_default() -> str:
    return os.environ.get("DELVIA_LEDGER_DB") or DEFAULT_DB


def _open(path: str, *, must_exist: bool = True) -> Ledger:
    ledger_path(path)  # refuses '' and ':memory:' before telling anyone to create them
    if must_exist and not Path(path).exists():
        raise UsageError(
            f"{path}: no such ledger; create one with 'delvia-ledger init --db {path}'"
        )
    return Ledger.open(path)


def _finding_dict(finding: Finding) -> dict[str, object]:
    data: dict[str, object] = converter.unstructure(finding)
    data.update(
        cause=finding.cause, meaning=finding.meaning, remedy=finding.remedy, where=finding.where
    )
    data["text"] = str(finding)
    return data


def _print_findings(findings: list[Finding], as_json: bool) -> int:
    if as_json:
        print(json.dumps([_finding_dict(f) for f in findings], indent=2, ensure_ascii=False))
    elif not findings:
        print("No findings: every code, ad and account looks fine.")
    else:
        counts = {s: sum(f.severity is s for f in findings) for s in Severity}
        print(", ".join(f"{n} {s}" for s, n in counts.items() if n) + ":")
        for finding in findings:
            print(f"  {finding}")
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


def cmd_init(args: argparse.Namespace) -> int:
    with _open(args.db, must_exist=False) as ledger:
        print(f"{args.db}: ledger ready, {ledger.seq} entries")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    with _open(args.db, must_exist=False) as ledger:
        if ledger.seq:
            raise UsageError(
                f"{args.db} already holds {ledger.seq} entries; the demo only writes to an empty "
                "ledger (pass --db with a new file name)"
            )
        result = ledger.record_all(sample_records(ledger.now()))
        print(f"Wrote a sample ledger to {args.db} ({result.written} entries).")
        print(f"Digest: {ledger.digest()}  verify: {'ok' if ledger.verify().ok else 'FAILED'}\n")
        _print_findings(ledger.findings(within=args.within), args.json)
        print(f"\nNext: delvia-ledger report --db {args.db}   (exits 1 while an ERROR remains)")
        return 0  # the sample has ERROR findings on purpose; writing it succeeded


def cmd_report(args: argparse.Namespace) -> int:
    with _open(args.db) as ledger:
        return _print_findings(ledger.findings(within=args.within), args.json)


def cmd_check(args: argparse.Namespace) -> int:
    code = sys.stdin.readline() if args.code == "-" else args.code
    if not code.strip():
        raise UsageError("check: the code is empty")
    with _open(args.db) as ledger:
        diagnosis = ledger.diagnose(code, post_id=args.post, ad_account_id=args.account)
    print(diagnosis)
    return 1 if any(f.severity is Severity.ERROR for f in diagnosis.findings) else 0


class _Progress:
    """Counts rows on stderr once an import has taken more than a second (terminals only)."""

    def __init__(self, name: str) -> None:
        self.name, self.started, self.shown = name, time.monotonic(), False

    def __call__(self, rows: int) -> None:
        if sys.stderr.isatty() and time.monotonic() - self.started > 1:
            print(f"\rimporting {self.name}: {rows:,} rows", end="", file=sys.stderr, flush=True)
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def _record_type(name: str | None, command: str) -> type[Record]:
    cls = RECORD_BY_NAME.get(name or "")
    if cls is None:
        raise UsageError(f"--type must be one of {', '.join(RECORD_BY_NAME)}")
    return cls


def cmd_import(args: argparse.Namespace) -> int:
    if args.file.endswith(".csv"):
        cls = _record_type(args.type, "import")
        with _open(args.db, must_exist=False) as ledger, open(args.file, newline="") as source:
            progress = _Progress(args.file)
            result = ledger.import_csv(cls, source, progress=progress)
            progress.finish()
        print(f"imported {args.file}: {result.written} new entries, {result.unchanged} unchanged")
        return 0
    if not args.advertiser:
        raise UsageError("import: a TikTok JSON response needs --advertiser")
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{args.file}: not JSON ({error})") from None
    with _open(args.db, must_exist=False) as ledger:
        imported = ledger.import_tiktok(payload, advertiser_id=args.advertiser)
    print(f"imported {args.file}: {imported.written} new entries, {imported.unchanged} unchanged")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args.db) as ledger:
        if args.type:
            ledger.export_csv(_record_type(args.type, "export"), sys.stdout)
        else:
            ledger.export_json(sys.stdout)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        opened = _open(args.db)
    except NotALedgerError as error:  # damaged past opening: that is a failed verification
        print(f"FAILED: {error}")
        return 1
    with opened as ledger:
        result = ledger.verify(digest=args.digest, deep=args.deep)
        if result.ok:
            print(f"ok: {result.checked} entries verified; digest {ledger.digest()}")
            return 0
    print(f"FAILED: {result.reason}")  # the reason starts with the first bad seq
    return 1


def cmd_history(args: argparse.Namespace) -> int:
    cls = RECORD_BY_NAME.get(args.type)
    if cls is None:
        raise UsageError(
            f"history: unknown type {args.type!r}; use one of {', '.join(RECORD_BY_NAME)}"
        )
    with _open(args.db) as ledger:
        entries = ledger.history(cls, args.id)
    if not entries:
        raise UsageError(f"history: no {args.type} with id {args.id!r}")
    for entry in entries:
        payload = json.dumps(converter.unstructure(entry.record), ensure_ascii=False)
        print(f"{entry.seq:>6}  {format_time(entry.recorded_at)}  {payload}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="delvia-ledger", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: object, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument(
            "--db",
            default=_db_default(),
            help="ledger file (default: $DELVIA_LEDGER_DB or ./delvia-ledger.db)",
        )
        p.set_defaults(handler=handler)
        return p

    command("init", cmd_init, "create an empty ledger")
    for name, handler, help in (
        ("demo", cmd_demo, "write a sample ledger and report on it"),
        ("report", cmd_report, "list every finding, worst first"),
    ):
        p = command(name, handler, help)
        p.add_argument("--within", default="7d", help="horizon: e.g. 36h, 7d, 2w, 1mo (default 7d)")
        p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p = command("check", cmd_check, "diagnose one code ('-' reads it from stdin)")
    p.add_argument("code", help="the raw Spark code, or - to read it from standard input")
    p.add_argument("--post", help="the post the code should authorize")
    p.add_argument("--account", help="the ad account it should attach to")
    p = command("import", cmd_import, "import a CSV of records or a TikTok JSON response")
    p.add_argument("file", help="a .csv file (with --type), or TikTok JSON (a file or -)")
    p.add_argument("--type", help="record type of a CSV file, e.g. SparkAuthorization")
    p.add_argument("--advertiser", help="for TikTok JSON: the advertiser (ad account) id")
    p = command(
        "export", cmd_export, "export a record type as CSV (--type), or every entry as JSON"
    )
    p.add_argument("--type", help="record type to export as CSV; without it, JSON of all entries")
    p = command("verify", cmd_verify, "walk the hash chain")
    p.add_argument("--digest", help="a digest saved earlier ('<seq>:<hash>')")
    p.add_argument(
        "--deep",
        action="store_true",
        help="also check the query tables against the entries they derive from",
    )
    p = command("history", cmd_history, "every version of one record")
    p.add_argument("type", help="record type, e.g. SparkAuthorization")
    p.add_argument("id", help="record id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        sys.stderr.close()
        return 0
    except (UsageError, LedgerError, ValueError, OSError, sqlite3.Error) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"delvia-ledger {args.command}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
