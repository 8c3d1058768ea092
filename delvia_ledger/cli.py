"""The ``delvia-ledger`` command: the daily check, small changes, sync, reminders and a demo.

Exit codes: 0 success (no ERROR finding), 1 an ERROR finding, a failed verification or a failed
delivery, 2 a usage or input error (one line on stderr, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import shutil
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar, cast

import attrs
import click
from dateutil.parser import isoparse

from . import __version__
from .errors import LedgerError, NotALedgerError, docs_url
from .fields import one_line
from .findings import Finding, FindingKind, Severity
from .records import (
    AccessReview,
    AdAccount,
    Creator,
    Notice,
    Person,
    Record,
    Role,
    RoleGrant,
    SparkAuthorization,
)
from .tiktok import DEFAULT_BASE_URL
from .tiktok_errors import explain_error

# Each command imports what it uses (the storage engine, httpx, tabulate, ...) when it runs, so
# that --help, --version and a command that needs none of them start at once.
if TYPE_CHECKING:
    from .chain import Entry
    from .ledger import Ledger, LedgerView
    from .notices import Sender
    from .storage import Location
    from .sync import VideoPage, Wait

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "delvia-ledger.db"
#: The only place ``sync`` and ``check --live`` read the access token from.
TOKEN_VARIABLE = "TIKTOK_ACCESS_TOKEN"
SMTP_PASSWORD_ENV = "DELVIA_SMTP_PASSWORD"
FORMATS = ("table", "csv", "json", "jsonl")


#: An authorization id as the ledger derives it (``check`` takes one instead of the code).
AUTH_ID = re.compile(r"auth_[0-9a-f]{16}")


class UsageError(click.ClickException):
    """Bad arguments or input: exit 2 with this message."""

    exit_code = 2


class Failed(Exception):
    """The command ran and found trouble: exit 1 (already reported)."""


# --- output -------------------------------------------------------------------------------------

#: Characters a terminal would act on rather than show (controls, bidi overrides), as escapes.
_UNSAFE = {
    c: f"\\x{c:02x}" if c < 0x20 else f"\\u{c:04x}"  # in JSON too, \u is a valid escape
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
    click.echo(str(text).translate(_UNSAFE), nl=False, err=err)
    click.echo(end, nl=False, err=err)


def _emit(rows: list[dict[str, Any]], fmt: str, table: Callable[[], str] | None = None) -> None:
    """``rows`` in the chosen format: a table (``table()`` or tabulate), CSV, JSON or JSON lines."""
    if fmt == "json":
        _say(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    elif fmt == "jsonl":
        for row in rows:
            _say(json.dumps(row, ensure_ascii=False, default=str))
    elif fmt == "csv":
        out = io.StringIO()
        columns = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        _say(out.getvalue(), end="")
    elif table is not None:
        _say(table())
    else:
        from tabulate import tabulate

        _say(
            tabulate(
                [{k: _cell(v) for k, v in r.items()} for r in rows],
                headers="keys",
                disable_numparse=True,
            )
        )


def _cell(value: Any) -> Any:
    from .io import neutralise

    if isinstance(value, list | tuple):
        return " ".join(map(str, value))
    return neutralise("" if value is None else str(value))  # the CSV export's own rule


def _format_option(default: str = "table") -> Callable[[F], F]:
    def decorate(command: F) -> F:
        command = click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="short for --format json",
        )(command)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default=default,
            show_default=True,
            help="how to print the listing",
        )(command)

    return decorate


def _chosen(fmt: str, as_json: bool) -> str:
    return "json" if as_json else fmt


# --- the ledger and its arguments ---------------------------------------------------------------


@attrs.define
class State:
    """What the group's options say, for every subcommand."""

    db: str = DEFAULT_DB


def _db_callback(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).db = value


def _db_option(command: F) -> F:
    """``--db`` after the subcommand too (it overrides the one before it)."""
    return click.option(
        "--db",
        expose_value=False,
        callback=_db_callback,
        is_eager=True,
        help="ledger file (default: $DELVIA_LEDGER_DB or ./delvia-ledger.db)",
    )(command)


def _db_path() -> str:
    return click.get_current_context().ensure_object(State).db


def _valid_db() -> Location:
    """The ``--db`` location, refused if it would be a throw-away database ('' or ':memory:')."""
    return _location(_db_path(), "--db")


@contextmanager
def _ledger(*, must_exist: bool = True, or_: str = "") -> Iterator[Ledger]:
    """The ``--db`` ledger; one this command creates is removed again if the command fails.

    ``or_`` names another way to create it (``--create``) in the refusal."""
    from .ledger import Ledger

    location = _valid_db()
    path = location.text
    new = location.is_file and not Path(path).exists()
    if must_exist and new:
        raise UsageError(
            f"{path}: no such ledger; create one with 'delvia-ledger --db {path} init'{or_}"
        )
    try:
        with Ledger.open(path) as ledger:
            yield ledger
    except BaseException:
        if new:  # a refused command leaves no new file behind
            location.discard()
        raise


def _read_code(code: str) -> str:
    """The raw code from the argument, or from standard input for ``-`` (out of shell history)."""
    text = sys.stdin.readline() if code == "-" else code
    if not text.strip():
        raise UsageError("the code is empty")
    return text.strip()


def _authorization(ledger: LedgerView, code: str) -> SparkAuthorization:
    """The authorization for a raw code or an authorization id."""
    found = ledger.authorization_for(code) or ledger.get(SparkAuthorization, code)
    if found is None:
        raise UsageError(
            "no authorization in the ledger for that code or id; check it, or sync from TikTok"
        )
    return found


def _person(ledger: LedgerView, person_id: str) -> str:
    if ledger.get(Person, person_id) is None:
        raise UsageError(f"no person with id {person_id!r} in the ledger")
    return person_id


def _record_type(name: str) -> type[Record]:
    from .convert import RECORD_BY_NAME

    cls = RECORD_BY_NAME.get(name) or {k.lower(): v for k, v in RECORD_BY_NAME.items()}.get(
        name.lower()
    )
    if cls is None:
        raise UsageError(f"unknown record type {name!r}; use one of {', '.join(RECORD_BY_NAME)}")
    return cls


def _horizon_option(default: str) -> Callable[[F], F]:
    return click.option(
        "--within",
        default=default,
        show_default=True,
        help="horizon: e.g. 36h, 7d, 2w, 1mo",
    )


def _token(command: str) -> str:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise UsageError(f"{command}: set ${TOKEN_VARIABLE} to the TikTok app's access token")
    return token


class _Progress:
    """Counts rows or pages on stderr, on a terminal only, once work has taken a second."""

    def __init__(self, label: str) -> None:
        self.label, self.started, self.shown = label, time.monotonic(), False

    def __call__(self, done: int, total: int | None = None) -> None:
        if sys.stderr.isatty() and time.monotonic() - self.started > 1:
            of = f" of {total:,}" if total else ""
            click.echo(f"\r{self.label}: {done:,}{of}", nl=False, err=True)
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            click.echo(err=True)


# --- the command group --------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="delvia-ledger")
@click.option(
    "--db",
    envvar="DELVIA_LEDGER_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="ledger file (or $DELVIA_LEDGER_DB)",
)
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """The access record behind TikTok Spark Ads: flag codes before they fail, and who fixes it."""
    ctx.ensure_object(State).db = db


@cli.command()
@_db_option
def init() -> None:
    """Create an empty ledger."""
    with _ledger(must_exist=False) as ledger:
        _say(f"{_valid_db().shown}: ledger ready, {ledger.seq} entries")


@cli.command()
@_db_option
@_horizon_option("7d")
@_format_option()
def demo(within: str, fmt: str, as_json: bool) -> None:
    """Write a sample ledger and report on it (re-running replaces a sample it made)."""
    from .checks import horizon
    from .demo import sample_records
    from .ledger import Ledger

    horizon(datetime.now(UTC), within)  # a bad --within is refused before anything is written
    location = _valid_db()
    shown = location.shown
    if not location.is_file:  # a server's entries are never deleted: an empty one only
        with Ledger.open(location.text) as existing:
            if existing.seq:
                raise UsageError(
                    f"{shown} already holds {existing.seq} entries; on a server the demo "
                    "writes its sample only into an empty ledger (pass --db with a new schema)"
                )
    elif Path(location.text).exists():
        with Ledger.open(location.text) as existing:
            if existing.seq and not _is_sample(existing):
                raise UsageError(
                    f"{shown} already holds {existing.seq} entries that are not the demo's "
                    "sample; the demo only replaces its own sample (pass --db with a new file)"
                )
        location.discard()
    with _ledger(must_exist=False) as ledger:
        result = ledger.record_all(sample_records(ledger.now()))
        fmt = _chosen(fmt, as_json)
        if fmt == "table":
            _say(f"Wrote a sample ledger to {shown} ({result.written} entries).")
            _say(f"Digest: {ledger.digest()}  verify: {'ok' if ledger.verify().ok else 'FAILED'}\n")
        _print_findings(ledger.findings(within=within), fmt, ledger)
        if fmt == "table":
            _say(f"\nNext: delvia-ledger --db {shown} report   (exits 1 while an ERROR remains)")
    # the sample has ERROR findings on purpose; writing it succeeded


def _is_sample(ledger: Ledger) -> bool:
    """True when every record in the ledger is one the demo writes (a sample it made)."""
    from .demo import sample_records

    def ids(records: Iterable[Record]) -> set[tuple[str, str]]:
        # a Notice's id is derived from its time, so notices count by type alone
        return {(type(r).__name__, "" if isinstance(r, Notice) else r.id) for r in records}

    return ids(e.record for e in ledger.entries()) <= ids(sample_records(ledger.now()))


# --- report and findings ------------------------------------------------------------------------


#: Severities at or above each ``--fail-on`` level: any of them among the shown findings exits 1.
FAIL_ON = {"error": {Severity.ERROR}, "warning": {Severity.ERROR, Severity.WARNING}}
FAIL_ON["info"] = set(Severity)


def _fail_on_option(command: F) -> F:
    return click.option(
        "--fail-on",
        type=click.Choice(list(FAIL_ON), case_sensitive=False),
        default="error",
        show_default=True,
        help="exit 1 when a finding this severe or worse is shown (for cron and CI)",
    )(command)


def _fails(findings: Iterable[Finding], fail_on: str) -> bool:
    worst = FAIL_ON[fail_on.lower()]
    return any(f.severity in worst for f in findings)


class _Names:
    """The account names and code hints a table shows, each read from the ledger once."""

    def __init__(self, ledger: LedgerView) -> None:
        self.ledger, self.accounts, self.hints = ledger, {}, {}  # type: ignore[var-annotated]

    def account(self, account_id: str | None) -> str:
        if account_id is None:
            return ""
        if account_id not in self.accounts:
            found = self.ledger.get(AdAccount, account_id)
            self.accounts[account_id] = found.name if found else account_id
        return str(self.accounts[account_id])

    def hint(self, authorization_id: str | None) -> str:
        if authorization_id is None:
            return ""
        if authorization_id not in self.hints:
            found = self.ledger.get(SparkAuthorization, authorization_id)
            self.hints[authorization_id] = found.code.hint if found else ""
        return str(self.hints[authorization_id])


def _finding_rows(findings: list[Finding], names: _Names, wide: bool) -> list[dict[str, str]]:
    from .convert import readable_time

    rows = []
    for f in findings:
        row = {
            "severity": f.severity.value,
            "kind": f.kind.value,
            "deadline": f"{f.deadline:%Y-%m-%d}" if f.deadline else "",
            "creator": one_line(f.handle or f.creator_id or ""),
            "code": names.hint(f.authorization_id),
            "account": one_line(names.account(f.ad_account_id)),
            "owner": one_line(f.owner_name or f.owner_id or ""),
        }
        if wide:
            row["remedy"] = f.remedy
            row["deadline"] = readable_time(f.deadline, zone=False) if f.deadline else ""
            row.update(
                authorization=f.authorization_id or "",
                account_id=f.ad_account_id or "",
                ad=f.ad_id or "",
                post=f.post_id or "",
                person=f.person_id or "",
                creator_id=f.creator_id or "",
            )
        rows.append(row)
    if not wide:  # a column no finding fills takes no room
        used = {k for row in rows for k, v in row.items() if v}
        rows = [{k: v for k, v in row.items() if k in used} for row in rows]
    return rows


#: Columns given up, in this order, when a table is wider than the terminal (never cut).
_DROPPED_FIRST = ("owner", "deadline", "code", "account", "kind")


def fit_table(rows: list[dict[str, str]], width: int) -> str:
    """``rows`` as a table no wider than ``width``: whole columns are left out (named in a
    last line) until it fits; a cell is never cut, so an id is shown whole or not at all."""
    from tabulate import tabulate

    dropped: list[str] = []
    columns = list(dict.fromkeys(k for row in rows for k in row))
    while True:
        text = tabulate(
            [{k: row.get(k, "") for k in columns} for row in rows],
            headers="keys",
            disable_numparse=True,
        )
        if max(map(len, text.splitlines()), default=0) <= width or len(columns) <= 2:
            break
        drop = next((c for c in _DROPPED_FIRST if c in columns), columns[-1])
        columns.remove(drop)
        dropped.append(drop)
    if dropped:
        note = (
            f"(left out to fit the terminal: {', '.join(dropped)}; --wide or --format json "
            "shows all)"
        )
        text += "\n" + textwrap.fill(note, max(width, 40), break_long_words=False)
    return text


def _finding_table(
    findings: list[Finding], names: _Names, wide: bool, filters: str = "", total: int = 0
) -> str:
    from tabulate import tabulate

    if not findings:
        if filters:
            return f"No findings match {filters} ({total} in all without the filters)."
        return "No findings: every code, ad and account looks fine."
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    rows = _finding_rows(findings, names, wide)
    if wide:
        return f"{summary}:\n" + tabulate(rows, headers="keys", disable_numparse=True)
    width = shutil.get_terminal_size((120, 24)).columns
    remedies = {f.kind: f.remedy for f in findings}  # one remedy per kind: the catalogue's
    todo = "\n".join(
        textwrap.fill(
            f"{kind.value}: {remedy}",
            max(width, 40),
            initial_indent="  ",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        for kind, remedy in remedies.items()
    )
    return f"{summary}:\n" + fit_table(rows, width) + "\n\nWhat to do:\n" + todo


def _print_findings(
    findings: list[Finding],
    fmt: str,
    ledger: LedgerView,
    *,
    wide: bool = False,
    filters: str = "",
    total: int = 0,
) -> None:
    from .reminders import finding_dict

    names = _Names(ledger)
    _emit(
        [finding_dict(f) for f in findings],
        fmt,
        lambda: _finding_table(findings, names, wide, filters, total),
    )


def _print_retired(ledger: LedgerView, creator_id: str | None, account_id: str | None) -> None:
    """``report --all``: the retired codes (which raise nothing), under the findings."""
    names = _Names(ledger)
    rows = [
        {
            "retired": f"{a.retired_at:%Y-%m-%d}",
            "creator": (c.label if (c := ledger.get(Creator, a.creator_id)) else a.creator_id),
            "code": a.code.hint,
            "account": names.account(a.ad_account_id),
            "reason": a.retired_reason or "",
        }
        for a in ledger.records(SparkAuthorization)
        if a.retired_at is not None
        and creator_id in (None, a.creator_id)
        and account_id in (None, a.ad_account_id)
    ]
    if rows:
        width = shutil.get_terminal_size((120, 24)).columns
        _say(f"\nRetired codes ({len(rows)}):\n" + fit_table(rows, width))
    else:
        _say("\nNo retired codes.")


def _creator_id(ledger: LedgerView, given: str) -> str:
    """A creator's id from its id or its handle (with or without ``@``); exit 2 if none."""
    if ledger.get(Creator, given) is not None:
        return given
    handle = given.strip().removeprefix("@").lower()
    for creator in ledger.records(Creator):
        if creator.handle and creator.handle.lower() == handle:
            return creator.id
    raise UsageError(f"--creator {given!r}: no creator with that id or handle in the ledger")


def _account_id(ledger: LedgerView, given: str) -> str:
    """An ad account's id from its id or its name; exit 2 naming the known ones if none."""
    if ledger.get(AdAccount, given) is not None:
        return given
    accounts = list(ledger.records(AdAccount))
    named = [
        a for a in accounts if " ".join(a.name.lower().split()) == " ".join(given.lower().split())
    ]
    if len(named) == 1:
        return named[0].id
    known = ", ".join(f"{a.name} ({a.id})" for a in accounts) or "none"
    raise UsageError(
        f"--account {given!r}: no ad account with that id or name; the ledger has {known}"
    )


@cli.command()
@_db_option
@_horizon_option("7d")
@click.option(
    "--severity",
    type=click.Choice([s.value for s in Severity], case_sensitive=False),
    multiple=True,
    help="only these severities (repeat for several)",
)
@click.option(
    "--kind",
    type=click.Choice([k.value for k in FindingKind], case_sensitive=False),
    multiple=True,
    help="only these kinds (repeat for several)",
)
@click.option("--owner", metavar="ID", help="only what this person must act on")
@click.option("--account", metavar="ID|NAME", help="only findings about this ad account")
@click.option("--creator", metavar="ID|@HANDLE", help="only findings about this creator")
@click.option("--limit", type=click.IntRange(min=1), help="at most this many, worst first")
@click.option("--wide", is_flag=True, help="every column, ids included, whatever the width")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="also the quiet findings (codes ended long ago that no ad needs) and the retired codes",
)
@_fail_on_option
@_format_option()
def report(
    within: str,
    severity: tuple[str, ...],
    kind: tuple[str, ...],
    owner: str | None,
    account: str | None,
    creator: str | None,
    limit: int | None,
    wide: bool,
    show_all: bool,
    fail_on: str,
    fmt: str,
    as_json: bool,
) -> None:
    """Every finding, worst first; exits 1 while one as severe as --fail-on is shown.

    Codes that expired or were revoked more than 30 days ago, with no ad that needs them, are
    quiet: left out unless --all."""
    with _ledger() as ledger:
        if owner is not None:
            _person(ledger, owner)
        account_id = None if account is None else _account_id(ledger, account)
        creator_id = None if creator is None else _creator_id(ledger, creator)
        every = ledger.findings(within=within, include_quiet=show_all)
        findings = [
            f
            for f in every
            if (not severity or f.severity.value in {s.upper() for s in severity})
            and (not kind or f.kind.value in {k.upper() for k in kind})
            and (owner is None or f.owner_id == owner)
            and (account_id is None or f.ad_account_id == account_id)
            and (creator_id is None or f.creator_id == creator_id)
        ]
        filters = " ".join(
            f"--{name} {value}"
            for name, values in (
                ("severity", severity),
                ("kind", kind),
                ("owner", (owner,) if owner else ()),
                ("account", (account,) if account else ()),
                ("creator", (creator,) if creator else ()),
            )
            for value in values
        )
        _print_findings(
            findings[:limit] if limit else findings,
            _chosen(fmt, as_json),
            ledger,
            wide=wide,
            filters=filters,
            total=len(every),
        )
        if show_all and _chosen(fmt, as_json) == "table":
            _print_retired(ledger, creator_id, account_id)
    if _fails(findings, fail_on):
        raise Failed


@cli.command()
@_db_option
@click.argument("code")
@click.option("--post", metavar="ID", help="the post the code should authorize")
@click.option("--account", metavar="ID", help="the ad account it should attach to")
@click.option(
    "--live",
    is_flag=True,
    help=f"ask TikTok about a code the ledger does not hold (token from ${TOKEN_VARIABLE})",
)
@click.option("--base-url", default=DEFAULT_BASE_URL, help="TikTok's API, for --live")
@_fail_on_option
def check(
    code: str, post: str | None, account: str | None, live: bool, base_url: str, fail_on: str
) -> None:
    """Diagnose one code: CODE, its authorization id (auth_…), or - to read the code from
    standard input (out of shell history)."""
    from .sync import TikTokClient

    raw = _read_code(code)
    with _ledger() as ledger:
        held = ledger.get(SparkAuthorization, raw) if AUTH_ID.fullmatch(raw) else None
        if held is not None:
            diagnosis = ledger.diagnose(held.code, post_id=post, ad_account_id=account)
        elif not live:
            diagnosis = ledger.diagnose(raw, post_id=post, ad_account_id=account)
        elif not account:
            raise UsageError("check --live: name the ad account to ask TikTok in (--account ID)")
        else:
            with TikTokClient(_token("check --live"), base_url=base_url) as client:
                diagnosis = ledger.diagnose(raw, post_id=post, ad_account_id=account, client=client)
    _say(diagnosis)
    if _fails(diagnosis.findings, fail_on):
        raise Failed


@cli.command()
@click.argument("error_code")
def explain(error_code: str) -> None:
    """What a TikTok error code means and what to do (e.g. 4025, auth_code_not_found)."""
    found = explain_error(error_code)
    if found is None:
        raise UsageError(
            f"TikTok error {error_code!r} is not in the catalogue; see "
            f"{docs_url('troubleshooting')}"
        )
    named = found.code if found.name in ("", found.code) else f"{found.code} {found.name}"
    _say(
        f"{named} → {found.kind.value}"
        + ("" if found.name else " (TikTok publishes no name for it)")
    )
    for name in ("note", "cause", "meaning", "remedy", "where"):
        if getattr(found, name):
            _say(f"  {name + ':':<9}{getattr(found, name)}")


# --- data in and out ----------------------------------------------------------------------------


def _entries(n: int) -> str:
    return f"{n} new {'entry' if n == 1 else 'entries'}"


@cli.command("import")
@_db_option
@click.argument("file")
@click.option("--type", "type_name", metavar="TYPE", help="record type of a CSV file")
@click.option("--advertiser", metavar="ID", help="for TikTok JSON: the ad account (advertiser) id")
@click.option("--creator", metavar="ID", help="for a creator-side TikTok response: the creator")
@click.option(
    "--timezone",
    metavar="ZONE",
    help="for a CSV: the zone of times written without an offset (e.g. Europe/Berlin, UTC)",
)
@click.option("--create", is_flag=True, help="create the ledger if --db names none yet")
@click.option(
    "--force", is_flag=True, help="for a CSV: record erased people's data again (a new consent)"
)
def import_(
    file: str,
    type_name: str | None,
    advertiser: str | None,
    creator: str | None,
    timezone: str | None,
    create: bool,
    force: bool = False,
) -> None:
    """Import a CSV of records (--type) or a TikTok JSON response (a file, or -)."""
    from .convert import RECORD_BY_NAME
    from .io import IgnoredColumnsWarning, SourceConflictWarning, time_zone

    _valid_db()  # before the source is read
    if file.lower().endswith(".csv"):
        if not type_name:
            raise UsageError(f"a CSV needs --type, one of {', '.join(RECORD_BY_NAME)}")
        cls = _record_type(type_name)
        try:
            zone = time_zone(timezone)
        except ValueError as error:
            raise UsageError(f"--{error}") from None
        # the source first: a missing file must not leave an empty ledger behind
        with (
            open(file, newline="", encoding="utf-8-sig") as source,
            _ledger(must_exist=not create, or_=" (or add --create)") as ledger,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", IgnoredColumnsWarning)
            warnings.simplefilter("always", SourceConflictWarning)
            progress = _Progress(f"importing {file}")
            try:
                result = ledger.import_csv(
                    cls, source, progress=progress, timezone=zone, force=force
                )
            finally:
                progress.finish()
                for warning in caught:  # before any error: they may explain it
                    found = warning.message
                    if isinstance(found, SourceConflictWarning):  # one line each
                        lines = [str(found).split(": ", 1)[0] + ":", *found.conflicts]
                        _say(f"delvia-ledger import: {file}: " + "\n  ".join(lines), err=True)
                    else:
                        _say(f"delvia-ledger import: {file}: {found}", err=True)
        _say(f"imported {file}: {_entries(result.written)}, {result.unchanged} unchanged")
        return
    if timezone is not None:
        raise UsageError("--timezone applies to a CSV file only")
    if not (advertiser or creator):
        raise UsageError(
            "a TikTok JSON response needs --advertiser (for /tt_video/ responses) "
            "or --creator (for the creator's own /business/post/authorize/ responses)"
        )
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{file}: not JSON ({error})") from None
    except RecursionError:
        raise UsageError(f"{file}: JSON nested too deeply to be a TikTok response") from None
    with _ledger(must_exist=not create, or_=" (or add --create)") as ledger:
        imported = ledger.import_tiktok(payload, advertiser_id=advertiser, creator_id=creator)
    skipped = f", {len(imported.skipped)} skipped" if imported.skipped else ""
    unbound = f", {imported.unbound} unbound" if imported.unbound else ""
    _say(
        f"imported {file}: {_entries(imported.written)}, {imported.unchanged} unchanged"
        f"{unbound}{skipped}"
    )
    for item in imported.skipped:
        _say(f"  skipped {item}", err=True)


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--map "Header=field"`` options as a dict (refused without the ``=``)."""
    mapping = {}
    for pair in pairs:
        header, sep, field = pair.rpartition("=")
        if not sep or not header.strip() or not field.strip():
            raise UsageError(f'--map {pair!r}: give it as "Header=field", e.g. "Creator=handle"')
        mapping[header.strip()] = field.strip()
    return mapping


@cli.command("import-sheet")
@_db_option
@click.argument("file")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar='"Header=field"',
    help="read this column as this field (repeat for several): handle, video, code, starts, "
    "expires, account, owner, status, region, notes, kind, identity, display_name",
)
@click.option(
    "--date-order",
    type=click.Choice(["MDY", "DMY"], case_sensitive=False),
    help="how to read 11/01/2026: MDY (US: November 1) or DMY (January 11)",
)
@click.option("--dry-run", is_flag=True, help="print what would be written; write nothing")
@click.option("--create-accounts", is_flag=True, help="record ad account ids the ledger lacks")
@click.option("--account-region", metavar="XX", help="registration country of created accounts")
@click.option("--create-people", is_flag=True, help="record owners the ledger lacks")
@click.option("--timezone", metavar="ZONE", help="the zone of times written without an offset")
@click.option("--force", is_flag=True, help="record erased people's data again (a new consent)")
def import_sheet(
    file: str,
    pairs: tuple[str, ...],
    date_order: str | None,
    dry_run: bool,
    create_accounts: bool,
    account_region: str | None,
    create_people: bool,
    timezone: str | None,
    force: bool = False,
) -> None:
    """Import the one-tab sheet a team keeps: one row per code (a CSV export).

    Headers are recognised by the names people use (Creator Handle, Video Link, Spark Code,
    Sent On, Expires, Ad Account, Owner, Status, Region, Notes); --map overrides them.
    """
    mapping = _mapping(pairs)
    with (
        open(file, newline="", encoding="utf-8-sig") as source,  # before the ledger: see import
        _ledger() as ledger,
    ):
        order = cast(Literal["MDY", "DMY"] | None, date_order.upper() if date_order else None)
        result = ledger.import_sheet(
            source,
            mapping or None,
            order,
            dry_run,
            create_accounts=create_accounts,
            account_region=account_region,
            create_people=create_people,
            timezone=timezone,
            force=force,
        )
    if result.ignored:
        _say(f"{file}: ignored column(s) {', '.join(map(repr, result.ignored))}", err=True)
    _say(f"{'dry run: ' if dry_run else ''}{file}: " + "\n".join(result.lines()))
    for kind, ids in result.created.items():
        if ids and kind != "creators":  # creators are counted above; their ids mean little
            _say(f"  {'would create' if dry_run else 'created'} {kind}: {', '.join(ids)}")
    for note in result.notes:
        _say(f"  note: {note}")
    if result.conflicts:  # already listed in the summary; a script may count them here
        _say(f"{len(result.conflicts)} conflict(s) with TikTok: TikTok's values kept", err=True)


@cli.command()
@_db_option
@click.option("--type", "type_name", metavar="TYPE", help="record type to export as CSV")
def export(type_name: str | None) -> None:
    """Export a record type as CSV (--type), or every entry as JSON."""
    with _ledger() as ledger:
        if type_name:
            ledger.export_csv(_record_type(type_name), sys.stdout)
        else:
            ledger.export_json(sys.stdout)


@cli.command()
@_db_option
@click.option("--digest", help="a digest saved earlier ('<seq>:<hash>')")
@click.option("--deep", is_flag=True, help="also check the query tables against the entries")
def verify(digest: str | None, deep: bool) -> None:
    """Walk the hash chain; exits 1 if the ledger fails verification."""
    try:
        with _ledger() as ledger:
            progress = _Progress("verifying entry")
            try:
                total: int | None = ledger.seq
            except LedgerError:  # too damaged to say: verify will tell why
                total = None
            result = ledger.verify(
                digest=digest, deep=deep, progress=lambda seq: progress(seq, total)
            )
            progress.finish()
            if result.ok:
                _say(f"ok: {result.checked} entries verified; digest {ledger.digest()}")
                return
    except NotALedgerError as error:  # damaged past opening: that is a failed verification
        _say(f"FAILED: {error}")
        raise Failed from None
    _say(f"FAILED: {result.reason}")  # the reason starts with the first bad seq
    raise Failed


@cli.command()
@_db_option
@click.argument("dest", type=click.Path(dir_okay=False))
def backup(dest: str) -> None:
    """A consistent copy of the ledger at DEST, taken while others may write to it."""
    from .ledger import Ledger

    if Path(dest).exists():
        raise UsageError(f"{dest} already exists; backup writes only a new file")
    folder = Path(dest).parent
    if not folder.is_dir():
        raise UsageError(
            f"{dest}: the folder {str(folder)!r} does not exist; create it first, or name "
            "another place"
        )
    with _ledger() as ledger:
        ledger.backup(dest)
    with Ledger.open(dest) as copy:
        result = copy.verify(deep=True)
        if not result.ok:
            _say(f"FAILED: the backup does not verify: {result.reason}")
            raise Failed
        _say(f"backed up {copy.seq} entries to {dest}; digest {copy.digest()}")


@cli.command()
@click.argument("source")
@click.argument("dest")
def copy(source: str, dest: str) -> None:
    """Copy a ledger (a file, a postgresql:// URL, or a JSON export) into the new ledger DEST
    (a file or a URL of an empty schema): the same seqs, record times and hashes, verified.

    A URL's password is never printed; put it in ~/.pgpass or PGPASSWORD to keep it out of
    the shell's history."""
    from .ledger import Ledger

    source_at, dest_at = _location(source, "SOURCE"), _location(dest, "DEST")
    shown_source, shown_dest = source_at.shown, dest_at.shown
    if source_at.is_file and not Path(source).exists():
        raise UsageError(f"{shown_source}: no such ledger or export")
    if not dest_at.is_file:
        with Ledger.open(dest) as existing:  # creates the (empty) ledger's tables there
            if existing.seq:
                raise UsageError(
                    f"{shown_dest} already holds a ledger of {existing.seq} entries; copy "
                    "writes only into a new one (name another schema or database)"
                )
    elif Path(dest).exists():
        raise UsageError(f"{dest} already exists; copy writes only a new ledger")
    # A file is written under a temporary name beside DEST and renamed once it verifies, so
    # a copy cut short (a signal, even SIGKILL) never leaves a DEST that a retry refuses.
    target = _partial(dest) if dest_at.is_file else dest
    try:
        with _terminated_as_interrupt(), _source_entries(source) as (entries, total):
            with Ledger.open(target) as copied:
                if sys.stderr.isatty():
                    with click.progressbar(
                        entries, length=total, label="copying", file=sys.stderr
                    ) as bar:
                        copied.replay(bar)
                else:
                    copied.replay(entries)
                result = copied.verify(deep=True)
                digest = copied.digest()
            if result.ok and dest_at.is_file:
                _rename_new(target, dest)
    except BaseException:
        _location(target, "DEST").discard()  # a failed copy leaves nothing
        raise
    if not result.ok:
        _location(target, "DEST").discard()
        _say(f"FAILED: the copy does not verify: {result.reason}")
        raise Failed
    _say(f"copied {digest.seq} entries from {shown_source} to {shown_dest}; digest {digest}")


def _partial(dest: str) -> str:
    """The temporary name a copy writes before it is DEST (``.NAME.PID.partial`` beside it);
    what a killed copy left under that name is removed first."""
    folder, name = os.path.split(os.path.abspath(dest))
    for left in Path(folder).glob(f".{glob.escape(name)}.*.partial"):
        pid = left.name[len(name) + 2 : -len(".partial")]
        if pid.isdigit() and not _running(int(pid)):
            _location(str(left), "DEST").discard()
    return os.path.join(folder, f".{name}.{os.getpid()}.partial")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _rename_new(partial: str, dest: str) -> None:
    """``partial`` becomes ``dest``, unless something appeared at ``dest`` meanwhile."""
    try:
        os.link(partial, dest)  # fails if DEST exists: never replaces it
    except FileExistsError:
        raise UsageError(f"{dest} appeared while copying; the copy was not kept") from None
    except OSError:  # a file system without hard links
        if os.path.exists(dest):
            raise UsageError(f"{dest} appeared while copying; the copy was not kept") from None
        os.rename(partial, dest)
        return
    os.unlink(partial)


@contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a service stopping) ends the block as Ctrl-C does, so what it
    began is cleaned up; the previous handler is restored after."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        before = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _location(location: str, what: str) -> Location:
    """Where the argument ``what`` names a ledger; what no ledger can be is a usage error."""
    from .storage import locate

    try:
        return locate(location)
    except ValueError as error:
        raise UsageError(f"{what}: {error}") from None


@contextmanager
def _source_entries(source: str) -> Iterator[tuple[Iterable[Entry], int | None]]:
    """The entries to copy, and how many there are when that is known."""
    from .io import read_export
    from .ledger import Ledger

    if source.lower().endswith(".json") and _location(source, "SOURCE").is_file:
        with open(source, encoding="utf-8") as text:
            entries = list(read_export(text))  # the whole chain checked before DEST is made
        yield entries, len(entries)
    else:
        with Ledger.open(source) as original:
            view = original.as_of(seq=original.seq)  # this state, whatever is appended after
            yield view.entries(), view.seq


def _shown(value: Any) -> Any:
    """A field as a person reads it: a code as its hint."""
    if isinstance(value, dict) and "hint" in value:
        return f"code {value['hint']}"
    return value


def _history_table(entries: list[Any]) -> str:
    from .convert import converter, format_time

    lines: list[str] = []
    before: dict[str, Any] = {}
    for entry in entries:
        now = {k: _shown(v) for k, v in converter.unstructure(entry.record).items()}
        head = f"{entry.seq:>6}  {format_time(entry.recorded_at)}"
        said = "" if entry.source is None else f" (from {entry.source})"  # DESIGN §9 sources
        if not before:
            lines.append(f"{head}  recorded {type(entry.record).__name__} {entry.record.id}{said}")
            lines += [f"        {k}: {v}" for k, v in now.items() if v not in (None, [], "")]
        else:
            lines.append(f"{head}  changed{said}")
            for key in dict.fromkeys([*before, *now]):
                if before.get(key) != now.get(key):
                    lines.append(f"        {key}: {before.get(key)} → {now.get(key)}")
        before = now
    return "\n".join(lines)


@cli.command()
@_db_option
@click.argument("type_name", metavar="TYPE", required=False)
@click.argument("record_id", metavar="ID", required=False)
@click.option("--code", metavar="CODE|-", help="the authorization of this code")
@click.option("--handle", metavar="HANDLE", help="the creator with this handle")
@_format_option()
def history(
    type_name: str | None,
    record_id: str | None,
    code: str | None,
    handle: str | None,
    fmt: str,
    as_json: bool,
) -> None:
    """Every version of one record, with what changed: TYPE ID, --code or --handle."""
    from .convert import converter, format_time

    cls: type[Record]
    with _ledger() as ledger:
        if code is not None:
            auth = _authorization(ledger, _read_code(code))
            cls, rid = SparkAuthorization, auth.id
        elif handle is not None:
            wanted = handle.strip().lstrip("@").lower()
            found = [c for c in ledger.records(Creator) if (c.handle or "").lower() == wanted]
            if not found:
                raise UsageError(f"no creator with handle {handle!r} in the ledger")
            cls, rid = Creator, found[0].id
        elif type_name and record_id:
            cls, rid = _record_type(type_name), record_id
        else:
            raise UsageError("history: give TYPE ID, --code CODE or --handle HANDLE")
        entries = ledger.history(cls, rid)
    if not entries:
        raise UsageError(f"history: no {cls.__name__} with id {rid!r}")
    rows = [
        {
            "seq": e.seq,
            "recorded_at": format_time(e.recorded_at),
            "source": e.source,  # None for entries recorded before sources were
            **converter.unstructure(e.record),
        }
        for e in entries
    ]
    _emit(rows, _chosen(fmt, as_json), lambda: _history_table(entries))


# --- small changes ------------------------------------------------------------------------------


def _time_or_now(ledger: Ledger, value: str | None, option: str) -> datetime:
    return ledger.now() if value is None else read_time(value, option)


def read_time(value: str, option: str) -> datetime:
    """An ISO time with an offset, or a date alone (midnight UTC), as a user types it."""
    text = value.strip()
    try:
        moment = isoparse(text)
    except (ValueError, OverflowError):
        raise UsageError(
            f"{option} {value!r} is not a time like 2026-12-01 or 2026-12-01T09:00Z"
        ) from None
    if moment.utcoffset() is None:
        if len(text) > 10:
            raise UsageError(f"{option} {value!r} has no time zone: add Z (UTC) or an offset")
        moment = moment.replace(tzinfo=UTC)  # a date alone: midnight UTC
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in the year 0 in UTC
        from .fields import TIME_OUT_OF_RANGE

        raise UsageError(f"{option} {value!r} {TIME_OUT_OF_RANGE}") from None


def record_fields_help(cls: type[Record]) -> str:
    """``add TYPE --help``: the record's fields, generated from the record (as the reference)."""
    from tabulate import tabulate

    from .io import reference_cells

    doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    rows = [
        {
            "field": "--code (the raw code)" if name == "code_fingerprint" else f"--{name}",
            "type": kind,
            "required": required.replace("`", ""),
            "allowed": allowed.replace("`", ""),
        }
        for field in attrs.fields(cls)
        for name, kind, required, allowed in reference_cells(cls, field)
        if name != "code_hint"
    ]
    width = shutil.get_terminal_size((120, 24)).columns
    table = tabulate(rows, headers="keys", maxcolwidths=[None, None, 18, max(30, width - 60)])
    return (
        f"Usage: delvia-ledger add {cls.__name__} --FIELD VALUE …\n\n{doc}\n\n{table}\n\n"
        "Times: ISO with Z or an offset (2026-12-01T09:00Z), or a date alone (midnight UTC);\n"
        "--timezone ZONE reads times written without an offset."
    )


class _AddCommand(click.Command):
    """``add``: ``add TYPE --help`` lists that record's fields instead of the generic help."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in ("-h", "--help") and {"-h", "--help"} & set(args[1:]):
            click.echo(record_fields_help(_record_type(args[0])))
            ctx.exit(0)
        return super().parse_args(ctx, args)


@cli.command(cls=_AddCommand, context_settings={"ignore_unknown_options": True})
@_db_option
@click.argument("type_name", metavar="TYPE")
@click.argument("fields", nargs=-1, type=click.UNPROCESSED, metavar="--FIELD VALUE …")
def add(type_name: str, fields: tuple[str, ...]) -> None:
    """Record one record: add TYPE --field value … (the same columns as its CSV; --timezone
    ZONE for times without an offset)."""
    from .io import IgnoredColumnsWarning, read_csv

    cls = _record_type(type_name)
    names, values = [], []
    zone: str | None = None
    pending = list(fields)
    while pending:
        flag = pending.pop(0)
        if not flag.startswith("--") or not pending:
            raise UsageError(f"add: give each field as --name value (at {flag!r})")
        if flag == "--timezone":  # the zone of times given without an offset, as for import
            zone = pending.pop(0)
            continue
        names.append(flag[2:].replace("-", "_"))
        values.append(pending.pop(0))
    if not names:
        raise UsageError(
            f"add {cls.__name__}: give its fields, e.g. --id ... (see 'delvia-ledger add "
            f"{cls.__name__} --help')"
        )
    out = io.StringIO()
    csv.writer(out).writerows([names, values])
    out.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", IgnoredColumnsWarning)  # a typo here is no sheet's
            [record] = list(read_csv(cls, out, timezone=zone))
    except IgnoredColumnsWarning as unknown:
        raise UsageError(
            f"add {cls.__name__}: no field(s) {', '.join(unknown.columns)}; its fields are "
            f"{', '.join(f.name for f in attrs.fields(cls))}"
        ) from None
    except LedgerError as error:
        raise UsageError(f"add {cls.__name__}: {_without_prefix(str(error), cls)}") from None
    with _ledger() as ledger:
        entry = ledger.record(record, source="cli")
    _say(f"recorded {cls.__name__} {record.id} at seq {entry.seq}")


def _without_prefix(message: str, cls: type[Record]) -> str:
    """A CSV row's error as one field's error: without "line 2:" and the type's name."""
    message = re.sub(
        r"^line \d+, column '([^']*)': ", lambda m: f"--{m[1].replace('_', '-')}: ", message
    )
    for prefix in ("line 1: ", "line 2: ", f"{cls.__name__}: "):
        message = message.removeprefix(prefix)
    return message


def _new_version(ledger: Ledger, old: Record, **changes: Any) -> None:
    entry = ledger.record(attrs.evolve(old, **changes), source="cli")
    _say(f"recorded {type(old).__name__} {old.id} at seq {entry.seq}")


@cli.command()
@_db_option
@click.argument("code")
@click.option("--reason", help="why it is done with (e.g. 'campaign ended')")
@click.option("--at", "at", metavar="TIME", help="when it was retired (default: now)")
def retire(code: str, reason: str | None, at: str | None) -> None:
    """Record that a code is done with (CODE, its auth_… id, or -): it raises nothing from
    then on, stays in its history, and 'report --all' lists it; 'unretire' undoes it."""
    raw = _read_code(code)
    with _ledger() as ledger:
        auth = _authorization(ledger, raw)
        when = None if at is None else read_time(at, "--at")
        retired = ledger.retire(auth.id, reason, at=when, source="cli")
        entry = ledger.history(SparkAuthorization, auth.id)[-1]
    _say(
        f"retired {retired.id} (code {retired.code.hint}) on {retired.retired_at:%Y-%m-%d}"
        f"{f': {retired.retired_reason}' if retired.retired_reason else ''}; seq {entry.seq}"
    )


@cli.command()
@_db_option
@click.argument("code")
def unretire(code: str) -> None:
    """Undo 'retire': the code (CODE, its auth_… id, or -) is checked again."""
    raw = _read_code(code)
    with _ledger() as ledger:
        auth = _authorization(ledger, raw)
        if auth.retired_at is None:
            raise UsageError(f"{auth.id} (code {auth.code.hint}) is not retired")
        ledger.unretire(auth.id, source="cli")
        entry = ledger.history(SparkAuthorization, auth.id)[-1]
    _say(f"unretired {auth.id} (code {auth.code.hint}); seq {entry.seq}")


@cli.command()
@_db_option
@click.argument("code")
@click.option("--at", "at", metavar="TIME", help="when it was revoked (default: now)")
def revoke(code: str, at: str | None) -> None:
    """Record that a code was revoked (deleted by the creator): CODE, an id, or -."""
    raw = _read_code(code)
    with _ledger() as ledger:
        auth = _authorization(ledger, raw)
        _new_version(ledger, auth, revoked_at=_time_or_now(ledger, at, "--at"))


@cli.command()
@_db_option
@click.argument("code")
@click.option("--until", required=True, metavar="TIME", help="the new end of the window")
def extend(code: str, until: str) -> None:
    """Record a code's new end of window (the creator extended it): CODE, an id, or -."""
    raw = _read_code(code)
    with _ledger() as ledger:
        auth = _authorization(ledger, raw)
        _new_version(ledger, auth, expires_at=read_time(until, "--until"))


@cli.command()
@_db_option
@click.argument("person_id", metavar="PERSON")
@click.argument("role", type=click.Choice([r.value for r in Role], case_sensitive=False))
@click.argument("scope")
@click.option("--at", "at", metavar="TIME", help="when it was granted (default: now)")
@click.option("--expires", metavar="TIME", help="when it ends by itself")
@click.option("--by", "granted_by", metavar="PERSON", help="who granted it")
def grant(
    person_id: str,
    role: str,
    scope: str,
    at: str | None,
    expires: str | None,
    granted_by: str | None,
) -> None:
    """Record a role: grant PERSON ROLE SCOPE (e.g. p_ana ADMIN ad_account:6900…)."""
    with _ledger() as ledger:
        _person(ledger, person_id)
        record = RoleGrant(
            id=f"{person_id}:{role.upper()}:{scope}",
            person_id=person_id,
            role=role.upper(),
            scope=scope,
            granted_at=_time_or_now(ledger, at, "--at"),
            expires_at=None if expires is None else read_time(expires, "--expires"),
            granted_by=granted_by,
        )
        entry = ledger.record(record, source="cli")
    _say(f"recorded RoleGrant {record.id} at seq {entry.seq}")


@cli.command()
@_db_option
@click.argument("person_id", metavar="PERSON")
@click.option("--at", "at", metavar="TIME", help="when they leave (default: now)")
@click.option("--apply", "apply_", is_flag=True, help="record it (without: a preview)")
def offboard(person_id: str, at: str | None, apply_: bool) -> None:
    """What ends when PERSON leaves; --apply records it."""
    with _ledger() as ledger:
        _person(ledger, person_id)
        plan = ledger.offboard(person_id, at=_time_or_now(ledger, at, "--at"))
        _say(plan)
        if apply_:
            before = ledger.seq
            plan.apply()
            _say(f"recorded: {ledger.seq - before} entries")
        else:
            _say("(a preview: nothing written; add --apply to record it)")


# --- TikTok -------------------------------------------------------------------------------------


@cli.command()
@_db_option
@click.option(
    "--advertiser",
    "advertisers",
    multiple=True,
    metavar="ID",
    help="an advertiser (ad account) id to sweep; repeat for several",
)
@click.option(
    "--access",
    is_flag=True,
    help="sweep who holds access in TikTok's Business Centers (the actual side)",
)
@click.option(
    "--business-center",
    "business_centers",
    multiple=True,
    metavar="ID",
    help="with --access: this Business Center only (default: every one the token reaches)",
)
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="TikTok's API")
@click.option("--max-retries", type=click.IntRange(min=0), default=5, show_default=True)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=3600),
    default=30.0,
    show_default=True,
    help="seconds per request, in all",
)
@click.option(
    "--max-backoff",
    type=click.FloatRange(min=0, max=86_400),
    default=300.0,
    show_default=True,
    help="seconds to wait out TikTok's throttling, in all, before giving up",
)
@click.option(
    "--ads/--no-ads",
    default=True,
    show_default=True,
    help="also sweep the Spark Ads (/ad/get/, /adgroup/get/) and record them",
)
@click.option(
    "--allow-mass-unbind",
    is_flag=True,
    help="accept a sweep that unbinds more than 5 codes and more than 20% of those bound",
)
@click.option("--access-token", hidden=True)
def sync(
    advertisers: tuple[str, ...],
    access: bool,
    business_centers: tuple[str, ...],
    base_url: str,
    max_retries: int,
    timeout: float,
    max_backoff: float,
    ads: bool,
    allow_mass_unbind: bool,
    access_token: str | None,
) -> None:
    """A complete sweep of each advertiser's posts at TikTok, or with --access of who holds
    access in its Business Centers (token from $TIKTOK_ACCESS_TOKEN)."""
    from .sync import TikTokClient, Wait

    if access_token is not None:
        raise UsageError(
            "sync: never put the access token on the command line (it stays in your shell "
            f"history); set ${TOKEN_VARIABLE} instead"
        )
    if not advertisers and not access:
        raise UsageError("sync: name an ad account (--advertiser ID) or sweep access (--access)")
    if business_centers and not access:
        raise UsageError("sync: --business-center goes with --access")
    for advertiser in advertisers:  # refused before TikTok is asked about any of them
        if not advertiser.strip():
            raise UsageError(f"sync: --advertiser {advertiser!r} is not an ad account id")
    if access:
        _sync_access(list(dict.fromkeys(business_centers)) or None, base_url, max_retries, timeout)
    if not advertisers:
        return
    failed = 0
    with (
        _ledger() as ledger,
        TikTokClient(
            _token("sync"),
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout,
            max_backoff=max_backoff,
        ) as client,
    ):
        for advertiser in dict.fromkeys(advertisers):  # each once, in order
            progress = _Progress(f"sync {advertiser}: page")

            def page_done(event: VideoPage | Wait, progress: _Progress = progress) -> None:
                if isinstance(event, Wait):  # said always: a cron log shows why it took long
                    progress.finish()
                    _say(f"delvia-ledger sync: {event}", err=True)
                else:
                    progress(event.number, event.total_pages)

            try:
                result = ledger.sync_tiktok(
                    client,
                    advertiser,
                    progress=page_done,
                    allow_mass_unbind=allow_mass_unbind,
                    ads=ads,
                )
            except (LedgerError, ValueError) as error:
                progress.finish()
                _say(f"delvia-ledger sync: advertiser {advertiser}: {error}", err=True)
                failed += 1
                continue
            progress.finish()
            _say(result)
            if result.held:
                _say(f"delvia-ledger sync: advertiser {advertiser}: {result.held}", err=True)
    if failed:
        raise click.exceptions.Exit(2)


def _sync_access(
    business_centers: list[str] | None, base_url: str, max_retries: int, timeout: float
) -> None:
    """``sync --access``: one summary line per Business Center; an API error exits 2."""
    from .sync import TikTokClient

    with (
        _ledger() as ledger,
        TikTokClient(
            _token("sync"), base_url=base_url, max_retries=max_retries, timeout=timeout
        ) as client,
    ):
        try:
            results = ledger.sync_access(client, business_centers)
        except (LedgerError, ValueError) as error:
            _say(f"delvia-ledger sync --access: {error}", err=True)
            raise click.exceptions.Exit(2) from None
    for result in results:
        _say(result)
    if not results:
        _say("sync --access: the token reaches no Business Center; nothing was swept")


# --- who must act -------------------------------------------------------------------------------


@cli.command()
@_db_option
@_horizon_option("14d")
@click.option("--person", metavar="ID", help="only this person's reminder")
@_format_option()
def remind(within: str, person: str | None, fmt: str, as_json: bool) -> None:
    """Preview each person's reminder (writes nothing)."""
    with _ledger() as ledger:
        found = ledger.reminders(within=within)
        if person is not None:
            _person(ledger, person)
            found = [r for r in found if r.person_id == person]
    fmt = _chosen(fmt, as_json)
    if fmt == "table":
        _say(
            "\n\n".join(str(r) for r in found)
            if found
            else f"{person or 'Nobody'} has nothing to act on within {within}."
        )
    elif fmt == "json":
        _emit([r.as_dict() for r in found], fmt)
    else:  # csv and jsonl: one flat row per person and finding (a cell holds no list)
        rows = []
        for reminder in found:
            recipient = {
                "recipient_id": reminder.person_id,
                "recipient_name": reminder.name,
                "recipient_email": reminder.email,
            }
            rows += [{**recipient, **finding} for finding in reminder.as_dict()["findings"]]
        _emit(rows, fmt)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def _pairs(flag: str, values: Sequence[str], shape: str) -> list[tuple[str, str]]:
    """``--flag A=B`` options as (A, B) pairs, each refused unless it has that shape."""
    pairs = []
    for value in values:
        left, sep, right = value.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise UsageError(f"{flag} {_shown_option(value)}: give {shape}")
        pairs.append((left.strip(), right.strip()))
    return pairs


def _shown_option(value: str) -> str:
    return repr(value[:60]).translate(_UNSAFE)


def _senders(options: Mapping[str, Any]) -> list[Sender]:
    from .notify import EmailSender, WebhookSender

    senders: list[Sender] = []
    smtp, from_addr, user = options["smtp"], options["from_addr"], options["smtp_user"]
    if smtp is not None:
        host, _, port = smtp.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--smtp {smtp!r}: give HOST:PORT, e.g. smtp.brand.com:587")
        if not from_addr:
            raise UsageError("--smtp needs --from ADDR, the address reminders come from")
        password = None
        if user is not None:
            password = os.environ.get(SMTP_PASSWORD_ENV)
            if not password:
                raise UsageError(f"--smtp-user needs the password in ${SMTP_PASSWORD_ENV}")
        senders.append(
            EmailSender(
                host,
                int(port),
                from_addr,
                username=user,
                password=password,
                starttls=options["starttls"],
            )
        )
    elif from_addr or user or options["starttls"]:
        raise UsageError("--from, --smtp-user and --starttls go with --smtp HOST:PORT")
    routes = {
        person: _secret_from_env("--route", var, f"{person}'s own webhook URL")
        for person, var in _pairs("--route", options["route"], "PERSON=VAR")
    }
    mentions = dict(_pairs("--mention", options["mention"], "PERSON=MEMBER_ID"))
    if options["slack_webhook_env"] is not None or routes:
        url = None
        if options["slack_webhook_env"] is not None:
            url = _secret_from_env("--slack-webhook-env", options["slack_webhook_env"], "the URL")
        try:
            senders.append(WebhookSender(url, style="slack", routes=routes, mentions=mentions))
        except ValueError as error:
            raise UsageError(str(error)) from None
    elif mentions:
        raise UsageError("--mention goes with --slack-webhook-env VAR or --route PERSON=VAR")
    if options["webhook_env"] is not None:
        url = _secret_from_env("--webhook-env", options["webhook_env"], "the webhook URL")
        senders.append(WebhookSender(url, style="json"))
    if not senders:
        raise UsageError(
            "name at least one channel: --smtp HOST:PORT --from ADDR, "
            "--slack-webhook-env VAR or --webhook-env VAR"
        )
    return senders


@cli.command()
@_db_option
@click.option("--smtp", metavar="HOST:PORT", help="send email through this SMTP server")
@click.option("--from", "from_addr", metavar="ADDR", help="the sender address")
@click.option(
    "--smtp-user", metavar="USER", help=f"log in as USER (password: ${SMTP_PASSWORD_ENV})"
)
@click.option("--starttls", is_flag=True, help="upgrade the SMTP connection to TLS")
@click.option("--slack-webhook-env", metavar="VAR", help="post to the Slack webhook URL in $VAR")
@click.option(
    "--route",
    multiple=True,
    metavar="PERSON=VAR",
    help="post PERSON's Slack reminders to their own webhook URL, held in $VAR (repeatable)",
)
@click.option(
    "--mention",
    multiple=True,
    metavar="PERSON=MEMBER_ID",
    help="mention PERSON in Slack by their member id, e.g. p_ana=U024BE7LH (repeatable)",
)
@click.option("--webhook-env", metavar="VAR", help="post JSON to the webhook URL held in $VAR")
@_horizon_option("14d")
@click.option("--dry-run", is_flag=True, help="print what would be sent; send and record nothing")
def notify(within: str, dry_run: bool, **channels: Any) -> None:
    """Send each person what is new or changed since their last reminder; exits 1 if a
    delivery failed."""
    from .notify import WebhookSender

    senders = _senders(channels)
    try:
        with _ledger() as ledger:
            result = ledger.notify(senders, within=within, dry_run=dry_run)
    finally:
        for sender in senders:
            if isinstance(sender, WebhookSender):
                sender.close()
    if dry_run:
        for delivery in result.deliveries:
            message = delivery.message
            _say(f"--- {message.channel}: {message.subject}\n{message.text}\n")
    _say(result)
    if result.failures:
        raise Failed


@cli.command()
@_db_option
@click.option("--since", required=True, help="a seq, a digest (SEQ:HASH), an ISO time, or e.g. 7d")
@_horizon_option("7d")
@_format_option()
def changes(since: str, within: str, fmt: str, as_json: bool) -> None:
    """What was recorded, and how findings moved, since a point."""
    with _ledger() as ledger:
        found = ledger.changes(since, within=within)
    fmt = _chosen(fmt, as_json)
    if fmt == "table":
        _say(found)
    elif fmt == "json":
        _say(json.dumps(found.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        data = found.as_dict()
        rows = [{"change": "recorded", **row} for row in data.get("entries", [])]
        for name in ("new", "resolved", "changed"):
            rows += [{"change": name, **row} for row in data.get(name, [])]
        _emit(rows, fmt)


# --- erasure and retention (DESIGN §16) --------------------------------------------------------


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _erased_lines(result: Any) -> list[str]:
    return [f"  seq {r.seq}: {r.type} {r.id} ({', '.join(r.fields)})" for r in result.redacted]


@cli.command()
@_db_option
@click.argument(
    "type_name", metavar="TYPE", type=click.Choice(["Creator", "Person"], case_sensitive=False)
)
@click.argument("record_id", metavar="ID")
@click.option("--reason", required=True, help="why (e.g. 'GDPR art. 17 request #123')")
@click.option("--by", "by", required=True, metavar="PERSON", help="who asked for it")
@click.option("--at", "at", metavar="TIME", help="when it was asked (default: now)")
@click.option("--dry-run", is_flag=True, help="list what would be redacted; write nothing")
def erase(
    type_name: str, record_id: str, reason: str, by: str, at: str | None, dry_run: bool
) -> None:
    """Erase a creator's (with its posts' captions) or a person's personal data from every
    version, recording who asked and why; the chain still verifies."""
    cls = Creator if type_name.lower() == "creator" else Person
    with _ledger() as ledger:
        moment = None if at is None else _time_or_now(ledger, at, "--at")
        result = ledger.erase(
            cls, record_id, reason=reason, by=by, at=moment, dry_run=dry_run, source="cli"
        )
    what = f"{cls.__name__} {record_id}"
    if dry_run:
        _say(f"would redact {_count(len(result.redacted), 'entry', 'entries')} of {what}:")
        _say("\n".join(_erased_lines(result)) or "  (none holds personal data)")
        _say("(a dry run: nothing written)")
        return
    redacted = _count(len(result.redacted), "entry", "entries")
    _say(f"erased {what}: {redacted} redacted; Erasure at seq {result.seq}")
    _say("\n".join(_erased_lines(result)))


@cli.command()
@_db_option
@click.option("--older-than", required=True, metavar="AGE", help="e.g. 3y, 18mo, 400d")
@click.option("--by", "by", default="retention", show_default=True, help="who runs the policy")
@click.option("--dry-run", is_flag=True, help="list who would be erased; write nothing")
def retention(older_than: str, by: str, dry_run: bool) -> None:
    """Erase the personal data of creators and people with nothing active and nothing
    changed for longer than --older-than (reason "retention"): for cron."""
    with _ledger() as ledger:
        result = ledger.retention(older_than, by=by, dry_run=dry_run, source="cli")
    verb = "would erase" if dry_run else "erased"
    _say(
        f"{verb} {_count(len(result.erased), 'subject', 'subjects')} quiet since "
        f"{result.cutoff:%Y-%m-%d}" + (":" if result.erased else "")
    )
    for done in result.erased:
        redacted = _count(len(done.redacted), "entry", "entries")
        _say(f"- {done.subject_type} {done.subject_id}: {redacted}")
    if dry_run:
        _say("(a dry run: nothing written)")


# --- running it ---------------------------------------------------------------------------------


def _one_line(error: BaseException | str) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    name = "delvia-ledger"
    try:
        code = cli.main(args, prog_name=name, standalone_mode=False)
        return code if isinstance(code, int) else 0  # click returns an Exit's code
    except Failed:
        return 1
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        _say(f"{name}: interrupted; nothing more was written", err=True)
        return 130
    except click.UsageError as error:
        where = error.ctx.command_path if error.ctx else name
        message = "give a command" if not args else _one_line(error.format_message())
        _say(f"{where}: {message} (see '{where} --help')", err=True)
        return 2
    except click.ClickException as error:
        _say(f"{_command(args, name)}: {_one_line(error.format_message())}", err=True)
        return 2
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        _say(f"{name}: interrupted; nothing more was written", err=True)
        return 130
    except (LedgerError, ValueError, OSError) as error:
        _say(f"{_command(args, name)}: {_one_line(error)}", err=True)
        return 2
    except Exception as error:  # a bug of ours: still one line, never a traceback
        _say(
            f"{_command(args, name)}: unexpected {type(error).__name__}: {_one_line(error)} "
            "(nothing was written; please report this)",
            err=True,
        )
        return 2


def _command(args: Iterable[str], name: str) -> str:
    """``delvia-ledger <subcommand>`` for messages (the first word that names a command)."""
    for arg in args:
        if arg in cli.commands:
            return f"{name} {arg}"
    return name


def _run() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    _run()


# --- access reviews (DESIGN §8) ------------------------------------------------------------------


@cli.group()
def review() -> None:
    """Access reviews: export the sheet, sign it, list past reviews."""


_SCOPE_HELP = "all (default), ad_account:<id> or business_center:<id>"


@review.command("export")
@_db_option
@click.option("--scope", default="all", show_default=True, help=_SCOPE_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "md", "html"]),
    default="csv",
    show_default=True,
    help="csv opens in a spreadsheet (fill in decision and note); md and html to read",
)
def review_export(scope: str, fmt: str) -> None:
    """The review sheet: one row per person, role and scope, approved against listed."""
    from .access_review import format_sheet

    with _ledger() as ledger:
        try:
            rows = ledger.access_review(scope)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if not rows:
        _say(f"review export: no role in force matches scope {scope}", err=True)
    click.echo(format_sheet(rows, fmt), nl=False)


@review.command("sign")
@_db_option
@click.option("--by", "by", required=True, metavar="PERSON", help="the reviewer's person id")
@click.option("--scope", default="all", show_default=True, help=_SCOPE_HELP)
@click.option(
    "--decisions",
    type=click.Path(exists=True, dir_okay=False),
    help="the exported CSV sheet with decision (keep/remove) and note filled in; "
    "without it every role is kept",
)
def review_sign(by: str, scope: str, decisions: str | None) -> None:
    """Record a signed access review (an entry in the chain)."""
    from pathlib import Path

    from .access_review import decisions_from_sheet

    with _ledger() as ledger:
        _person(ledger, by)
        try:
            decided = None
            if decisions is not None:
                text = Path(decisions).read_text(encoding="utf-8-sig")
                decided = decisions_from_sheet(text, ledger.access_review(scope))
            entry = ledger.sign_review(by, scope=scope, decisions=decided)
        except (LedgerError, ValueError) as error:
            raise UsageError(str(error)) from None
    review = entry.record
    assert isinstance(review, AccessReview)
    removed = sum(v == "remove" for v, _ in review.decided.values())
    _say(
        f"signed access review {review.id} of {review.scope} at seq {entry.seq}: "
        f"{len(review.decided) - removed} kept, {removed} to remove (reviewed digest "
        f"{review.digest})"
    )


@review.command("history")
@_db_option
@click.option("--every", default="90d", show_default=True, help="the review interval")
@_format_option()
def review_history(every: str, fmt: str, as_json: bool) -> None:
    """Past access reviews, newest first; says when the next one is due."""
    from .access_review import history_rows
    from .convert import readable_time
    from .rules import horizon

    with _ledger() as ledger:
        found = list(ledger.records(AccessReview))
        names = {p.id: (p.name,) for p in ledger.records(Person)}
        now = ledger.now()
    try:
        due = horizon(now, every) - now
    except ValueError as error:
        raise UsageError(f"--every {every}: {error}") from None
    rows = history_rows(found, names)
    fmt = _chosen(fmt, as_json)
    if fmt != "table":
        _emit(rows, fmt)
        return
    if not rows:
        _say("No access review has been signed yet (delvia-ledger review sign --by PERSON).")
        return
    _emit(rows, fmt)
    last = max(r.reviewed_at for r in found)
    state = "due now" if last + due <= now else f"due {readable_time(last + due)}"
    _say(f"next review (every {every}): {state}")
