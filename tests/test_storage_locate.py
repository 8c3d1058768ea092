"""Where a ledger is (``storage.locate``: the backend by URL scheme, one registry) and how a code
is found from its fingerprint (``Storage.authorizations_by_fingerprint``: one read, on both
backends, as a scan of the current authorizations finds it)."""

from __future__ import annotations

import string
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.storage import BACKENDS, Location, locate

from .conftest import T0, Backend, Clock
from .strategies import raw_codes

# --- locate ------------------------------------------------------------------------------------

file_names = st.text(
    string.ascii_letters + string.digits + "_-. /", min_size=1, max_size=30
).filter(lambda name: name.strip() and "://" not in name)
#: A password is looked for in what is shown, so none is a piece of the rest of the URL (the
#: generator once drew "postgr", found in the scheme itself).
passwords = st.text(string.ascii_letters + string.digits + "-_.~", min_size=6, max_size=20).filter(
    lambda word: word.lower() not in "postgresql://app@db.internal:5432/access"
)


@given(name=file_names)
def test_a_location_without_a_scheme_is_a_file_shown_as_given(name: str) -> None:
    location = locate(name)
    assert (location.backend, location.is_file, location.shown, location.text) == (
        BACKENDS[""],
        True,
        name,
        name,
    )


@given(scheme=st.sampled_from([s for s in BACKENDS if s]), upper=st.booleans(), word=passwords)
def test_a_url_goes_to_the_backend_its_scheme_names_without_showing_its_password(
    scheme: str, upper: bool, word: str
) -> None:
    url = f"{scheme.upper() if upper else scheme}://app:{word}@db.internal:5432/access"
    location = locate(url)
    assert location.backend == BACKENDS[scheme] and not location.is_file
    assert word not in location.shown and word not in repr(location)
    assert location.text == url  # what the backend is handed, password and all


def test_a_scheme_nobody_registered_is_a_file_as_it_always_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert locate("ledgers://x").backend == "sqlite"
    monkeypatch.setitem(BACKENDS, "ledgers", "postgres")  # one line registers a scheme
    with pytest.raises(ValueError, match="postgresql:// URL"):
        locate("ledgers://x")  # ...and the backend it names now judges the location


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("", "the ledger path is empty"),
        (":memory:", "':memory:' names a database kept in memory"),
        ("file:access.db?mode=memory", "is an SQLite URI"),
    ],
)
def test_a_location_no_ledger_can_be_at_is_refused(location: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        locate(location)


def test_discard_removes_a_file_and_its_journals_and_nothing_else(tmp_path: Path) -> None:
    for name in ("l.db", "l.db-wal", "l.db-shm", "l.db.bak", "other.db"):
        (tmp_path / name).write_bytes(b"x")
    locate(str(tmp_path / "l.db")).discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.db.bak", "other.db"]


def test_a_ledger_opens_on_the_backend_its_location_names(backend: Backend) -> None:
    location = locate(backend.location)
    assert isinstance(location, Location) and location.backend == backend.name
    with backend.open(Clock()) as ledger:
        ledger.record(dl.Person(id="ana", name="Ana"))
    with dl.Ledger.open(location.text) as again:
        assert again.get(dl.Person, "ana") == dl.Person(id="ana", name="Ana")


# --- a code found from its fingerprint -------------------------------------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    codes=st.lists(raw_codes, min_size=1, max_size=6, unique_by=lambda c: dl.SparkCode(c)),
    custom=st.lists(st.booleans(), min_size=6, max_size=6),
    revoked=st.lists(st.booleans(), min_size=6, max_size=6),
    data=st.data(),
)
def test_codes_are_found_by_fingerprint_as_a_scan_of_the_authorizations_finds_them(
    backend: Backend,
    codes: list[str],
    custom: list[bool],
    revoked: list[bool],
    data: st.DataObject,
) -> None:
    place = backend.fresh()
    with place.open(Clock()) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="maya", handle="@maya", region="US"),
                dl.Post(id="p1", creator_id="maya", kind="VIDEO"),
                dl.AdAccount(id="6900", name="Brand", region="US"),
            ]
        )
        auths: list[dl.SparkAuthorization] = []
        for n, raw in enumerate(codes):
            fields: dict[str, object] = dict(
                creator_id="maya", post_id="p1", starts_at=T0, expires_at=T0 + timedelta(days=30)
            )
            if custom[n]:
                fields["id"] = f"custom-{n}"
            auth = dl.SparkAuthorization.from_code(raw, **fields)
            ledger.record(auth)
            auths.append(auth)
        for n, auth in enumerate(auths):
            if revoked[n]:  # a second version: the lookup must find the current one
                ledger.record(attrs.evolve(auth, revoked_at=T0 + timedelta(days=1)))
        bound = data.draw(st.integers(0, ledger.seq), label="bound")
        unknown = dl.SparkCode("#never-recorded-code=").fingerprint
        wanted = [dl.SparkCode(c).fingerprint for c in codes] + [unknown]
        view = ledger.as_of(seq=bound)
        scan = {
            a.code.fingerprint: (view.history(dl.SparkAuthorization, a.id)[-1].seq, a)
            for a in view.records(dl.SparkAuthorization)
        }
        store = ledger._store
        assert store.authorizations_by_fingerprint(wanted, bound) == scan
        assert store.authorizations_by_fingerprint(wanted, bound, derived=False) == {
            fp: found for fp, found in scan.items() if found[1].id.startswith("custom-")
        }
        for raw in [*codes, "#never-recorded-code="]:
            fingerprint = dl.SparkCode(raw).fingerprint
            assert store.authorization_by_fingerprint(fingerprint, bound) == scan.get(fingerprint)
            assert view.authorization_for(raw) == scan.get(fingerprint, (0, None))[1]
