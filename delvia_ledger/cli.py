"""The ``delvia-ledger`` command: the daily check, diagnosis, verification and a demo.

Exit codes: 0 success (no ERROR finding), 1 an ERROR finding, a failed verification or a
failed reminder delivery, 2 a usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from .checks import horizon
from .convert import RECORD_BY_NAME, converter, format_time
from .demo import sample_records
from .errors import LedgerError
from .findings import Finding, Severity
from .ledger import Ledger
from .notify import EmailSender, WebhookSender
from .records import Person, Record
from .reminders import Sender, finding_dict
from .sync import DEFAULT_BASE_URL, TikTokClient, VideoPage

__all__ = ["main"]

DEFAULT_DB = "delvia-ledger.db"


class UsageError(Exception):
    """Bad arguments or input: exit 2 with this message."""


#: Characters a terminal would act on rather than show (controls, bidi overrides), as escapes.
_UNSAFE = {
    c: f"\\x{c:02x}" if c < 0x20 else f"\\u{c:04x}"  # in JSON too, \\u is a valid escape
    for c in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
    if c not in (0x09, 0x0A)
}


def _say(text: object = "", *, end: str = "\n", err: bool = False) -> None:
    """Print text from the ledger (handles, ids, TikTok's messages) with the characters a
    terminal would obey shown as escapes, so a crafted name cannot rewrite the screen."""
    stream = sys.stderr if err else sys.stdout
    print(str(text).translate(_UNSAFE), end=end, file=stream, flush=err)


class _Parser(argparse.ArgumentParser):
    """Usage errors on one line, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        _say(f"{self.prog}: {message} (see '{self.prog} --help')", err=True)
        raise SystemExit(2)


def _db_default() -> str:
    return os.environ.get("DELVIA_LEDGER_DB") or DEFAULT_DB


def _open(path: str, *, must_exist: bool = True) -> Ledger:
    if must_exist and not Path(path).exists():
        raise UsageError(
            f"{path}: no such ledger; create one with 'delvia-ledger init --db {path}'"
        )
    return Ledger.open(path)


def _finding_dict(finding: Finding) -> dict[str, object]:
    return finding_dict(finding)  # with key, owner and the catalogue's text


def _print_findings(findings: list[Finding], as_json: bool) -> int:
    if as_json:
        _say(json.dumps([_finding_dict(f) for f in findings], indent=2, ensure_ascii=False))
    elif not findings:
        _say("No findings: every code, ad and account looks fine.")
    else:
        counts = {s: sum(f.severity is s for f in findings) for s in Severity}
        _say(", ".join(f"{n} {s}" for s, n in counts.items() if n) + ":")
        for finding in findings:
            _say(f"  {finding}")
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


def cmd_init(args: argparse.Namespace) -> int:
    with _open(args.db, must_exist=False) as ledger:
        print(f"{args.db}: ledger ready, {ledger.seq} entries")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    horizon(datetime.now(UTC), args.within)  # a bad --within is refused before anything is written
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
        findings = ledger.findings(within=args.within)
        if getattr(args, "owner", None) is not None:
            owner = _person(ledger, args.owner)
            findings = [f for f in findings if f.owner_id == owner]
        return _print_findings(findings, args.json)


def cmd_check(args: argparse.Namespace) -> int:
    code = sys.stdin.readline() if args.code == "-" else args.code
    if not code.strip():
        raise UsageError("check: the code is empty")
    with _open(args.db) as ledger:
        if not args.live:
            diagnosis = ledger.diagnose(code, post_id=args.post, ad_account_id=args.account)
        elif not args.account:
            raise UsageError("check --live: name the ad account to ask TikTok in (--account ID)")
        else:
            with TikTokClient(_token("check --live"), base_url=args.base_url) as client:
                diagnosis = ledger.diagnose(
                    code, post_id=args.post, ad_account_id=args.account, client=client
                )
    _say(diagnosis)
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
        # the source first: a missing file must not leave an empty ledger behind
        with open(args.file, newline="") as source, _open(args.db, must_exist=False) as ledger:
            progress = _Progress(args.file)
            result = ledger.import_csv(cls, source, progress=progress)
            progress.finish()
        _say(f"imported {args.file}: {result.written} new entries, {result.unchanged} unchanged")
        return 0
    if not (args.advertiser or args.creator):
        raise UsageError(
            "import: a TikTok JSON response needs --advertiser (for /tt_video/ responses) "
            "or --creator (for the creator's own /business/post/authorize/ responses)"
        )
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{args.file}: not JSON ({error})") from None
    except RecursionError:
        raise UsageError(f"{args.file}: JSON nested too deeply to be a TikTok response") from None
    with _open(args.db) as ledger:
        imported = ledger.import_tiktok(
            payload, advertiser_id=args.advertiser, creator_id=args.creator
        )
    skipped = f", {len(imported.skipped)} skipped" if imported.skipped else ""
    unbound = f", {imported.unbound} unbound" if imported.unbound else ""
    _say(
        f"imported {args.file}: {imported.written} new entries, {imported.unchanged} unchanged"
        f"{unbound}{skipped}"
    )
    for item in imported.skipped:
        _say(f"  skipped {item}", err=True)
    return 0


#: The only place ``sync`` reads the access token from (never the command line).
TOKEN_VARIABLE = "TIKTOK_ACCESS_TOKEN"


def _token(command: str) -> str:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise UsageError(f"{command}: set ${TOKEN_VARIABLE} to the TikTok app's access token")
    return token


def cmd_sync(args: argparse.Namespace) -> int:
    if args.access_token is not None:
        raise UsageError(
            f"sync: never put the access token on the command line (it stays in your shell "
            f"history); set ${TOKEN_VARIABLE} instead"
        )
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise UsageError(f"sync: set ${TOKEN_VARIABLE} to the TikTok app's access token")
    failed = 0
    with (
        _open(args.db) as ledger,
        TikTokClient(
            token, base_url=args.base_url, max_retries=args.max_retries, timeout=args.timeout
        ) as client,
    ):
        for advertiser in dict.fromkeys(args.advertiser):  # each once, in order
            progress = _PageProgress(advertiser)
            try:
                result = ledger.sync_tiktok(client, advertiser, progress=progress)
            except (LedgerError, ValueError) as error:
                progress.finish()
                _say(f"delvia-ledger sync: advertiser {advertiser}: {error}", err=True)
                failed += 1
                continue
            progress.finish()
            _say(result)
    return 2 if failed else 0


class _PageProgress:
    """Shows the page a sweep has reached on stderr (terminals only)."""

    def __init__(self, advertiser: str) -> None:
        self.advertiser, self.shown = advertiser, False

    def __call__(self, page: VideoPage) -> None:
        if sys.stderr.isatty():
            print(
                f"\rsync {self.advertiser}: page {page.number} of {page.total_pages}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args.db) as ledger:
        if args.type:
            ledger.export_csv(_record_type(args.type, "export"), sys.stdout)
        else:
            ledger.export_json(sys.stdout)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with _open(args.db) as ledger:
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
        _say(f"{entry.seq:>6}  {format_time(entry.recorded_at)}  {payload}")
    return 0


def _person(ledger: Ledger, person_id: str) -> str:
    if ledger.get(Person, person_id) is None:
        raise UsageError(f"no person with id {person_id!r} in the ledger")
    return person_id


def cmd_remind(args: argparse.Namespace) -> int:
    with _open(args.db) as ledger:
        found = ledger.reminders(within=args.within)
        if args.person is not None:
            person = _person(ledger, args.person)
            found = [r for r in found if r.person_id == person]
    if args.json:
        print(json.dumps([r.as_dict() for r in found], indent=2, ensure_ascii=False))
    elif not found:
        print(f"{args.person or 'Nobody'} has nothing to act on within {args.within}.")
    else:
        print("\n\n".join(str(reminder) for reminder in found))
    return 0


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SMTP_PASSWORD_ENV = "DELVIA_SMTP_PASSWORD"


def _secret_from_env(flag: str, name: str, what: str) -> str:
    """The value of the environment variable ``name``; never echoes what was typed."""
    if "://" in name or not _ENV_NAME.fullmatch(name):
        raise UsageError(
            f"{flag} takes the name of an environment variable that holds {what} "
            "(e.g. SLACK_WEBHOOK_URL), never the URL itself: a command line ends up in shell "
            "history and process lists"
        )
    value = os.environ.get(name, "").strip()
    if not value:
        raise UsageError(f"${name} is not set; it should hold {what}")
    return value


def _senders(args: argparse.Namespace) -> list[Sender]:
    senders: list[Sender] = []
    if args.smtp is not None:
        host, _, port = args.smtp.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--smtp {args.smtp!r}: give HOST:PORT, e.g. smtp.brand.com:587")
        if not args.from_addr:
            raise UsageError("--smtp needs --from ADDR, the address reminders come from")
        password = None
        if args.smtp_user is not None:
            password = os.environ.get(SMTP_PASSWORD_ENV)
            if not password:
                raise UsageError(f"--smtp-user needs the password in ${SMTP_PASSWORD_ENV}")
        senders.append(
            EmailSender(
                host,
                int(port),
                args.from_addr,
                username=args.smtp_user,
                password=password,
                starttls=args.starttls,
            )
        )
    elif args.from_addr or args.smtp_user or args.starttls:
        raise UsageError("--from, --smtp-user and --starttls go with --smtp HOST:PORT")
    if args.slack_webhook_env is not None:
        url = _secret_from_env("--slack-webhook-env", args.slack_webhook_env, "the webhook URL")
        senders.append(WebhookSender(url, style="slack"))
    if args.webhook_env is not None:
        url = _secret_from_env("--webhook-env", args.webhook_env, "the webhook URL")
        senders.append(WebhookSender(url, style="json"))
    if not senders:
        raise UsageError(
            "name at least one channel: --smtp HOST:PORT --from ADDR, "
            "--slack-webhook-env VAR or --webhook-env VAR"
        )
    return senders


def cmd_notify(args: argparse.Namespace) -> int:
    senders = _senders(args)
    try:
        with _open(args.db) as ledger:
            result = ledger.notify(senders, within=args.within, dry_run=args.dry_run)
    finally:
        for sender in senders:
            if isinstance(sender, WebhookSender):
                sender.close()
    if args.dry_run:
        for delivery in result.deliveries:
            message = delivery.message
            print(f"--- {message.channel}: {message.subject}\n{message.text}\n")
    print(result)
    return 1 if result.failures else 0


def cmd_changes(args: argparse.Namespace) -> int:
    with _open(args.db) as ledger:
        found = ledger.changes(args.since, within=args.within)
    if args.json:
        print(json.dumps(found.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(found)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="delvia-ledger", description=__doc__.splitlines()[0])
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
    p.add_argument(
        "--live",
        action="store_true",
        help=f"ask TikTok about a code the ledger does not hold (token from ${TOKEN_VARIABLE})",
    )
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="TikTok's API, for --live")
    p = command("import", cmd_import, "import a CSV of records or a TikTok JSON response")
    p.add_argument("file", help="a .csv file (with --type), or TikTok JSON (a file or -)")
    p.add_argument("--type", help="record type of a CSV file, e.g. SparkAuthorization")
    p.add_argument("--advertiser", help="for TikTok JSON: the advertiser (ad account) id")
    p.add_argument(
        "--creator", help="for a creator-side TikTok response: the creator's id in the ledger"
    )
    p = command(
        "sync",
        cmd_sync,
        "bring the ledger in line with TikTok (token from $" + TOKEN_VARIABLE + ")",
    )
    p.add_argument(
        "--advertiser",
        action="append",
        required=True,
        help="an advertiser (ad account) id to sweep; repeat for several",
    )
    p.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="TikTok's API (default: %(default)s)"
    )
    p.add_argument("--max-retries", type=int, default=5, help="retries per request (default 5)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument("--access-token", help=argparse.SUPPRESS)
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
    sub.choices["report"].add_argument(
        "--owner", metavar="ID", help="only the findings this person must act on (owner_id)"
    )
    p = command("remind", cmd_remind, "preview each person's reminder (writes nothing)")
    p.add_argument("--within", default="14d", help="horizon (default 14d)")
    p.add_argument("--person", metavar="ID", help="only this person's reminder")
    p.add_argument("--json", action="store_true", help="print the reminders as JSON")
    p = command(
        "notify",
        cmd_notify,
        "send each person what is new or changed since their last reminder; exits 1 if a "
        "delivery failed",
    )
    p.add_argument("--smtp", metavar="HOST:PORT", help="send email through this SMTP server")
    p.add_argument("--from", dest="from_addr", metavar="ADDR", help="the sender address")
    p.add_argument(
        "--smtp-user", metavar="USER", help=f"log in as USER (password: ${SMTP_PASSWORD_ENV})"
    )
    p.add_argument("--starttls", action="store_true", help="upgrade the SMTP connection to TLS")
    p.add_argument(
        "--slack-webhook-env", metavar="VAR", help="post to the Slack webhook URL held in $VAR"
    )
    p.add_argument("--webhook-env", metavar="VAR", help="post JSON to the webhook URL held in $VAR")
    p.add_argument("--within", default="14d", help="horizon (default 14d)")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send and record nothing"
    )
    p = command("changes", cmd_changes, "what was recorded, and how findings moved, since a point")
    p.add_argument(
        "--since", required=True, help="a seq, a digest (SEQ:HASH), an ISO time, or e.g. 7d"
    )
    p.add_argument("--within", default="7d", help="horizon of the findings (default 7d)")
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
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
    except KeyboardInterrupt:
        _say(f"delvia-ledger {args.command}: interrupted; nothing more was written", err=True)
        return 130
    except (UsageError, LedgerError, ValueError, OSError, sqlite3.Error) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        _say(f"delvia-ledger {args.command}: {message}", err=True)
        return 2
    except Exception as error:  # a bug of ours: still one line, never a traceback
        _say(
            f"delvia-ledger {args.command}: unexpected {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'} "
            "(nothing was written; please report this)",
            err=True,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
