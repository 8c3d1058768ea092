"""The storage seam: filters mean the same in storage and in memory; a hot id costs no more."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.convert import to_micros
from delvia_ledger.rules import (
    EXPIRED,
    LIVE,
    NOT_YET_ACTIVE,
    REVOKED,
    Auth,
    code_ended,
    code_expiring,
    code_live,
    code_state,
)
from delvia_ledger.storage import (
    After,
    All,
    AnyOf,
    AtMost,
    CustomId,
    Equals,
    Filter,
    Missing,
    Not,
    OneOf,
    Storage,
    predicate,
)
from delvia_ledger.storage.sqlite import Store

from .conftest import T0, Clock

HOURS = [T0 + timedelta(hours=h) for h in range(6)]
MICROS = [to_micros(moment) for moment in HOURS]
NAMES = ["Ana", "Bo", "Cy"]
FIELDS = ("seq", "id", "name", "email", "left_at")


@pytest.fixture
def people(tmp_path: Path, clock: Clock) -> Iterator[tuple[dl.Ledger, int]]:
    """Twelve people, some recorded twice (the first versions are superseded), and the seq
    after the first versions."""
    with dl.Ledger.open(tmp_path / "people.db", clock=clock) as ledger:
        first = [
            dl.Person(
                id=f"p{i}",
                name=NAMES[i % 3],
                email=None if i % 4 == 0 else f"p{i}@example.com",
                left_at=None if i % 5 == 0 else HOURS[i % len(HOURS)],
            )
            for i in range(12)
        ]
        ledger.record_all(first)
        middle = ledger.seq
        ledger.record_all(
            [attrs.evolve(p, name=NAMES[(i + 1) % 3]) for i, p in enumerate(first[:5])]
        )
        yield ledger, middle


def filters() -> st.SearchStrategy[Filter]:
    times = st.sampled_from(MICROS)
    leaves = st.one_of(
        st.builds(AtMost, st.just("left_at"), times),
        st.builds(After, st.just("left_at"), times),
        st.builds(AtMost, st.just("seq"), st.integers(0, 20)),
        st.builds(Equals, st.sampled_from(["name", "id"]), st.sampled_from([*NAMES, "p3"])),
        st.builds(OneOf, st.just("name"), st.lists(st.sampled_from(NAMES), max_size=2)),
        st.builds(OneOf, st.just("id"), st.lists(st.sampled_from(["p1", "p2", "p7", "x"]))),
        st.builds(Missing, st.sampled_from(["email", "left_at"])),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.lists(inner, max_size=3).map(lambda fs: All(*fs)),
            st.lists(inner, max_size=3).map(lambda fs: AnyOf(*fs)),
        ),
        max_leaves=6,
    )


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=filters(), as_of=st.booleans())
def test_a_filter_keeps_in_storage_what_it_keeps_in_memory(
    people: tuple[dl.Ledger, int], where: Filter, as_of: bool
) -> None:
    ledger, middle = people
    store: Storage = ledger._store
    bound = middle if as_of else None
    rows = list(store.current_rows(dl.Person, FIELDS, bound=bound))
    assert len(rows) == 12  # every person, each in the version current at the bound
    kept = {row[1] for row in rows if where.matches(dict(zip(FIELDS, row, strict=True)))}
    holds = predicate(where, FIELDS)
    assert {row[1] for row in rows if holds(row)} == kept
    found = store.current_rows(dl.Person, ("id",), bound=bound, where=where)
    assert {id_ for (id_,) in found} == kept


def test_a_custom_id_is_told_from_a_derived_one(ledger: dl.Ledger) -> None:
    ledger.record_all(
        [dl.Creator(id="maya", region="US"), dl.Post(id="7301", creator_id="maya", kind="VIDEO")]
    )
    window = {"creator_id": "maya", "post_id": "7301", "starts_at": T0, "expires_at": HOURS[5]}
    ledger.record_all(
        [
            dl.SparkAuthorization.from_code("#derived-code=", **window),
            dl.SparkAuthorization.from_code("#custom-code=", id="summer", **window),
        ]
    )
    store: Storage = ledger._store
    rows = list(store.current_rows(dl.SparkAuthorization, ("id", "code_key")))
    custom = {i for (i,) in store.current_rows(dl.SparkAuthorization, ("id",), where=CustomId())}
    assert custom == {i for i, key in rows if CustomId().matches({"id": i, "code_key": key})}
    assert custom == {"summer"} and len(rows) == 2
    assert predicate(CustomId(), ("id", "code_key"))(rows[0]) == (rows[0][0] == "summer")


def test_a_column_outside_the_fixed_set_is_refused(ledger: dl.Ledger) -> None:
    store: Storage = ledger._store
    with pytest.raises(ValueError, match=r"no column 'name; DROP TABLE entries' here"):
        list(store.current_rows(dl.Person, ("name; DROP TABLE entries",)))
    with pytest.raises(ValueError, match=r"no column 'v\.name' here"):
        list(store.current_rows(dl.Person, ("id",), where=Equals("v.name", "x")))


auth_rows = st.tuples(
    st.just("a"),
    st.just("c"),
    st.just("p"),
    st.sampled_from(MICROS),
    st.sampled_from(MICROS),
    st.none(),
    st.none(),
    st.one_of(st.none(), st.sampled_from(MICROS)),
    st.integers(1, 10),
)


@settings(max_examples=200)
@given(row=auth_rows, t=st.sampled_from(MICROS), h=st.sampled_from(MICROS))
def test_a_codes_state_is_the_rules_and_exactly_one_holds(
    row: tuple[Any, ...], t: int, h: int
) -> None:
    """DESIGN §6 in the words of the contract, against the one definition the checks use."""
    auth = Auth(*row)
    state = code_state(t)(row)
    revoked = auth.revoked_at is not None and auth.revoked_at <= t
    expected = (
        REVOKED
        if revoked
        else EXPIRED
        if auth.expires_at <= t
        else NOT_YET_ACTIVE
        if auth.starts_at > t
        else LIVE
    )
    assert state == expected
    fields = Auth._fields
    assert predicate(code_live(t), fields)(row) == (state == LIVE)
    assert predicate(code_ended(t), fields)(row) == (state in (REVOKED, EXPIRED))
    assert predicate(code_expiring(t, h), fields)(row) == (not revoked and t < auth.expires_at <= h)


def _steps(ledger: dl.Ledger, run: Callable[[], object]) -> int:
    """SQLite virtual-machine steps ``run`` takes: the work, counted rather than timed."""
    count = 0

    def step() -> int:
        nonlocal count
        count += 1
        return 0

    store = ledger._store
    assert isinstance(store, Store)  # the steps of SQLite's own VM
    conn = store.conn
    conn.set_progress_handler(step, 1)
    try:
        run()
    finally:
        conn.set_progress_handler(None, 1)
    return count


@pytest.mark.sqlite_only  # counts SQLite's virtual-machine steps
def test_the_current_version_of_a_hot_id_is_one_index_step_away(
    ledger: dl.Ledger, clock: Clock
) -> None:
    """get() and record() of an id with 32,000 versions cost what they cost for a fresh id
    (``superseded_by IS NULL`` would walk all 32,000), now and in an as_of view."""
    ledger.record_all(dl.Person(id="hot", name=f"name {i}") for i in range(32_000))
    ledger.record_all([dl.Person(id="fresh", name="name 0")])
    view = ledger.as_of(seq=16_000)
    hot = _steps(ledger, lambda: ledger.get(dl.Person, "hot"))
    fresh = _steps(ledger, lambda: ledger.get(dl.Person, "fresh"))
    assert hot <= 2 * fresh
    assert view.get(dl.Person, "hot") == dl.Person(id="hot", name="name 15999")
    hot_then = _steps(ledger, lambda: view.get(dl.Person, "hot"))
    assert hot_then <= 2 * fresh
    clock.advance(seconds=1)
    hot = _steps(ledger, lambda: ledger.record(dl.Person(id="hot", name="again")))
    fresh = _steps(ledger, lambda: ledger.record(dl.Person(id="fresh", name="again")))
    assert hot <= 2 * fresh
    assert ledger.get(dl.Person, "hot") == dl.Person(id="hot", name="again")
