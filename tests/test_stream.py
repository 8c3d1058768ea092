"""``iter_findings``: the findings streamed, in exactly the order today's sorted list has them;
``changes``: the findings of two points compared."""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Generator, Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger import checks as checks_module
from delvia_ledger.checks import CODE_KINDS, Checks, Within, horizon
from delvia_ledger.convert import to_micros
from delvia_ledger.ownership_checks import account_findings, roles_expiring

from .builders import code, world
from .conftest import T0, Backend

DAY = timedelta(days=1)
# half days: few enough distinct deadlines that many findings tie on their sort key
offsets = st.integers(-6, 6).map(lambda d: d * DAY / 2)
POSTS = ["7301", "7302"]
OWNERS = [None, "ana", "bo", "cy"]  # bo leaves, cy holds no role, None is no owner


def reference(checks: Checks, within: Within) -> list[dl.Finding]:
    """A private copy of ``Checks.findings`` before streaming: the parts concatenated, then one
    stable sort."""
    h = to_micros(horizon(checks.now, within))
    found = checks.code_findings(checks.world.auth_rows(), CODE_KINDS, h)
    found += checks.outlived_by_ads()
    found += checks.mismatched_posts()
    found += checks.unbound_ads()
    found += checks.not_authorized()
    found += checks.region_incompatible()
    found += account_findings(checks.world)
    found += roles_expiring(checks.world, h)
    found.sort(key=dl.Finding.sort_key)
    return found


def expected(view: dl.LedgerView, within: Within, now: datetime) -> list[dl.Finding]:
    with view._store.snapshot():
        return reference(view.checks(now), within)


@contextlib.contextmanager
def codes_per_batch(size: int) -> Iterator[None]:
    """The findings stream read in batches of ``size`` codes (1,000 in use) for the block."""
    saved = checks_module._BATCH
    checks_module._BATCH = size
    try:
        yield
    finally:
        checks_module._BATCH = saved


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    codes=st.lists(
        st.tuples(
            offsets,
            st.integers(1, 6),
            st.none() | offsets,
            st.integers(0, 1),
            st.sampled_from(OWNERS),
        ),
        min_size=1,
        max_size=12,
    ),
    supersede=st.lists(
        st.tuples(st.integers(0, 11), st.sampled_from(OWNERS), st.integers(0, 2)), max_size=4
    ),
    statuses=st.lists(
        st.sampled_from([None, "USER_DELETE", "AUDIT_DELETE"]), min_size=2, max_size=2
    ),
    ads=st.lists(
        st.tuples(
            st.integers(0, 11),
            st.integers(0, 1),
            st.none() | offsets,
            st.none() | offsets,
            st.none() | offsets,
            st.integers(0, 1),
        ),
        max_size=6,
    ),
    bindings=st.lists(
        st.tuples(st.integers(0, 11), offsets, st.none() | offsets, st.sampled_from([None, "X"])),
        max_size=4,
    ),
    grant_expiry=st.none() | offsets,
    now=st.integers(-4, 4).map(lambda d: T0 + d * DAY / 2),
    within=st.sampled_from(["36h", "2d", "7d"]),
    region=st.sampled_from(["US", "FR", None]),
    batch=st.sampled_from([1, 2, 3, 7, 1000]),
)
def test_iter_findings_is_the_sorted_list_in_the_same_order(
    backend: Backend,
    codes: list[tuple[timedelta, int, timedelta | None, int, str | None]],
    supersede: list[tuple[int, str | None, int]],
    statuses: list[str | None],
    ads: list[tuple[int, int, timedelta | None, timedelta | None, timedelta | None, int]],
    bindings: list[tuple[int, timedelta, timedelta | None, str | None]],
    grant_expiry: timedelta | None,
    now: datetime,
    within: str,
    region: str | None,
    batch: int,
) -> None:
    """Every kind, ties and all, on the ledger and on an ``as_of`` view of a random world; the
    streams cut into batches of ``batch`` codes (small ones split every stream)."""
    with backend.fresh().open(clock=lambda: T0) as ledger, codes_per_batch(batch):
        world(ledger, creator_region=region)
        ledger.record_all(
            [
                dl.AdAccount(id="6901", name="Brand 2", region="FR"),
                dl.Person(id="bo", name="Bo", left_at=T0),
                dl.Person(id="cy", name="Cy"),
                dl.RoleGrant(
                    id="g2",
                    person_id="bo",
                    scope="ad_account:6901",
                    role="OPERATOR",
                    granted_at=T0 - 9 * DAY,
                    expires_at=None if grant_expiry is None else T0 + grant_expiry,
                ),
            ]
        )
        auths = [
            code(
                ledger,
                n,
                post_id=POSTS[p],
                starts_at=T0 + s,
                expires_at=T0 + s + days * DAY,
                revoked_at=None if r is None else T0 + r,
                owner_id=owner,
            )
            for n, (s, days, r, p, owner) in enumerate(codes)
        ]
        middle = ledger.seq
        for i, owner, longer in supersede:  # a later version moves the code to a later seq
            a = auths[i % len(auths)]
            ledger.record(attrs.evolve(a, owner_id=owner, expires_at=a.expires_at + longer * DAY))
        for i, (which, account, start, until, paused, post) in enumerate(ads):
            if start is not None and until is not None and until <= start:
                until = None
            ledger.record(
                dl.SparkAd(
                    id=f"ad{i}",
                    ad_account_id=["6900", "6901"][account],
                    authorization_id=auths[which % len(auths)].id,
                    intended_post_id=POSTS[post],
                    runs_from=None if start is None else T0 + start,
                    runs_until=None if until is None else T0 + until,
                    paused_at=None if paused is None else T0 + paused,
                )
            )
        later = ledger.seq
        ledger.record_all(
            [
                dl.Post(id=post, creator_id="maya", kind="VIDEO", status=status)
                for post, status in zip(POSTS, statuses, strict=True)
            ]
        )
        ledger.record_all(
            [
                dl.SparkBinding(
                    authorization_id=auths[which % len(auths)].id,
                    ad_account_id="6900",
                    bound_at=T0 + bound,
                    unbound_at=None if unbound is None else T0 + bound + abs(unbound),
                    tiktok_status=status,
                )
                for which, bound, unbound, status in {
                    b[0] % len(auths): b for b in bindings
                }.values()
            ]
        )
        for view in (ledger, ledger.as_of(seq=middle), ledger.as_of(seq=later)):
            want = expected(view, within, now)
            assert list(view.iter_findings(within, now=now)) == want
            assert view.findings(within, now=now) == want
        for since in (0, middle, later):
            assert_changes_are_findings_compared(ledger, since, within, now)


def assert_changes_are_findings_compared(
    ledger: dl.Ledger, since: int, within: Within, now: datetime
) -> None:
    """``changes`` pairs the two points' decisions code by code; the reference compares the
    two ``findings()`` lists by key: the same findings, equal in every field."""
    moment = ledger._store.recorded_at(max(since, 1))
    assert moment is not None
    before = {f.key: f for f in ledger.as_of(seq=since).findings(within, now=moment)}
    new, changed = [], []
    for finding in ledger.findings(within, now=now):
        old = before.pop(finding.key, None)
        if old is None:
            new.append(finding)
        elif (old.severity, old.deadline) != (finding.severity, finding.deadline):
            changed.append((old, finding))
    got = ledger.changes(since=since, within=within, now=now)
    by_key = operator.attrgetter("key")
    assert sorted(got.new, key=by_key) == sorted(new, key=by_key)
    assert sorted(got.resolved, key=by_key) == sorted(before.values(), key=by_key)
    pairs = sorted(((c.before, c.after) for c in got.changed), key=lambda pair: pair[1].key)
    assert pairs == sorted(changed, key=lambda pair: pair[1].key)
    for found in (got.new, got.resolved, [c.after for c in got.changed]):
        assert [f.sort_key() for f in found] == sorted(f.sort_key() for f in found)


def test_iter_findings_is_lazy(ledger: dl.Ledger) -> None:
    world(ledger)
    for n in range(3):
        code(ledger, n, starts_at=T0 - 9 * DAY, expires_at=T0 - (n + 1) * DAY)
    stream = ledger.iter_findings(now=T0)
    assert isinstance(stream, Iterator) and not isinstance(stream, list)
    first = next(stream)
    assert first.kind == "EXPIRED" and first.deadline == T0 - 3 * DAY
    assert [f.deadline for f in stream] == [T0 - 2 * DAY, T0 - DAY]


def test_a_stream_closed_half_way_closes_every_stream_it_merges(ledger: dl.Ledger) -> None:
    """``close()`` reaches the merge and the streams under it (their cursors end with it), on
    the ledger's stream and on the checks' own; the ledger is then free to write and read."""
    world(ledger)
    for n in range(5):
        code(ledger, n, starts_at=T0 - 9 * DAY, expires_at=T0 - (n + 1) * DAY)
    with codes_per_batch(1):
        for stream in (ledger.iter_findings(now=T0), ledger.checks(T0).iter_findings()):
            assert isinstance(stream, Generator)
            next(stream)
            stream.close()
            with pytest.raises(StopIteration):
                next(stream)
    lost = code(ledger, 9, owner_id=None)
    kinds = [(f.kind, f.authorization_id == lost.id) for f in ledger.findings(now=T0)]
    assert kinds == [(dl.FindingKind.OWNER_MISSING, True)] + [(dl.FindingKind.EXPIRED, False)] * 5


def test_iter_findings_refuses_a_bad_horizon_before_it_is_read(ledger: dl.Ledger) -> None:
    with pytest.raises(ValueError, match="within='soon'"):
        ledger.iter_findings("soon")


@st.composite
def sorted_streams(draw: st.DrawFn) -> list[list[list[tuple[tuple[int, int], str]]]]:
    """Streams of sorted batches (some empty), keys unique across all streams, each stream
    sorted as a whole: what the checks hand the merge."""
    keys = draw(st.sets(st.tuples(st.integers(0, 3), st.integers(0, 40)), max_size=60))
    owner = {key: draw(st.integers(0, 3)) for key in sorted(keys)}
    streams = []
    for number in range(4):
        mine = sorted(key for key in keys if owner[key] == number)
        cuts = sorted(draw(st.lists(st.integers(0, len(mine)), max_size=4)))
        bounds = [0, *cuts, len(mine)]
        streams.append([[(key, f"{key}") for key in mine[a:b]] for a, b in pairwise(bounds)])
    return streams


@given(streams=sorted_streams())
def test_the_batch_merge_gives_every_item_once_in_key_order(
    streams: list[list[list[tuple[tuple[int, int], str]]]],
) -> None:
    """The reference is a sort of everything (the merge must equal it, batches or not)."""
    from delvia_ledger.merge import merged

    expected: list[object] = [item for _, item in sorted(i for s in streams for b in s for i in b)]
    batches: list[list[object]] = list(merged([iter(s) for s in streams]))  # type: ignore[arg-type]
    assert [item for batch in batches for item in batch] == expected
    assert all(batches), "no empty batch is handed out"


def test_a_stream_whose_first_batch_makes_no_finding_still_gives_the_rest(
    ledger: dl.Ledger,
) -> None:
    """More owned live codes than a batch holds, then one with no owner: the first batch of
    the OWNER_MISSING stream is empty, and the finding after it must still come."""
    from delvia_ledger.checks import _BATCH

    world(ledger)
    window = dict(creator_id="maya", post_id="7301", starts_at=T0 - DAY, ad_account_id="6900")
    owned = [
        dl.SparkAuthorization.from_code(
            f"#owned-{n:05d}=", expires_at=T0 + 30 * DAY, owner_id="ana", **window
        )
        for n in range(_BATCH + 5)
    ]
    ledger.record_all(owned)
    lost = code(ledger, 1, owner_id=None)
    found = [f for f in ledger.iter_findings() if f.kind is dl.FindingKind.OWNER_MISSING]
    assert [f.authorization_id for f in found] == [lost.id]
    assert list(ledger.iter_findings()) == ledger.findings()
