"""pandas DataFrames of a ledger's records and findings, for notebooks (``dl.frames``).

pandas is an optional extra (``pip install 'delvia-ledger[notebooks]'``), imported on first use.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import attrs

from .checks import DEFAULT_WITHIN, Within
from .findings import Finding
from .records import RECORD_TYPES, Record, SparkCode

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    from .ledger import LedgerView

__all__ = ["CATALOGUE_COLUMNS", "FINDINGS", "findings_frame", "frames", "notebooks_extra"]

#: The name of the findings frame in :func:`frames` (record frames are named by their type).
FINDINGS = "findings"

#: The catalogue's text added to each finding's row, after the finding's own fields.
CATALOGUE_COLUMNS = ("cause", "meaning", "remedy", "where")

#: How a kind of value is held in a column (pandas' nullable dtypes keep None as missing).
_DTYPES = {
    "time": "datetime64[us, UTC]",
    "text": "string",
    "flag": "boolean",
    "number": "Int64",
    "other": "object",
}


@contextmanager
def notebooks_extra() -> Iterator[None]:
    """Turn a missing pandas or matplotlib into an error that says how to install them."""
    try:
        yield
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"{exc.name or 'a notebook dependency'} is not installed; "
            "pip install 'delvia-ledger[notebooks]' for pandas and matplotlib",
            name=exc.name,
        ) from exc


def frames(
    ledger: LedgerView, *, within: Within = DEFAULT_WITHIN, now: datetime | str | None = None
) -> dict[str, pd.DataFrame]:
    """One DataFrame per record type (the current records this view sees), plus ``"findings"``.

    Frames are keyed by record type name (``"Creator"``, ``"SparkAuthorization"``, …); times are
    UTC ``datetime64`` columns, enums are text, a code appears only as its ``code_hint``.
    ``within`` and ``now`` are passed to :meth:`~delvia_ledger.Ledger.findings`.
    """
    tables = {cls.__name__: record_frame(ledger.records(cls), cls) for cls in RECORD_TYPES}
    tables[FINDINGS] = findings_frame(ledger.findings(within, now=now))
    return tables


def to_frame(
    ledger: LedgerView,
    kind: type[Record] | str,
    *,
    within: Within = DEFAULT_WITHIN,
    now: datetime | str | None = None,
) -> pd.DataFrame:
    """One frame of :func:`frames`: ``kind`` is a record type, its name, or ``"findings"``."""
    if isinstance(kind, str) and kind.strip().lower() == FINDINGS:
        return findings_frame(ledger.findings(within, now=now))
    cls = _record_type(kind)
    return record_frame(ledger.records(cls), cls)


def record_frame(records: Iterable[Record], cls: type[Record]) -> pd.DataFrame:
    """Records of type ``cls`` as a frame: one row per record, one column per field."""
    return _frame(cls, ((record, ()) for record in records), ())


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a frame: one column per field of :class:`Finding`, then the catalogue's text."""
    rows = (
        (finding, tuple(getattr(finding, name) for name in CATALOGUE_COLUMNS))
        for finding in findings
    )
    return _frame(Finding, rows, CATALOGUE_COLUMNS)


def _frame(
    cls: type[Any], rows: Iterable[tuple[Any, tuple[str, ...]]], extra: tuple[str, ...]
) -> pd.DataFrame:
    with notebooks_extra():
        import pandas as pd

    fields = [(field.name, _kind_of(hint)) for field, hint in _typed_fields(cls)]
    columns: dict[str, list[Any]] = {_column_name(name, kind): [] for name, kind in fields}
    columns.update({name: [] for name in extra})
    for item, texts in rows:
        for name, kind in fields:
            value = getattr(item, name)
            if kind == "code":
                value = value.hint if isinstance(value, SparkCode) else None
            elif isinstance(value, Enum):
                value = value.value
            columns[_column_name(name, kind)].append(value)
        for name, text in zip(extra, texts, strict=True):
            columns[name].append(text)
    dtypes = {_column_name(name, kind): _DTYPES.get(kind, "string") for name, kind in fields}
    dtypes.update({name: "string" for name in extra})
    return pd.DataFrame(
        {
            name: (
                pd.Series(pd.to_datetime(values, utc=True), dtype=dtypes[name])
                if dtypes[name] == _DTYPES["time"]
                else pd.Series(values, dtype=dtypes[name])
            )
            for name, values in columns.items()
        }
    )


def _column_name(field: str, kind: str) -> str:
    # A code is shown as its hint, never as anything that could be the code itself.
    return f"{field}_hint" if kind == "code" else field


def _typed_fields(cls: type[Any]) -> list[tuple[attrs.Attribute[Any], Any]]:
    """The fields of ``cls`` with their resolved types, ``id`` first when there is one."""
    hints = typing.get_type_hints(cls)
    fields = sorted(attrs.fields(cls), key=lambda field: field.name != "id")  # stable
    return [(field, hints.get(field.name, field.type)) for field in fields]


def _kind_of(hint: Any) -> str:
    """``"time"``, ``"code"``, ``"text"``, ``"flag"``, ``"number"`` or ``"other"``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = options[0] if len(options) == 1 else Any
    if not isinstance(hint, type):
        return "other"
    for cls, kind in (
        (datetime, "time"),
        (SparkCode, "code"),
        (str, "text"),  # enums here are StrEnums: their values are text
        (bool, "flag"),
        (int, "number"),
    ):
        if issubclass(hint, cls):
            return kind
    return "other"


def _record_type(kind: type[Record] | str) -> type[Record]:
    if isinstance(kind, str):
        for cls in RECORD_TYPES:
            if cls.__name__.lower() == kind.strip().lower():
                return cls
    elif kind in RECORD_TYPES:
        return kind
    names = ", ".join([cls.__name__ for cls in RECORD_TYPES] + [FINDINGS])
    shown = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    raise ValueError(f"to_frame({shown!r}): the kind must be one of {names}")
