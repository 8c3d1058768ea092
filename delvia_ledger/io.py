"""CSV import/export of each record type and a JSON export of the whole ledger.

CSV files have a header row of field names; times are ISO-8601 with an offset; empty cells are
None. A Spark code is exported as ``code_fingerprint`` and ``code_hint`` (never the raw code);
an import accepts either a raw ``code`` column or those two.
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Generic, TypeAlias, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from dateutil.parser import isoparse

from .chain import GENESIS_HASH, SOURCES, Entry, chain_hash, rebuilt_payload
from .convert import (
    RECORD_BY_NAME,
    canonical_json_of,
    format_time,
    generated,
    parse_time,
    record_from_dict,
    record_to_dict,
)
from .errors import InvalidRecordError, PayloadError, docs_url
from .records import ROLE_SCOPES, Record, Role, SparkCode, shown, to_utc

__all__ = [
    "CsvReader",
    "IgnoredColumnsWarning",
    "SourceConflictWarning",
    "csv_columns",
    "export_json",
    "neutralise",
    "read_csv",
    "read_csv_rows",
    "reference_cells",
    "reference_markdown",
    "restore",
    "time_zone",
    "write_csv",
]

R = TypeVar("R", bound=Record)

#: Where CSV and JSON are read from or written to: a path, or an open text file.
Source: TypeAlias = "str | os.PathLike[str] | IO[str]"


def csv_columns(cls: type[Record]) -> list[str]:
    """The export header of a record type (a code becomes ``code_fingerprint, code_hint``)."""
    columns = []
    for field in attrs.fields(cls):
        columns += ["code_fingerprint", "code_hint"] if field.name == "code" else [field.name]
    return columns


#: What makes a spreadsheet read a cell as a formula (OWASP's list): ``=``, ``+``, ``-``, ``@``,
#: a tab or a carriage return at its start.
FORMULA_START = frozenset("=+-@\t\r")


def neutralise(text: str) -> str:
    """A cell a spreadsheet will not run: ``'`` before a formula start (see :func:`restore`).

    A ``'`` is added when the text, after any ``'`` it already starts with, begins a formula,
    so :func:`restore` can take exactly that one away again:

    >>> neutralise("=1+2"), neutralise("'=1"), neutralise("'Tis"), neutralise("maya")
    ("'=1+2", "''=1", "'Tis", 'maya')
    """
    return "'" + text if text.lstrip("'")[:1] in FORMULA_START else text


def restore(cell: str) -> str:
    """The text :func:`neutralise` made ``cell`` from: one leading ``'`` dropped before a
    formula start (after any further ``'``); any other cell is kept as it is.

    >>> restore("'=1+2"), restore("''=1"), restore("'Tis"), restore("=1")
    ('=1+2', "'=1", "'Tis", '=1')
    """
    if cell[:1] == "'" and cell.lstrip("'")[:1] in FORMULA_START:
        return cell[1:]
    return cell


def write_csv(records: Iterable[Record], cls: type[Record], out: Source) -> int:
    """Write ``records`` of type ``cls`` as CSV with a header row to a path (replacing any
    file there) or an open text file; returns the row count.

    A text cell that a spreadsheet would run as a formula gets a leading ``'``
    (:func:`neutralise`); :func:`read_csv` takes it away again, so the round trip is exact.
    """
    with csv_target(out) as text:
        return _write_csv(records, cls, text)


def _write_csv(records: Iterable[Record], cls: type[Record], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(csv_columns(cls))
    count = 0
    for record in records:
        data = record_to_dict(record)
        row = []
        for field in attrs.fields(cls):
            value = data.get(field.name)
            if field.name == "code":
                row += [data["code"]["fingerprint"], data["code"]["hint"]]
            elif isinstance(value, list):  # a tuple field: one cell of JSON
                row.append(neutralise(json.dumps(value, ensure_ascii=False)))
            elif isinstance(value, str):
                row.append(neutralise(value))
            else:
                row.append("" if value is None else value)
        writer.writerow(row)
        count += 1
    return count


def read_csv(cls: type[R], source: Source, *, timezone: str | tzinfo | None = None) -> Iterator[R]:
    """Records of type ``cls`` from a CSV path or open text file; a bad row raises with its line.

    Columns ``cls`` lacks are ignored with an :class:`IgnoredColumnsWarning`; see
    :func:`read_csv_rows` for what a cell may hold.
    """
    for _, record in _read_rows(cls, source, timezone):
        yield record


def read_csv_rows(
    cls: type[R], source: Source, *, timezone: str | tzinfo | None = None
) -> Iterator[tuple[int, R]]:
    """(line number, record) pairs from a CSV path or open text file, as spreadsheets write it.

    UTF-8 with or without a byte-order mark; headers match field names whatever their case,
    surrounding spaces, or spaces for ``_`` (``Creator ID``); columns ``cls`` lacks are ignored
    with an :class:`IgnoredColumnsWarning`. A blank cell is None, or the field's default. A
    time is ISO-8601 with ``Z`` or an offset; a date alone is midnight UTC; a time without an
    offset (``2026-11-01 09:00:00``) is refused unless ``timezone`` (``"Europe/Berlin"``,
    ``"UTC"``) says which zone it is in. An error names the line (where the row starts), the
    column as the header spells it, and the value.
    """
    yield from _read_rows(cls, source, timezone)


def _read_rows(
    cls: type[R], source: Source, timezone: str | tzinfo | None
) -> Iterator[tuple[int, R]]:
    zone = time_zone(timezone)
    with csv_source(source) as text:
        reader = CsvReader(cls, text, timezone=zone)
        if reader.ignored:  # shown at the line of the caller's code that reads the rows
            warnings.warn(reader.ignored, stacklevel=3)
        yield from reader


class IgnoredColumnsWarning(UserWarning):
    """A CSV has columns its record type lacks (``columns``, as the header spells them);
    they were ignored. ``delvia-ledger import`` prints it as one line on stderr."""

    def __init__(self, record_type: str, columns: tuple[str, ...]) -> None:
        self.record_type, self.columns = record_type, columns
        super().__init__(
            f"ignored column(s) {', '.join(map(shown, columns))}: {record_type} has no such "
            f"field (its columns: {docs_url('reference')})"
        )


class SourceConflictWarning(UserWarning):
    """A CSV import gave fields otherwise than TikTok last said: TikTok's values were kept
    (DESIGN §9 sources). ``conflicts`` has one line each; ``delvia-ledger import`` prints them
    on stderr."""

    def __init__(self, conflicts: tuple[str, ...]) -> None:
        self.conflicts = conflicts
        n = len(conflicts)
        super().__init__(
            f"{n} field{'s' * (n != 1)} kept as TikTok said (the file differs): "
            + "; ".join(conflicts)
        )


def time_zone(name: str | tzinfo | None) -> tzinfo | None:
    """The zone an import's offset-less times are in: a zoneinfo name, ``UTC``, or a tzinfo.

    >>> time_zone("Europe/Berlin"), time_zone("utc")
    (zoneinfo.ZoneInfo(key='Europe/Berlin'), datetime.timezone.utc)
    """
    if name is None or isinstance(name, tzinfo):
        return name
    if isinstance(name, str) and name.strip().upper() in ("UTC", "Z"):
        return UTC
    problem = f"must be a time zone name such as 'Europe/Berlin' or 'UTC', not {shown(name)}"
    if isinstance(name, str) and name.strip():
        try:
            return ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            problem = (
                f"{shown(name)} is not a known time zone; "
                "use a name such as 'Europe/Berlin' or 'UTC'"
            )
    raise PayloadError(f"timezone: {problem}")


@contextmanager
def csv_source(source: Source) -> Iterator[IO[str]]:
    """An open text file as given, or the file a path names (opened as spreadsheets write it)."""
    if isinstance(source, str | os.PathLike):
        path = _existing_file(source)
        with open(path, newline="", encoding="utf-8-sig") as opened:
            yield opened
        return
    if isinstance(source, bytes) or not hasattr(source, "__iter__"):
        raise PayloadError(
            "read a CSV from a path or an open text file, e.g. open(path, newline='', "
            f"encoding='utf-8-sig'), not from {type(source).__name__}"
        )
    yield source


def _existing_file(source: str | os.PathLike[str]) -> Path:
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        # never echoed: CSV text may hold raw codes
        raise PayloadError(
            "got CSV text where a path or an open text file was expected; "
            "pass io.StringIO(text) to read text"
        )
    path = Path(source)
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "no such file"
        raise PayloadError(f"{shown(str(path))}: {why}; give the path of a CSV file")
    return path


@contextmanager
def csv_target(target: Source) -> Iterator[IO[str]]:
    """An open text file as given, or a new file (replacing one) at the path."""
    if isinstance(target, str | os.PathLike):
        with open(target, "w", newline="", encoding="utf-8") as opened:
            yield opened
    elif hasattr(target, "write"):
        yield target
    else:
        raise PayloadError(f"write to a path or an open text file, not to {type(target).__name__}")


def _key(name: str) -> str:
    """A header cell as the field name it means: ``" Creator ID "`` -> ``"creator_id"``."""
    return _SEPARATORS.sub("_", name.strip().casefold())


_SEPARATORS = re.compile(r"[\s_-]+")
#: What makes a time more than a date: ISO-8601's ``T``, or the space spreadsheets write.
_TIME_OF_DAY = re.compile(r"[Tt ]")


class CsvReader(Generic[R]):
    """The rows of one CSV file of ``cls`` records; the header is read and checked on creation.

    ``ignored`` is the :class:`IgnoredColumnsWarning` for columns ``cls`` lacks, or None.
    Iterating yields (line, record) pairs.
    """

    def __init__(self, cls: type[R], source: IO[str], *, timezone: tzinfo | None = None) -> None:
        self.cls, self.zone = cls, timezone
        self._raw: list[str] = []  # the physical lines of the row being read, for error messages
        self._ended = 0  # the line the last row read ended on
        self._spelled: list[str] = []
        self._keys: list[str] = []
        self._rows = self._read(source)
        first = next(self._rows, None)
        self._ended = first[0] if first is not None else 0
        fields = {field.name: field for field in attrs.fields(cast(Any, cls))}
        self._columns(fields, first[1] if first else [])

    def _columns(self, fields: dict[str, Any], header: list[str]) -> None:
        """Which cells hold which field (checked once per file)."""
        name = self.cls.__name__
        if not header:
            raise PayloadError(f"line 1: the file is empty; the header must name {name} fields")
        known = set(fields) | {"code_fingerprint", "code_hint"}
        keys = [_key(cell) for cell in header]
        self._spelled, self._keys = header, keys
        twice = sorted(
            {h for h, k in zip(header, keys, strict=True) if k in known and keys.count(k) > 1}
        )
        if twice:
            raise PayloadError(
                f"line 1: column(s) {', '.join(map(shown, twice))} appear more than once in "
                "the header; keep one of each"
            )
        kept = [(i, k) for i, k in enumerate(keys) if k in known]
        ignored = tuple(header[i] for i, k in enumerate(keys) if k not in known and k)
        self.ignored = IgnoredColumnsWarning(name, ignored) if ignored else None
        names = [k for _, k in kept]
        if "code" in names and "code_fingerprint" in names:
            raise PayloadError(
                "line 1: give either a raw 'code' column or 'code_fingerprint' and 'code_hint', "
                "not both"
            )
        given = set(names) | ({"code"} if "code_fingerprint" in names else set())
        missing = [n for n, f in fields.items() if f.default is attrs.NOTHING and n not in given]
        if missing:
            also = f" (ignored: {', '.join(map(shown, ignored))})" if ignored else ""
            raise PayloadError(
                f"line 1: missing required field(s) {', '.join(missing)}: the header needs a "
                f"column for each; {name}'s columns are "
                f"{', '.join(csv_columns(cast(Any, self.cls)))}{also}"
            )
        self.width = len(header)
        self.names = names
        self.spelling = {k: header[i] for i, k in kept}
        indexes = [i for i, _ in kept]
        self._cells: Callable[[list[str]], Iterable[str]] = (
            (lambda row: row)
            if indexes == list(range(len(header)))
            else (lambda row: [row[i] for i in indexes])
        )
        self.lists = [n for n in names if n in fields and str(fields[n].type).startswith("tuple")]
        self.times = [n for n in names if n in fields and fields[n].converter is to_utc]
        # blank cells of these mean "the default": a derived id, an empty tuple
        self.defaulted = [
            n
            for n in names
            if n in fields
            and fields[n].default not in (attrs.NOTHING, None)
            and n not in self.lists
        ]
        self.fields = fields
        self._build = self._builder(indexes)

    def __iter__(self) -> Iterator[tuple[int, R]]:
        width, build, record = self.width, self._build, self.record
        for row in self._rows:
            line, self._ended = self._ended + 1, row[0]
            cells = row[1]
            if not cells:
                continue  # a blank line
            if len(cells) != width:
                if len(cells) > width:
                    raise PayloadError(f"line {line}: more cells than columns in the header")
                cells += [""] * (width - len(cells))
            try:
                built = build(line, cells)
            except Exception:  # refused: record() below says why, in the user's words
                built = None
            # record() runs outside the handler: its error must not chain to the fast path's,
            # whose message may quote a cell (and a cell may hold a raw code)
            yield line, record(line, cells) if built is None else built

    def _builder(self, indexes: list[int]) -> Callable[[int, list[str]], R | None]:
        """The fast path of :meth:`record` for this file's columns, generated once per file.

        For a row :meth:`record` accepts it builds the same record, from the same cell rules
        (:func:`_cell`, :meth:`_moment`, :meth:`_json_list`, the code columns), by passing
        the values straight to the record's own constructor, which checks every field. It
        leaves out what adds nothing for a CSV row: :func:`record_from_dict`'s checks of the
        field names (the header check has made them) and the cattrs pass (its hooks hand
        every value a cell makes through unchanged, and refuse a missing code, as the record
        does too). It raises on any row :meth:`record` might refuse; :meth:`__iter__` then
        asks :meth:`record` for the error, so errors are the reference path's, word for word.
        Returns a function giving None (always the reference path) when the columns do not
        fit the record's fields: a code column on a record without a code.
        """
        fields = self.fields
        code = "code_fingerprint" if "code_fingerprint" in self.names else "code"
        arguments = [n for n in self.names if n not in ("code_fingerprint", "code_hint")]
        if "code_fingerprint" in self.names:
            arguments.append("code")
        if any(name not in fields for name in arguments):
            return lambda line, row: None
        value = {name: f"v{n}" for n, name in enumerate(self.names)}
        lines = ["def build(line, row):"]
        for name, index in zip(self.names, indexes, strict=True):
            c, v = f"row[{index}]", value[name]
            lines.append(f'    {v} = c if (c := {c}) and c[0] != "\'" else _cell(c)')
        for name in self.times:
            v = value[name]
            lines.append(f"    if {v} is not None:")
            lines.append(f"        {v} = _moment(line, {name!r}, {v})")
        for name in self.lists:
            v = value[name]
            lines.append(f"    {v} = [] if {v} is None else _json_list(line, {name!r}, {v})")
        if code == "code_fingerprint":
            hint = value.get("code_hint", "None")
            value["code"] = "v_code"
            lines.append(f"    v_code = _code({value['code_fingerprint']}, {hint})")
        elif "code" in value:
            v = value["code"]
            lines.append(f"    if {v} is not None:")
            lines.append(f"        {v} = _SparkCode({v})")
        pairs = ", ".join(f"{name!r}: {value[name]}" for name in arguments)
        lines.append(f"    given = {{{pairs}}}")
        for name in self.defaulted:
            lines.append(f"    if {value[name]} is None:")
            lines.append(f"        del given[{name!r}]")
        lines.append("    return _cls(**given)")
        namespace: dict[str, Any] = {
            "_cls": self.cls,
            "_cell": _cell,
            "_moment": self._moment,
            "_json_list": self._json_list,
            "_code": _code,
            "_SparkCode": SparkCode,
        }
        source = "\n".join(lines)
        build = generated(source, "build", f"CSV row of {self.cls.__name__}", namespace)
        return cast(Callable[[int, list[str]], R | None], build)

    def _read(self, source: IO[str]) -> Iterator[tuple[int, list[str]]]:
        """(the line it ends on, cells) for each row, the header first; csv and codec errors
        become a :class:`PayloadError` naming the line."""
        raw = self._raw

        def lines() -> Iterator[str]:
            first = True
            for line in source:
                raw.append(line)
                if first and isinstance(line, str) and line[:1] == "\ufeff":  # Excel's CSV UTF-8
                    line = line[1:]
                first = False
                yield line

        reader = csv.reader(lines(), strict=True)
        try:
            for row in reader:
                raw.clear()
                yield reader.line_num, row
            return
        except csv.Error as error:
            further, problem = _csv_problem(str(error), self._spelled, raw)
        except UnicodeDecodeError:
            further, problem = 0, "the file is not UTF-8 text; save it as UTF-8 and import again"
            bad = _undecodable_line(source)
            if bad is not None:
                further = bad - self._ended - 1
        # raised outside the handlers: the csv and codec errors carry the text, which may hold codes
        raise PayloadError(f"line {self._ended + 1 + further}: {problem}")

    def record(self, line: int, row: list[str]) -> R:
        """The record one row's cells make (``row`` as wide as the header)."""
        data: dict[str, Any] = {
            name: _cell(cell) for name, cell in zip(self.names, self._cells(row), strict=True)
        }
        for name in self.times:
            cell = data[name]
            if cell is not None:
                data[name] = self._moment(line, name, cell)
        for name in self.defaulted:
            if data[name] is None:
                del data[name]
        for column in self.lists:
            data[column] = (
                [] if data[column] is None else self._json_list(line, column, data[column])
            )
        try:
            if "code_fingerprint" in data:
                data["code"] = _code(data.pop("code_fingerprint"), data.pop("code_hint", None))
            elif "code_hint" in data:
                del data["code_hint"]
            if isinstance(data.get("code"), str):  # a raw code from the user's own sheet
                data["code"] = SparkCode(data["code"])
            return record_from_dict(self.cls, data)
        except InvalidRecordError as error:
            message = self._in_users_words(str(error), data, row)
        raise PayloadError(f"line {line}{message}") from None

    def _moment(self, line: int, name: str, cell: str) -> datetime:
        """A time cell as an aware datetime: ISO-8601 with an offset by the fast path
        (``datetime.fromisoformat``), anything else as :meth:`_time` reads it."""
        try:
            moment = datetime.fromisoformat(cell)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
        return self._time(line, name, cell)

    def _time(self, line: int, name: str, cell: str) -> datetime:
        """A time cell that is not ISO-8601 with an offset: a date, or a time in ``timezone``."""
        text = cell.strip()
        try:
            moment = isoparse(text)
        except (ValueError, OverflowError):
            moment = None
        if moment is None:
            raise PayloadError(
                f"line {line}, column {shown(self.spelling[name])}: {shown(cell)} is not a date "
                "or time; write e.g. 2026-11-01 (midnight UTC), 2026-11-01T09:00:00Z or "
                "2026-11-01 09:00:00+01:00"
            )
        if moment.utcoffset() is not None:
            return moment
        if not _TIME_OF_DAY.search(text):  # a date alone
            return moment.replace(tzinfo=UTC)
        if self.zone is None:
            raise PayloadError(
                f"line {line}, column {shown(self.spelling[name])}: {shown(cell)} has no time "
                "zone; add Z (UTC) or an offset such as +01:00, or say which zone the sheet's "
                "times are in: --timezone Europe/Berlin (Python: timezone='Europe/Berlin')"
            )
        return moment.replace(tzinfo=self.zone)

    def _json_list(self, line: int, column: str, cell: str) -> Any:
        problem = None
        try:
            return json.loads(cell)
        except json.JSONDecodeError:
            problem = "must be a JSON list"
        except RecursionError:
            problem = "is nested too deeply; it must be a JSON list"
        raise PayloadError(
            f"line {line}, column {shown(self.spelling[column])}: {problem}, "
            'e.g. ["EXPIRING/authorization=auth_1"]'
        )

    def _in_users_words(self, message: str, given: dict[str, Any], row: list[str]) -> str:
        """A record's refusal as ``", column 'Region': 'xx' must be …"`` (the cell as typed)."""
        typed = dict(zip(self._keys, row, strict=True))
        kind = self.cls.__name__
        if message.startswith("SparkCode") or message.startswith(f"{kind}.code:"):
            # the code's own checks, which never echo the value: nor does this
            part = message.partition(":")[0].partition(".")[2]
            column = {"fingerprint": "code_fingerprint", "hint": "code_hint"}.get(part, "code")
            column = self.spelling.get(column) or self.spelling.get("code_fingerprint", column)
            return f", column {shown(column)}: {message.partition(': ')[2]}"
        name, _, rest = message.removeprefix(f"{kind}.").partition("=")
        if not message.startswith(f"{kind}.") or name not in self.spelling:
            return f": {self._columns_named(message.removeprefix(f'{kind}: '), typed)}"
        value, field = given.get(name), self.fields[name]
        converted = field.converter(value) if field.converter is not None else value
        why = rest
        for quoted in (shown(converted), shown(value), shown(getattr(converted, "value", None))):
            if rest.startswith(quoted):
                why = rest[len(quoted) :].removeprefix(":").strip()
                break
        why, cell = self._columns_named(why, typed), typed[name]
        column = shown(self.spelling[name])
        if not cell:
            return f", column {column}: the cell is blank; it {why}"
        return f", column {column}: {shown(cell)} {why}"

    def in_columns(self, message: str) -> str:
        """A ledger rule's message with each ``field=value`` as the column the header names."""
        return self._columns_named(message, None)

    def _columns_named(self, text: str, typed: dict[str, str] | None) -> str:
        """``starts_at='2026-…'`` in a record's message as the column and the cell as typed."""

        def named(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.spelling:
                return match.group()
            value = match.group(2) if typed is None else shown(typed.get(name, ""))
            return f"column {shown(self.spelling[name])} ({value})"

        return _FIELD_VALUE.sub(named, text)


#: ``field='value'`` in a record's message (the value quoted as :func:`shown` quotes text).
_FIELD_VALUE = re.compile(r"\b([a-z_]+)=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|None)")


def _cell(cell: str) -> str | None:
    """What a cell holds: None if blank, else its text as :func:`restore` gives it back."""
    return (cell if cell[:1] != "'" else restore(cell)) if cell else None


def _code(fingerprint: str | None, hint: str | None) -> SparkCode | None:
    """A code from its exported columns (checked; neither value is ever echoed)."""
    if fingerprint is None:
        return None  # refused by the record: an authorization needs its code
    return SparkCode.from_fingerprint(fingerprint, "…" if hint is None else hint)


#: The cells of a CSV row as text: a quoted cell (maybe unclosed), an unquoted run, a comma.
_TOKENS = re.compile(r'"[^"]*(?:""[^"]*)*"?|[^,"]+|,|"')


def _undecodable_line(source: IO[str]) -> int | None:
    """The number of the first line of a text file that is not UTF-8 (the decoder fails a
    whole chunk at once, ahead of the lines read), read again from its bytes; None when the
    text has no bytes to read again."""
    buffer = getattr(source, "buffer", None)
    try:
        if buffer is None or not buffer.seekable():
            return None
        buffer.seek(0)
        for number, line in enumerate(buffer, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    except (OSError, ValueError):
        return None
    return None


def _csv_problem(message: str, header: list[str], raw: list[str]) -> tuple[int, str]:
    """What the csv module refused, in the user's words, and on which line of the row.

    ``raw`` holds the lines of the row read so far; the line is counted from the row's first.
    """
    if "iterator should return strings" in message:
        return 0, "open the CSV as text, e.g. open(path, newline='', encoding='utf-8')"
    text = "".join(raw)
    if "field larger than field limit" in message:
        limit, index, length = csv.field_size_limit(), 0, 0
        for token in _TOKENS.findall(text):  # the first cell that grows past the limit
            if token == ",":
                index, length = index + 1, 0
            elif (length := length + len(token)) > limit:
                break
        column = header[index] if index < len(header) else f"number {index + 1}"
        return 0, (
            f"the cell in column {column!r} is longer than {limit:,} "
            "characters, the most a CSV cell may hold"
        )
    if "unexpected end of data" in message:
        opened = [m.start() for m in _TOKENS.finditer(text) if m.group().startswith('"')]
        return text[: opened[-1]].count("\n") if opened else 0, (
            "a quoted cell opens on this line and is never closed, so the rest of the file "
            'would be read into it; add the closing " or remove the opening one'
        )
    return 0, f"the CSV is malformed ({message})"


def export_json(entries: Iterable[Entry], out: Source) -> int:
    """Write every entry as one JSON document (``{"entries": [...]}``), streamed, to a path
    (replacing any file there) or an open text file; returns the count.

    Each entry carries ``seq``, ``recorded_at``, ``type``, ``id``, ``record``, ``hash`` and
    its ``source`` (left out for entries recorded before sources were).
    """
    with csv_target(out) as text:
        return _export_json(entries, text)


def _export_json(entries: Iterable[Entry], out: IO[str]) -> int:
    out.write('{"entries": [\n')
    count = 0
    dumps, separator = json.dumps, ""
    for entry in entries:
        record = entry.record
        # {"seq", "recorded_at", "type", "id", "record" (its keys sorted), "hash"}, written
        # in parts: the record is encoded once, not encoded, parsed and encoded again
        head = dumps(
            {
                "seq": entry.seq,
                "recorded_at": format_time(entry.recorded_at),
                "type": type(record).__name__,
                "id": record.id,
            },
            ensure_ascii=False,
        )
        body = dumps(record_to_dict(record), ensure_ascii=False, sort_keys=True, allow_nan=False)
        source = "" if entry.source is None else f', "source": {dumps(entry.source)}'
        if entry.salt is not None:  # a copy needs it to store the very same payload
            source += f', "salt": {dumps(entry.salt)}'
        if entry.redacted:  # erased: the original payload's hash, which the chain covers
            source += f', "payload_hash": {dumps(entry.payload_hash)}'
        hash_ = dumps(entry.hash)
        out.write(f'{separator}{head[:-1]}, "record": {body}, "hash": {hash_}{source}}}')
        count, separator = count + 1, ",\n"
    out.write("\n]}\n")
    return count


# --- the reference page: every record's columns, generated from the records ----------------------

_ID = (
    "text without surrounding spaces, control characters or bidi controls "
    "(U+202A-U+202E, U+2066-U+2069)"
)
_TIME = (
    "ISO-8601 with `Z` or an offset (`2026-11-01T09:00:00Z`, `2026-11-01 09:00:00+01:00`); "
    "a date alone (`2026-11-01`) is midnight UTC; a time without an offset needs "
    "`--timezone ZONE` (Python: `timezone=`)"
)
_REGION = "an ISO 3166-1 alpha-2 region code such as `US` (any case)"

#: What each validator (by name) allows, in the users' words. A validator missing here fails
#: :func:`reference_markdown`, so a new rule cannot go undocumented.
_ALLOWED: dict[str, str] = {
    "_check_id": "an id",
    "_check_text": "any text that is not blank",
    "_check_optional_text": "any text",
    "_check_optional_email": "an email address such as `ana@brand.example`",
    "_check_time": "a time",
    "_check_region": _REGION,
    "_check_region_pattern": _REGION + ", or `*` for any region",
    "_check_optional_word": "a TikTok status word such as `AUTHORIZED` or `USER_DELETE` (any case)",
    "_check_keys": 'a JSON list of finding keys, e.g. `["EXPIRING/authorization=auth_1"]`',
    "_check_scope": (
        "`ad_account:<id>`, `business_center:<id>`, `creator:<id>` or `authorization:<id>`"
    ),
    "_check_binding_id": "`<authorization_id>@<ad_account_id>`, the only value allowed",
    "_check_rule_id": "`<creator_region>-><account_region>`, the only value allowed",
    "_check_source": "`tiktok` (a role TikTok's Business Center lists: the actual side), or "
    "blank (a role people approved: the intended side)",
}

#: What a blank cell of a field with a derived default becomes (by the default's function).
_DERIVED: dict[str, str] = {
    "_authorization_id": "`auth_` and the first 16 hex digits of the code's SHA-256",
    "_binding_id": "`<authorization_id>@<ad_account_id>`",
    "_rule_id": "`<creator_region>-><account_region>`",
    "_notice_id": "`notice_` and 16 hex digits of a hash of person, channel, time and keys",
}

#: What a converter does to a cell before it is checked (by the converter's name).
_CONVERTED: dict[str, str] = {
    "to_handle": "; a leading `@` is dropped",
    "to_item_status": "; an `ITEM_STATUS_` prefix is dropped",
}


def _example_records() -> list[Record]:
    """One record of each type, in dependency order, that fit together in one ledger."""
    from .records import (
        AdAccount,
        Creator,
        Notice,
        Person,
        Post,
        RegionRule,
        RoleGrant,
        SparkAd,
        SparkAuthorization,
        SparkBinding,
    )

    auth = SparkAuthorization.from_code(
        "#mX1nZq+example/code=",
        creator_id="maya",
        post_id="7301",
        starts_at="2026-11-01T00:00:00Z",
        expires_at="2026-12-01T00:00:00Z",
        ad_account_id="6900",
        owner_id="ana",
    )
    return [
        Creator(id="maya", handle="@maya.makes", region="US", display_name="Maya Makes"),
        Post(id="7301", creator_id="maya", kind="VIDEO", posted_at="2026-10-30T18:00:00Z"),
        AdAccount(id="6900", name="Brand US", region="US", business_center_id="7100"),
        Person(id="ana", name="Ana Ruiz", email="ana@example.com"),
        auth,
        SparkBinding(
            authorization_id=auth.id,
            ad_account_id="6900",
            bound_at="2026-11-02T10:00:00Z",
            tiktok_status="AUTHORIZED",
        ),
        SparkAd(
            id="ad_1",
            ad_account_id="6900",
            authorization_id=auth.id,
            intended_post_id="7301",
            runs_from="2026-11-03T00:00:00Z",
            owner_id="ana",
        ),
        RoleGrant(
            id="ana-admin-6900",
            person_id="ana",
            scope="ad_account:6900",
            role="ADMIN",
            granted_at="2026-10-01T00:00:00Z",
        ),
        RegionRule(creator_region="US", account_region="US", verdict="COMPATIBLE"),
        Notice(
            person_id="ana",
            channel="email",
            sent_at="2026-11-24T09:00:00Z",
            finding_keys=(f"EXPIRING/authorization={auth.id}",),
        ),
    ]


def reference_markdown() -> str:
    """``docs/reference.md``: every record type's CSV columns, types, whether each is required
    (and its default), the values allowed, and an example row, all read from the records."""
    from .records import RECORD_TYPES

    examples = {type(record): record for record in _example_records()}
    parts = [_REFERENCE_INTRO]
    for cls in RECORD_TYPES:
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        parts.append(f"## {cls.__name__}\n\n{' '.join(doc.split()).replace('``', '`')}\n")
        parts.append("| column | type | required | allowed values |\n|---|---|---|---|")
        for field in attrs.fields(cast(Any, cls)):
            parts += _reference_rows(cls, field)
        out = _io.StringIO()
        _write_csv([examples[cls]], cls, out)
        parts.append(f"\nExample:\n\n```csv\n{out.getvalue().replace(chr(13), '')}```\n")
    return "\n".join(parts)


def _reference_rows(cls: type[Any], field: Any) -> list[str]:
    """The table rows of one field (a code is two columns, or a raw ``code``)."""
    return [f"| `{name}` | {kind} | {required} | {allowed} |" for name, kind, required, allowed
            in reference_cells(cls, field)]  # fmt: skip


def reference_cells(cls: type[Any], field: Any) -> list[tuple[str, str, str, str]]:
    """(column, type, required, allowed values) of one field, as the reference lists them;
    ``delvia-ledger add TYPE --help`` shows the same."""
    if field.name == "code":
        return [
            ("code_fingerprint", "text", "yes", "the code's SHA-256, 64 lowercase hex digits, as "
             "exported; or, instead of both code columns, a raw `code` column (never stored)"),
            ("code_hint", "text", "no (blank: `…`)", "`…` and at most the last 4 characters "
             "of the code, as exported"),
        ]  # fmt: skip
    kind, enum = _reference_type(field.type)
    validator = field.validator
    optional = type(validator).__name__ == "_OptionalValidator"
    check = getattr(validator, "validator", validator) if optional else validator
    name = getattr(check, "__name__", "")
    if enum is not None:
        allowed = ", ".join(f"`{member.value}`" for member in enum) + " (any case)"
        if enum is Role:
            by_scopes: dict[frozenset[str], list[str]] = {}
            for role in Role:
                by_scopes.setdefault(ROLE_SCOPES[role], []).append(f"`{role.value}`")
            allowed += "; " + "; ".join(
                f"{', '.join(roles)} on {' or '.join(f'`{s}:`' for s in sorted(scopes))} scopes"
                for scopes, roles in by_scopes.items()
            )
    elif name in _ALLOWED:
        allowed = _ALLOWED[name]
    else:
        raise LookupError(f"reference_markdown: describe {cls.__name__}.{field.name}'s rule")
    allowed += _CONVERTED.get(getattr(field.converter, "__name__", ""), "")
    default = field.default
    if default is attrs.NOTHING:
        may_be_blank = optional or name == "_check_optional_text" or kind == "JSON list"
        required = "yes, may be blank" if may_be_blank else "yes"
    elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        required = f"no (blank: {_DERIVED[default.factory.__name__]})"
    else:
        required = "no"
    return [(field.name, kind, required, allowed)]


def _reference_type(annotation: Any) -> tuple[str, Any]:
    """How the reference names a field's type, and its enum if it is a choice."""
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    base = args[0] if str(annotation).startswith(("str |", "datetime")) else annotation
    if isinstance(base, type) and issubclass(base, StrEnum):
        return "choice", base
    if base is datetime:
        return "time", None
    if str(annotation).startswith("tuple"):
        return "JSON list", None
    return "text", None


_REFERENCE_INTRO = (
    """\
# Reference: the CSV columns of every record

<!-- Generated by delvia_ledger.io.reference_markdown(); do not edit by hand.
     tests/test_io.py checks it is current and says how to regenerate it. -->

`ledger.import_csv(cls, path_or_file)` and `delvia-ledger import FILE.csv --type TYPE` read a
CSV of one record type; `export_csv` and `delvia-ledger export --type TYPE` write one. Import
the types in the order of this page (a post's creator first, and so on).

How a file is read:

- UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8", Google Sheets' download).
- The header row names the columns in any order. A header matches a column whatever its case,
  surrounding spaces, or spaces for `_`: `Creator ID` is `creator_id`. A column the record
  lacks (`notes`) is ignored with a warning naming it (`IgnoredColumnsWarning`; one line on
  stderr from the CLI). A column named twice is refused.
- A required column must be in the header; a blank cell in an optional column means none, or
  the default shown.
- Times: ISO-8601 with `Z` or an offset. A date alone (`2026-11-01`) is midnight UTC. A time
  without an offset (`2026-11-01 09:00:00`, as Sheets and Excel write it) is refused unless
  `--timezone Europe/Berlin` (Python: `timezone="Europe/Berlin"`; any zoneinfo name, or `UTC`)
  says which zone it is in. Exports write UTC with microseconds and `Z`.
- Choices (kinds, roles, verdicts) and regions are read in any case.
- A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or carriage return
  first) is exported with a leading `'`; the import takes that `'` away again.
- A Spark code is exported as `code_fingerprint` and `code_hint`, never raw. Your own sheet may
  carry a raw `code` column instead; the code is fingerprinted and never stored.
- A bad row fails the whole import and nothing is written; the error names the line (where
  the row starts), the column as your header spells it, the value, and what is allowed.

In the tables, an id is """
    + _ID
    + """; a time is """
    + _TIME
    + """.
"""
)


def _export_source(value: Any) -> str | None:
    """An export entry's ``source`` (absent: an entry recorded before sources were)."""
    if value is None or value in SOURCES:
        return cast(str | None, value)
    raise ValueError(f"source {value!r} is not one of {', '.join(SOURCES)}")


_SALT = re.compile("[0-9a-f]{32}")
_HASH = re.compile("[0-9a-f]{64}")


def _export_text(item: dict[str, Any], key: str, shape: re.Pattern[str]) -> str | None:
    value = item.get(key)
    if value is None or (isinstance(value, str) and shape.fullmatch(value)):
        return value
    raise ValueError(f"{key} is not {shape.pattern}")


def read_export(source: IO[str]) -> Iterator[Entry]:
    """The entries of a JSON export (:func:`export_json`), in order, for ``Ledger.replay``.

    Refuses a document that is not such an export with a :class:`PayloadError` that names the
    entry: each entry must carry the next seq (an int: 1, 2, 3…) and a hash that extends the
    chain of those before it, so an edited export is refused at its first edited entry.
    """
    try:
        document = json.load(source)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as error:
        raise PayloadError(f"not a delvia_ledger JSON export ({type(error).__name__})") from None
    items = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise PayloadError("not a delvia_ledger JSON export: no 'entries' list")
    prev = GENESIS_HASH
    for number, item in enumerate(items, 1):
        try:
            if not isinstance(item, dict):
                raise TypeError(f"an entry is an object, not {type(item).__name__}")
            seq = item["seq"]
            if type(seq) is not int or seq != number:  # a bool or a float is no seq
                raise ValueError(
                    f"seq {seq!r} where the number {number} belongs (an export's seqs are "
                    "1, 2, 3… in order, without gaps or repeats)"
                )
            cls = RECORD_BY_NAME[item["type"]]
            record = record_from_dict(cls, item["record"])
            origin = _export_source(item.get("source"))
            payload, payload_hash = rebuilt_payload(
                canonical_json_of(cls)(record),
                cls.__name__,
                origin,
                _export_text(item, "salt", _SALT),
                _export_text(item, "payload_hash", _HASH),
            )
            stamp = item["recorded_at"]
            if not isinstance(stamp, str):
                raise TypeError(f"recorded_at is text, not {type(stamp).__name__}")
            recorded_at = parse_time(stamp)
            hash_ = _export_text(item, "hash", _HASH)
            if item.get("id", record.id) != record.id:
                raise ValueError(f"id {item['id']!r} is not its record's id {record.id!r}")
            if hash_ != chain_hash(
                prev, seq, format_time(recorded_at), cls.__name__, record.id, payload_hash
            ):
                raise ValueError(
                    "its hash does not extend the chain (an edited export, or an entry written "
                    "by an older encoder)"
                )
            prev = hash_
            yield Entry(
                seq=seq,
                recorded_at=recorded_at,
                record=record,
                hash=hash_,
                source=origin,
                payload=payload,
                payload_hash=payload_hash,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PayloadError(f"export entry {number}: {error}") from None
