"""The one-tab sheet a team keeps (one row per code) read into the records it implies (DESIGN §9).

Pure: cells in, records out, given what the ledger already knows (:class:`Known`); the intake
writes them. Every error names the row, the column and the value as the sheet spells them.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import IO, Literal
from urllib.parse import urlsplit

import attrs
from dateutil.parser import ParserError
from dateutil.parser import parse as parse_date

from .errors import PayloadError
from .fields import email_problem
from .records import (
    ISO_REGIONS,
    AdAccount,
    Creator,
    Person,
    Post,
    PostKind,
    Record,
    SparkAuthorization,
    SparkCode,
    derived_authorization_id,
    shown,
)

__all__ = [
    "ALIASES",
    "COLUMNS",
    "Known",
    "ReadSheet",
    "SheetError",
    "SheetPlan",
    "SheetResult",
    "SheetRow",
    "derived_creator_id",
    "derived_person_id",
    "header_key",
    "match_headers",
    "parse_day",
    "parse_video",
    "plan",
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

_POST_ID = re.compile(r"\d{1,25}")
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
    if _POST_ID.fullmatch(text):
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


# --- records -------------------------------------------------------------------------------------


def derived_creator_id(post_ids: Iterable[str]) -> str:
    """A creator id made from no personal data (DESIGN §16): ``cr_`` and 12 hex digits of the
    SHA-256 of the smallest TikTok post id the sheet gives the creator (post ids are TikTok's,
    not the person's), so the same sheet gives the same id in every ledger.

    >>> derived_creator_id(["7301234567890123456", "7301234567890123999"])
    'cr_452214c68c25'
    """
    first = min(post_ids, key=lambda p: (len(p), p))
    return "cr_" + hashlib.sha256(f"creator\n{first}".encode()).hexdigest()[:12]


def derived_person_id(fingerprints: Iterable[str]) -> str:
    """A person id made from no personal data: ``p_`` and 12 hex digits of the SHA-256 of the
    smallest fingerprint among the codes the sheet gives the person to renew."""
    return "p_" + hashlib.sha256(f"person\n{min(fingerprints)}".encode()).hexdigest()[:12]


@attrs.frozen(kw_only=True)
class Known:
    """What the ledger holds that a sheet's rows are matched against."""

    accounts: Mapping[str, AdAccount] = attrs.field(factory=dict)  #: by id
    people: Sequence[Person] = ()
    creators: Sequence[Creator] = ()
    posts: Mapping[str, Post] = attrs.field(factory=dict)  #: the sheet's posts, by id
    codes: Mapping[str, SparkAuthorization] = attrs.field(factory=dict)  #: by derived id


@attrs.frozen(kw_only=True)
class SheetPlan:
    """The records a sheet implies, in dependency order, and what the summary says of them."""

    records: list[Record]
    created: dict[str, list[str]]  #: "creators"/"accounts"/"people" -> ids made here
    kinds_defaulted: int  #: posts given kind VIDEO because the sheet does not say
    notes: list[str]  #: things the user should know (not errors)
    rows: dict[tuple[str, str], int]  #: (type name, id) -> the first row that gives it


def plan(
    rows: Sequence[SheetRow],
    known: Known,
    *,
    now: datetime,
    create_accounts: bool = False,
    account_region: str | None = None,
    create_people: bool = False,
    columns: Mapping[str, str] | None = None,
) -> SheetPlan:
    """The records ``rows`` imply, matched against ``known``; unknown accounts or owners are
    refused (listing the known ones) unless ``create_accounts`` / ``create_people``.

    ``columns`` (field -> header) words errors in the sheet's own column names.
    """
    words = {field: shown(name) for field, name in (columns or {}).items()}
    created: dict[str, list[str]] = {"creators": [], "accounts": [], "people": []}
    creators = _creators(rows, known, now, created)
    accounts = _accounts(rows, known, words, create_accounts, account_region, created)
    owners = _owners(rows, known, words, create_people, created)
    records: list[Record] = []
    made: set[str] = set()
    for row in rows:
        creator = creators[row.row]
        if creator.id not in made:
            made.add(creator.id)
            records.append(creator)
    posts: dict[str, Post] = {}
    defaulted = 0
    for row in rows:
        creator_id = creators[row.row].id
        held = known.posts.get(row.post_id)
        if held is not None and held.creator_id != creator_id:
            raise SheetError(
                f"row {row.row}, column {words.get('video', 'video')}: post {row.post_id} is "
                f"recorded for creator {held.creator_id}, not for this row's creator"
            )
        earlier = posts.get(row.post_id)
        if earlier is not None:
            if earlier.creator_id != creator_id:
                raise SheetError(
                    f"row {row.row}, column {words.get('video', 'video')}: post {row.post_id} "
                    "appears under two creators"
                )
            continue
        kind = row.kind or (held.kind if held is not None else None)
        if kind is None:
            defaulted += 1
        posts[row.post_id] = Post(
            id=row.post_id, creator_id=creator_id, kind=kind or PostKind.VIDEO
        )
    records += posts.values()
    records += (a for a in accounts.values() if a.id in created["accounts"])
    records += (p for p in owners.values() if p.id in created["people"])
    notes: list[str] = []
    for row in rows:
        account = accounts.get(row.account) if row.account else None
        held_code = known.codes.get(derived_authorization_id(row.code.fingerprint))
        if held_code is not None and held_code.post_id != row.post_id:
            raise SheetError(
                f"row {row.row}, column {words.get('code', 'code')}: the code is recorded for "
                f"post {held_code.post_id}, not {row.post_id}"
            )
        revoked = None
        if row.status == "revoked":
            revoked = held_code.revoked_at if held_code and held_code.revoked_at else now
        elif held_code is not None and held_code.revoked_at is not None:
            notes.append(
                f"row {row.row}: the ledger records this code as revoked on "
                f"{held_code.revoked_at:%Y-%m-%d}; a revocation stands"
            )
        records.append(
            SparkAuthorization(
                code=row.code,
                creator_id=creators[row.row].id,
                post_id=row.post_id,
                starts_at=row.starts_at,
                expires_at=row.expires_at,
                ad_account_id=account.id if account else None,
                owner_id=owners[row.owner].id if row.owner else None,
                revoked_at=revoked,
            )
        )
    first_row: dict[tuple[str, str], int] = {}
    for row in rows:
        creator = creators[row.row]
        for key in (
            ("Creator", creator.id),
            ("Post", row.post_id),
            ("SparkAuthorization", derived_authorization_id(row.code.fingerprint)),
        ):
            first_row.setdefault(key, row.row)
    return SheetPlan(
        records=records, created=created, kinds_defaulted=defaulted, notes=notes, rows=first_row
    )


def _creators(
    rows: Sequence[SheetRow], known: Known, now: datetime, created: dict[str, list[str]]
) -> dict[int, Creator]:
    """Each row's creator: found by identity id, else by handle, else made (derived id)."""
    by_identity = {c.tiktok_identity_id: c for c in known.creators if c.tiktok_identity_id}
    by_id = {c.id: c for c in known.creators}
    by_handle: dict[str, Creator] = {}
    for creator in known.creators:
        if creator.handle:
            by_handle.setdefault(creator.handle.lower(), creator)
    posts_of: dict[str, list[str]] = {}
    regions: dict[str, str] = {}  # a creator's first region the sheet gives, on any row
    for row in rows:
        if row.handle:
            posts_of.setdefault(row.handle.lower(), []).append(row.post_id)
            if row.region:
                regions.setdefault(row.handle.lower(), row.region)
    found: dict[int, Creator] = {}
    made: dict[str, Creator] = {}
    for row in rows:
        key = row.handle.lower() if row.handle else None
        held = (
            by_identity.get(row.identity) or by_id.get(row.identity) if row.identity else None
        ) or (by_handle.get(key) if key else None)
        region = row.region or (regions.get(key) if key else None)
        if held is not None:
            creator = Creator(
                id=held.id,
                handle=row.handle or held.handle,
                region=region or held.region,
                display_name=row.display_name or held.display_name,
                contact=held.contact,
                tiktok_identity_id=held.tiktok_identity_id or row.identity,
            )
        else:
            new_id = row.identity or derived_creator_id(posts_of[key] if key else [row.post_id])
            creator = made.get(new_id) or Creator(
                id=new_id,
                handle=row.handle,
                region=region,
                display_name=row.display_name,
                tiktok_identity_id=row.identity,
            )
            if new_id not in made:
                made[new_id] = creator
                created["creators"].append(new_id)
        found[row.row] = creator
    return found


def _accounts(
    rows: Sequence[SheetRow],
    known: Known,
    words: Mapping[str, str],
    create: bool,
    region: str | None,
    created: dict[str, list[str]],
) -> dict[str, AdAccount]:
    """Each account cell's account: by id, else by name (case and spaces ignored)."""
    by_name: dict[str, list[AdAccount]] = {}
    for account in known.accounts.values():
        by_name.setdefault(header_key(account.name), []).append(account)
    found: dict[str, AdAccount] = {}
    unknown: dict[str, int] = {}
    for row in rows:
        cell = row.account
        if cell is None or cell in found:
            continue
        held = known.accounts.get(cell)
        named = by_name.get(header_key(cell), [])
        if held is not None:
            found[cell] = held
        elif len(named) == 1:
            found[cell] = named[0]
        elif len(named) > 1:
            raise SheetError(
                f"row {row.row}, column {words.get('account', 'account')}: {shown(cell)} names "
                f"{len(named)} ad accounts ({', '.join(a.id for a in named)}); use the id"
            )
        elif _POST_ID.fullmatch(cell) and create:
            if region is None:
                raise SheetError(
                    f"row {row.row}, column {words.get('account', 'account')}: creating ad "
                    f"account {cell} needs its registration country: add --account-region XX"
                )
            found[cell] = AdAccount(id=cell, name=cell, region=region)
            created["accounts"].append(cell)
        else:
            unknown.setdefault(cell, row.row)
    if unknown:
        listed = "; ".join(f"{shown(c)} (row {n})" for c, n in unknown.items())
        names = ", ".join(f"{a.name} ({a.id})" for a in known.accounts.values()) or "none yet"
        ids_only = all(_POST_ID.fullmatch(c) for c in unknown)
        hint = (
            "; to record new accounts by id, add --create-accounts --account-region XX"
            if ids_only
            else "; use a known name or id, or record the account first (delvia-ledger add "
            "AdAccount --id ... --name ... --region ...)"
        )
        raise SheetError(
            f"column {words.get('account', 'account')}: unknown ad account(s) {listed}; the "
            f"ledger knows {names}{hint}"
        )
    return found


def _owners(
    rows: Sequence[SheetRow],
    known: Known,
    words: Mapping[str, str],
    create: bool,
    created: dict[str, list[str]],
) -> dict[str, Person]:
    """Each owner cell's person: by id, else email, else exact name (case ignored)."""
    by_id = {p.id: p for p in known.people}
    by_email: dict[str, list[Person]] = {}
    by_name: dict[str, list[Person]] = {}
    for person in known.people:
        if person.email:
            by_email.setdefault(person.email.strip().lower(), []).append(person)
        by_name.setdefault(" ".join(person.name.lower().split()), []).append(person)
    found: dict[str, Person] = {}
    unknown: dict[str, list[SheetRow]] = {}
    for row in rows:
        cell = row.owner
        if cell is None or cell in found:
            continue
        key = " ".join(cell.lower().split())
        matches = [by_id[cell]] if cell in by_id else by_email.get(key) or by_name.get(key, [])
        if len(matches) == 1:
            found[cell] = matches[0]
        elif matches:
            raise SheetError(
                f"row {row.row}, column {words.get('owner', 'owner')}: {shown(cell)} names "
                f"{len(matches)} people ({', '.join(p.id for p in matches)}); use the id"
            )
        else:
            unknown.setdefault(cell, []).append(row)
    if unknown and not create:
        listed = "; ".join(f"{shown(c)} (row {rs[0].row})" for c, rs in unknown.items())
        raise SheetError(
            f"column {words.get('owner', 'owner')}: unknown owner(s) {listed}; record them "
            "first (delvia-ledger add Person --id ... --name ...), or add --create-people"
        )
    for cell, owned in unknown.items():
        person_id = derived_person_id(r.code.fingerprint for r in owned)
        is_email = email_problem(cell) is None
        found[cell] = Person(id=person_id, name=cell, email=cell if is_email else None)
        created["people"].append(person_id)
    return found


#: The order a summary lists record types in, with the words it uses for each.
SUMMARY_TYPES = (
    ("Creator", "creators"),
    ("Post", "posts"),
    ("AdAccount", "ad accounts"),
    ("Person", "people"),
    ("SparkAuthorization", "codes"),
)


@attrs.frozen(kw_only=True)
class SheetResult:
    """What :meth:`Ledger.import_sheet` wrote (or, with ``dry_run``, would write).

    ``new`` and ``changed`` count records per type name (``"Creator"``, ``"Post"``, ...);
    ``created`` lists the ids made for creators, accounts and people the ledger did not know;
    ``ignored`` the headers no field takes; ``kinds_defaulted`` the posts given kind VIDEO.
    """

    rows: int
    new: dict[str, int]
    changed: dict[str, int]
    unchanged: int
    created: dict[str, list[str]]
    kinds_defaulted: int
    ignored: tuple[str, ...]
    notes: tuple[str, ...]
    dry_run: bool
    last_seq: int
    #: Fields the sheet gives otherwise than TikTok last said, each kept as TikTok said it:
    #: ``row 14: the sheet says expires 2026-12-09, TikTok said 2027-01-09 on 2026-12-05: ...``
    conflicts: tuple[str, ...] = ()

    @property
    def written(self) -> int:
        """Entries appended (or, with ``dry_run``, that would be)."""
        return sum(self.new.values()) + sum(self.changed.values())

    def lines(self) -> list[str]:
        """The summary as a person reads it, one line per record type that has news."""
        verb = "would write" if self.dry_run else "wrote"
        if not self.written:
            done = [f"{_count(self.rows, 'row')}: nothing new ({self.unchanged} records current)"]
            if self.conflicts:
                done.append(
                    f"  {_count(len(self.conflicts), 'field')} kept as TikTok said (the sheet "
                    "differs):"
                )
                done += [f"    {line}" for line in self.conflicts]
            return done
        out = [f"{_count(self.rows, 'row')}: {verb} {_count(self.written, 'entry', 'entries')}"]
        for name, words in SUMMARY_TYPES:
            new, changed = self.new.get(name, 0), self.changed.get(name, 0)
            if new or changed:
                parts = [f"{new} new"] * bool(new) + [f"{changed} changed"] * bool(changed)
                out.append(f"  {words}: {', '.join(parts)}")
        if self.conflicts:
            out.append(
                f"  {_count(len(self.conflicts), 'field')} kept as TikTok said (the sheet differs):"
            )
            out += [f"    {line}" for line in self.conflicts]
        if self.kinds_defaulted:
            out.append(
                f"  {_count(self.kinds_defaulted, 'post')} recorded as VIDEO (the sheet has no "
                "kind column; add one to say CAROUSEL)"
            )
        return out


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``: a count with its noun in the right number."""
    return f"{n} {one if n == 1 else many or one + 's'}"
