"""What comes from outside, brought in: TikTok payloads and sweeps, CSV files, another ledger's
entries. Each is reconciled with what the store holds and written through a :class:`Writer`.
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from . import io, reconcile, sheet, sheet_plan, tiktok, tiktok_ads
from .chain import Entry, rebuilt_payload
from .collector import collector_paused
from .convert import format_time
from .errors import (
    LedgerError,
    MissingReferenceError,
    NotALedgerError,
    PayloadError,
    TikTokAPIError,
)
from .reconcile import ImportResult, SyncResult
from .records import (
    RECORD_TYPES,
    AdAccount,
    Creator,
    Person,
    Post,
    Record,
    shown,
)
from .storage import Storage
from .storage.schema import TABLES
from .writing import BATCH_SIZE, RecordAllResult, Writer, content_of

if TYPE_CHECKING:  # sync sits below (DESIGN §3): intake only calls a client
    from .sync import TikTokClient, VideoPage, Wait

    Progress = Callable[[VideoPage | Wait], object]

__all__ = ["Intake"]

R = TypeVar("R", bound=Record)


def _row_key(record: Record) -> tuple[str, str]:
    """How a sheet's plan names a record: (type name, id)."""
    return type(record).__name__, record.id


class _DryRun(Exception):
    """Raised inside a nested transaction to undo what a dry run wrote there."""


#: One advertiser's sweep, read: (pages, posts listed, items, skipped, partial).
Sweep = tuple[int, int, list[tiktok.Item], list[tiktok.Skipped], bool]


class Intake:
    """Imports into ``store`` through ``writer``: the work behind ``Ledger.import_csv``,
    ``import_tiktok``, ``sync_tiktok`` and ``replay`` (their docstrings say what each does)."""

    def __init__(self, store: Storage, writer: Writer) -> None:
        self._store = store
        self._writer = writer

    def import_csv(
        self,
        cls: type[Record],
        source: io.Source,
        progress: Callable[[int], object] | None,
        timezone: str | tzinfo | None,
        force: bool = False,
    ) -> RecordAllResult:
        """Every row of a CSV of ``cls`` records, in one transaction; a refused row's error
        names its line. ``force``: an erased subject's personal data is recorded again."""
        if cls not in TABLES:
            names = ", ".join(c.__name__ for c in RECORD_TYPES)
            raise ValueError(f"import_csv: {shown(cls)} is not a record type; use one of {names}")
        zone = io.time_zone(timezone)
        # The last rows read, (line, record), newest last: they hold the batch being written,
        # so a refused record's line is found there by identity (not by type and id: one id
        # may appear on several lines). Searched only on an error: a deque costs ~0.04 µs a
        # row, where a dict by id() cost ~0.6.
        read: deque[tuple[int, Record]] = deque(maxlen=2 * BATCH_SIZE)
        conflicts: list[str] = []

        def records() -> Iterator[Record]:
            if cls not in reconcile.TIKTOK_FIELDS:
                for pair in reader:
                    read.append(pair)
                    yield pair[1]
                return
            batch: list[tuple[int, Record]] = []
            for pair in reader:  # TikTok's fields kept, a batch of rows per lookup
                batch.append(pair)
                if len(batch) == BATCH_SIZE:
                    yield from self._tiktoks_kept(batch, read, conflicts)
                    batch = []
            yield from self._tiktoks_kept(batch, read, conflicts)

        with io.csv_source(source) as text:
            reader = io.CsvReader(cls, text, timezone=zone)
            if reader.ignored:
                warnings.warn(reader.ignored, stacklevel=3)  # the caller of Ledger.import_csv
            try:
                with self._store.transaction():  # what TikTok said is read and kept at once
                    result = self._writer.record_all(
                        records(), progress=progress, source="csv", force=force
                    )
                if conflicts:
                    warnings.warn(io.SourceConflictWarning(tuple(conflicts)), stacklevel=3)
                return result
            except LedgerError as error:
                found = next((line for line, r in reversed(read) if r is error.record), None)
                if found is None:
                    raise
                refused = type(error)(f"line {found}: {reader.in_columns(str(error))}")
                refused.record = error.record
                raise refused from None

    def import_sheet(
        self,
        source: io.Source,
        mapping: Mapping[str, str] | None,
        date_order: sheet.DateOrder | None,
        dry_run: bool,
        *,
        create_accounts: bool,
        account_region: str | None,
        create_people: bool,
        timezone: str | tzinfo | None,
        force: bool = False,
    ) -> sheet_plan.SheetResult:
        """The one-tab sheet a team keeps, planned against what the ledger holds and recorded
        in one transaction (with ``dry_run``, judged by the rules and undone); a record the
        rules refuse names its row. ``force``: an erased subject's personal data is recorded
        again (a new consent)."""
        if date_order is not None and date_order not in ("MDY", "DMY"):
            raise sheet.SheetError(f"date_order={shown(date_order)}: use 'MDY' or 'DMY'")
        zone = io.time_zone(timezone)
        with io.csv_source(source) as text:
            read = sheet.read_rows(text, mapping=mapping, date_order=date_order, zone=zone)
        rows = read.rows
        store = self._store
        with store.transaction():
            known = sheet_plan.Known(
                accounts={a.id: a for a in self._every(AdAccount)},
                people=self._every(Person),
                creators=self._every(Creator),
                posts={
                    p.id: p for p in store.current_records(Post, "id", {r.post_id for r in rows})
                },
                codes={
                    auth.id: auth
                    for _, auth in store.authorizations_by_fingerprint(
                        r.code.fingerprint for r in rows
                    ).values()
                },
            )
            planned = sheet_plan.plan(
                rows,
                known,
                now=self._writer.now(),
                create_accounts=create_accounts,
                account_region=account_region,
                create_people=create_people,
                columns=read.columns,
            )
            merged, new, changed, conflicts = self._sheet_versions(planned.records)
            writes = [record for record, fresh in merged if fresh]
            try:
                if not dry_run:
                    self._writer.record_all(writes, source="sheet", force=force)
                elif writes:  # the ledger's own rules still judge what would be written
                    with store.transaction():
                        self._writer.record_all(writes, source="sheet", force=force)
                        raise _DryRun
            except _DryRun:
                pass
            except LedgerError as error:
                refused = getattr(error, "record", None)
                row = None if refused is None else planned.rows.get(_row_key(refused))
                if row is None:
                    raise
                named = type(error)(f"row {row}: {error}")
                named.record = refused
                raise named from None
            last = store.head.seq
        return sheet_plan.SheetResult(
            rows=len(rows),
            new=new,
            changed=changed,
            unchanged=len(merged) - len(writes),
            created=planned.created,
            kinds_defaulted=planned.kinds_defaulted,
            ignored=read.ignored,
            notes=tuple(planned.notes),
            dry_run=dry_run,
            last_seq=last,
            conflicts=tuple(
                c.in_words(f"row {planned.rows.get((c.record_type, c.record_id), '?')}: the sheet")
                for c in conflicts
            ),
        )

    def _sheet_versions(
        self, records: list[Record]
    ) -> tuple[list[tuple[Record, bool]], dict[str, int], dict[str, int], list[reconcile.Conflict]]:
        """Each record merged with its current version (what a blank cell leaves is kept, and
        what TikTok reported is never rolled back: DESIGN §9 sources), whether it would be
        written, the counts of new and changed records per type, and the conflicts with
        TikTok."""
        wanted: dict[type[Record], set[str]] = {}
        for record in records:
            wanted.setdefault(type(record), set()).add(record.id)
        current = {
            (cls, found.id): found
            for cls, ids in wanted.items()
            for found in self._store.current_records(cls, "id", ids)
        }
        said: dict[tuple[type[Record], str], tuple[Any, datetime]] = {
            (cls, id_): version
            for cls, ids in wanted.items()
            if cls in reconcile.TIKTOK_FIELDS
            for id_, version in self._store.last_from("tiktok", cls, ids).items()
        }
        merged: list[tuple[Record, bool]] = []
        new: dict[str, int] = {}
        changed: dict[str, int] = {}
        conflicts: list[reconcile.Conflict] = []
        for record in records:
            key = (type(record), record.id)
            held = current.get(key)
            kept, against = reconcile.keep_tiktoks(
                reconcile.keep_known(held, record), held, said.get(key)
            )
            conflicts += against
            fresh = held is None or (kept is not held and kept != held)
            if fresh:
                counts = new if held is None else changed
                counts[type(record).__name__] = counts.get(type(record).__name__, 0) + 1
            merged.append((kept, fresh))
        return merged, new, changed, conflicts

    def _tiktoks_kept(
        self,
        batch: list[tuple[int, Record]],
        read: deque[tuple[int, Record]],
        conflicts: list[str],
    ) -> Iterator[Record]:
        """A CSV batch with every field TikTok reported kept as the ledger holds it (DESIGN §9
        sources); each row that says otherwise is listed in ``conflicts`` by its line."""
        if not batch:
            return
        cls = type(batch[0][1])
        ids = {record.id for _, record in batch}
        said = self._store.last_from("tiktok", cls, ids)
        if not said:  # TikTok said nothing of these: every row stands as it is
            read.extend(batch)
            for _, record in batch:
                yield record
            return
        current = {r.id: r for r in self._store.current_records(cls, "id", said)}
        for line, record in batch:
            kept, against = reconcile.keep_tiktoks(
                record, current.get(record.id), said.get(record.id)
            )
            conflicts += (c.in_words(f"line {line}: the CSV") for c in against)
            read.append((line, kept))
            yield kept

    def _every(self, cls: type[R]) -> list[R]:
        """Every current record of type ``cls``."""
        return [cast(R, e.record) for e in self._store.current_entries(cast(Any, cls), None)]

    def import_tiktok(
        self, payload: Any, advertiser_id: str | None, creator_id: str | None
    ) -> ImportResult:
        """What one TikTok response says, merged with what the ledger holds, recorded. An
        error quoting what the file holds passes sync's scrubber: no raw code is shown."""
        if isinstance(payload, str | bytes | bytearray):
            payload = tiktok.parse_json(payload)
        try:
            with collector_paused():  # records and items make no cycles; they are many
                return self._import_tiktok(payload, advertiser_id, creator_id)
        except PayloadError as error:
            raise _scrubbed(error, payload) from None

    def _import_tiktok(
        self, payload: Any, advertiser_id: str | None, creator_id: str | None
    ) -> ImportResult:
        data = tiktok.unwrap(payload)
        if advertiser_id is not None:
            advertiser_id = self._advertiser(advertiser_id, "import_tiktok")
        if tiktok.is_creator_side(data):
            if creator_id is None:
                raise ValueError("import_tiktok: a creator-side payload needs creator_id=...")
            records = tiktok.records_from_creator_post(
                data,
                creator_id=creator_id,
                advertiser_id=advertiser_id,
                revoked_at=self._writer.now(),
            )
            with self._store.transaction():  # what is kept is read and written at once
                result = self._writer.record_all(
                    reconcile.kept_known(self._store, records), source="tiktok", joined=True
                )
            return ImportResult(result.written, result.unchanged, last_seq=result.last_seq)
        if advertiser_id is None:
            raise ValueError("import_tiktok: a /tt_video/ payload needs advertiser_id=...")
        items, skipped = tiktok.items_from_tt_video(data, ad_account_id=advertiser_id)
        listing: reconcile.Listing = "page" if tiktok.is_list(data) else "code"
        with self._store.transaction():  # all or nothing, one savepoint at most
            return self._import_items(items, skipped, advertiser_id, listing, self._writer.now())

    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: str | Iterable[str],
        progress: Progress | None,
        *,
        allow_mass_unbind: bool = False,
        ads: bool = False,
    ) -> SyncResult | list[SyncResult]:
        """Every advertiser's sweep read (and its would-be unbinds confirmed, its ads read)
        first, then all of them written in one transaction."""
        several = not isinstance(advertiser_id, str | int)
        wanted = list(advertiser_id) if several else [advertiser_id]
        if several and not wanted:
            raise ValueError("sync_tiktok: advertiser_id is an empty list; name an ad account")
        accounts = [self._advertiser(a, "sync_tiktok") for a in wanted]
        sweeps = [_sweep(client, account, progress) for account in accounts]
        checked = [
            None
            if partial
            else self._confirmed(client, account, items, allow_mass_unbind, progress)
            for account, (_, _, items, _, partial) in zip(accounts, sweeps, strict=True)
        ]
        swept_ads = [self._ad_sweep(client, a, progress) if ads else None for a in accounts]
        results = []
        with collector_paused(), self._store.transaction():
            now = self._writer.now()
            for account, (pages, listed, items, skipped, partial), check, ad_sweep in zip(
                accounts, sweeps, checked, swept_ads, strict=True
            ):
                listing: reconcile.Listing = "code" if partial else "sweep"
                spare, held, asked, notes = check or (frozenset(), "", 0, [])
                skipped += (tiktok.Skipped(listed, note) for note in notes)
                done = self._import_items(items, skipped, account, listing, now, spare)
                written, unchanged = done.written, done.unchanged
                listed_ads: int | None = None
                ended = without_code = 0
                if ad_sweep is not None:
                    drafts, ids, complete = ad_sweep
                    merged = reconcile.reconcile_ads(
                        self._store, drafts, ids, account, now, complete=complete
                    )
                    recorded = self._writer.record_all(
                        merged.records,
                        known=dict(merged.known),
                        source="tiktok",
                        joined=True,
                        held=merged.read,
                    )
                    written, unchanged = written + recorded.written, unchanged + recorded.unchanged
                    listed_ads, ended = len(drafts), merged.ended
                    without_code = merged.without_code
                # a complete sweep (not held) is recorded when NOT_LISTED can learn from it
                mark = None if partial or held else reconcile.sweep_mark(self._store, account, now)
                if mark is not None:
                    self._writer.record_all([mark], source="tiktok", joined=True)
                    written += 1
                results.append(
                    SyncResult(
                        advertiser_id=account,
                        pages=pages,
                        items=listed,
                        written=written,
                        unchanged=unchanged,
                        unbound=done.unbound,
                        skipped=done.skipped,
                        partial=partial,
                        held=held,
                        confirmations=asked,
                        ads=listed_ads,
                        ads_ended=ended,
                        ads_without_code=without_code,
                    )
                )
        return results if several else results[0]

    def _confirmed(
        self,
        client: TikTokClient,
        advertiser_id: str,
        items: list[tiktok.Item],
        allow_mass_unbind: bool,
        progress: Progress | None,
    ) -> tuple[frozenset[str], str, int, list[str]]:
        """Confirm each post a stable sweep would unbind with TikTok's exact lookup, one request
        per post: (binding ids to spare, why the sweep is held or "", lookups made, notes).

        Posts TikTok still lists join ``items`` (so they stay bound, updated); a post the
        lookup cannot settle is spared (a note says so); a mass unbind is held unless allowed.
        """
        would, bound = reconcile.sweep_would_unbind(self._store, items, advertiser_id)
        if not would:
            return frozenset(), "", 0, []
        posts = sorted({post for _, post in would if post})
        confirmation = client.confirm_unlisted(advertiser_id, posts, progress=progress)
        if confirmation.listed:
            listed = {"list": list(confirmation.listed.values())}
            found, _ = tiktok.items_from_tt_video(listed, ad_account_id=advertiser_id)
            items += found
        # a post TikTok still lists is now in items: its code stays bound if it is the same
        spare = {b.id for b, post in would if post is None or post in confirmation.unsure}
        notes = [
            f"post {post} was not listed, and TikTok's exact lookup needs an id of 19 digits or "
            "more to say whether it still is: not unbound"
            for post in sorted(confirmation.unsure)
        ]
        left, _ = reconcile.sweep_would_unbind(self._store, items, advertiser_id)
        unbinding = [b.id for b, _ in left if b.id not in spare]
        held = "" if allow_mass_unbind else reconcile.mass_unbind(len(unbinding), bound)
        if held:
            spare |= set(unbinding)
        return frozenset(spare), held, confirmation.requests, notes

    def _ad_sweep(
        self, client: TikTokClient, advertiser_id: str, progress: Progress | None
    ) -> tuple[list[tiktok_ads.AdDraft], set[str], bool]:
        """The advertiser's Spark Ads made with a code, as drafts with their ad groups'
        schedules; every ad id TikTok listed; and whether both sweeps held still."""
        ads = client.sweep_ads(advertiser_id, progress=progress)
        groups = client.sweep_adgroups(advertiser_id, progress=progress)
        try:
            schedules = tiktok_ads.schedules_from_adgroup_get(groups.items)
            drafts, _ = tiktok_ads.ad_drafts(
                ads.items,
                advertiser_id=advertiser_id,
                schedules=schedules,
                seen_at=self._writer.now(),
            )
        except PayloadError as error:
            raise PayloadError(f"advertiser {advertiser_id}: {client.scrub(error)}") from None
        listed = {str(ad.get("ad_id")) for ad in ads.items if isinstance(ad, Mapping)}
        return drafts, listed, ads.stable and groups.stable

    def replay(self, entries: Iterable[Entry]) -> RecordAllResult:
        """Another ledger's entries appended as they are stored there (source, salt, an
        erasure's redaction), into an empty ledger; the first that does not extend the chain
        is named and nothing is kept."""
        held = self._store.head.seq
        if held:
            raise LedgerError(
                f"replay: this ledger already holds {held} entries; copy into a new one"
            )
        written, prev = 0, self._store.head.hash
        rows: list[tuple[Any, ...]] = []
        try:
            with self._store.transaction():
                for entry in entries:
                    payload, payload_hash = entry.payload, entry.payload_hash
                    record = entry.record
                    if payload is None or payload_hash is None:  # an Entry made by hand
                        payload, payload_hash = rebuilt_payload(
                            content_of(record), type(record).__name__, entry.source, None, None
                        )
                    stamp = format_time(entry.recorded_at)
                    rows.append(
                        (
                            entry.seq,
                            stamp,
                            type(record).__name__,
                            record.id,
                            payload,
                            payload_hash,
                            prev,
                            entry.hash,
                        )
                    )
                    prev = entry.hash
                    if len(rows) == BATCH_SIZE:
                        self._store.append_rows(rows)
                        written, rows = written + len(rows), []
                self._store.append_rows(rows)
                written += len(rows)
        except NotALedgerError as error:
            raise LedgerError(f"replay: {str(error).partition(': ')[2]}") from None
        return RecordAllResult(written=written, unchanged=0, last_seq=self._store.head.seq)

    def _advertiser(self, advertiser_id: object, what: str) -> str:
        """An advertiser id the ledger holds as an ad account (refused otherwise)."""
        if isinstance(advertiser_id, bool) or not isinstance(advertiser_id, str | int):
            raise ValueError(
                f"{what}: advertiser_id must be a string, got {type(advertiser_id).__name__}"
            )
        account = str(advertiser_id).strip() if isinstance(advertiser_id, str) else None
        if isinstance(advertiser_id, int) and 0 <= advertiser_id < 10**30:
            account = str(advertiser_id)
        if not account:
            raise ValueError(
                f"{what}: advertiser_id={shown(advertiser_id)} is not an ad account id"
            )
        if self._store.latest(AdAccount, account, None) is None:
            raise MissingReferenceError(
                f"{what}: ad account advertiser_id={account!r} is not in the ledger; "
                "record it first, e.g. dl.AdAccount(id=..., name=..., region=...)"
            )
        return account

    def _import_items(
        self,
        items: list[tiktok.Item],
        skipped: list[tiktok.Skipped],
        advertiser_id: str,
        listing: reconcile.Listing,
        now: datetime,
        spare: frozenset[str] = frozenset(),
    ) -> ImportResult:
        """Merge translated items with what the ledger knows at ``now`` and record what that
        changes, inside the caller's transaction (which makes it all or nothing: no savepoint
        here, see ``Writer.record_all(joined=...)``); the bindings in ``spare`` are not
        unbound."""
        assert self._store.in_transaction, "_import_items runs inside the caller's transaction"
        merged = reconcile.reconcile(
            self._store, items, advertiser_id, now, listed=listing, spare=spare
        )
        # what reconcile read is in the ledger: the writer need not read it again
        result = self._writer.record_all(
            merged.records, known=dict(merged.held), source="tiktok", joined=True, held=merged.read
        )
        return ImportResult(
            result.written,
            result.unchanged + merged.unchanged,
            tuple(skipped),
            merged.unbound,
            result.last_seq,
        )


def _sweep(client: TikTokClient, advertiser_id: str, progress: Progress | None) -> Sweep:
    """A stable sweep of one advertiser, translated: (pages, posts listed, items, skipped,
    partial). Skipped posts are numbered across the whole sweep, from 0; a sweep that never
    held still is partial."""
    pages = listed = 0
    items: list[tiktok.Item] = []
    skipped: list[tiktok.Skipped] = []
    partial = False
    sweep = client.sweep_videos(advertiser_id, progress=progress)
    creators: dict[tuple[str, str | None], Creator] = {}  # a creator of many posts, built once
    for page in sweep.pages:
        pages += 1
        try:
            with collector_paused():
                found, left_out = tiktok.items_from_tt_video(
                    page.data, ad_account_id=advertiser_id, creators=creators
                )
        except PayloadError as error:
            where = f"advertiser {advertiser_id}, page {page.number}"
            raise PayloadError(f"{where}: {client.scrub(error)}") from None
        items += found
        skipped += (attrs.evolve(s, index=listed + s.index) for s in left_out)
        if page.partial:
            partial = True
            missing = page.message or "some posts are missing"
            reason = f"page {page.number} was a partial success ({missing}): nothing unbound"
            skipped.append(tiktok.Skipped(listed + len(page.items), reason))
        if not page.items and page.number < page.total_pages:
            partial = True  # TikTok announced more pages: this sweep saw only part
            reason = f"page {page.number} of {page.total_pages} was empty: nothing unbound"
            skipped.append(tiktok.Skipped(listed, reason))
        listed += len(page.items)
    if not sweep.stable:
        partial = True
        skipped.append(tiktok.Skipped(listed, f"{sweep.why}: nothing unbound"))
    return pages, listed, items, skipped, partial


#: A Spark code as third parties describe it (no official spec: "#" first, "=" last).
_CODE_SHAPED = re.compile(r"#[^\s\"',;()<>]+=")


def _codes_in(payload: Any) -> set[str]:
    """Every raw code a TikTok payload holds (each ``*auth_code`` field, anywhere in it; walked
    without recursion: a payload may be nested past Python's limit)."""
    found: set[str] = set()
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if isinstance(inner, str) and "auth_code" in str(key).lower() and inner.strip():
                    found.update((inner, inner.strip()))
                elif isinstance(inner, Mapping | list):
                    stack.append(inner)
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _scrubbed(error: PayloadError, payload: Any) -> PayloadError:
    """``error`` with every raw code of ``payload``, and any code-shaped word TikTok's text
    quotes, removed by sync's one scrubber (:func:`delvia_ledger.sync_wire.scrub`)."""
    from .sync_wire import MAX_QUOTE, scrub  # only on an error: it loads httpx

    codes = _codes_in(payload)
    if isinstance(error, TikTokAPIError):
        said = f"{error.code} {error.message} {error.request_id or ''}"
        hidden = (*codes, *_CODE_SHAPED.findall(said))
        code = error.code if isinstance(error.code, int) else scrub(error.code, hidden, limit=60)
        request_id = scrub(error.request_id, hidden, limit=100) if error.request_id else None
        return TikTokAPIError(code, scrub(error.message, hidden, limit=500), request_id)
    text = str(error)
    hidden = (*codes, *_CODE_SHAPED.findall(text))
    if not hidden:
        return error
    return type(error)(scrub(text, hidden, limit=max(MAX_QUOTE, len(text))))
