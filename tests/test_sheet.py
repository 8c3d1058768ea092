"""The one-tab sheet: header names, video links and date orders read as a person means them,
and a whole sheet imported into a real ledger (twice: the second time writes nothing)."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger import sheet, sheet_plan
from tests.conftest import T0, Clock
from tests.strategies import days, handles, header_spellings, post_ids, raw_codes, video_links

HEADER = ["Creator Handle", "Video Link", "Spark Code", "Sent On", "Expires", "Ad Account",
          "Owner", "Status", "Region", "Notes"]  # fmt: skip


@given(st.data())
def test_every_alias_in_any_spelling_finds_its_field(data: st.DataObject) -> None:
    fields = data.draw(st.permutations(sorted(set(sheet.ALIASES.values()))))
    header = [data.draw(header_spellings(data.draw(st.sampled_from(
        [a for a, f in sheet.ALIASES.items() if f == field])))) for field in fields]  # fmt: skip
    bom = data.draw(st.sampled_from(["", "\ufeff"]))
    header[0] = bom + header[0]
    columns, ignored = sheet.match_headers(header)
    assert columns == {field: i for i, field in enumerate(fields)}
    assert ignored == []


@given(st.text(alphabet="xyzq ", min_size=1, max_size=12))
def test_unknown_headers_are_listed_as_ignored(extra: str) -> None:
    header = ["Video Link", "Spark Code", "Sent On", "Expires", extra]
    columns, ignored = sheet.match_headers(header)
    assert set(columns) == {"video", "code", "starts", "expires"}
    assert ignored == ([extra.strip()] if extra.strip() else [])


def test_a_map_overrides_the_names_and_a_missing_column_is_named() -> None:
    header = ["Who", "Handle", "Video Link", "Spark Code", "Sent On", "Expires"]
    columns, ignored = sheet.match_headers(header, {"Who": "handle"})
    assert columns["handle"] == 0 and ignored == ["Handle"]
    with pytest.raises(sheet.SheetError, match=r"no column for the expires .*'Sent On'"):
        sheet.match_headers(header[:-1])
    with pytest.raises(sheet.SheetError, match=r"--map Who=hndle: 'hndle' is not a sheet field"):
        sheet.match_headers(header, {"Who": "hndle"})
    with pytest.raises(sheet.SheetError, match=r"'Start' and 'Sent On' both mean the starts"):
        sheet.match_headers(["Start", *header])


@given(video_links())
def test_a_video_link_gives_its_post_id_and_handle(link: tuple[str, str, str]) -> None:
    url, post, handle = link
    assert sheet.parse_video(url) == (post, handle, None)
    assert sheet.parse_video(f"  {post} ") == (post, None, None)


@given(post_ids, handles)
def test_a_photo_link_is_a_carousel(post: str, handle: str) -> None:
    url = f"https://www.tiktok.com/@{handle}/photo/{post}"
    assert sheet.parse_video(url) == (post, handle, dl.PostKind.CAROUSEL)


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("https://vm.tiktok.com/ZMabc123/", "short TikTok link"),
        ("https://www.tiktok.com/t/ZTRabc/", "short TikTok link"),
        ("https://www.youtube.com/watch?v=1", "not a TikTok video link"),
        ("https://www.tiktok.com/@maya/live", "not a TikTok video link"),
        ("https://evil.example/@maya/video/123", "not a TikTok video link"),
    ],
)
def test_links_that_name_no_post_are_refused_saying_why(cell: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sheet.parse_video(cell)


def _us(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _eu(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


@given(days)
def test_date_orders_read_the_day_the_sheet_means(day: date) -> None:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert sheet.parse_day(_us(day), "MDY") == midnight
    assert sheet.parse_day(_eu(day), "DMY") == midnight
    assert sheet.parse_day(day.isoformat(), None) == midnight
    assert sheet.parse_day(day.isoformat(), "DMY") == midnight  # ISO is never reordered
    if day.day <= 12 and day.day != day.month:  # reads two ways: refused without an order
        with pytest.raises(ValueError, match="--date-order MDY"):
            sheet.parse_day(_us(day), None)
    else:  # only one reading: no order needed, and the wrong one is refused
        assert sheet.parse_day(_us(day), None) == midnight
        if day.day != day.month:
            with pytest.raises(ValueError, match="not a date in DMY order"):
                sheet.parse_day(_us(day), "DMY")


def test_a_time_without_a_zone_needs_one() -> None:
    with pytest.raises(ValueError, match="--timezone"):
        sheet.parse_day("2026-11-01 09:00", None)
    assert sheet.parse_day("2026-11-01 09:00", None, UTC) == datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert sheet.parse_day("2026-11-01T09:00+01:00", None) == datetime(2026, 11, 1, 8, tzinfo=UTC)


def _sheet_text(rows: list[list[str]], header: list[str] = HEADER) -> io.StringIO:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    out.seek(0)
    return out


def _row(handle: str, post: str, code: str, sent: str = "11/15/2026", expires: str = "12/15/2026",
         account: str = "Brand US", owner: str = "Ana Lima", status: str = "Active",
         region: str = "US", notes: str = "") -> list[str]:  # fmt: skip
    link = f"https://www.tiktok.com/@{handle}/video/{post}"
    return [f"@{handle}", link, code, sent, expires, account, owner, status, region, notes]


def test_a_date_column_that_reads_two_ways_is_refused_naming_its_first_row() -> None:
    rows = [_row("maya", "7301", "#c0de1=", sent="11/01/2026", expires="12/01/2026")]
    with pytest.raises(sheet.SheetError, match=r"row 2, column 'Sent On': '11/01/2026' could"):
        sheet.read_rows(_sheet_text(rows))
    mixed = [*rows, _row("leo", "7302", "#c0de2=", sent="11/15/2026"),
             _row("zoe", "7303", "#c0de3=", sent="15/11/2026")]  # fmt: skip
    with pytest.raises(sheet.SheetError, match="row 3 is month-first and row 4 day-first"):
        sheet.read_rows(_sheet_text(mixed))
    read = sheet.read_rows(_sheet_text(rows), date_order="MDY")
    assert read.rows[0].starts_at == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {1: "https://vm.tiktok.com/x/"},
            r"row 2, column 'Video Link': 'https://vm.tiktok.com/x/' is a short",
        ),
        ({3: "31/31/2026"}, r"row 2, column 'Sent On': '31/31/2026' is not a date"),
        ({7: "Paused?"}, r"row 2, column 'Status': 'Paused\?' is not a status"),
        ({8: "USA"}, r"row 2, column 'Region': 'USA' is not a region code"),
        (
            {0: "@other"},
            r"row 2, column 'Creator Handle': 'other' differs from the video link's @maya",
        ),
        ({4: "11/14/2026"}, r"row 2, column 'Expires': '11/14/2026' is not after the start"),
        ({2: ""}, r"row 2, column 'Spark Code': the code is empty"),
    ],
)
def test_every_bad_cell_is_named_by_row_column_and_value(
    change: dict[int, str], message: str
) -> None:
    row = _row("maya", "7301", "#c0de1=")
    for index, value in change.items():
        row[index] = value
    with pytest.raises(sheet.SheetError, match=message):
        sheet.read_rows(_sheet_text([row]), date_order="MDY")


def test_the_same_code_twice_is_refused_naming_both_rows() -> None:
    rows = [_row("maya", "7301", "#same="), _row("leo", "7302", " #same= ")]
    with pytest.raises(sheet.SheetError, match="rows 2 and 3, column 'Spark Code': the same code"):
        sheet.read_rows(_sheet_text(rows))


@given(st.lists(post_ids, min_size=1, max_size=5))
def test_derived_creator_ids_hold_no_handle_and_do_not_depend_on_row_order(
    posts: list[str],
) -> None:
    made = sheet_plan.derived_creator_id(posts)
    assert made == sheet_plan.derived_creator_id(reversed(posts))
    assert made.startswith("cr_") and len(made) == 15


def _setup(ledger: dl.Ledger) -> None:
    ledger.record_all([
        dl.AdAccount(id="6900000000000000001", name="Brand US", region="US"),
        dl.AdAccount(id="6900000000000000002", name="Brand UK", region="GB"),
        dl.Person(id="p_ana", name="Ana Lima", email="ana@brand.example"),
        dl.Person(id="p_ben", name="Ben Okafor"),
    ])  # fmt: skip


@settings(max_examples=25)
@given(
    st.lists(st.tuples(handles, post_ids, raw_codes), min_size=1, max_size=12,
             unique_by=(lambda t: t[1], lambda t: t[2].strip())),
    st.data(),
)  # fmt: skip
def test_a_sheet_goes_in_once_and_its_reimport_writes_nothing(
    entries: list[tuple[str, str, str]], data: st.DataObject
) -> None:
    rows = []
    for handle, post, code in entries:
        rows.append(_row(
            handle, post, code,
            account=data.draw(st.sampled_from(["Brand US", "brand uk", "6900000000000000001", ""])),
            owner=data.draw(st.sampled_from(["Ana Lima", "ana@brand.example", "p_ben", ""])),
            status=data.draw(st.sampled_from(["Active", "revoked", "EXPIRED", ""])),
            region=data.draw(st.sampled_from(["US", "gb", ""])),
        ))  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as folder,
        dl.Ledger.open(Path(folder) / "l.db", clock=Clock()) as ledger,
    ):
        _setup(ledger)
        dry = ledger.import_sheet(_sheet_text(rows), dry_run=True)
        assert ledger.digest().seq == 4  # a dry run writes nothing
        first = ledger.import_sheet(_sheet_text(rows))
        assert first.written == dry.written == ledger.digest().seq - 4
        again = ledger.import_sheet(_sheet_text(rows))
        assert again.written == 0 and again.last_seq == first.last_seq
        for (_, post, code), row in zip(entries, rows, strict=True):
            auth = ledger.authorization_for(code)
            assert auth is not None and auth.post_id == post
            assert (auth.revoked_at == T0) == (row[7] == "revoked")
            creator = ledger.get(dl.Creator, auth.creator_id)
            assert creator is not None
            assert creator.handle in {h for h, _, _ in entries}
            assert creator.id != creator.handle  # DESIGN §16: no handle as an id
            post_record = ledger.get(dl.Post, post)
            assert post_record is not None and post_record.kind is dl.PostKind.VIDEO


def test_unknown_accounts_and_owners_are_listed_and_created_only_when_asked(tmp_path: Path) -> None:
    with dl.Ledger.open(tmp_path / "l.db", clock=Clock()) as ledger:
        _setup(ledger)
        rows = [_row("maya", "7301", "#c0de1=", account="Brand FR", owner="Zed"),
                _row("leo", "7302", "#c0de2=", account="6900000000000000009", owner="Yan")]  # fmt: skip
        with pytest.raises(
            sheet.SheetError,
            match=r"unknown ad account\(s\) 'Brand FR' \(row 2\); '6900000000000000009' \(row 3\); the ledger knows Brand US \(6900000000000000001\), Brand UK",
        ):
            ledger.import_sheet(_sheet_text(rows))
        rows[0][5] = "Brand US"
        with pytest.raises(sheet.SheetError, match="--create-accounts --account-region"):
            ledger.import_sheet(_sheet_text(rows))
        with pytest.raises(
            sheet.SheetError, match=r"unknown owner\(s\) 'Zed' \(row 2\); 'Yan' \(row 3\)"
        ):
            ledger.import_sheet(_sheet_text(rows), create_accounts=True, account_region="FR")
        assert ledger.digest().seq == 4
        result = ledger.import_sheet(
            _sheet_text(rows), create_accounts=True, account_region="FR", create_people=True
        )
        assert result.created["accounts"] == ["6900000000000000009"]
        assert len(result.created["people"]) == 2
        account = ledger.get(dl.AdAccount, "6900000000000000009")
        assert account is not None and account.region == "FR"
        owners = {ledger.get(dl.Person, p).name for p in result.created["people"]}  # type: ignore[union-attr]
        assert owners == {"Zed", "Yan"}
        assert ledger.import_sheet(_sheet_text(rows)).written == 0  # now found by name


def test_a_sheet_links_creators_the_ledger_holds_by_handle(tmp_path: Path) -> None:
    with dl.Ledger.open(tmp_path / "l.db", clock=Clock()) as ledger:
        _setup(ledger)
        ledger.record(
            dl.Creator(id="7000123", handle="@Maya", region="US", tiktok_identity_id="7000123")
        )
        result = ledger.import_sheet(_sheet_text([_row("maya", "7301", "#c0de1=", region="")]))
        assert result.new == {"Post": 1, "SparkAuthorization": 1}
        auth = ledger.authorization_for("#c0de1=")
        assert auth is not None and auth.creator_id == "7000123"
        creator = ledger.get(dl.Creator, "7000123")
        assert creator is not None and creator.region == "US"  # a blank cell keeps what is known


def test_a_raw_code_is_never_in_an_error_or_the_file(tmp_path: Path) -> None:
    code = "#SECRETcodeVALUE123="
    with dl.Ledger.open(tmp_path / "l.db", clock=Clock()) as ledger:
        _setup(ledger)
        rows = [_row("maya", "7301", code), _row("leo", "7302", code)]
        with pytest.raises(sheet.SheetError) as refused:
            ledger.import_sheet(_sheet_text(rows))
        assert "SECRET" not in str(refused.value)
        ledger.import_sheet(_sheet_text(rows[:1]))
    assert b"SECRET" not in (tmp_path / "l.db").read_bytes()


def test_retire_and_unretire_are_versions_in_the_chain_and_a_sheet_never_undoes_them(
    tmp_path: Path,
) -> None:
    with dl.Ledger.open(tmp_path / "l.db", clock=Clock()) as ledger:
        _setup(ledger)
        ledger.import_sheet(_sheet_text([_row("maya", "7301", "#c0de1=")]))
        auth = ledger.authorization_for("#c0de1=")
        assert auth is not None and auth.retired_at is None
        retired = ledger.retire("#c0de1=", "campaign ended")
        assert retired.retired_at == T0 and retired.retired_reason == "campaign ended"
        assert ledger.retire(auth.id) == retired  # again: the same date, the same reason
        assert len(ledger.history(dl.SparkAuthorization, auth.id)) == 2
        assert ledger.import_sheet(_sheet_text([_row("maya", "7301", "#c0de1=")])).written == 0
        assert ledger.get(dl.SparkAuthorization, auth.id) == retired  # a blank keeps it
        back = ledger.unretire(auth.id)
        assert back.retired_at is None and back.retired_reason is None
        assert [cast(dl.SparkAuthorization, e.record).retired_at for e in ledger.history(dl.SparkAuthorization, auth.id)] == [
            None, T0, None,
        ]  # fmt: skip
        assert ledger.verify().ok
        with pytest.raises(dl.LedgerError, match="no authorization in the ledger") as missing:
            ledger.retire("#not-a-known-code=")
        assert "not-a-known" not in str(missing.value)
    with pytest.raises(dl.InvalidRecordError, match="retired_reason='why': needs retired_at"):
        dl.SparkAuthorization.from_code(
            "#c0de=", creator_id="c", post_id="p", starts_at="2026-01-01",
            expires_at="2026-02-01", retired_reason="why",
        )  # fmt: skip


def _tiktok_item(code: str, post: str, handle: str, ends: str, status: str) -> dict[str, Any]:
    """One ``/tt_video/info/`` item as TikTok sends it (the shape of tests/test_tiktok.py)."""
    return {
        "item_info": {"auth_code": code, "item_id": post, "item_type": "VIDEO", "status": status},
        "auth_info": {
            "ad_auth_status": "AUTHORIZED",
            "auth_start_time": "2026-11-15 00:00:00",
            "auth_end_time": ends,
        },
        "user_info": {
            "identity_id": f"70{post}",
            "identity_type": "AUTH_CODE",
            "tiktok_name": handle,
        },
    }


def test_a_sheet_never_rolls_back_what_tiktok_said_and_lists_each_conflict(tmp_path: Path) -> None:
    clock = Clock()
    rows = [_row("maya", "7301", "#c0de1=", account="Brand US"),
            _row("leo", "7302", "#c0de2=", account="Brand US")]  # fmt: skip
    with dl.Ledger.open(tmp_path / "l.db", clock=clock) as ledger:
        _setup(ledger)
        first = ledger.import_sheet(_sheet_text(rows))
        assert first.written == 6 and first.conflicts == ()
        assert {e.source for e in ledger.entries() if e.seq > 4} == {"sheet"}
        clock.advance(days=10)  # TikTok: maya extended her code, leo's post was deleted
        page = {"list": [
            _tiktok_item("#c0de1=", "7301", "maya", "2027-01-09 00:00:00", "HESITATE_RECOMMEND"),
            _tiktok_item("#c0de2=", "7302", "leo", "2026-12-15 00:00:00", "USER_DELETE"),
        ], "page_info": {"page": 1, "page_size": 50, "total_number": 2, "total_page": 1}}  # fmt: skip
        synced = ledger.import_tiktok(page, advertiser_id="6900000000000000001")
        assert synced.written > 0
        said = ledger.digest()
        assert ledger.import_tiktok(page, advertiser_id="6900000000000000001").written == 0
        clock.advance(days=1)
        again = ledger.import_sheet(_sheet_text(rows))
        assert again.written == 0 and ledger.digest() == said  # nothing TikTok said is undone
        assert again.conflicts == (
            "row 2: the sheet says expires 2026-12-15, TikTok said 2027-01-09 on 2026-12-04: "
            "kept TikTok's",
        )
        assert "kept as TikTok said" in "\n".join(again.lines())
        auth = ledger.authorization_for("#c0de1=")
        assert auth is not None and auth.expires_at == datetime(2027, 1, 9, tzinfo=UTC)
        post = ledger.get(dl.Post, "7302")
        assert post is not None and post.status == "USER_DELETE"
        # the next sync writes nothing either: the ledger holds what TikTok says
        assert ledger.import_tiktok(page, advertiser_id="6900000000000000001").written == 0
        # a person's own change still wins, and the sheet does not undo it either
        ledger.record(dl.SparkAuthorization(**{**attrs.asdict(auth, recurse=False),
                                              "expires_at": "2027-02-01"}), source="cli")  # fmt: skip
        after = ledger.import_sheet(_sheet_text(rows))
        assert after.written == 0
        assert after.conflicts[0].endswith("kept 2027-02-01 (a later change)")


def test_a_csv_import_keeps_what_tiktok_said_too_and_warns_with_each_line(tmp_path: Path) -> None:
    clock = Clock()
    with dl.Ledger.open(tmp_path / "l.db", clock=clock) as ledger:
        _setup(ledger)
        ledger.import_sheet(_sheet_text([_row("maya", "7301", "#c0de1=", account="Brand US")]))
        auth = ledger.authorization_for("#c0de1=")
        assert auth is not None
        clock.advance(days=10)
        page = {"list": [_tiktok_item("#c0de1=", "7301", "maya", "2027-01-09 00:00:00", "OK")]}
        ledger.import_tiktok(page, advertiser_id="6900000000000000001")
        said = ledger.digest()
        rows = io.StringIO()
        csv.writer(rows).writerows([
            ["code", "creator_id", "post_id", "starts_at", "expires_at", "ad_account_id", "owner_id"],
            ["#c0de1=", auth.creator_id, "7301", "2026-11-15", "2026-12-15", "6900000000000000001", "p_ana"],
        ])  # fmt: skip
        rows.seek(0)
        with pytest.warns(dl.io.SourceConflictWarning) as warned:
            result = ledger.import_csv(dl.SparkAuthorization, rows)
        assert result.written == 0 and ledger.digest() == said
        [warning] = warned
        assert warning.message.conflicts == (  # type: ignore[union-attr]
            "line 2: the CSV says expires 2026-12-15, TikTok said 2027-01-09 on 2026-12-04: "
            "kept TikTok's",
        )


def test_a_sheet_re_creating_an_erased_creator_is_refused_unless_forced(tmp_path: Path) -> None:
    """Issue 26 item 7: the sheet brings an erased creator's handle back only with force=True
    (a new consent), as a CSV import does; refused, it names the row and writes nothing."""
    rows = [_row("maya.makes", "7301234567890123456", "#erase-me-code+AAA="),
            _row("leo.cooks", "7301234567890123999", "#keep-me-code+BBB=")]  # fmt: skip
    with dl.Ledger.open(tmp_path / "l.db", clock=Clock()) as ledger:
        _setup(ledger)
        ledger.import_sheet(_sheet_text(rows))
        maya = ledger.authorization_for("#erase-me-code+AAA=")
        assert maya is not None
        ledger.erase(dl.Creator, maya.creator_id, reason="asked", by="p_ana")
        seq = ledger.seq
        for dry_run in (True, False):
            with pytest.raises(dl.ErasedSubjectError) as refused:
                ledger.import_sheet(_sheet_text(rows), dry_run=dry_run)
            assert str(refused.value).startswith(f"row 2: Creator '{maya.creator_id}'")
            assert "needs force=True (--force), for a new consent" in str(refused.value)
            assert ledger.seq == seq
        again = ledger.import_sheet(_sheet_text(rows), force=True)
        assert again.written == 1 and ledger.seq == seq + 1
        creator = ledger.get(dl.Creator, maya.creator_id)
        assert creator is not None and creator.handle == "maya.makes"
        assert ledger.verify(deep=True).ok


def test_a_slack_column_gives_owners_their_chat_handle_once(tmp_path: Path) -> None:
    """Issue 23 item 6: a sheet's ``Slack`` column is each owner's ``Person.chat_id``: set where
    the person has none, a held one kept (with a note), every bad cell named by row, column and
    value, and nothing written when refused."""
    header = [*HEADER, "Slack"]
    rows = [
        [*_row("maya.makes", "7301234567890123456", "#chat-code-one+A="), "U0ANA1234"],
        [*_row("leo.cooks", "7301234567890123457", "#chat-code-two+B=", owner="Ben Okafor"),
         "U0BEN1234"],
        [*_row("leo.cooks", "7301234567890123458", "#chat-code-three+C=", owner="Cy New"),
         "U0CY12345"],
    ]  # fmt: skip
    with dl.Ledger.open(tmp_path / "l.db", clock=Clock()) as ledger:
        _setup(ledger)
        ledger.record(dl.Person(id="p_ben", name="Ben Okafor", chat_id="U0BENOLD1"))
        seq = ledger.seq
        for bad, message in (
            ([[*rows[0][:-1], "U0 ANA"]], "row 2, column 'Slack': 'U0 ANA' must be one chat"),
            ([[*rows[0][:6], "", *rows[0][7:]]], "'U0ANA1234' is a chat handle for nobody"),
            (
                [
                    rows[0],
                    [*_row("maya.makes", "7301234567890123459", "#chat-code-four+D="), "U0OTHER12"],
                ],
                "row 3, column 'Slack': 'U0OTHER12' differs",
            ),
        ):
            with pytest.raises(sheet.SheetError, match=message):
                ledger.import_sheet(_sheet_text(bad, header), create_people=True)
        assert ledger.seq == seq
        result = ledger.import_sheet(_sheet_text(rows, header), create_people=True)
        assert result.new["Person"] == 1 and result.changed["Person"] == 1
        assert result.notes == (
            "row 3: the sheet gives p_ben the chat handle U0BEN1234, the ledger holds "
            "U0BENOLD1: kept the ledger's (change it with delvia-ledger add Person --id p_ben "
            "… --chat-id …)",
        )
        chats = {p.name: p.chat_id for p in ledger.records(dl.Person)}
        assert chats == {"Ana Lima": "U0ANA1234", "Ben Okafor": "U0BENOLD1", "Cy New": "U0CY12345"}
        assert ledger.import_sheet(_sheet_text(rows, header), create_people=True).written == 0
