"""CSV import/export of each record type (the JSON export lives in ``exports``, the generated
reference page in ``reference``; both are re-exported here).

CSV files have a header row of field names; times are ISO-8601 with an offset; empty cells are
None. A Spark code is exported as ``code_fingerprint`` and ``code_hint`` (never the raw code);
an import accepts either a raw ``code`` column or those two.
"""

from __future__ import annotations

import csv
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any, Generic, TypeAlias, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from dateutil.parser import isoparse

from .convert import (
    generated,
    record_from_dict,
    record_to_dict,
)
from .errors import InvalidRecordError, PayloadError, docs_url
from .exports import export_json, read_export
from .records import Record, SparkCode, shown, to_utc
from .reference import reference_cells, reference_markdown

__all__ = [
    "CsvReader",
    "IgnoredColumnsWarning",
    "SourceConflictWarning",
    "csv_columns",
    "export_json",
    "neutralise",
    "read_csv",
    "read_csv_rows",
    "read_export",
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
