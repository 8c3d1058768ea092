"""Keyword filters over the columns of one record type, as storage reads take them.

Each filter is two-valued and has its SQL (written by each backend) and its Python twin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "After",
    "All",
    "AnyOf",
    "AtMost",
    "CustomId",
    "Equals",
    "Filter",
    "Missing",
    "Not",
    "OneOf",
]

# --- filters: keyword conditions over the columns of one record type ----------------------
# Each filter is two-valued: a missing value (None) never matches a comparison, and Not(f)
# holds exactly where f does not. Backends translate filters into their own query language;
# :meth:`matches` is the same condition in Python, so a rule written once as a filter decides
# both what storage returns and what the checks decide in memory.


@attrs.frozen
class AtMost:
    """``column`` is set and at most ``value`` (``<=``)."""

    column: str
    value: Any

    def matches(self, row: Mapping[str, Any]) -> bool:
        found = row[self.column]
        return found is not None and bool(found <= self.value)


@attrs.frozen
class After:
    """``column`` is set and greater than ``value`` (``>``)."""

    column: str
    value: Any

    def matches(self, row: Mapping[str, Any]) -> bool:
        found = row[self.column]
        return found is not None and bool(found > self.value)


@attrs.frozen
class Equals:
    """``column`` is set and equal to ``value``."""

    column: str
    value: Any

    def matches(self, row: Mapping[str, Any]) -> bool:
        found = row[self.column]
        return found is not None and bool(found == self.value)


@attrs.frozen
class OneOf:
    """``column`` is set and one of ``values`` (any number of them: backends do not cap it)."""

    column: str
    values: tuple[Any, ...] = attrs.field(converter=tuple)

    def matches(self, row: Mapping[str, Any]) -> bool:
        found = row[self.column]
        return found is not None and found in self.values


@attrs.frozen
class Missing:
    """``column`` is not set (None)."""

    column: str

    def matches(self, row: Mapping[str, Any]) -> bool:
        return row[self.column] is None


@attrs.frozen
class CustomId:
    """A ``SparkAuthorization`` recorded under an id other than the one its code derives.

    Only those are found through the code index (``code_key``); the rest are found by their
    derived id (``records.derived_authorization_id``).
    """

    def matches(self, row: Mapping[str, Any]) -> bool:
        return bool(row["id"] != f"auth_{row['code_key'] % (1 << 64):016x}")


@attrs.frozen
class Not:
    """Holds exactly where ``filter`` does not."""

    filter: Filter

    def matches(self, row: Mapping[str, Any]) -> bool:
        return not self.filter.matches(row)


@attrs.frozen(init=False)
class All:
    """Every one of ``filters`` holds (none given: always)."""

    filters: tuple[Filter, ...]

    def __init__(self, *filters: Filter) -> None:
        self.__attrs_init__(filters)

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(f.matches(row) for f in self.filters)


@attrs.frozen(init=False)
class AnyOf:
    """At least one of ``filters`` holds (none given: never)."""

    filters: tuple[Filter, ...]

    def __init__(self, *filters: Filter) -> None:
        self.__attrs_init__(filters)

    def matches(self, row: Mapping[str, Any]) -> bool:
        return any(f.matches(row) for f in self.filters)


Filter = AtMost | After | Equals | OneOf | Missing | CustomId | Not | All | AnyOf
