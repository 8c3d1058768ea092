"""The facade's argument checks: a ``now=``/``at=`` time, an id, a reason, a ``source=``,
refused in the user's words (the argument and the value) before anything is read or written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from .chain import SOURCES
from .records import shown, time_problem, to_utc

__all__ = ["aware", "optional_text_arg", "source_arg", "text_arg", "text_value"]


def aware(value: object, what: str) -> datetime:
    """A ``now=`` / ``at=`` / ``recorded_at=`` argument as UTC (the records' one time rule)."""
    moment = to_utc(cast(Any, value))
    if isinstance(moment, datetime) and moment.tzinfo is UTC:
        return moment
    raise ValueError(f"{what}={shown(value)}: {time_problem(value)}")


def text_arg(value: object, what: str) -> str:
    """An id or scope argument: refused unless it is text."""
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected text, got {type(value).__name__}")
    return value


def optional_text_arg(value: object, what: str) -> str | None:
    """An optional id or scope argument: None, or text."""
    return None if value is None else text_arg(value, what)


def text_value(value: object, what: str) -> str:
    """A reason or a name: non-empty text."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: expected non-empty text, got {shown(value)}")
    return value.strip()


def source_arg(value: object, what: str) -> str:
    """A ``source=`` argument: one of :data:`~delvia_ledger.chain.SOURCES`."""
    if isinstance(value, str) and value in SOURCES:
        return value
    raise ValueError(f"{what}(source={shown(value)}): source must be one of {', '.join(SOURCES)}")
