"""Fuzzing every way in (issue 12): record fields, ledger arguments, CSV files, TikTok JSON.

For any input, whatever it is:

- the only exceptions that escape are ``LedgerError`` (every refusal of a record, a row or a
  payload: ``InvalidRecordError``, ``PayloadError``, ``MissingReferenceError``, ...) and
  ``ValueError`` (an argument that is no value, e.g. ``within=`` or ``now=``);
  ``InvalidRecordError`` and ``PayloadError`` are both;
- a refused input writes nothing: the ledger's ``digest()`` is unchanged;
- no raw code appears in an error (its text, its args, anything it chains to), in a repr, or
  in the database file or its WAL. Every raw code here carries ``CODE_MARKER``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import string
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.records import RECORD_TYPES

from .conftest import T0
from .strategies import (
    CODE_MARKER,
    extreme_time_texts,
    extreme_times,
    hostile_values,
    ids,
    marked_codes,
    nasty_texts,
    regions,
    wrong_types,
)

ALLOWED = (dl.LedgerError, ValueError)
#: Bounded for CI; ``DELVIA_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_inputs.py`` digs deeper.
FUZZ = settings(
    max_examples=int(os.environ.get("DELVIA_FUZZ_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY = timedelta(days=1)
ADVERTISER = "6900"


def assert_allowed(error: BaseException) -> None:
    """An escaped error is a documented one and carries no raw code, nor do its causes."""
    assert isinstance(error, ALLOWED), f"{type(error).__name__}: {error}"
    seen: BaseException | None = error
    while seen is not None:
        assert CODE_MARKER not in f"{seen} {seen.args!r}", f"a raw code in {type(seen).__name__}"
        seen = seen.__cause__ or seen.__context__


def assert_no_code_in_files(tmp_path: Path) -> None:
    for path in tmp_path.glob("ledger.db*"):
        assert CODE_MARKER.encode() not in path.read_bytes(), f"a raw code in {path.name}"


def setup_world(ledger: dl.Ledger) -> None:
    if ledger.digest().seq:
        return
    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya", region="US"),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            dl.AdAccount(id=ADVERTISER, name="Brand", region="US"),
            dl.Person(id="ana", name="Ana"),
            dl.RoleGrant(
                id="g1", person_id="ana", scope="ad_account:6900", role="ADMIN", granted_at=T0
            ),
            dl.SparkAuthorization.from_code(
                f"#{CODE_MARKER}-world-code=",
                id="auth_world",
                creator_id="maya",
                post_id="7301",
                starts_at=T0 - DAY,
                expires_at=T0 + 30 * DAY,
                ad_account_id=ADVERTISER,
                owner_id="ana",
            ),
        ]
    )


#: Valid fields of each record type, referring to the world above; the fuzz overrides some.
VALID: dict[type[Any], dict[str, Any]] = {
    dl.Creator: dict(id="maya", region="US"),
    dl.Post: dict(id="7301", creator_id="maya", kind="VIDEO"),
    dl.AdAccount: dict(id=ADVERTISER, name="Brand", region="US"),
    dl.Person: dict(id="ana", name="Ana"),
    dl.RoleGrant: dict(
        id="g1", person_id="ana", scope="ad_account:6900", role="ADMIN", granted_at=T0
    ),
    dl.SparkAuthorization: dict(
        creator_id="maya", post_id="7301", starts_at=T0 - DAY, expires_at=T0 + 30 * DAY
    ),
    dl.SparkBinding: dict(authorization_id="auth_world", ad_account_id=ADVERTISER, bound_at=T0),
    dl.SparkAd: dict(
        id="ad1", ad_account_id=ADVERTISER, authorization_id="auth_world", intended_post_id="7301"
    ),
    dl.RegionRule: dict(creator_region="US", account_region="GB", verdict="COMPATIBLE"),
    dl.Notice: dict(channel="slack", sent_at=T0, finding_keys=["EXPIRING/authorization=x"]),
}


@st.composite
def hostile_fields(draw: st.DrawFn) -> tuple[type[Any], dict[str, Any]]:
    cls = draw(st.sampled_from(RECORD_TYPES))
    names = [f.name for f in attrs.fields(cls) if f.name != "code"]
    fields = dict(VALID[cls])
    fields.update(draw(st.dictionaries(st.sampled_from(names), hostile_values, max_size=3)))
    if cls is dl.SparkAuthorization:
        fields["code"] = draw(marked_codes | nasty_texts | wrong_types)
    return cls, fields


@FUZZ
@given(case=hostile_fields())
@example(case=(dl.Person, dict(id="ana", name="Ana", left_at="0001-01-01T00:00:00+01:00")))
@example(case=(dl.Post, dict(id="7301", creator_id="maya", kind="VIDEO", caption="\ud800")))
@example(case=(dl.Creator, dict(id="maya\u202e", region="US")))
def test_any_record_fields_are_refused_cleanly_or_recorded(
    ledger: dl.Ledger, tmp_path: Path, case: tuple[type[Any], dict[str, Any]]
) -> None:
    setup_world(ledger)
    cls, fields = case
    before = ledger.digest()
    try:
        record = cls(**fields)
    except BaseException as error:
        assert_allowed(error)
        return
    assert CODE_MARKER not in repr(record) + str(record)
    try:
        ledger.record(record)
    except BaseException as error:
        assert_allowed(error)
        assert ledger.digest() == before
    for query in (ledger.findings, ledger.expired, ledger.ownership):
        try:
            for finding in query():
                assert CODE_MARKER not in str(finding)
        except BaseException as error:  # a record at the end of time: no 7-day horizon
            assert_allowed(error)
    assert ledger.verify().ok
    assert_no_code_in_files(tmp_path)


within_values = st.one_of(
    st.sampled_from(["7d", "36h", "2w", "1mo", "0d", "100000000d", "9" * 40 + "h", "7 days"]),
    st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=999_999_999)),
    st.integers(min_value=-5, max_value=10**6).map(lambda n: f"{n}d"),
    wrong_types,
    nasty_texts,
)
now_values = st.one_of(st.none(), extreme_times, extreme_time_texts, wrong_types, nasty_texts)


@FUZZ
@given(within=within_values, now=now_values, other=hostile_values, code=marked_codes)
def test_any_query_argument_is_refused_cleanly(
    ledger: dl.Ledger, tmp_path: Path, within: Any, now: Any, other: Any, code: str
) -> None:
    setup_world(ledger)
    before = ledger.digest()
    calls: list[Callable[[], object]] = [
        lambda: ledger.findings(within=within, now=now),
        lambda: ledger.expiring(within=within, now=now),
        lambda: ledger.ownership(within=within, now=now),
        lambda: ledger.revoked(now=now),
        lambda: str(ledger.diagnose(code, post_id=other, now=now)),
        lambda: str(ledger.diagnose(other)),
        lambda: ledger.authorization_for(other),
        lambda: ledger.as_of(recorded_at=now).findings(),
        lambda: ledger.as_of(seq=other).digest(),
        lambda: ledger.access(other, now=now),
        lambda: ledger.roles_of(other),
        lambda: str(ledger.offboard("ana", at=now)),
        lambda: ledger.offboard(other),
        lambda: ledger.record_all([], batch_size=other),
    ]
    for call in calls:
        try:
            result = call()
        except BaseException as error:
            assert_allowed(error)
        else:
            assert CODE_MARKER not in str(result)
    assert ledger.digest() == before  # queries and previews write nothing
    assert_no_code_in_files(tmp_path)


# --- CSV ------------------------------------------------------------------------------------

CSV_TYPES = [dl.SparkAuthorization, dl.Creator, dl.Post, dl.SparkBinding, dl.Notice, dl.RegionRule]
csv_cells = st.one_of(nasty_texts, extreme_time_texts, ids, regions, st.just(""))
hex_fingerprints = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


#: A valid cell for each column (as a row of that type would hold it); the fuzz spoils some.
VALID_CELLS = {
    "id": "rec1",
    "region": "US",
    "handle": "@maya",
    "creator_id": "maya",
    "post_id": "7301",
    "kind": "VIDEO",
    "starts_at": "2026-11-01T00:00:00Z",
    "expires_at": "2026-12-01T00:00:00+01:00",
    "bound_at": "2026-11-01 10:00:00Z",
    "authorization_id": "auth_world",
    "ad_account_id": ADVERTISER,
    "owner_id": "ana",
    "channel": "slack",
    "sent_at": "2026-11-24T09:00:00Z",
    "finding_keys": '["EXPIRING/authorization=auth_world"]',
    "creator_region": "US",
    "account_region": "GB",
    "verdict": "COMPATIBLE",
    "code_hint": "…ab=",
}


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True once in ``n`` draws (hypothesis favours small integers, so not integers(0, n))."""
    return st.sampled_from([True] + [False] * (n - 1))


DERIVED_IDS = (dl.SparkAuthorization, dl.SparkBinding, dl.RegionRule, dl.Notice)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[type[Any], str]:
    """A CSV written by csv.writer (so every cell stays in its column), mostly valid rows with
    a few hostile cells: codes only ever in the code columns."""
    cls = draw(st.sampled_from(CSV_TYPES))
    columns = dl.io.csv_columns(cls)
    if cls is dl.SparkAuthorization and draw(st.booleans()):
        columns = ["code", *(c for c in columns if not c.startswith("code_"))]
    header = draw(st.permutations(columns))
    if draw(one_in(5)):
        header.remove(draw(st.sampled_from(header)))  # a column left out
    if draw(one_in(10)):
        header.append(draw(st.sampled_from(columns)))  # a column named twice
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for _ in range(draw(st.integers(1, 3))):
        row, spoiled = [], draw(st.sets(st.sampled_from(header), max_size=2))
        for column in header:
            if column == "code":
                cell = draw(marked_codes | csv_cells)
            elif column == "code_fingerprint":
                cell = draw(hex_fingerprints | marked_codes | csv_cells)
            elif column == "code_hint":
                cell = draw(st.sampled_from(["…", "…ab=", ""]) | marked_codes | csv_cells)
            elif column in spoiled:
                cell = draw(csv_cells)
            elif column == "id" and cls in DERIVED_IDS:
                cell = ""  # the derived id: a custom one would clash with the next example's
            else:
                cell = VALID_CELLS.get(column, "")
            row.append(cell)
        writer.writerow(row)
    return cls, out.getvalue()


@FUZZ
@given(case=csv_files())
def test_any_csv_is_refused_cleanly_or_imported_and_never_keeps_a_code(
    ledger: dl.Ledger, tmp_path: Path, case: tuple[type[Any], str]
) -> None:
    setup_world(ledger)
    cls, text = case
    before = ledger.digest()
    try:
        ledger.import_csv(cls, io.StringIO(text, newline=""))
    except BaseException as error:
        assert_allowed(error)
        assert ledger.digest() == before
    assert_no_code_in_files(tmp_path)


csv_bytes = st.lists(
    st.sampled_from([b",", b'"', b"'", b"\n", b"\r\n", b"\r", b"=", b"\xff", b"\xc3\xa9", b"\x00"])
    | st.binary(max_size=6)
    | st.sampled_from([b"maya", b"7301", b"2026-11-01T00:00:00Z", b"VIDEO", b"US", b"9999"]),
    max_size=30,
).map(b"".join)


@FUZZ
@given(cls=st.sampled_from(CSV_TYPES), body=csv_bytes, code=marked_codes)
@example(cls=dl.Creator, body=b'm,US,"never closed\nn,US,x\n', code="#x=")
@example(cls=dl.Creator, body=b"m,US," + b"x" * 140_000 + b"\n", code="#x=")
def test_any_csv_bytes_are_refused_cleanly_or_imported(
    ledger: dl.Ledger, tmp_path: Path, cls: type[Any], body: bytes, code: str
) -> None:
    """Random bytes after a real header; for codes, a raw code opens the first row."""
    setup_world(ledger)
    columns = [c for c in dl.io.csv_columns(cls) if not c.startswith("code_")]
    if cls is dl.SparkAuthorization:
        columns = ["code", *columns]
        body = code.encode() + b"," + body
    path = tmp_path / "input.csv"
    path.write_bytes(",".join(columns).encode() + b"\n" + body)
    before = ledger.digest()
    with path.open(encoding="utf-8", newline="") as source:
        try:
            ledger.import_csv(cls, source)
        except BaseException as error:
            assert_allowed(error)
            assert ledger.digest() == before
    assert_no_code_in_files(tmp_path)


# --- TikTok ---------------------------------------------------------------------------------

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_texts,
    extreme_time_texts,
    st.sampled_from(["AUTHORIZED", "USER_DELETE", "7301", "", "0", "20001"]),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
PATHS = {
    "item_info": [
        "auth_code",
        "item_id",
        "item_type",
        "text",
        "status",
        "stitch_original_item_id",
        "duet_original_item_id",
    ],
    "auth_info": ["ad_auth_status", "auth_start_time", "auth_end_time"],
    "user_info": ["identity_id", "tiktok_name", "identity_type"],
}


def tt_item(code: str, n: int) -> dict[str, Any]:
    return {
        "item_info": {"auth_code": code, "item_id": f"7301{n:015d}", "item_type": "VIDEO"},
        "auth_info": {
            "ad_auth_status": "AUTHORIZED",
            "auth_start_time": "2026-11-01 10:00:00",
            "auth_end_time": "2026-12-01 10:00:00",
        },
        "user_info": {"identity_id": f"7000{n:015d}", "tiktok_name": "maya"},
    }


@st.composite
def tiktok_payloads(draw: st.DrawFn) -> Any:
    items = [tt_item(draw(marked_codes), n) for n in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(items))
        part = draw(st.sampled_from(sorted(PATHS)))
        if draw(one_in(6)):
            target[part] = draw(json_values)  # the whole object replaced
        elif isinstance(target.get(part), dict):
            target[part][draw(st.sampled_from(PATHS[part]))] = draw(json_values)
    data: Any = items[0] if len(items) == 1 and draw(st.booleans()) else {"list": items}
    shape = draw(st.sampled_from(["envelope", "data", "hostile envelope", "creator side"]))
    if shape == "envelope":
        return {"code": 0, "message": "OK", "request_id": "r1", "data": data}
    if shape == "hostile envelope":
        return {"code": draw(json_values), "message": draw(json_values), "data": data}
    if shape == "creator side":
        return {
            "item_id": draw(json_values | st.just("7301")),
            "auth_code": draw(marked_codes),
            "auth_code_status": draw(st.sampled_from(["IN_USE", "DELETED"]) | json_values),
            "auth_code_start_time": draw(extreme_time_texts | json_values),
            "auth_code_end_time": draw(extreme_time_texts),
        }
    return data


@FUZZ
@given(
    payload=tiktok_payloads(),
    as_text=st.booleans(),
    advertiser=one_in(5).flatmap(lambda bad: wrong_types if bad else st.just(ADVERTISER)),
)
def test_any_tiktok_payload_is_refused_cleanly_or_imported_and_never_keeps_a_code(
    ledger: dl.Ledger, tmp_path: Path, payload: Any, as_text: bool, advertiser: Any
) -> None:
    setup_world(ledger)
    before = ledger.digest()
    if as_text:
        payload = json.dumps(payload)  # NaN and lone surrogates go through as JSON allows
    try:
        ledger.import_tiktok(payload, advertiser_id=advertiser, creator_id="maya")
    except BaseException as error:
        assert_allowed(error)
        assert ledger.digest() == before
    assert ledger.verify().ok
    assert_no_code_in_files(tmp_path)


@FUZZ
@given(
    text=st.text(alphabet=string.printable + "\ud800é", max_size=40)
    | st.integers(1, 200_000).map(lambda n: "[" * n)
    | st.integers(1, 3000).map(lambda n: '{"data":' * n + "{}" + "}" * n)
)
def test_any_json_text_is_refused_cleanly(ledger: dl.Ledger, text: str) -> None:
    setup_world(ledger)
    before = ledger.digest()
    try:
        ledger.import_tiktok(text, advertiser_id=ADVERTISER)
    except BaseException as error:
        assert_allowed(error)
        assert ledger.digest() == before


@pytest.mark.parametrize("depth", [10, 1000, 100_000])
def test_nesting_of_any_depth_is_refused_cleanly(ledger: dl.Ledger, depth: int) -> None:
    setup_world(ledger)
    value: Any = "x"
    for _ in range(depth):
        value = {"list": [value]}
    for payload in (value, {"code": value, "message": value, "data": {}}, json.dumps([[1]] * 3)):
        try:
            ledger.import_tiktok(payload, advertiser_id=ADVERTISER)
        except BaseException as error:
            assert_allowed(error)


# --- the command line's new commands (issue 25): import-sheet, retire, erase, retention, sync ---

#: Nothing listens here (port 9, discard): a sync that gets that far fails to connect at once,
#: and never leaves this machine.
CLOSED = "http://127.0.0.1:9/open_api/v1.3/"
#: Values for options that take no code (a code typed there is echoed as typed, like any value).
hostile_words = (
    nasty_texts
    | extreme_time_texts
    | st.sampled_from(
        ["", "-", "--", "-1", "nan", "inf", "1e999", "0", "9" * 40, "auth_1", "maya", "--help"]
    )
)


@st.composite
def new_commands(draw: st.DrawFn) -> list[str]:
    """An argument list for one of this round's commands, each value hostile or plausible."""
    word = draw(hostile_words)
    other = draw(hostile_words)
    command = draw(
        st.sampled_from(["import-sheet", "retire", "unretire", "erase", "retention", "sync"])
    )
    if command == "import-sheet":
        args = ["import-sheet", "sheet.csv"]
        args += draw(
            st.lists(
                st.sampled_from(
                    [
                        ["--map", f"{word}={other}"],
                        ["--date-order", word],
                        ["--dry-run"],
                        ["--create-accounts"],
                        ["--account-region", word],
                        ["--create-people"],
                        ["--timezone", word],
                    ]
                ),
                max_size=3,
            ).map(lambda options: [x for option in options for x in option])
        )
        return args
    if command in ("retire", "unretire"):  # a code's place: a raw code is never shown
        args = [command, draw(marked_codes | hostile_words)]
        return args + (
            ["--reason", other, "--at", draw(hostile_words)] if command == "retire" else []
        )
    if command == "erase":
        kind = draw(st.sampled_from(["creator", "person", "Post", word]))
        return ["erase", kind, other, "--reason", word, "--by", draw(hostile_words), "--dry-run"]
    if command == "retention":
        return ["retention", "--older-than", word, "--by", other, "--dry-run"]
    # a number of retries would retry the closed port with real sleeps: only refusals here
    retries = "0" if word.strip().isdigit() else word
    options = draw(
        st.lists(
            st.sampled_from(
                [
                    ["--max-retries", retries],
                    ["--timeout", word],
                    ["--max-backoff", word],
                    ["--ads"],
                    ["--no-ads"],
                    ["--allow-mass-unbind"],
                    ["--advertiser", other],
                ]
            ),
            max_size=3,
        ).map(lambda options: [x for option in options for x in option])
    )
    return [
        "sync",
        "--base-url",
        CLOSED,
        "--advertiser",
        ADVERTISER,
        "--max-retries",
        "0",
        *options,
    ]


def _sheet(code: str) -> str:
    return (
        "Creator handle,Video link,Spark code,Starts,Expires,Ad account,Owner\n"
        f"maya,https://www.tiktok.com/@maya/video/7301,{code},2026-11-01,2026-12-01,{ADVERTISER},ana\n"
    )


@FUZZ
@given(args=new_commands(), code=marked_codes)
def test_any_use_of_the_new_commands_ends_in_one_clean_line(
    ledger_path: Path, args: list[str], code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 0, 1 or 2; never a traceback or 'please report this'; a refusal (2) writes nothing;
    no raw code in anything printed; a sync never leaves 127.0.0.1."""
    from contextlib import redirect_stderr, redirect_stdout

    from delvia_ledger.cli import main

    (ledger_path.parent / "sheet.csv").write_text(_sheet(code))
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "fuzz-token-0000")
    monkeypatch.delenv("DELVIA_LEDGER_DB", raising=False)
    with dl.Ledger.open(ledger_path) as ledger:
        setup_world(ledger)
        before = ledger.digest()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        done = main([*args, "--db", str(ledger_path)])
    said = out.getvalue() + err.getvalue()
    assert done in (0, 1, 2), said
    assert "Traceback" not in said and "please report" not in said, said
    assert CODE_MARKER not in said and "fuzz-token-0000" not in said
    if done == 2:  # one line; a sync says one line per advertiser it names
        lines = err.getvalue().splitlines()
        assert 1 <= len(lines) <= max(1, args.count("--advertiser")), err.getvalue()
        with dl.Ledger.open(ledger_path) as ledger:
            assert ledger.digest() == before
    assert_no_code_in_files(ledger_path.parent)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"
