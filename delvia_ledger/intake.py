"""What comes from outside, brought in: TikTok payloads and sweeps, CSV files, another ledger's
entries. Each is reconciled with what the store holds and written through a :class:`Writer`.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from . import io, reconcile, sheet, tiktok
from .chain import Entry, rebuilt_payload
from .convert import format_time
from .errors import LedgerError, MissingReferenceError, NotALedgerError, PayloadError
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
    from .sync import TikTokClient, VideoPage

__all__ = ["Intake"]

R = TypeVar("R", bound=Record)


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
    ) -> RecordAllResult:
        """Every row of a CSV of ``cls`` records, in one transaction; a refused row's error
        names its line."""
        if cls not in TABLES:
            names = ", ".join(c.__name__ for c in RECORD_TYPES)
            raise ValueError(f"import_csv: {shown(cls)} is not a record type; use one of {names}")
        zone = io.time_zone(timezone)
        # The last rows read, (line, record), newest last: they hold the batch being written,
        # so a refused record's line is found there by identity (not by type and id: one id
        # may appear on several lines). Searched only on an error: a deque costs ~0.04 µs a
        # row, where a dict by id() cost ~0.6.
        read: deque[tuple[int, Record]] = deque(maxlen=2 * BATCH_SIZE)

        def records() -> Iterator[Record]:
            for pair in reader:
                read.append(pair)
                yield pair[1]

        with io.csv_source(source) as text:
            reader = io.CsvReader(cls, text, timezone=zone)
            if reader.ignored:
                warnings.warn(reader.ignored, stacklevel=3)  # the caller of Ledger.import_csv
            try:
                return self._writer.record_all(records(), progress=progress, source="csv")
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
    ) -> sheet.SheetResult:
        """The one-tab sheet a team keeps, planned against what the ledger holds and recorded
        in one transaction (with ``dry_run``, judged by the rules and undone)."""
        if date_order is not None and date_order not in ("MDY", "DMY"):
            raise sheet.SheetError(f"date_order={shown(date_order)}: use 'MDY' or 'DMY'")
        zone = io.time_zone(timezone)
        with io.csv_source(source) as text:
            read = sheet.read_rows(text, mapping=mapping, date_order=date_order, zone=zone)
        rows = read.rows
        store = self._store
        with store.transaction():
            known = sheet.Known(
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
            planned = sheet.plan(
                rows,
                known,
                now=self._writer.now(),
                create_accounts=create_accounts,
                account_region=account_region,
                create_people=create_people,
                columns=read.columns,
            )
            merged, new, changed = self._sheet_versions(planned.records)
            writes = [record for record, fresh in merged if fresh]
            if not dry_run:
                self._writer.record_all(writes)
            elif writes:  # the ledger's own rules still judge what would be written
                try:
                    with store.transaction():
                        self._writer.record_all(writes)
                        raise _DryRun
                except _DryRun:
                    pass
            last = store.head.seq
        return sheet.SheetResult(
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
        )

    def _sheet_versions(
        self, records: list[Record]
    ) -> tuple[list[tuple[Record, bool]], dict[str, int], dict[str, int]]:
        """Each record merged with its current version (what a blank cell leaves is kept),
        whether it would be written, and the counts of new and changed records per type."""
        wanted: dict[type[Record], set[str]] = {}
        for record in records:
            wanted.setdefault(type(record), set()).add(record.id)
        current = {
            (cls, found.id): found
            for cls, ids in wanted.items()
            for found in self._store.current_records(cls, "id", ids)
        }
        merged: list[tuple[Record, bool]] = []
        new: dict[str, int] = {}
        changed: dict[str, int] = {}
        for record in records:
            held = current.get((type(record), record.id))
            kept = reconcile.keep_known(held, record)
            fresh = held is None or (kept is not held and kept != held)
            if fresh:
                counts = new if held is None else changed
                counts[type(record).__name__] = counts.get(type(record).__name__, 0) + 1
            merged.append((kept, fresh))
        return merged, new, changed

    def _every(self, cls: type[R]) -> list[R]:
        """Every current record of type ``cls``."""
        return [cast(R, e.record) for e in self._store.current_entries(cast(Any, cls), None)]

    def import_tiktok(
        self, payload: Any, advertiser_id: str | None, creator_id: str | None
    ) -> ImportResult:
        """What one TikTok response says, merged with what the ledger holds, recorded."""
        if isinstance(payload, str | bytes | bytearray):
            payload = tiktok.parse_json(payload)
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
                    reconcile.kept_known(self._store, records), source="tiktok"
                )
            return ImportResult(result.written, result.unchanged, last_seq=result.last_seq)
        if advertiser_id is None:
            raise ValueError("import_tiktok: a /tt_video/ payload needs advertiser_id=...")
        items, skipped = tiktok.items_from_tt_video(data)
        listing: reconcile.Listing = "page" if tiktok.is_list(data) else "code"
        return self._import_items(items, skipped, advertiser_id, listing, self._writer.now())

    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: str | Iterable[str],
        progress: Callable[[VideoPage], object] | None,
    ) -> SyncResult | list[SyncResult]:
        """Every advertiser's sweep read first, then all of them written in one transaction."""
        several = not isinstance(advertiser_id, str | int)
        wanted = list(advertiser_id) if several else [advertiser_id]
        if several and not wanted:
            raise ValueError("sync_tiktok: advertiser_id is an empty list; name an ad account")
        accounts = [self._advertiser(a, "sync_tiktok") for a in wanted]
        sweeps = [_sweep(client, account, progress) for account in accounts]
        results = []
        with self._store.transaction():
            now = self._writer.now()
            for account, (pages, listed, items, skipped, partial) in zip(
                accounts, sweeps, strict=True
            ):
                listing: reconcile.Listing = "code" if partial else "sweep"
                done = self._import_items(items, skipped, account, listing, now)
                # a complete sweep is recorded when NOT_LISTED can learn from it
                mark = None if partial else reconcile.sweep_mark(self._store, account, now)
                if mark is not None:
                    self._writer.record_all([mark], source="tiktok")
                results.append(
                    SyncResult(
                        advertiser_id=account,
                        pages=pages,
                        items=listed,
                        written=done.written + (mark is not None),
                        unchanged=done.unchanged,
                        unbound=done.unbound,
                        skipped=done.skipped,
                        partial=partial,
                    )
                )
        return results if several else results[0]

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
    ) -> ImportResult:
        """Merge translated items with what the ledger knows at ``now`` and record what that
        changes, all or nothing (joining the caller's transaction, if any)."""
        with self._store.transaction():
            merged = reconcile.reconcile(self._store, items, advertiser_id, now, listed=listing)
            # what reconcile read is in the ledger: the writer need not read it again
            result = self._writer.record_all(
                merged.records, known=dict(merged.held), source="tiktok"
            )
        return ImportResult(
            result.written,
            result.unchanged + merged.unchanged,
            tuple(skipped),
            merged.unbound,
            result.last_seq,
        )


def _sweep(
    client: TikTokClient, advertiser_id: str, progress: Callable[[VideoPage], object] | None
) -> Sweep:
    """Every page of one advertiser, translated: (pages, posts listed, items, skipped,
    partial). Skipped posts are numbered across the whole sweep, from 0."""
    pages = listed = 0
    items: list[tiktok.Item] = []
    skipped: list[tiktok.Skipped] = []
    partial = False
    for page in client.iter_video_pages(advertiser_id):
        pages += 1
        try:
            found, left_out = tiktok.items_from_tt_video(page.data)
        except PayloadError as error:
            where = f"advertiser {advertiser_id}, page {page.number}"
            raise PayloadError(f"{where}: {error}") from None
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
        if progress is not None:
            progress(page)
    return pages, listed, items, skipped, partial
