"""A "did you mean" for an unknown code whose ``+`` became a space or whose characters were
percent-encoded on the way: the recorded code it was (issue 21.5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

import delvia_ledger as dl
from delvia_ledger.records import fingerprint_of, repairs_of

from .builders import DAY, code, world
from .conftest import T0, Backend
from .fake_tiktok import TOKEN, FakeTikTok
from .fake_tiktok import fake_tiktok_fixture as fake_tiktok_fixture  # the fake_tiktok fixture
from .strategies import mangled_codes

PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def recorded(backend: Backend, raw: str) -> tuple[dl.Ledger, dl.SparkAuthorization]:
    """A fresh ledger holding ``raw`` for Maya's post 7302, next to another code."""
    ledger = backend.fresh().open(clock=lambda: T0)
    world(ledger)
    code(ledger)  # a neighbour, so a match is not merely the only code held
    auth = dl.SparkAuthorization.from_code(
        raw, creator_id="maya", post_id="7302", starts_at=T0 - DAY, expires_at=T0 + 9 * DAY
    )
    ledger.record(auth)
    return ledger, auth


@PROPERTY
@given(pair=mangled_codes)
def test_a_mangled_code_is_suggested_and_never_shown(
    backend: Backend, pair: tuple[str, str]
) -> None:
    raw, arrived = pair
    ledger, auth = recorded(backend, raw)
    with ledger:
        d = ledger.diagnose(arrived, post_id="7302")
    assert d.authorization is None and [f.kind for f in d.findings] == ["UNKNOWN_CODE"]
    assert [s.authorization.id for s in d.suggestions] == [auth.id]
    note = d.suggestions[0].note
    assert ("'+' read as a space" in note) == (" " in arrived)
    assert ("percent-encoding decoded" in note) == ("%" in arrived)
    said = f"{d}\n{d!r}"
    assert f"did you mean the code {auth.code.hint} (recorded for post 7302, creator maya)" in said
    assert raw not in said and arrived not in said and arrived.strip() not in said


@PROPERTY
@given(pair=mangled_codes, other=mangled_codes)
def test_a_different_unknown_code_is_not_suggested(
    backend: Backend, pair: tuple[str, str], other: tuple[str, str]
) -> None:
    """Another code, mangled too, repairs to itself, not to the recorded one."""
    raw, _ = pair
    other_raw, other_arrived = other
    assume(other_raw != raw)
    ledger, _ = recorded(backend, raw)
    with ledger:
        d = ledger.diagnose(other_arrived)
    assert d.suggestions == () and "did you mean" not in str(d)
    assert [f.kind for f in d.findings] == ["UNKNOWN_CODE"]
    assert fingerprint_of(raw) not in {r.fingerprint for r in repairs_of(other_arrived)}


def test_an_unknown_code_takes_one_read_more_for_all_its_repairs(tmp_path: Path) -> None:
    """The code, then every repaired variant at once: at most five statements, as for a
    known code (tests/test_diagnose.py holds the known code to five)."""
    ledger = dl.Ledger.open(tmp_path / "count.db", clock=lambda: T0)
    world(ledger)
    auth = dl.SparkAuthorization.from_code(
        "#mX1nZq+ex/code=", creator_id="maya", post_id="7301", starts_at=T0, expires_at=T0 + DAY
    )
    ledger.record(auth)
    statements: list[str] = []
    ledger._store.conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
    d = ledger.diagnose("#mX1nZq ex%2Fcode%3D")
    ledger._store.conn.set_trace_callback(None)  # type: ignore[attr-defined]
    assert [s.authorization.id for s in d.suggestions] == [auth.id]
    assert len(d.suggestions[0].note.split(";")) == 2  # both repairs at once
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT" and len(statements) <= 5
    ledger.close()


def test_a_code_given_as_its_fingerprint_gets_no_suggestion(ledger: dl.Ledger) -> None:
    world(ledger)
    held = code(ledger)
    other = dl.SparkCode("#code-0000 xyz=")
    d = ledger.diagnose(other)
    assert d.suggestions == () and held.code.hint not in str(d)


def test_a_live_diagnosis_does_not_ask_tiktok_about_a_mangled_code(
    ledger: dl.Ledger, fake_tiktok: FakeTikTok
) -> None:
    """With a match in the ledger, TikTok is not sent the mangled text; without one, it is."""
    world(ledger)
    held = code(ledger)  # "#code-0000-xyz="
    with dl.TikTokClient(TOKEN, base_url=fake_tiktok.url, sleep=lambda _: None) as client:
        d = ledger.diagnose("#code-0000-xyz%3D", ad_account_id="6900", client=client)
        assert [s.authorization.id for s in d.suggestions] == [held.id]
        assert fake_tiktok.requests_for(path="tt_video/info/") == []
        with pytest.raises(dl.TikTokAPIError, match="40002"):  # the fake knows no such code
            ledger.diagnose("#code-0001-xyz%3D", ad_account_id="6900", client=client)
    assert len(fake_tiktok.requests_for(path="tt_video/info/")) == 1
