"""CSV import/export of each record type and a JSON export of the whole ledger.

CSV files have a header row of field names; times are ISO-8601 with an offset; empty cells are
None. A Spark code is exported as ``code_fingerprint`` and ``code_hint`` (never the raw code);
an import accepts either a raw ``code`` column or those two.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

import attrs

from .convert import canonical_json, format_time, record_from_dict, record_to_dict
from .errors import InvalidRecordError, PayloadError
from .records import Record, SparkCode
from .store import Entry

__all__ = ["csv_columns", "export_json", "read_csv", "read_csv_rows", "write_csv"]

R = TypeVar("R", bound=Record)


def csv_columns(cls: type[Record]) -> list[str]:
    """The export header of a record type (a code becomes ``code_fingerprint, code_hint``)."""
    columns = []
    for field in attrs.fields(cls):
        columns += ["code_fingerprint", "code_hint"] if field.name == "code" else [field.name]
    return columns


def write_csv(records: Iterable[Record], cls: type[Record], out: IO[str]) -> int:
    """Write ``records`` of type ``cls`` as CSV with a header row; returns the row count."""
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
                row.append(json.dumps(value, ensure_ascii=False))
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
    """(line number, record) pairs from CSV; a bad row raises with its line number."""
    reader = csv.DictReader(source)
    names = {field.name for field in attrs.fields(cls)}
    lists = [f.name for f in attrs.fields(cls) if str(f.type).startswith("tuple")]
    header = set(reader.fieldnames or ())
    unknown = header - names - {"code_fingerprint", "code_hint"}
    if not reader.fieldnames or unknown:
        raise PayloadError(
            f"line 1: the header must name {cls.__name__} fields"
            + (f"; unknown column(s) {', '.join(sorted(unknown))}" if unknown else "")
        )
    for row in reader:
        line = reader.line_num
        if None in row:
            raise PayloadError(f"line {line}: more cells than columns in the header")
        data: dict[str, Any] = {key: value or None for key, value in row.items()}
        for name in lists:
            if data.get(name) is not None:
                try:
                    data[name] = json.loads(data[name])
                except json.JSONDecodeError:
                    raise PayloadError(
                        f"line {line}: {cls.__name__}.{name} must be a JSON list, "
                        'e.g. ["EXPIRING/authorization=auth_1"]'
                    ) from None
            elif name in data:
                data[name] = []
        if data.get("code_fingerprint") is None:
            data.pop("code_fingerprint", None)
        else:
            fingerprint = data.pop("code_fingerprint")
            try:
                data["code"] = SparkCode.from_fingerprint(fingerprint, data.pop("code_hint") or "…")
            except InvalidRecordError as error:
                raise PayloadError(f"line {line}: {error}") from None
        data.pop("code_hint", None)
        if isinstance(data.get("code"), str):  # a raw code from the user's own sheet
            data["code"] = SparkCode(data["code"])
        try:
            yield line, record_from_dict(cls, data)
        except InvalidRecordError as error:
            raise PayloadError(f"line {line}: {error}") from None


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
