"""The ``delvia-ledger`` command: the daily check, small changes, sync, reminders and a demo.

Exit codes: 0 success (no ERROR finding), 1 an ERROR finding, a failed verification or a failed
delivery, 2 a usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import attrs
import click
from dateutil.parser import isoparse
from tabulate import tabulate

from . import __version__
from .chain import Entry
from .checks import horizon
from .convert import RECORD_BY_NAME, converter, format_time
from .demo import sample_records
from .errors import LedgerError, NotALedgerError
from .findings import Finding, FindingKind, Severity, explain_error
from .io import IgnoredColumnsWarning, neutralise, read_csv, read_export, time_zone
from .ledger import Ledger, LedgerView
from .notify import EmailSender, WebhookSender
from .records import Creator, Notice, Person, Record, Role, RoleGrant, SparkAuthorization
from .reminders import Sender, finding_dict
from .storage.postgres import is_postgres_url, redacted
from .storage.sqlite import ledger_path
from .sync import DEFAULT_BASE_URL, TikTokClient, VideoPage, Wait

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "delvia-ledger.db"
#: The only place ``sync`` and ``check --live`` read the access token from.
TOKEN_VARIABLE = "TIKTOK_ACCESS_TOKEN"
SMTP_PASSWORD_ENV = "DELVIA_SMTP_PASSWORD"
FORMATS = ("table", "csv", "json", "jsonl")


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
        _say(tabulate([{k: _cell(v) for k, v in r.items()} for r in rows], headers="keys"))


def _cell(value: Any) -> Any:
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


def _valid_db() -> str:
    """The ``--db`` path, refused if it would be a throw-away database ('' or ':memory:')."""
    path = _db_path()
    try:
        ledger_path(path)
    except ValueError as error:
        raise UsageError(f"--db: {error}") from None
    return path


@contextmanager
def _ledger(*, must_exist: bool = True) -> Iterator[Ledger]:
    path = _valid_db()
    if must_exist and not is_postgres_url(path) and not Path(path).exists():
        raise UsageError(
            f"{path}: no such ledger; create one with 'delvia-ledger --db {path} init'"
        )
    with Ledger.open(path) as ledger:
        yield ledger


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
        _say(f"{_location(_db_path())}: ledger ready, {ledger.seq} entries")


@cli.command()
@_db_option
@_horizon_option("7d")
@_format_option()
def demo(within: str, fmt: str, as_json: bool) -> None:
    """Write a sample ledger and report on it (re-running replaces a sample it made)."""
    horizon(datetime.now(UTC), within)  # a bad --within is refused before anything is written
    location = _db_path()
    shown = _location(location)
    if is_postgres_url(location):  # a server's entries are never deleted: an empty one only
        with Ledger.open(location) as existing:
            if existing.seq:
                raise UsageError(
                    f"{shown} already holds {existing.seq} entries; on a server the demo "
                    "writes its sample only into an empty ledger (pass --db with a new schema)"
                )
    elif (path := Path(location)).exists():
        with Ledger.open(path) as existing:
            if existing.seq and not _is_sample(existing):
                raise UsageError(
                    f"{path} already holds {existing.seq} entries that are not the demo's "
                    "sample; the demo only replaces its own sample (pass --db with a new file)"
                )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    with _ledger(must_exist=False) as ledger:
        result = ledger.record_all(sample_records(ledger.now()))
        fmt = _chosen(fmt, as_json)
        if fmt == "table":
            _say(f"Wrote a sample ledger to {shown} ({result.written} entries).")
            _say(f"Digest: {ledger.digest()}  verify: {'ok' if ledger.verify().ok else 'FAILED'}\n")
        _print_findings(ledger.findings(within=within), fmt)
        if fmt == "table":
            _say(f"\nNext: delvia-ledger --db {shown} report   (exits 1 while an ERROR remains)")
    # the sample has ERROR findings on purpose; writing it succeeded


def _is_sample(ledger: Ledger) -> bool:
    """True when every record in the ledger is one the demo writes (a sample it made)."""

    def ids(records: Iterable[Record]) -> set[tuple[str, str]]:
        # a Notice's id is derived from its time, so notices count by type alone
        return {(type(r).__name__, "" if isinstance(r, Notice) else r.id) for r in records}

    return ids(e.record for e in ledger.entries()) <= ids(sample_records(ledger.now()))


# --- report and findings ------------------------------------------------------------------------


def _finding_table(findings: list[Finding]) -> str:
    if not findings:
        return "No findings: every code, ad and account looks fine."
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    rows = [
        {
            "severity": f.severity.value,
            "kind": f.kind.value,
            "deadline": f"{f.deadline:%Y-%m-%d %H:%M}" if f.deadline else "",
            "what": _subject(f),
            "owner": f.owner_name or f.owner_id or "",
        }
        for f in findings
    ]
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{summary}:\n" + tabulate(rows, headers="keys")


def _subject(f: Finding) -> str:
    parts = (
        f.handle or (f.creator_id and f"creator {f.creator_id}"),
        f.authorization_id and f"authorization {f.authorization_id}",
        f.ad_id and f"ad {f.ad_id}",
        f.ad_account_id and f"account {f.ad_account_id}",
        f.person_id and f"person {f.person_id}",
    )
    text = " · ".join(p for p in parts if p)
    return text if len(text) <= 70 else text[:69] + "…"


def _print_findings(findings: list[Finding], fmt: str) -> None:
    _emit([finding_dict(f) for f in findings], fmt, lambda: _finding_table(findings))


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
@click.option("--account", metavar="ID", help="only findings about this ad account")
@click.option("--creator", metavar="ID", help="only findings about this creator")
@click.option("--limit", type=click.IntRange(min=1), help="at most this many, worst first")
@_format_option()
def report(
    within: str,
    severity: tuple[str, ...],
    kind: tuple[str, ...],
    owner: str | None,
    account: str | None,
    creator: str | None,
    limit: int | None,
    fmt: str,
    as_json: bool,
) -> None:
    """Every finding, worst first; exits 1 while an ERROR remains (among those shown)."""
    with _ledger() as ledger:
        if owner is not None:
            _person(ledger, owner)
        findings = [
            f
            for f in ledger.findings(within=within)
            if (not severity or f.severity.value in {s.upper() for s in severity})
            and (not kind or f.kind.value in {k.upper() for k in kind})
            and (owner is None or f.owner_id == owner)
            and (account is None or f.ad_account_id == account)
            and (creator is None or f.creator_id == creator)
        ]
    _print_findings(findings[:limit] if limit else findings, _chosen(fmt, as_json))
    if any(f.severity is Severity.ERROR for f in findings):
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
def check(code: str, post: str | None, account: str | None, live: bool, base_url: str) -> None:
    """Diagnose one code: CODE, or - to read it from standard input (out of shell history)."""
    raw = _read_code(code)
    with _ledger() as ledger:
        if not live:
            diagnosis = ledger.diagnose(raw, post_id=post, ad_account_id=account)
        elif not account:
            raise UsageError("check --live: name the ad account to ask TikTok in (--account ID)")
        else:
            with TikTokClient(_token("check --live"), base_url=base_url) as client:
                diagnosis = ledger.diagnose(raw, post_id=post, ad_account_id=account, client=client)
    _say(diagnosis)
    if any(f.severity is Severity.ERROR for f in diagnosis.findings):
        raise Failed


@cli.command()
@click.argument("error_code")
def explain(error_code: str) -> None:
    """What a TikTok error code means and what to do (e.g. 4025, auth_code_not_found)."""
    found = explain_error(error_code)
    if found is None:
        raise UsageError(
            f"TikTok error {error_code!r} is not in the catalogue; see docs/troubleshooting.md"
        )
    _say(f"{found.code} {found.name} → {found.kind.value}")
    for name in ("cause", "meaning", "remedy", "where"):
        _say(f"  {name + ':':<9}{getattr(found, name)}")


# --- data in and out ----------------------------------------------------------------------------


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
def import_(
    file: str,
    type_name: str | None,
    advertiser: str | None,
    creator: str | None,
    timezone: str | None,
) -> None:
    """Import a CSV of records (--type) or a TikTok JSON response (a file, or -)."""
    _valid_db()  # before the source is read
    if file.lower().endswith(".csv"):
        if not type_name:
            raise UsageError(f"import: a CSV needs --type, one of {', '.join(RECORD_BY_NAME)}")
        cls = _record_type(type_name)
        try:
            zone = time_zone(timezone)
        except ValueError as error:
            raise UsageError(f"--{error}") from None
        # the source first: a missing file must not leave an empty ledger behind
        with (
            open(file, newline="", encoding="utf-8-sig") as source,
            _ledger(must_exist=False) as ledger,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", IgnoredColumnsWarning)
            progress = _Progress(f"importing {file}")
            try:
                result = ledger.import_csv(cls, source, progress=progress, timezone=zone)
            finally:
                progress.finish()
                for warning in caught:  # before any error: they may explain it
                    _say(f"delvia-ledger import: {file}: {warning.message}", err=True)
        _say(f"imported {file}: {result.written} new entries, {result.unchanged} unchanged")
        return
    if timezone is not None:
        raise UsageError("import: --timezone applies to a CSV file only")
    if not (advertiser or creator):
        raise UsageError(
            "import: a TikTok JSON response needs --advertiser (for /tt_video/ responses) "
            "or --creator (for the creator's own /business/post/authorize/ responses)"
        )
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{file}: not JSON ({error})") from None
    except RecursionError:
        raise UsageError(f"{file}: JSON nested too deeply to be a TikTok response") from None
    with _ledger() as ledger:
        imported = ledger.import_tiktok(payload, advertiser_id=advertiser, creator_id=creator)
    skipped = f", {len(imported.skipped)} skipped" if imported.skipped else ""
    unbound = f", {imported.unbound} unbound" if imported.unbound else ""
    _say(
        f"imported {file}: {imported.written} new entries, {imported.unchanged} unchanged"
        f"{unbound}{skipped}"
    )
    for item in imported.skipped:
        _say(f"  skipped {item}", err=True)


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
    if Path(dest).exists():
        raise UsageError(f"{dest} already exists; backup writes only a new file")
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
    shown_source, shown_dest = _location(source), _location(dest)
    if not is_postgres_url(source) and not Path(source).exists():
        raise UsageError(f"{shown_source}: no such ledger or export")
    if is_postgres_url(dest):
        with Ledger.open(dest) as existing:  # creates the (empty) ledger's tables there
            if existing.seq:
                raise UsageError(
                    f"{shown_dest} already holds a ledger of {existing.seq} entries; copy "
                    "writes only into a new one (name another schema or database)"
                )
    elif Path(dest).exists():
        raise UsageError(f"{dest} already exists; copy writes only a new ledger")
    try:
        with _source_entries(source) as (entries, total), Ledger.open(dest) as copied:
            if sys.stderr.isatty():
                with click.progressbar(
                    entries, length=total, label="copying", file=sys.stderr
                ) as bar:
                    copied.replay(bar)
            else:
                copied.replay(entries)
            result = copied.verify(deep=True)
            digest = copied.digest()
    except BaseException:
        if not is_postgres_url(dest):  # a server's copy is one transaction: nothing was kept
            for suffix in ("", "-wal", "-shm"):
                Path(f"{dest}{suffix}").unlink(missing_ok=True)  # a failed copy leaves nothing
        raise
    if not result.ok:
        _say(f"FAILED: the copy does not verify: {result.reason}")
        raise Failed
    _say(f"copied {digest.seq} entries from {shown_source} to {shown_dest}; digest {digest}")


def _location(location: str) -> str:
    """A ledger's location as messages show it: a URL without its password."""
    return redacted(location) if is_postgres_url(location) else location


@contextmanager
def _source_entries(source: str) -> Iterator[tuple[Iterable[Entry], int | None]]:
    """The entries to copy, and how many there are when that is known."""
    if source.lower().endswith(".json") and not is_postgres_url(source):
        with open(source, encoding="utf-8") as text:
            yield read_export(text), None
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
    lines: list[str] = []
    before: dict[str, Any] = {}
    for entry in entries:
        now = {k: _shown(v) for k, v in converter.unstructure(entry.record).items()}
        head = f"{entry.seq:>6}  {format_time(entry.recorded_at)}"
        if not before:
            lines.append(f"{head}  recorded {type(entry.record).__name__} {entry.record.id}")
            lines += [f"        {k}: {v}" for k, v in now.items() if v not in (None, [], "")]
        else:
            lines.append(f"{head}  changed")
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
        {"seq": e.seq, "recorded_at": format_time(e.recorded_at), **converter.unstructure(e.record)}
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
    return moment.astimezone(UTC)


@cli.command(context_settings={"ignore_unknown_options": True})
@_db_option
@click.argument("type_name", metavar="TYPE")
@click.argument("fields", nargs=-1, type=click.UNPROCESSED, metavar="--FIELD VALUE …")
def add(type_name: str, fields: tuple[str, ...]) -> None:
    """Record one record: add TYPE --field value … (the same columns as its CSV; --timezone
    ZONE for times without an offset)."""
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
            f"add {cls.__name__}: give its fields, e.g. --id ... (see docs/reference.md)"
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
        entry = ledger.record(record)
    _say(f"recorded {cls.__name__} {record.id} at seq {entry.seq}")


def _without_prefix(message: str, cls: type[Record]) -> str:
    """A CSV row's error as one field's error: without "line 2:" and the type's name."""
    message = re.sub(r"^line \d+, column '([^']*)': ", lambda m: f"--{m[1]}: ", message)
    for prefix in ("line 1: ", "line 2: ", f"{cls.__name__}: "):
        message = message.removeprefix(prefix)
    return message


def _new_version(ledger: Ledger, old: Record, **changes: Any) -> None:
    entry = ledger.record(attrs.evolve(old, **changes))
    _say(f"recorded {type(old).__name__} {old.id} at seq {entry.seq}")


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
        entry = ledger.record(record)
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
    required=True,
    metavar="ID",
    help="an advertiser (ad account) id to sweep; repeat for several",
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
    "--allow-mass-unbind",
    is_flag=True,
    help="accept a sweep that unbinds more than 5 codes and more than 20%% of those bound",
)
@click.option("--access-token", hidden=True)
def sync(
    advertisers: tuple[str, ...],
    base_url: str,
    max_retries: int,
    timeout: float,
    max_backoff: float,
    allow_mass_unbind: bool,
    access_token: str | None,
) -> None:
    """A complete sweep of each advertiser's posts at TikTok (token from $TIKTOK_ACCESS_TOKEN)."""
    if access_token is not None:
        raise UsageError(
            "sync: never put the access token on the command line (it stays in your shell "
            f"history); set ${TOKEN_VARIABLE} instead"
        )
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
                    client, advertiser, progress=page_done, allow_mass_unbind=allow_mass_unbind
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
    else:
        _emit([r.as_dict() for r in found], fmt)


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


def _senders(options: Mapping[str, Any]) -> list[Sender]:
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
    if options["slack_webhook_env"] is not None:
        url = _secret_from_env("--slack-webhook-env", options["slack_webhook_env"], "the URL")
        senders.append(WebhookSender(url, style="slack"))
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
@click.option("--webhook-env", metavar="VAR", help="post JSON to the webhook URL held in $VAR")
@_horizon_option("14d")
@click.option("--dry-run", is_flag=True, help="print what would be sent; send and record nothing")
def notify(within: str, dry_run: bool, **channels: Any) -> None:
    """Send each person what is new or changed since their last reminder; exits 1 if a
    delivery failed."""
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
