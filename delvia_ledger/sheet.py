"""The one-tab sheet a team keeps (one row per code) read into the records it implies (DESIGN §9).

Pure: cells in, records out, given what the ledger already knows (:class:`Known`); the intake
writes them. Every error names the row, the column and the value as the sheet spells them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import IO, Literal
from urllib.parse import urlsplit

import attrs
from dateutil.parser import ParserError
from dateutil.parser import parse as parse_date

from .errors import PayloadError
from .fields import chat_id_problem
from .records import (
    ISO_REGIONS,
    PostKind,
    SparkCode,
    shown,
)

__all__ = [
    "ALIASES",
    "COLUMNS",
    "ReadSheet",
    "SheetError",
    "SheetRow",
    "header_key",
    "match_headers",
    "parse_day",
    "parse_video",
    "read_rows",
]

DateOrder = Literal["MDY", "DMY"]

#: What each column of the sheet means, by the field the importer fills from it.
COLUMNS: dict[str, str] = {
    "handle": "the creator's @handle",
    "video": "the TikTok video link (https://www.tiktok.com/@handle/video/<id>) or the post id",
    "code": "the Spark code the creator sent (never stored; its fingerprint and hint are)",
    "starts": "when the code was sent or starts",
    "expires": "when the code expires",
    "account": "the ad account, by id or by name",
    "owner": "who renews it: a person's id, email or exact name",
    "chat": "the owner's chat handle (a Slack member id such as U024BE7LH): reminders mention "
    "them by it; a handle the ledger already holds is kept",
    "status": "active, revoked or expired (revoked records the revocation)",
    "region": "the creator's region (ISO code such as US, GB)",
    "notes": "free text: read, not recorded (the ledger keeps no notes)",
    "kind": "VIDEO or CAROUSEL (VIDEO when the sheet does not say)",
    "identity": "TikTok's identity_id of the creator",
    "display_name": "the creator's TikTok nickname",
}

#: The header names people use, normalised by :func:`header_key`, and the field each means.
ALIASES: dict[str, str] = {
    alias: field
    for field, aliases in {
        "handle": (
            "handle", "creator handle", "creator", "tiktok handle", "username",
            "creator username", "tiktok username", "tiktok",
        ),
        "video": (
            "video link", "video url", "video", "url", "link", "post", "post url", "post link",
            "post id", "video id", "tiktok link", "tiktok url", "item id",
        ),
        "code": (
            "spark code", "code", "auth code", "authorization code", "spark ads code",
            "spark ad code", "ad code",
        ),
        "starts": (
            "sent on", "sent", "sent date", "date sent", "starts", "start", "start date",
            "starts on", "starts at", "received", "received on", "from",
        ),
        "expires": (
            "expires", "expiry", "expiry date", "expires on", "expires at", "expiration",
            "expiration date", "end", "end date", "ends", "ends on", "until", "valid until",
        ),
        "account": (
            "ad account", "account", "advertiser", "advertiser id", "ad account id",
            "ad account name", "account id",
        ),
        "owner": ("owner", "owned by", "responsible", "assigned to", "assignee", "renewed by"),
        "chat": (
            "slack", "slack id", "slack member id", "owner slack", "owner slack id", "chat",
            "chat id", "chat handle", "owner chat",
        ),
        "status": ("status", "state", "code status"),
        "region": ("region", "country", "creator region", "creator country"),
        "notes": ("notes", "note", "comments", "comment", "remarks"),
        "kind": ("kind", "post type", "post kind", "format"),
        "identity": ("identity id", "tiktok identity id", "identity"),
        "display_name": ("display name", "creator name", "nickname", "tiktok name"),
    }.items()
    for alias in aliases
}  # fmt: skip

_REQUIRED = ("video", "code", "starts", "expires")

_STATUS: dict[str, str] = {
    **dict.fromkeys(
        ("", "active", "live", "running", "sent", "pending", "ok", "approved", "authorized",
         "in use", "received", "new"),
        "active",
    ),
    **dict.fromkeys(
        ("revoked", "cancelled", "canceled", "withdrawn", "removed", "deauthorized"), "revoked"
    ),
    **dict.fromkeys(("expired", "ended", "done", "finished", "inactive"), "expired"),
}  # fmt: skip


class SheetError(PayloadError):
    """A sheet cell, header or row the importer cannot use; names row, column and value."""


def header_key(header: str) -> str:
    """A header as matched: case, spaces, ``_``/``-``, a byte-order mark and ``:`` ignored.

    >>> header_key("\\ufeff Creator_Handle: "), header_key("Sent  On")
    ('creator handle', 'sent on')
    """
    return " ".join(re.sub(r"[\s_\-:.#*]+", " ", header.replace("\ufeff", "")).lower().split())


def match_headers(
    header: Sequence[str], mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, int], list[str]]:
    """Which column holds each field (field -> index), and the headers no field takes.

    ``mapping`` ("Header" -> field) overrides the names people use; a field named twice, or a
    required column missing, is refused with the headers found.
    """
    wanted = {header_key(name): field for name, field in (mapping or {}).items()}
    for name, field in (mapping or {}).items():
        if field not in COLUMNS:
            raise SheetError(
                f"--map {name}={field}: {shown(field)} is not a sheet field; "
                f"use one of {', '.join(COLUMNS)}"
            )
        if header_key(name) not in map(header_key, header):
            raise SheetError(
                f"--map {name}={field}: the sheet has no column {shown(name)}; "
                f"its columns are {', '.join(map(shown, header))}"
            )
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        key = header_key(name)
        found = wanted.get(key)
        if found is None and ALIASES.get(key) not in wanted.values():  # a --map wins
            found = ALIASES.get(key)
        if found is None:
            if key:
                ignored.append(name.strip())
            continue
        field = found
        if field in columns:
            raise SheetError(
                f"columns {shown(header[columns[field]].strip())} and {shown(name.strip())} "
                f"both mean the {field} ({COLUMNS[field]}); rename one, or say which with "
                f'--map "{name.strip()}=<field>"'
            )
        columns[field] = index
    missing = [f for f in _REQUIRED if f not in columns]  # a creator may come from the link
    if missing:
        listed = ", ".join(map(shown, (h.strip() for h in header))) or "none"
        raise SheetError(
            f"no column for {', '.join(f'the {m} ({COLUMNS[m]})' for m in missing)}; the "
            f'sheet\'s columns are {listed}; name one with --map "Header=field"'
        )
    return columns, ignored


# --- cells ---------------------------------------------------------------------------------------

#: A TikTok post id as a sheet may hold it (also an ad account id).
POST_ID = re.compile(r"\d{1,25}")
_HANDLE = re.compile(r"@?([A-Za-z0-9_.]{1,64})")
_SHORT_HOSTS = ("vm.tiktok.com", "vt.tiktok.com")


def parse_video(cell: str) -> tuple[str, str | None, PostKind | None]:
    """The post id, the handle (if the link names one) and the kind a video cell gives
    (CAROUSEL for a ``/photo/`` link; None where the cell does not say, VIDEO by default).

    >>> parse_video("https://www.tiktok.com/@maya.makes/video/7301234567890123456?lang=en")
    ('7301234567890123456', 'maya.makes', None)
    >>> parse_video("7301234567890123456")
    ('7301234567890123456', None, None)

    Raises ``ValueError`` saying what a cell should look like (a short ``vm.tiktok.com``
    link cannot be read without asking TikTok).
    """
    text = cell.strip()
    if POST_ID.fullmatch(text):
        return text, None, None
    url = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        host, parts = "", None
    if host in _SHORT_HOSTS or (
        host.endswith("tiktok.com") and parts and parts.path.startswith("/t/")
    ):
        raise ValueError(
            "is a short TikTok link, which names no post; open it in a browser and paste the "
            "full link (https://www.tiktok.com/@handle/video/<id>)"
        )
    if parts is not None and (host == "tiktok.com" or host.endswith(".tiktok.com")):
        match = re.fullmatch(r"/@([^/]+)/(video|photo)/(\d{1,25})/?", parts.path)
        if match and _HANDLE.fullmatch(match[1]):
            return match[3], match[1], PostKind.CAROUSEL if match[2] == "photo" else None
    raise ValueError(
        "is not a TikTok video link (https://www.tiktok.com/@handle/video/<id>) or a post id"
    )


_NUMERIC_DAY = re.compile(r"\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T].*)?\s*")


def day_order_needed(cell: str) -> Literal["MDY", "DMY", "either", "none"]:
    """Which day order a date cell can be read in: ``none`` for ISO and written-out months.

    >>> [day_order_needed(c) for c in ("11/01/2026", "13/01/2026", "2026-11-01")]
    ['either', 'DMY', 'none']
    """
    match = _NUMERIC_DAY.fullmatch(cell)
    if not match or len(match[1]) == 4:
        return "none"
    first, second = int(match[1]), int(match[2])
    if first == second:
        return "none"  # 1/1/2026 reads the same either way
    if first > 12 and second <= 12:
        return "DMY"
    if second > 12 and first <= 12:
        return "MDY"
    return "either"


def parse_day(cell: str, order: DateOrder | None, zone: tzinfo | None = None) -> datetime:
    """A date cell as an aware UTC time: ISO (``2026-11-01``, ``2026-11-01T09:00Z``), or
    ``11/01/2026`` in the given day ``order``; a date alone is midnight UTC.

    >>> parse_day("11/01/2026", "MDY"), parse_day("11/01/2026", "DMY").month
    (datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc), 1)

    Raises ``ValueError`` saying why, in words for the sheet's user.
    """
    return _parse_day(cell.strip(), order, zone)


@lru_cache(maxsize=4096)  # a sheet repeats its dates: parse each distinct cell once
def _parse_day(text: str, order: DateOrder | None, zone: tzinfo | None) -> datetime:
    needs = day_order_needed(text)
    if needs == "either" and order is None:
        raise ValueError(
            "could be read day-first or month-first; say which with --date-order MDY "
            "(US, 11/01/2026 is November 1) or DMY (1 November is 01/11/2026)"
        )
    if needs in ("MDY", "DMY") and order not in (None, needs):
        raise ValueError(f"is not a date in {order} order")
    try:
        year_first = bool(re.match(r"\d{4}", text))  # 2026-11-01, 2026/11/01: never reordered
        moment = parse_date(
            text, dayfirst=not year_first and (order or needs) == "DMY", yearfirst=year_first
        )
    except (ParserError, ValueError, OverflowError):
        raise ValueError("is not a date like 2026-11-01 or 11/01/2026") from None
    if moment.tzinfo is None:
        if _has_time(text):
            if zone is None:
                raise ValueError(
                    "has a time but no time zone: add Z or an offset, or give the sheet's zone "
                    "(--timezone Europe/Berlin)"
                )
            moment = moment.replace(tzinfo=zone)
        else:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _has_time(text: str) -> bool:
    return bool(re.search(r"\d:\d", text))


def status_of(cell: str) -> str:
    """``active``, ``revoked`` or ``expired`` from a status cell (``ValueError`` otherwise)."""
    found = _STATUS.get(header_key(cell))
    if found is None:
        raise ValueError("is not a status; use Active, Revoked or Expired (or leave it empty)")
    return found


# --- rows ----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SheetRow:
    """One row of the sheet, read: the cells as typed values (the code already a SparkCode)."""

    row: int  #: the spreadsheet's row number (the header is row 1)
    handle: str | None
    post_id: str
    kind: PostKind | None
    code: SparkCode
    starts_at: datetime
    expires_at: datetime
    account: str | None
    owner: str | None
    status: str
    region: str | None
    identity: str | None
    display_name: str | None
    chat: str | None = None  #: the owner's chat handle (``Person.chat_id``)


@attrs.frozen
class _Reader:
    header: list[str]
    columns: dict[str, int]
    order: dict[str, DateOrder | None]
    zone: tzinfo | None

    def cell(self, row: int, cells: list[str], field: str) -> str | None:
        index = self.columns.get(field)
        if index is None or index >= len(cells):
            return None
        text = cells[index].strip()
        return text or None

    def fail(self, row: int, field: str, value: str, why: str) -> SheetError:
        column = self.header[self.columns[field]].strip()
        shown_value = "the code" if field == "code" else shown(value)
        return SheetError(f"row {row}, column {shown(column)}: {shown_value} {why}")

    def read(self, row: int, cells: list[str]) -> SheetRow:
        video = self.cell(row, cells, "video")
        if video is None:
            raise self.fail(row, "video", "", "is empty; every row needs the video link")
        try:
            post_id, linked, kind = parse_video(video)
        except ValueError as error:
            raise self.fail(row, "video", video, str(error)) from None
        handle = self.cell(row, cells, "handle")
        if handle is not None:
            match = _HANDLE.fullmatch(handle)
            if match is None:
                raise self.fail(row, "handle", handle, "is not a TikTok handle like @maya.makes")
            handle = match[1]
            if linked is not None and linked.lower() != handle.lower():
                raise self.fail(
                    row, "handle", handle, f"differs from the video link's @{linked}; fix one"
                )
        handle = handle or linked
        if handle is None and self.cell(row, cells, "identity") is None:
            raise SheetError(
                f"row {row}: no creator: give the handle, a video link with @handle, or "
                "the identity id"
            )
        raw = self.cell(row, cells, "code")
        if raw is None:
            raise self.fail(row, "code", "", "is empty; every row needs its Spark code")
        try:
            code = SparkCode(raw)
        except (ValueError, TypeError) as error:
            why = str(error).removeprefix("SparkCode: ")
            raise self.fail(row, "code", raw, f"is not a Spark code: {why}") from None
        starts, expires = self.day(row, cells, "starts"), self.day(row, cells, "expires")
        if expires <= starts:
            raise self.fail(
                row, "expires", self.cell(row, cells, "expires") or "", "is not after the start"
            )
        status_cell = self.cell(row, cells, "status") or ""
        try:
            status = status_of(status_cell)
        except ValueError as error:
            raise self.fail(row, "status", status_cell, str(error)) from None
        kind_cell = self.cell(row, cells, "kind")
        if kind_cell is not None:
            try:
                kind = PostKind(kind_cell.upper())
            except ValueError:
                raise self.fail(row, "kind", kind_cell, "is not VIDEO or CAROUSEL") from None
        region = self.cell(row, cells, "region")
        if region is not None and region.upper() not in ISO_REGIONS:
            raise self.fail(row, "region", region, "is not a region code such as US, GB or DE")
        chat = self.cell(row, cells, "chat")
        if chat is not None:
            problem = chat_id_problem(chat)
            if problem is not None:
                raise self.fail(row, "chat", chat, problem)
            if self.cell(row, cells, "owner") is None:
                raise self.fail(
                    row, "chat", chat, "is a chat handle for nobody: the row has no owner"
                )
        return SheetRow(
            row=row,
            handle=handle,
            post_id=post_id,
            kind=kind,
            code=code,
            starts_at=starts,
            expires_at=expires,
            account=self.cell(row, cells, "account"),
            owner=self.cell(row, cells, "owner"),
            status=status,
            region=region.upper() if region else None,
            identity=self.cell(row, cells, "identity"),
            display_name=self.cell(row, cells, "display_name"),
            chat=chat,
        )

    def day(self, row: int, cells: list[str], field: str) -> datetime:
        text = self.cell(row, cells, field)
        if text is None:
            raise self.fail(row, field, "", "is empty; every row needs it")
        try:
            return parse_day(text, self.order.get(field), self.zone)
        except ValueError as error:
            raise self.fail(row, field, text, str(error)) from None


def read_rows(
    source: IO[str],
    *,
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
    zone: tzinfo | None = None,
) -> ReadSheet:
    """Every row of a sheet (an open text file of CSV), read, with the headers it used.

    Without ``date_order``, a date column whose every cell reads one way only (``25/11/2026``
    can only be day-first) is read that way; a column of cells that read both ways is refused,
    naming its first such row. Blank rows are skipped.
    """
    if date_order not in (None, "MDY", "DMY"):
        raise SheetError(f"date order {shown(date_order)}: use MDY or DMY")
    lines = csv.reader(source)
    header = next(lines, None)
    if header is None:
        raise SheetError("the sheet is empty: no header row")
    columns, ignored = match_headers(header, mapping)
    table = [(n, cells) for n, cells in enumerate(lines, start=2) if any(c.strip() for c in cells)]
    order = {
        field: date_order or _column_order(header, columns[field], table)
        for field in ("starts", "expires")
    }
    reader = _Reader(header, columns, order, zone)
    rows = [reader.read(n, cells) for n, cells in table]
    _check_unique(rows, header[columns["code"]].strip())
    named = {field: header[index].strip() for field, index in columns.items()}
    return ReadSheet(rows=rows, ignored=tuple(ignored), columns=named)


@attrs.frozen(kw_only=True)
class ReadSheet:
    """A sheet, read: its rows, the headers no field takes, and the header of each field."""

    rows: list[SheetRow]
    ignored: tuple[str, ...]
    columns: dict[str, str]  #: field -> the header as the sheet spells it


def _column_order(
    header: list[str], index: int, table: list[tuple[int, list[str]]]
) -> DateOrder | None:
    """The day order one column's cells agree on (None if none need one); refused when they
    disagree or every numeric cell could be read both ways."""
    seen: dict[str, int] = {}
    for n, cells in table:
        needs = day_order_needed(cells[index]) if index < len(cells) else "none"
        seen.setdefault(needs, n)
    if "MDY" in seen and "DMY" in seen:
        raise SheetError(
            f"column {shown(header[index].strip())}: row {seen['MDY']} is month-first and row "
            f"{seen['DMY']} day-first; fix one, or say which with --date-order MDY|DMY"
        )
    for order in ("MDY", "DMY"):
        if order in seen:
            return order
    if "either" in seen:
        n = seen["either"]
        cell = next(c for m, c in table if m == n)[index].strip()
        raise SheetError(
            f"row {n}, column {shown(header[index].strip())}: {shown(cell)} could be read "
            "day-first or month-first; say which with --date-order MDY (US: 11/01/2026 is "
            "November 1) or DMY"
        )
    return None


def _check_unique(rows: list[SheetRow], column: str) -> None:
    first: dict[str, int] = {}
    for row in rows:
        earlier = first.setdefault(row.code.fingerprint, row.row)
        if earlier != row.row:
            raise SheetError(
                f"rows {earlier} and {row.row}, column {shown(column)}: the same code twice; "
                "the sheet has one row per code"
            )
