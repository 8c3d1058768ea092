"""The JSON export of the whole ledger (:func:`export_json`) and reading one back, checked
entry by entry against the chain (:func:`read_export`, for ``Ledger.replay``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, cast

from .chain import GENESIS_HASH, SOURCES, Entry, chain_hash, rebuilt_payload
from .convert import (
    RECORD_BY_NAME,
    canonical_json_of,
    format_time,
    parse_time,
    record_from_dict,
    record_to_dict,
)
from .errors import PayloadError

if TYPE_CHECKING:
    from .io import Source

__all__ = ["export_json", "read_export"]


def export_json(entries: Iterable[Entry], out: Source) -> int:
    """Write every entry as one JSON document (``{"entries": [...]}``), streamed, to a path
    (replacing any file there) or an open text file; returns the count.

    Each entry carries ``seq``, ``recorded_at``, ``type``, ``id``, ``record``, ``hash`` and
    its ``source`` (left out for entries recorded before sources were).
    """
    from .io import csv_target  # io re-exports this module's names

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
