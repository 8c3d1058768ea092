"""Random byte flips in a copy of a ledger file: opening it raises only documented errors,
reading it only LedgerErrors, verify(deep=True) never raises and never says ok when a read
of any record changed."""

from __future__ import annotations

import functools
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl

from .conftest import T0, Clock

CODES = [f"#fuzz-spark-code-{i}+k=" for i in range(4)]
Reads = tuple[object, ...]


def build(path: Path) -> None:
    """A small ledger with every kind of row: versions, supersedes, codes, grants, an ad, a
    retired code, a Notice and an Erasure (with the entries it redacted)."""
    clock = Clock()
    with dl.Ledger.open(path, clock=clock) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="maya", handle="@maya", region="US"),
                dl.Creator(id="leo", handle="@leo", region="GB"),
                dl.Post(id="p1", creator_id="maya", kind="VIDEO"),
                dl.Post(id="p2", creator_id="leo", kind="CAROUSEL"),
                dl.AdAccount(id="a1", name="Brand US", region="US"),
                dl.Person(id="ana", name="Ana", email="ana@brand.example"),
                dl.RoleGrant(
                    id="g1",
                    person_id="ana",
                    scope="ad_account:a1",
                    role=dl.Role.ADMIN,
                    granted_at=T0 - timedelta(days=90),
                ),
            ]
        )
        for i, code in enumerate(CODES):
            clock.advance(minutes=1)
            custom = {"id": f"auth{i}"} if i % 2 else {}  # some under the derived id
            ledger.record(
                dl.SparkAuthorization.from_code(
                    code,
                    **custom,
                    creator_id="maya" if i < 2 else "leo",
                    post_id="p1" if i < 2 else "p2",
                    starts_at=T0 - timedelta(days=40),
                    expires_at=T0 + timedelta(days=3 * i - 4),
                    ad_account_id="a1",
                    owner_id="ana",
                )
            )
        first = ledger.authorization_for(CODES[0])
        assert first is not None
        ledger.record(
            dl.SparkAd(
                id="ad1",
                ad_account_id="a1",
                authorization_id=first.id,
                intended_post_id="p1",
                runs_from=T0 - timedelta(days=5),
            )
        )
        ledger.record(dl.Creator(id="maya", handle="@maya.makes", region="US"))  # supersedes
        ledger.record(dl.Person(id="ana", name="Ana", left_at=T0 - timedelta(days=1)))
        # This round's rows: a retired code, a delivered Notice, an Erasure and its redactions.
        ledger.retire(CODES[3], "campaign ended", at=T0 - timedelta(days=2))
        ledger.record(
            dl.Notice(person_id="ana", channel="email", sent_at=T0, finding_keys=("k1", "k2"))
        )
        ledger.erase(dl.Creator, "leo", reason="GDPR request #1", by="dpo")


def reads(ledger: dl.Ledger) -> Reads:
    """What users read: every entry, every record's current version and history, each code's
    authorization, and the findings."""
    entries = [(e.seq, e.recorded_at, e.record, e.hash) for e in ledger.entries()]
    keys = sorted({(type(e[2]), e[2].id) for e in entries}, key=lambda k: (k[0].__name__, k[1]))
    return (
        entries,
        [ledger.get(cls, id_) for cls, id_ in keys],
        [[e.seq for e in ledger.history(cls, id_)] for cls, id_ in keys],
        [ledger.authorization_for(code) for code in CODES],
        [sorted(map(repr, ledger.records(cls))) for cls in sorted({k[0] for k in keys}, key=str)],
    )


def findings(ledger: dl.Ledger) -> list[str]:
    return [str(finding) for finding in ledger.findings(now=T0)]


@functools.cache
def pristine() -> tuple[bytes, Reads, list[str], list[int]]:
    """The file, what it reads as, and where its records' ids and hashes lie in it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "l.db"
        build(path)
        data = path.read_bytes()
        with dl.Ledger.open(path) as ledger:
            assert ledger.verify(deep=True).ok
            seen, found = reads(ledger), findings(ledger)
    entries: list[tuple[int, object, dl.Record, str]] = seen[0]  # type: ignore[assignment]
    words = {record.id for _, _, record, _ in entries} | {hash_[:12] for *_, hash_ in entries}
    hot = sorted(m.start() for w in words for m in re.finditer(re.escape(w.encode()), data))
    return data, seen, found, hot


def flips() -> st.SearchStrategy[list[tuple[int, int]]]:
    data, _, _, hot = pristine()
    anywhere = st.integers(0, len(data) - 1)
    near_a_record = st.sampled_from(hot).flatmap(
        lambda at: st.integers(max(0, at - 8), min(len(data) - 1, at + 48))
    )
    return st.lists(
        st.tuples(st.one_of(anywhere, near_a_record), st.integers(1, 255)), min_size=1, max_size=3
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.deferred(flips))
def test_verify_never_raises_and_never_passes_a_file_whose_reads_changed(
    changes: list[tuple[int, int]],
) -> None:
    data, before, found_before, _ = pristine()
    damaged = bytearray(data)
    for at, mask in changes:
        damaged[at] ^= mask
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "l.db"
        path.write_bytes(bytes(damaged))
        try:
            ledger = dl.Ledger.open(path)
        except dl.LedgerError:
            return  # refused, with a documented error (NotALedgerError, StorageError)
        with ledger:
            try:
                changed = reads(ledger) != before
            except dl.LedgerError:
                changed = True  # a read that fails is a read that changed
            try:
                changed = changed or findings(ledger) != found_before
            except Exception:  # the checks build findings from the version tables' columns
                changed = True
            result = ledger.verify(deep=True)
            assert isinstance(result, dl.VerifyResult)
            if changed:
                assert not result.ok, f"verify passed a file whose reads changed: {changes}"
            if not result.ok:
                assert result.reason
