"""CSV import/export of each record type and a JSON export of the whole ledger.

CSV files have a header row of field names; times are ISO-8601 with an offset; empty cells are
None. A Spark code is exported as ``code_fingerprint`` and ``code_hint`` (never the raw code);
an import accepts either a raw ``code`` column or those two.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

import attrs

from .convert import (
    RECORD_BY_NAME,
    canonical_json,
    format_time,
    parse_time,
    record_from_dict,
    record_to_dict,
)
from .errors import InvalidRecordError, PayloadError
from .records import Record, SparkCode, shown
from .store import Entry

__all__ = [
    "csv_columns",
    "export_json",
    "neutralise",
    "read_csv",
    "read_csv_rows",
    "restore",
    "write_csv",
]

R = TypeVar("R", bound=Record)


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


def write_csv(records: Iterable[Record], cls: type[Record], out: IO[str]) -> int:
    """Write ``records`` of type ``cls`` as CSV with a header row; returns the row count.

    A text cell that a spreadsheet would run as a formula gets a leading ``'``
    (:func:`neutralise`); :func:`read_csv` takes it away again, so the round trip is exact.
    """
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


def read_csv(cls: type[R], source: IO[str]) -> Iterator[R]:
    """Records of type ``cls`` from CSV, one at a time; a bad row raises with its line number."""
    for _, record in read_csv_rows(cls, source):
        yield record


def read_csv_rows(cls: type[R], source: IO[str]) -> Iterator[tuple[int, R]]:
    """(line number, record) pairs from CSV; a bad row raises with its line number.

    The line is where the row starts (a quoted cell may span lines). A blank cell is None,
    or the field's default where it has one (e.g. a binding's derived id).
    """
    if isinstance(source, str | bytes) or not hasattr(source, "__iter__"):
        raise PayloadError(
            "read a CSV from an open text file, e.g. open(path, newline='', encoding='utf-8'), "
            f"not from {type(source).__name__}"
        )
    raw: list[str] = []  # the physical lines of the row being read, for error messages

    def lines() -> Iterator[str]:
        for line in source:
            raw.append(line)
            yield line

    reader = csv.reader(lines(), strict=True)
    ended = 0  # the line the last row read ended on
    header: list[str] = []
    try:
        header = _header(cls, next(reader, []))
        ended = reader.line_num
        raw.clear()
        width = len(header)
        rows = _Rows(cls, header)
        for row in reader:
            line, ended = ended + 1, reader.line_num
            raw.clear()
            if not row:
                continue  # a blank line
            if len(row) != width:
                if len(row) > width:
                    raise PayloadError(f"line {line}: more cells than columns in the header")
                row += [""] * (width - len(row))
            yield line, rows.record(line, row)
        return
    except csv.Error as error:
        further, problem = _csv_problem(str(error), header, raw)
    except UnicodeDecodeError:
        further, problem = 0, "the file is not UTF-8 text; save it as UTF-8 and import again"
    # raised outside the handlers: the csv and codec errors carry the text, which may hold codes
    raise PayloadError(f"line {ended + 1 + further}: {problem}")


def _header(cls: type[Any], header: list[str]) -> list[str]:
    """The header row, checked: known columns, each once."""
    names = {field.name for field in attrs.fields(cls)} | {"code_fingerprint", "code_hint"}
    if header and header[0].startswith("\ufeff"):  # Excel's "CSV UTF-8" starts with a BOM
        header = [header[0][1:], *header[1:]]
    if not header:
        raise PayloadError(f"line 1: the file is empty; the header must name {cls.__name__} fields")
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise PayloadError(
            f"line 1: column(s) {', '.join(map(repr, twice))} appear more than once in the "
            "header; keep one of each"
        )
    unknown = [name for name in header if name not in names]
    if unknown:
        raise PayloadError(
            f"line 1: the header must name {cls.__name__} fields; unknown column(s) "
            + ", ".join(name if name.isidentifier() else shown(name) for name in unknown)
        )
    if "code" in header and "code_fingerprint" in header:
        raise PayloadError(
            "line 1: give either a raw 'code' column or 'code_fingerprint' and 'code_hint', "
            "not both"
        )
    return header


class _Rows:
    """Turns the cells of one row into a record of one type (the header is known)."""

    def __init__(self, cls: type[Any], header: list[str]) -> None:
        self.cls, self.header = cls, header
        fields = {field.name: field for field in attrs.fields(cls)}
        self.lists = [n for n in header if n in fields and str(fields[n].type).startswith("tuple")]
        # blank cells of these mean "the default": a derived id, an empty tuple
        self.defaulted = [
            n
            for n in header
            if n in fields
            and fields[n].default not in (attrs.NOTHING, None)
            and n not in self.lists
        ]

    def record(self, line: int, row: list[str]) -> Any:
        data: dict[str, Any] = {
            name: (cell if cell[:1] != "'" else restore(cell)) if cell else None
            for name, cell in zip(self.header, row, strict=True)
        }
        for name in self.defaulted:
            if data[name] is None:
                del data[name]
        name = self.cls.__name__
        for column in self.lists:
            data[column] = (
                [] if data[column] is None else _json_list(data[column], line, name, column)
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
            raise PayloadError(f"line {line}: {error}") from None


def _code(fingerprint: str | None, hint: str | None) -> SparkCode | None:
    """A code from its exported columns (checked; neither value is ever echoed)."""
    if fingerprint is None:
        return None  # refused by the record: an authorization needs its code
    return SparkCode.from_fingerprint(fingerprint, "…" if hint is None else hint)


def _json_list(cell: str, line: int, name: str, column: str) -> Any:
    problem = None
    try:
        return json.loads(cell)
    except json.JSONDecodeError:
        problem = "must be a JSON list"
    except RecursionError:
        problem = "is nested too deeply; it must be a JSON list"
    raise PayloadError(
        f'line {line}: {name}.{column} {problem}, e.g. ["EXPIRING/authorization=auth_1"]'
    )


#: The cells of a CSV row as text: a quoted cell (maybe unclosed), an unquoted run, a comma.
_TOKENS = re.compile(r'"[^"]*(?:""[^"]*)*"?|[^,"]+|,|"')


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


def export_json(entries: Iterable[Entry], out: IO[str]) -> int:
    """Write every entry as one JSON document (``{"entries": [...]}``), streamed; returns the count.

    Each entry carries ``seq``, ``recorded_at``, ``type``, ``id``, ``record`` and ``hash``.
    """
    out.write('{"entries": [\n')
    count = 0
    for entry in entries:
        item = {
            "seq": entry.seq,
            "recorded_at": format_time(entry.recorded_at),
            "type": type(entry.record).__name__,
            "id": entry.record.id,
            "record": json.loads(canonical_json(record_to_dict(entry.record))),
            "hash": entry.hash,
        }
        out.write(("" if count == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def read_export(source: IO[str]) -> Iterator[Entry]:
    """The entries of a JSON export (:func:`export_json`), in order, for ``Ledger.replay``.

    Refuses a document that is not such an export with a :class:`PayloadError` that names the
    entry.
    """
    try:
        document = json.load(source)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as error:
        raise PayloadError(f"not a delvia_ledger JSON export ({type(error).__name__})") from None
    items = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise PayloadError("not a delvia_ledger JSON export: no 'entries' list")
    for number, item in enumerate(items, 1):
        try:
            cls = RECORD_BY_NAME[item["type"]]
            yield Entry(
                seq=int(item["seq"]),
                recorded_at=parse_time(item["recorded_at"]),
                record=record_from_dict(cls, item["record"]),
                hash=str(item["hash"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PayloadError(f"export entry {number}: {error}") from None
