"""The Ledger's import, sync and replay methods (a mixin): each a docstring and one call into
:mod:`delvia_ledger.intake`, which does the work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, overload

from . import io, sheet, sheet_plan
from .intake import Intake
from .reconcile import ImportResult, SyncResult
from .records import Record
from .writing import RecordAllResult

if TYPE_CHECKING:  # sync sits below the ledger (DESIGN §3): the ledger only calls a client
    from .chain import Entry
    from .sync import TikTokClient, VideoPage, Wait

__all__ = ["IntakeMethods"]


class IntakeMethods:
    """What :class:`~delvia_ledger.Ledger` reads in: CSV, sheets, TikTok pages and sweeps, and
    another ledger's entries."""

    _intake: Intake

    def import_csv(
        self,
        cls: type[Record],
        source: io.Source,
        progress: Callable[[int], object] | None = None,
        *,
        timezone: str | tzinfo | None = None,
        force: bool = False,
    ) -> RecordAllResult:
        """Record every row of a CSV of ``cls`` records in one transaction (streamed).

        A row giving an erased creator or person personal data again is refused unless
        ``force=True`` (a new consent; DESIGN §16).

        ``source`` is a path or an open text file, as spreadsheets write it (see
        :func:`delvia_ledger.io.read_csv_rows`): columns ``cls`` lacks are ignored with an
        :class:`~delvia_ledger.io.IgnoredColumnsWarning`; times without an offset need
        ``timezone`` (``"Europe/Berlin"``, ``"UTC"``). A malformed row fails the whole import
        with its line number; nothing is written. A row the ledger's rules refuse raises that
        rule's error, naming the line, with the refused record in ``error.record``.
        """
        return self._intake.import_csv(cls, source, progress, timezone, force is True)

    def import_sheet(
        self,
        source: io.Source,
        mapping: Mapping[str, str] | None = None,
        date_order: sheet.DateOrder | None = None,
        dry_run: bool = False,
        *,
        create_accounts: bool = False,
        account_region: str | None = None,
        create_people: bool = False,
        timezone: str | tzinfo | None = None,
        force: bool = False,
    ) -> sheet_plan.SheetResult:
        """Record the one-tab sheet a team keeps (one row per code) in one transaction.

        ``source`` is a CSV path or open text file (a Google Sheets or Excel export). Headers
        are recognised by the names people use (``Creator Handle``, ``Video Link``, ``Spark
        Code``, ``Sent On``, ``Expires``, ``Ad Account``, ``Owner``, ``Status``, ``Region``,
        ``Notes``...); ``mapping`` ({"Header": "field"}) overrides them. Dates are ISO, or
        ``11/01/2026`` read in ``date_order`` (``"MDY"`` or ``"DMY"``). Creators are found by
        handle (or made with an id derived from no personal data), accounts by id or name,
        owners by id, email or exact name; an unknown account or owner is refused unless
        ``create_accounts`` (with ``account_region``) or ``create_people``. With ``dry_run``
        nothing is written and the result says what would be. Re-importing writes nothing.
        A row giving an erased creator or person personal data again is refused, naming the
        row, unless ``force=True`` (a new consent; DESIGN §16), as for :meth:`import_csv`.
        """
        return self._intake.import_sheet(
            source,
            mapping,
            date_order,
            dry_run,
            create_accounts=create_accounts,
            account_region=account_region,
            create_people=create_people,
            timezone=timezone,
            force=force is True,
        )

    def import_tiktok(
        self, payload: Any, *, advertiser_id: str | None = None, creator_id: str | None = None
    ) -> ImportResult:
        """Record what a TikTok response says about creators, posts, codes and bindings.

        Takes the whole envelope or its ``data``, of ``/tt_video/info/`` or ``/tt_video/list/``
        (codes are bound to ``advertiser_id``, which must already be recorded), or of the
        creator-side ``/business/post/authorize/*`` endpoints (pass ``creator_id``; a
        ``DELETED`` code is recorded as revoked now). Each TikTok field is kept as DESIGN §9
        says; what the payload lacks (a creator's handle and region, a code's owner) keeps
        what the ledger knows; re-importing the same payload writes nothing. Items without a
        code authorization are skipped and listed in the result. ``payload`` may also be the
        response body as JSON text (``str`` or ``bytes``).
        """
        return self._intake.import_tiktok(payload, advertiser_id, creator_id)

    @overload
    def sync_tiktok(  # type: ignore[overload-overlap]  # a str is one id, not several
        self,
        client: TikTokClient,
        advertiser_id: str,
        *,
        progress: Callable[[VideoPage | Wait], object] | None = None,
        allow_mass_unbind: bool = False,
        ads: bool = False,
    ) -> SyncResult: ...

    @overload
    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: Iterable[str],
        *,
        progress: Callable[[VideoPage | Wait], object] | None = None,
        allow_mass_unbind: bool = False,
        ads: bool = False,
    ) -> list[SyncResult]: ...

    def sync_tiktok(
        self,
        client: TikTokClient,
        advertiser_id: str | Iterable[str],
        *,
        progress: Callable[[VideoPage | Wait], object] | None = None,
        allow_mass_unbind: bool = False,
        ads: bool = False,
    ) -> SyncResult | list[SyncResult]:
        """Bring the ledger in line with TikTok: a complete sweep of each advertiser's posts.

        Reads every page of ``GET /tt_video/list/`` through ``client`` first, then writes all
        of it in one transaction, through the same translation as :meth:`import_tiktok`.
        Bindings of the advertiser that TikTok no longer lists get ``unbound_at`` = now; a
        partial success (20001) records what came back and unbinds nothing. Any failure
        (TikTok's or a malformed item) raises and writes nothing. A sync with nothing changed
        at TikTok writes nothing. Given several advertiser ids, every sweep is read before
        anything is written, and all of them are written together or not at all; the result
        is then one :class:`SyncResult` per advertiser, in order. ``progress`` is called with
        each page as it arrives, and with each :class:`~delvia_ledger.sync.Wait` for TikTok's
        throttling.

        Absence is concluded only from a *stable* sweep (DESIGN §12): a listing that kept
        moving while it was read unbinds nothing (``skipped`` says why); each post a stable
        sweep did not list is looked up once more (``keyword=<item_id>``, one request per post)
        and only those TikTok does not list are unbound; a sweep that would unbind more than 5
        bindings and more than 20% of the advertiser's bound ones is held
        (``SyncResult.held``) unless ``allow_mass_unbind``.

        With ``ads=True`` (the CLI's default) it also sweeps ``/ad/get/`` and ``/adgroup/get/``
        and records a ``SparkAd`` for each ad made with a code, linked to the code bound for
        its post in that account (or ``AD_WITHOUT_CODE``), paused from ``DISABLE``/``FROZEN``,
        scheduled from its ad group; after a stable sweep, an ad TikTok stops listing ends.
        """
        return self._intake.sync_tiktok(
            client, advertiser_id, progress, allow_mass_unbind=allow_mass_unbind, ads=ads
        )

    def replay(self, entries: Iterable[Entry]) -> RecordAllResult:
        """Append another ledger's ``entries`` here with their own seqs and record times, so
        this copy has the very same hashes and digest (``delvia-ledger copy``).

        Only into an empty ledger; all or nothing. ``entries`` come from another ledger's
        :meth:`entries` or from a JSON export (:func:`delvia_ledger.io.read_export`); each is
        stored as its source stores it (its source, salt, and an erasure's redaction), and
        must extend the chain: the first that does not (a tampered export, an entry written by
        an older encoder) is named, and nothing is kept.
        """
        return self._intake.replay(entries)
