"""The read-side speed-ups keep their results: the import merge, the paused collector, the
JSON export."""

from __future__ import annotations

import contextlib
import gc
import io
import json
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger import reconcile
from delvia_ledger.collector import collector_paused
from delvia_ledger.convert import canonical_json, format_time, record_to_dict
from delvia_ledger.errors import InvalidRecordError

from .strategies import ids, nasty_texts, optional_times, raw_codes, windows, worlds


def evolved_keep(current: Any, new: Any, **rules: Any) -> Any:
    """The merge as it was written before it built each record at most once (the reference)."""
    if current is None:
        return new
    changes = {}
    for field in attrs.fields(type(new)):
        before, after = getattr(current, field.name), getattr(new, field.name)
        rule = rules.get(field.name)
        kept = rule(before, after) if rule else (before if after is None else after)
        if kept != after:
            changes[field.name] = kept
    return attrs.evolve(new, **changes) if changes else new


@st.composite
def authorizations(draw: st.DrawFn, code: str) -> dl.SparkAuthorization:
    starts_at, expires_at = draw(windows())
    return dl.SparkAuthorization.from_code(
        code,
        creator_id=draw(st.sampled_from(["maya", "noor"])),
        post_id=draw(st.sampled_from(["7301", "7302"])),
        starts_at=starts_at,
        expires_at=expires_at,
        ad_account_id=draw(st.none() | ids),
        owner_id=draw(st.none() | ids),
        revoked_at=draw(optional_times),
    )


@settings(max_examples=150)
@given(data=st.data(), code=raw_codes, known=st.booleans())
def test_the_merge_is_the_evolve_merge(data: st.DataObject, code: str, known: bool) -> None:
    current = data.draw(authorizations(code)) if known else None
    new = data.draw(
        st.sampled_from([current]) if known and data.draw(st.booleans()) else authorizations(code)
    )
    assert new is not None
    try:
        expected = evolved_keep(
            current, new, revoked_at=reconcile._first, ad_account_id=reconcile._first
        )
    except InvalidRecordError as error:
        with pytest.raises(InvalidRecordError, match="must be after"):
            reconcile.keep_known(current, new)
        assert "must be after" in str(error)
        return
    kept = reconcile.keep_known(current, new)
    assert kept == expected
    if kept == current:
        assert kept is current  # nothing to build: what the ledger holds is the answer


@settings(max_examples=60)
@given(
    handle=st.none() | st.sampled_from(["@maya", "@noor"]),
    region=st.none() | st.sampled_from(["US", "DE"]),
    identity=st.none() | ids,
)
def test_the_creator_merge_is_the_evolve_merge(
    handle: str | None, region: str | None, identity: str | None
) -> None:
    current = dl.Creator(id="maya", handle=handle, region=region, tiktok_identity_id=identity)
    new = dl.Creator(id="maya", region=None, tiktok_identity_id="tt-1")
    kept = reconcile._keep(
        current, new, handle=reconcile._before, tiktok_identity_id=reconcile._first
    )
    assert kept == evolved_keep(
        current, new, handle=reconcile._before, tiktok_identity_id=reconcile._first
    )


def test_an_unchanged_creator_side_import_reads_the_ledger_and_writes_nothing(
    ledger: dl.Ledger,
) -> None:
    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya", region="US"),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            dl.AdAccount(id="6900000000000000001", name="Brand", region="US"),
            dl.Person(id="ana", name="Ana"),
        ]
    )
    payload = {
        "auth_code": "#creator-side-code=",
        "auth_code_status": "IN_EFFECT",
        "item_id": "7301",
        "auth_code_start_time": "2026-11-01 10:00:00",
        "auth_code_end_time": "2026-12-01 10:00:00",
    }
    first = ledger.import_tiktok(payload, creator_id="maya", advertiser_id="6900000000000000001")
    held = ledger.authorization_for("#creator-side-code=")
    assert held is not None
    owned = attrs.evolve(held, owner_id="ana")
    ledger.record(owned)
    again = ledger.import_tiktok(payload, creator_id="maya")
    assert (first.written, again.written, again.unchanged) == (1, 0, 1)
    assert (
        ledger.authorization_for("#creator-side-code=") == owned
    )  # the owner and the account are kept


def test_the_collector_is_back_on_after_a_paused_loop_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        assert not gc.isenabled()
        raise KeyError("boom")
    assert gc.isenabled()


def test_the_collector_stays_off_when_the_caller_turned_it_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_streamed_findings_leave_the_collector_on_between_findings(
    ledger: dl.Ledger, clock: Any
) -> None:
    ledger.record_all(
        [
            dl.Creator(id="maya", region="US"),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            *(
                dl.SparkAuthorization.from_code(
                    f"#gc-code-{i}=",
                    creator_id="maya",
                    post_id="7301",
                    starts_at=clock.now.replace(year=2025),
                    expires_at=clock.now.replace(year=2026 + i % 3),  # expired or live
                )
                for i in range(2500)
            ),
        ]
    )
    states = {gc.isenabled() for _ in ledger.iter_findings()}
    assert states == {True}  # the caller's code never runs with the collector paused
    assert gc.isenabled()
    found = ledger.findings()
    assert found == list(ledger.iter_findings()) and len(found) >= 2500
    gc.disable()
    try:
        ledger.findings()
        assert [gc.isenabled() for _ in ledger.iter_findings()][-1] is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_merge_starts_no_collection_between_its_rounds() -> None:
    """Between two rounds of the merge the collector is on and the round just handed out is
    alive: the next round must pause it before it makes anything (a ``with`` statement makes
    its context manager first), or each round starts a collection over that round."""
    from delvia_ledger.merge import flattened, merged

    def stream(tie: int) -> Iterator[list[tuple[tuple[int, int], list[int]]]]:
        for r in range(30):  # batches of fresh objects the collector tracks, keys unique
            yield [((r * 1000 + i, tie), [i]) for i in range(1000)]

    def batches() -> Iterator[list[Any]]:
        yield from merged([stream(0), stream(1)])  # type: ignore[list-item]

    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    found = flattened(batches())  # type: ignore[arg-type]
    next(found)
    gc.callbacks.append(count)
    try:
        consumed = sum(1 for _ in found)  # a caller who makes nothing
    finally:
        gc.callbacks.remove(count)
    assert consumed == 59_999
    assert len(collections) <= 2, f"{len(collections)} collections in 30 rounds (29 before)"


def evolved_export(entries: list[dl.Entry]) -> str:
    """The JSON export as it was written before it encoded each record once (the reference)."""
    lines = []
    for entry in entries:
        item = {
            "seq": entry.seq,
            "recorded_at": format_time(entry.recorded_at),
            "type": type(entry.record).__name__,
            "id": entry.record.id,
            "record": json.loads(canonical_json(record_to_dict(entry.record))),
            "hash": entry.hash,
        }
        if entry.source is not None:  # sources (schema 4 on): a copy keeps where it came from
            item["source"] = entry.source
        if entry.salt is not None:  # and a personal record's salt, to store the same payload
            item["salt"] = entry.salt
        if entry.redacted:
            item["payload_hash"] = entry.payload_hash
        lines.append(json.dumps(item, ensure_ascii=False))
    return '{"entries": [\n' + ",\n".join(lines) + "\n]}\n"


@settings(max_examples=25)
@given(world=worlds(), names=st.lists(nasty_texts, min_size=1, max_size=4))
def test_the_json_export_is_the_reference_export(
    tmp_path_factory: pytest.TempPathFactory, world: list[dl.Record], names: list[str]
) -> None:
    path = tmp_path_factory.mktemp("export") / "ledger.db"
    with dl.Ledger.open(path) as ledger:
        ledger.record_all(world)
        creator = next(r for r in world if isinstance(r, dl.Creator))
        for name in names:  # control characters, U+2028, astral, quotes, backslashes
            with contextlib.suppress(InvalidRecordError):  # a lone surrogate: never stored
                ledger.record(attrs.evolve(creator, display_name=name))
        out = io.StringIO()
        count = ledger.export_json(out)
        entries = list(ledger.entries())
    assert count == len(entries)
    assert out.getvalue() == evolved_export(entries)


@st.composite
def finding_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Every field of a Finding, each any value it may hold."""
    text = st.one_of(st.none(), nasty_texts)
    return {
        "kind": draw(st.sampled_from(dl.FindingKind)),
        "severity": draw(st.sampled_from(dl.Severity)),
        "deadline": draw(optional_times),
        "authorization_id": draw(text),
        "ad_id": draw(text),
        "ad_account_id": draw(text),
        "person_id": draw(text),
        "creator_id": draw(text),
        "post_id": draw(text),
        "affected_ad_ids": tuple(draw(st.lists(ids, max_size=3))),
        "owner_id": draw(text),
        "owner_name": draw(text),
        "grant_id": draw(text),
        "handle": draw(text),
        "detail": draw(nasty_texts),
    }


@given(fields=finding_fields())
def test_the_positional_finding_builder_makes_what_the_keyword_init_makes(
    fields: dict[str, Any],
) -> None:
    from delvia_ledger.findings import new_finding

    assert list(fields) == [f.name for f in attrs.fields(dl.Finding)], "every field, in order"
    made, reference = new_finding(*fields.values()), dl.Finding(**fields)
    assert made == reference and hash(made) == hash(reference)
    assert repr(made) == repr(reference) and str(made) == str(reference)
    assert attrs.asdict(made) == attrs.asdict(reference) and made.key == reference.key
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.kind = dl.FindingKind.EXPIRED  # type: ignore[misc]


def test_the_positional_builders_signature_is_findings_fields_in_order() -> None:
    """The typed signature mypy checks the checks against is the generated one."""
    import inspect

    from delvia_ledger.findings import _NewFinding, new_finding

    typed = list(inspect.signature(_NewFinding.__call__).parameters)[1:]  # without self
    assert typed == [f.name for f in attrs.fields(dl.Finding)]
    assert list(inspect.signature(new_finding).parameters) == typed


@pytest.mark.parametrize(
    "field",
    [
        attrs.field(validator=attrs.validators.instance_of(str)),
        attrs.field(converter=str),
        attrs.field(init=False, default="x"),
        attrs.field(alias="other"),
    ],
    ids=["validator", "converter", "not in init", "alias"],
)
def test_the_positional_builder_refuses_a_class_whose_init_does_more_than_store(
    field: Any,
) -> None:
    from delvia_ledger.findings import _positional

    checked = attrs.make_class("Checked", {"kind": field}, frozen=True, slots=False)
    with pytest.raises(TypeError, match="needs its __init__"):
        _positional(checked)
    slotted = attrs.make_class("Slotted", {"kind": attrs.field()}, frozen=True, slots=True)
    with pytest.raises(TypeError, match="needs its __init__"):
        _positional(slotted)
