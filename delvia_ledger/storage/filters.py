"""Keyword filters over the columns of one record type, as storage reads take them.

Each filter is two-valued and has its SQL (written by each backend) and its Python twin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import attrs

from ..convert import generated
from ..records import derived_authorization_id

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
    "first_match",
    "predicate",
]

# --- filters: keyword conditions over the columns of one record type ----------------------
# Each filter is two-valued: a missing value (None) never matches a comparison, and Not(f)
# holds exactly where f does not. Backends translate filters into their own query language;
# :meth:`matches` is the same condition in Python over a mapping, and :func:`predicate` the
# same again compiled for tuples in hot loops, so a rule written once as a filter decides
# both what storage returns and what the checks decide in memory.


def _as_tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


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
    values: tuple[Any, ...] = attrs.field(converter=_as_tuple)

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
        return bool(row["id"] != derived_id_of_key(row["code_key"]))


def derived_id_of_key(code_key: int) -> str:
    """The derived id of the code whose ``code_key`` (its fingerprint's first 64 bits, signed)
    is given: the 16 hex digits back, through ``records.derived_authorization_id``."""
    return derived_authorization_id(f"{code_key % (1 << 64):016x}")


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


def predicate(where: Filter, fields: Sequence[str]) -> Callable[[Sequence[Any]], bool]:
    """``where`` as a fast Python function of a row tuple whose items are ``fields``.

    Compiled once (a rule's filter is built once per query), it costs one call per row where
    :meth:`matches` would walk the filter; both say the same.

    >>> active = predicate(All(AtMost("starts_at", 5), Not(AtMost("revoked_at", 5))),
    ...                    ("starts_at", "revoked_at"))
    >>> active((3, None)), active((3, 4)), active((6, None))
    (True, False, False)
    """
    return cast(Callable[[Sequence[Any]], bool], _compiled(where, fields))


def first_match(cases: Sequence[Filter], fields: Sequence[str]) -> Callable[[Sequence[Any]], int]:
    """A fast function of a row tuple (items ``fields``): the index of the first of ``cases``
    that holds, ``len(cases)`` if none does. One compiled call decides a row's state.

    >>> state = first_match((AtMost("revoked_at", 5), AtMost("expires_at", 5)),
    ...                     ("expires_at", "revoked_at"))
    >>> state((9, 4)), state((4, None)), state((9, None))
    (0, 1, 2)
    """
    return cast(Callable[[Sequence[Any]], int], _compiled(cases, fields))


def _compiled(
    cases: Filter | Sequence[Filter], fields: Sequence[str]
) -> Callable[[Sequence[Any]], object]:
    """Compile a predicate (one filter) or a first-match (a sequence of filters)."""
    values: list[Any] = []
    at = {name: i for i, name in enumerate(fields)}
    lines = ["    def holds(r):"]
    if isinstance(cases, Sequence):
        for i, case in enumerate(cases):
            lines += [f"        if {_python(case, at, values)}:", f"            return {i}"]
        lines.append(f"        return {len(cases)}")
    else:
        lines.append(f"        return bool({_python(cases, at, values)})")
    # The source names the values v0, v1, ... (not their text), so a rule built again for
    # another time compiles to the same source: compiled once per process, bound per call.
    source = "\n".join(lines)
    if (make := _MADE.get(source)) is None:
        head = f"def make({', '.join(f'v{i}' for i in range(len(values)))}):"
        names: dict[str, Any] = {}
        code = f"{head}\n{source}\n    return holds\n"
        make = _MADE[source] = generated(code, "make", "filter", names)
    holds: Callable[[Sequence[Any]], object] = make(*values)
    return holds


#: Compiled filter sources -> the function that binds their values (a few dozen shapes).
_MADE: dict[str, Callable[..., Callable[[Sequence[Any]], object]]] = {}


def _python(where: Filter, at: dict[str, int], values: list[Any]) -> str:
    def cell(column: str) -> str:
        try:
            return f"r[{at[column]}]"
        except KeyError:
            raise ValueError(f"the filter names {column!r}, which the rows lack") from None

    def value(item: Any) -> str:
        values.append(item)
        return f"v{len(values) - 1}"

    if isinstance(where, AtMost | After | Equals):
        op = {AtMost: "<=", After: ">", Equals: "=="}[type(where)]
        c = cell(where.column)
        return f"({c} is not None and {c} {op} {value(where.value)})"
    if isinstance(where, OneOf):
        c = cell(where.column)
        try:
            members: Any = frozenset(where.values)
        except TypeError:  # unhashable values: compared one by one
            members = where.values
        return f"({c} is not None and {c} in {value(members)})"
    if isinstance(where, Missing):
        return f"({cell(where.column)} is None)"
    if isinstance(where, CustomId):
        return f"({cell('id')} != {value(derived_id_of_key)}({cell('code_key')}))"
    if isinstance(where, Not):
        return f"(not {_python(where.filter, at, values)})"
    if isinstance(where, All):
        return (
            "(" + " and ".join(_python(f, at, values) for f in where.filters) + ")"
            if where.filters
            else "True"
        )
    if isinstance(where, AnyOf):
        return (
            "(" + " or ".join(_python(f, at, values) for f in where.filters) + ")"
            if where.filters
            else "False"
        )
    raise TypeError(f"not a storage filter: {where!r}")
