"""The ledger's behaviour: recording versions, the rules it enforces, and reads now and as of.

These tests speak only through the public API, so a second backend could run them unchanged.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import delvia_ledger as dl

from .conftest import T0, Backend, Clock, postgres_budget
from .strategies import worlds

MAYA = dl.Creator(id="maya", handle="@maya.makes", region="US")
POST = dl.Post(id="7301", creator_id="maya", kind="VIDEO")
ACCOUNT = dl.AdAccount(id="6900", name="Brand US", region="US")
ANA = dl.Person(id="p_ana", name="Ana")
CODE = "#mX1nZq+raw/code=="


def authorization(**changes: object) -> dl.SparkAuthorization:
    fields: dict[str, object] = dict(
        creator_id="maya", post_id="7301", starts_at=T0, expires_at=T0 + timedelta(days=30)
    )
    fields.update(changes)
    return dl.SparkAuthorization.from_code(CODE, **fields)


@pytest.fixture
def seeded(ledger: dl.Ledger) -> dl.Ledger:
    ledger.record_all([MAYA, POST, ACCOUNT, ANA])
    return ledger


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_every_record_type_round_trips_through_the_ledger(
    backend: Backend, world: list[dl.Record]
) -> None:
    where = backend.fresh()
    with where.open(clock=Clock()) as ledger:
        entries = [ledger.record(record) for record in world]
    with where.open() as reopened:
        for entry, record in zip(entries, world, strict=True):
            assert reopened.get(type(record), record.id) == record
            assert reopened.history(type(record), record.id) == [entry]
        assert [e.seq for e in reopened.entries()] == list(range(1, len(world) + 1))
        assert reopened.verify().ok


def test_recording_an_unchanged_record_writes_nothing(seeded: dl.Ledger) -> None:
    first = seeded.record(authorization())
    again = seeded.record(authorization())
    assert again == first and seeded.digest().seq == first.seq
    result = seeded.record_all([MAYA, POST, authorization()])
    assert (result.written, result.unchanged) == (0, 3)


def test_a_new_version_supersedes_and_history_keeps_both(seeded: dl.Ledger, clock: Clock) -> None:
    first = seeded.record(authorization())
    clock.advance(days=1)
    second = seeded.record(authorization(owner_id="p_ana"))
    assert seeded.get(dl.SparkAuthorization, first.record.id) == second.record
    assert [e.seq for e in seeded.history(dl.SparkAuthorization, first.record.id)] == [
        first.seq,
        second.seq,
    ]
    assert second.recorded_at == T0 + timedelta(days=1)
    assert seeded.as_of(seq=first.seq).get(dl.SparkAuthorization, first.record.id) == first.record
    assert seeded.as_of(recorded_at=T0).get(dl.SparkAuthorization, first.record.id) == first.record
    assert (
        seeded.as_of(recorded_at="2026-11-25T09:00:00Z").get(dl.SparkAuthorization, first.record.id)
        == second.record
    )
    assert seeded.as_of(seq=0).get(dl.Creator, "maya") is None


def test_recorded_at_never_decreases_even_if_the_clock_goes_back(
    ledger: dl.Ledger, clock: Clock
) -> None:
    ledger.record(MAYA)
    clock.advance(hours=-5)
    entry = ledger.record(attrs.evolve(MAYA, handle="@maya2"))
    assert entry.recorded_at == T0


def test_authorization_for_finds_a_record_from_the_raw_code(seeded: dl.Ledger) -> None:
    auth = seeded.record(authorization()).record
    assert seeded.authorization_for(f"  {CODE}\n") == auth
    assert seeded.authorization_for("#some-other-code=") is None
    assert seeded.as_of(seq=0).authorization_for(CODE) is None


@pytest.mark.parametrize(
    ("record", "error", "message"),
    [
        (
            dl.Post(id="1", creator_id="ghost", kind="VIDEO"),
            dl.MissingReferenceError,
            "Post '1': creator_id='ghost' refers to a Creator that is not in the ledger",
        ),
        (
            authorization(post_id="nope"),
            dl.MissingReferenceError,
            "post_id='nope' refers to a Post",
        ),
        (authorization(ad_account_id="nope"), dl.MissingReferenceError, "ad_account_id='nope'"),
        (
            authorization(owner_id="nope"),
            dl.MissingReferenceError,
            "owner_id='nope' refers to a Person",
        ),
        (
            dl.SparkAd(
                id="d", ad_account_id="6900", authorization_id="nope", intended_post_id="7301"
            ),
            dl.MissingReferenceError,
            "authorization_id='nope' refers to a SparkAuthorization",
        ),
        (
            dl.RoleGrant(
                id="g", person_id="p_ana", scope="ad_account:nope", role="ADMIN", granted_at=T0
            ),
            dl.MissingReferenceError,
            "scope='nope' refers to a AdAccount",
        ),
        (
            dl.RoleGrant(
                id="g",
                person_id="ghost",
                scope="business_center:bc",
                role="BC_ADMIN",
                granted_at=T0,
            ),
            dl.MissingReferenceError,
            "person_id='ghost'",
        ),
    ],
)
def test_references_must_exist_and_nothing_is_written(
    seeded: dl.Ledger, record: dl.Record, error: type[Exception], message: str
) -> None:
    before = seeded.digest()
    with pytest.raises(error, match=message):
        seeded.record(record)
    with pytest.raises(error):
        seeded.record_all([dl.Creator(id="new", handle="@new", region=None), record])
    assert seeded.digest() == before and seeded.get(dl.Creator, "new") is None


def test_references_may_point_at_records_earlier_in_the_same_transaction(ledger: dl.Ledger) -> None:
    with ledger.transaction():
        ledger.record(MAYA)
        ledger.record(POST)
    ledger.record_all([ACCOUNT, ANA, authorization(ad_account_id="6900", owner_id="p_ana")])
    assert ledger.get(dl.SparkAuthorization, authorization().id) is not None
    with pytest.raises(dl.MissingReferenceError):  # but not at later ones
        ledger.record_all(
            [
                dl.Post(id="2", creator_id="leo", kind="VIDEO"),
                dl.Creator(id="leo", handle="@leo", region=None),
            ]
        )


def test_a_code_must_be_for_its_creators_post(seeded: dl.Ledger) -> None:
    seeded.record(dl.Creator(id="leo", handle="@leo", region="GB"))
    with pytest.raises(
        dl.InconsistentReferenceError, match="belongs to creator 'maya', not creator_id='leo'"
    ):
        seeded.record(authorization(creator_id="leo"))


def test_the_same_code_cannot_be_recorded_under_two_ids(seeded: dl.Ledger) -> None:
    seeded.record(authorization())
    with pytest.raises(dl.DuplicateCodeError, match="already recorded as authorization") as error:
        seeded.record(authorization(id="custom"))
    assert CODE not in str(error.value)


# "auth_c0ffee" looks like a derived id but is not the one this code derives.
@pytest.mark.parametrize(
    ("first_id", "second_id"),
    [(None, "custom"), ("custom", None), ("custom", "other"), ("auth_c0ffee", None)],
)
@pytest.mark.parametrize("together", [False, True], ids=["two calls", "one record_all"])
def test_a_code_held_under_any_id_refuses_a_second_id(
    seeded: dl.Ledger, first_id: str | None, second_id: str | None, together: bool
) -> None:
    first, second = (authorization(**({"id": i} if i else {})) for i in (first_id, second_id))
    if not together:
        seeded.record(first)
    with pytest.raises(
        dl.DuplicateCodeError, match=f"already recorded as authorization {first.id!r}"
    ):
        seeded.record_all([first, second] if together else [second])
    assert seeded.authorization_for(CODE) == (None if together else first)
    assert seeded.get(dl.SparkAuthorization, second.id) is None


def test_authorization_for_finds_a_code_recorded_under_a_custom_id(seeded: dl.Ledger) -> None:
    entry = seeded.record(authorization(id="summer-campaign"))
    seeded.record(authorization(id="summer-campaign", owner_id=None, revoked_at=T0))
    assert seeded.authorization_for(CODE) == seeded.get(dl.SparkAuthorization, "summer-campaign")
    assert seeded.as_of(seq=entry.seq).authorization_for(CODE) == entry.record
    assert seeded.as_of(seq=entry.seq - 1).authorization_for(CODE) is None


@pytest.mark.parametrize(
    ("first", "second", "error", "message"),
    [
        (
            POST,
            attrs.evolve(POST, creator_id="leo"),
            dl.ImmutableFieldError,
            "creator_id cannot change",
        ),
        (
            ACCOUNT,
            attrs.evolve(ACCOUNT, region="GB"),
            dl.ImmutableFieldError,
            "region cannot change",
        ),
        (
            authorization(),
            attrs.evolve(authorization(), code=dl.SparkCode("#another=code")),
            dl.ImmutableFieldError,
            "code cannot change",
        ),
        (
            authorization(revoked_at=T0),
            authorization(),
            dl.IrreversibleChangeError,
            "revoked_at .* cannot be cleared",
        ),
        (
            authorization(revoked_at=T0),
            authorization(revoked_at=T0 + timedelta(days=1)),
            dl.IrreversibleChangeError,
            "cannot be moved",
        ),
        (attrs.evolve(ANA, left_at=T0), ANA, dl.IrreversibleChangeError, "left_at"),
    ],
)
def test_identity_fields_and_one_way_changes_hold(
    seeded: dl.Ledger, first: dl.Record, second: dl.Record, error: type[Exception], message: str
) -> None:
    seeded.record(first)
    before = seeded.digest()
    with pytest.raises(error, match=message) as raised:
        seeded.record(second)
    assert CODE not in str(raised.value)
    assert seeded.digest() == before and seeded.get(type(first), first.id) == first


def test_a_transaction_is_all_or_nothing_and_nested_blocks_join_it(seeded: dl.Ledger) -> None:
    before = seeded.digest()
    with pytest.raises(RuntimeError), seeded.transaction():
        seeded.record(dl.Creator(id="leo", handle="@leo", region=None))
        raise RuntimeError("boom")
    assert seeded.get(dl.Creator, "leo") is None and seeded.digest() == before

    with seeded.transaction():
        seeded.record(dl.Creator(id="leo", handle="@leo", region=None))
        with pytest.raises(dl.MissingReferenceError), seeded.transaction():
            seeded.record(dl.Creator(id="zoe", handle="@zoe", region=None))
            seeded.record(dl.Post(id="x", creator_id="ghost", kind="VIDEO"))
        seeded.record(dl.Creator(id="kim", handle="@kim", region=None))
    assert seeded.get(dl.Creator, "zoe") is None
    assert [seeded.get(dl.Creator, c) is not None for c in ("leo", "kim")] == [True, True]
    assert seeded.verify().ok and seeded.digest().seq == before.seq + 2


def test_record_all_streams_a_generator_in_batches(ledger: dl.Ledger) -> None:
    creators = (dl.Creator(id=f"c{i}", handle=f"@c{i}", region=None) for i in range(2500))
    result = ledger.record_all(creators, batch_size=1000)
    assert (result.written, result.unchanged, result.last_seq) == (2500, 0, 2500)
    assert ledger.verify() == dl.VerifyResult(ok=True, checked=2500)


def test_record_all_handles_several_versions_of_one_record(ledger: dl.Ledger) -> None:
    versions = [dl.Creator(id="maya", handle=f"@v{i}", region=None) for i in range(3)]
    ledger.record_all([*versions, versions[-1]])
    assert [e.record for e in ledger.history(dl.Creator, "maya")] == versions
    assert ledger.get(dl.Creator, "maya") == versions[-1]
    assert ledger.as_of(seq=2).get(dl.Creator, "maya") == versions[1]


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_versions_in_one_call_supersede_each_other_within_and_across_batches(
    ledger: dl.Ledger, batch_size: int
) -> None:
    ledger.record(dl.Creator(id="a", handle="@a0", region=None))
    calls = [dl.Creator(id=i, handle=f"@{i}{n}", region=None) for n in (1, 2) for i in "ab"]
    calls.append(dl.Creator(id="a", handle="@a3", region=None))
    ledger.record_all(calls, batch_size=batch_size)
    expected: dict[str, dl.Creator] = {}
    for seq, record in enumerate([dl.Creator(id="a", handle="@a0", region=None), *calls], 1):
        expected[record.id] = record
        view = ledger.as_of(seq=seq)
        assert {i: view.get(dl.Creator, i) for i in expected} == expected
    assert [c.handle for c in ledger.records(dl.Creator)] == ["a3", "b2"]


def test_bad_arguments_are_clear(ledger: dl.Ledger) -> None:
    with pytest.raises(dl.InvalidRecordError, match="not one of Creator"):
        ledger.record("maya")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a record type"):
        ledger.get(str, "maya")  # type: ignore[type-var]
    with pytest.raises(ValueError, match="exactly one of"):
        ledger.as_of()
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.as_of(recorded_at="2026-11-24T09:00:00")
    with pytest.raises(ValueError, match="seq must be"):
        ledger.as_of(seq=-1)


def test_as_of_recorded_at_finds_the_last_entry_at_or_before(
    ledger: dl.Ledger, clock: Clock
) -> None:
    for day in range(10):
        clock.now = T0 + timedelta(days=day)
        ledger.record(dl.Creator(id=f"c{day}", handle="@c", region=None))
    assert ledger.as_of(recorded_at=T0 - timedelta(seconds=1)).seq == 0
    assert ledger.as_of(recorded_at=T0 + timedelta(days=4, hours=1)).seq == 5
    assert ledger.as_of(recorded_at=T0 + timedelta(days=99)).seq == 10
    assert ledger.as_of(seq=3).as_of(seq=7).seq == 3


class LedgerMachine(RuleBasedStateMachine):
    """Random versions of creators and people against a plain in-memory model of the ledger."""

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.clock = Clock()
        self.ledger = backend.fresh().open(clock=self.clock)
        self.log: list[dl.Record] = []  # the model: entry seq n is self.log[n - 1]

    def current(self, cls: type[dl.Record], id_: str, seq: int | None = None) -> dl.Record | None:
        found = [r for r in self.log[:seq] if type(r) is cls and r.id == id_]
        return found[-1] if found else None

    @rule(
        id_=st.sampled_from("abc"),
        handle=st.sampled_from(["@x", "@y"]),
        region=st.sampled_from([None, "US", "DE"]),
    )
    def record_creator(self, id_: str, handle: str, region: str | None) -> None:
        creator = dl.Creator(id=id_, handle=handle, region=region)
        entry = self.ledger.record(creator)
        if self.current(dl.Creator, id_) != creator:
            self.log.append(creator)
        assert entry.seq == len(self.log) if self.log[-1] == creator else entry.seq < len(self.log)

    @rule(id_=st.sampled_from("pq"), leave=st.booleans(), name=st.sampled_from(["Ana", "Bo"]))
    def record_person(self, id_: str, leave: bool, name: str) -> None:
        old = self.current(dl.Person, id_)
        assert old is None or isinstance(old, dl.Person)
        left_at = old.left_at if old and old.left_at else (self.clock.now if leave else None)
        person = dl.Person(id=id_, name=name, left_at=left_at)
        self.ledger.record(person)
        if old != person:
            self.log.append(person)

    @precondition(lambda self: any(isinstance(r, dl.Person) and r.left_at for r in self.log))
    @rule()
    def undoing_a_departure_is_refused(self) -> None:
        person = next(r for r in reversed(self.log) if isinstance(r, dl.Person) and r.left_at)
        current = self.current(dl.Person, person.id)
        assert isinstance(current, dl.Person)
        with pytest.raises(dl.IrreversibleChangeError):
            self.ledger.record(attrs.evolve(current, left_at=None))

    @rule(id_=st.sampled_from("abc"))
    def a_post_needs_its_creator(self, id_: str) -> None:
        post = dl.Post(id=f"post-{id_}", creator_id=id_, kind="VIDEO")
        if self.current(dl.Creator, id_) is None:
            with pytest.raises(dl.MissingReferenceError):
                self.ledger.record(post)
        else:
            self.ledger.record(post)
            if self.current(dl.Post, post.id) != post:
                self.log.append(post)

    @rule(hours=st.integers(0, 48))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @invariant()
    def reads_match_the_model(self) -> None:
        assert self.ledger.digest().seq == len(self.log)
        for cls, id_ in [
            (dl.Creator, "a"),
            (dl.Creator, "c"),
            (dl.Person, "p"),
            (dl.Post, "post-b"),
        ]:
            assert self.ledger.get(cls, id_) == self.current(cls, id_)
            assert [e.record for e in self.ledger.history(cls, id_)] == [
                r for r in self.log if type(r) is cls and r.id == id_
            ]
        for seq in {0, len(self.log) // 2, len(self.log)}:
            view = self.ledger.as_of(seq=seq)
            assert view.get(dl.Creator, "b") == self.current(dl.Creator, "b", seq)
            assert view.verify(deep=True).ok
        assert self.ledger.verify(deep=True) == dl.VerifyResult(True, len(self.log))

    def teardown(self) -> None:
        self.ledger.close()


def test_the_ledger_behaves_like_its_model(backend: Backend) -> None:
    """The stateful test, on each backend: every example on a fresh ledger (fewer on
    PostgreSQL, where each pays for a fresh schema: see ``postgres_budget``)."""
    machine: Any = functools.partial(LedgerMachine, backend)  # a factory, typed either way
    examples = 25 if backend.name == "sqlite" else postgres_budget(25)
    run_state_machine_as_test(  # type: ignore[no-untyped-call, unused-ignore]
        machine,
        settings=settings(max_examples=examples, stateful_step_count=20, deadline=None),
    )
