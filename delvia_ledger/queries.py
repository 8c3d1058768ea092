"""The ledger's queries (DESIGN §6), a mixin of :class:`~delvia_ledger.LedgerView`: each runs
the findings engine over one snapshot at ``now=`` (default: the ledger clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from . import tiktok
from .arguments import aware, optional_text_arg
from .checks import DEFAULT_QUIET_AFTER, DEFAULT_WITHIN, Checks, Within
from .diagnose import Diagnosis, about_the_connection, diagnose, diagnose_at_tiktok
from .errors import TikTokAPIError
from .findings import Finding
from .records import SparkCode, fingerprint_of
from .storage import Storage
from .world import World

if TYPE_CHECKING:  # sync sits below the ledger (DESIGN §3): the ledger only calls a client
    from .sync import TikTokClient

__all__ = ["QueryMethods"]

T = TypeVar("T")


class QueryMethods:
    """The findings queries and ``diagnose`` of a ledger or an ``as_of`` view."""

    _store: Storage
    _bound: int | None

    if TYPE_CHECKING:

        def now(self) -> datetime: ...

    def checks(
        self, now: datetime | str | None = None, *, quiet_after: Within = DEFAULT_QUIET_AFTER
    ) -> Checks:
        """The findings engine for this view at ``now``; EXPIRED and REVOKED findings no ad
        needs, older than ``quiet_after``, are quiet (DESIGN §6)."""
        moment = self.now() if now is None else aware(now, "now")
        return Checks(World(self._store, self._bound, moment), quiet_after)

    def _query(
        self,
        now: datetime | str | None,
        run: Callable[[Checks], T],
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> T:
        """Run a query's several reads on one snapshot of the file (writers may be busy)."""
        with self._store.snapshot():
            return run(self.checks(now, quiet_after=quiet_after))

    def expiring(
        self, within: Within = DEFAULT_WITHIN, *, now: datetime | str | None = None
    ) -> list[Finding]:
        """Codes not revoked that expire after ``now`` and no later than ``now + within``."""
        return self._query(now, lambda c: c.expiring(within))

    def expired(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes past their window (and not revoked), with the active ads they break."""
        return self._query(now, lambda c: c.expired())

    def revoked(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes the creator revoked, with the active ads they affect."""
        return self._query(now, lambda c: c.revoked())

    def not_yet_active(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes whose window has not started."""
        return self._query(now, lambda c: c.not_yet_active())

    def mismatched_posts(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Ads whose code authorizes another post than the ad intends."""
        return self._query(now, lambda c: c.mismatched_posts())

    def region_incompatible(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Code/account pairs the region policy rejects (ERROR) or does not confirm (INFO)."""
        return self._query(now, lambda c: c.region_incompatible())

    def outlived_by_ads(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Ads scheduled to run past their code's expiry."""
        return self._query(now, lambda c: c.outlived_by_ads())

    def post_unavailable(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes not yet ended whose post TikTok reports deleted or removed by moderation."""
        return self._query(now, lambda c: c.post_unavailable())

    def unbound(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Ads whose code TikTok no longer lists in the ad's account."""
        return self._query(now, lambda c: c.unbound_ads())

    def not_authorized(self, *, now: datetime | str | None = None) -> list[Finding]:
        """Codes TikTok reports as not AUTHORIZED in an account where they are bound."""
        return self._query(now, lambda c: c.not_authorized())

    def ownership(
        self, within: Within = DEFAULT_WITHIN, *, now: datetime | str | None = None
    ) -> list[Finding]:
        """NO_ADMIN, NO_OPERATOR, OWNER_MISSING and ROLE_EXPIRING."""
        return self._query(now, lambda c: c.ownership(within))

    def findings(
        self,
        within: Within = DEFAULT_WITHIN,
        *,
        now: datetime | str | None = None,
        include_quiet: bool = False,
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> list[Finding]:
        """Every kind of finding, worst severity first, then earliest deadline.

        An EXPIRED or REVOKED finding that no ad needs and whose deadline is older than
        ``quiet_after`` (default 30 days) is *quiet*: left out unless ``include_quiet``. So is
        everything about a code *replaced* by a newer one for its post, but for the ads still
        on it (DESIGN §6)."""
        return self._query(
            now, lambda c: c.findings(within, include_quiet=include_quiet), quiet_after
        )

    def iter_findings(
        self,
        within: Within = DEFAULT_WITHIN,
        *,
        now: datetime | str | None = None,
        include_quiet: bool = False,
        quiet_after: Within = DEFAULT_QUIET_AFTER,
    ) -> Iterator[Finding]:
        """:meth:`findings` streamed, in the same order, in bounded memory.

        ``within``, ``now`` and ``quiet_after`` are checked at once; the ledger is read from the
        first ``next`` on, in one snapshot held until the stream ends (consume it, or
        ``close()`` it).
        """
        checks = self.checks(now, quiet_after=quiet_after)
        return self._streamed(checks.iter_findings(within, include_quiet=include_quiet))

    def _streamed(self, found: Iterator[Finding]) -> Iterator[Finding]:
        with self._store.snapshot():
            yield from found

    def diagnose(
        self,
        code: str | SparkCode,
        *,
        post_id: str | None = None,
        ad_account_id: str | None = None,
        now: datetime | str | None = None,
        client: TikTokClient | None = None,
        live: bool | None = None,
    ) -> Diagnosis:
        """Why one code does (not) work: known -> live -> right post -> region.

        With ``client`` (a :class:`~delvia_ledger.sync.TikTokClient`) and ``ad_account_id``, a
        code the ledger does not hold is looked up at TikTok (``GET /tt_video/info/``, which
        applies nothing): the live and post steps are then decided from TikTok's answer, and a
        code TikTok refuses is explained by :func:`~delvia_ledger.explain_error`. Refusals
        about the connection itself (the token, a missing scope, throttling past the retries)
        raise :class:`~delvia_ledger.TikTokAPIError`. ``live`` defaults to True when a
        client is given; ``live=False`` keeps the diagnosis to what the ledger knows.

        A code the ledger does not hold whose ``+`` became a space or whose characters were
        percent-encoded on the way is matched, by its repaired variants' fingerprints, to the
        recorded code it probably was: ``Diagnosis.suggestions`` ("did you mean"); TikTok is
        then not asked about the mangled text.
        """
        post_id = optional_text_arg(post_id, "diagnose(post_id=...)")
        ad_account_id = optional_text_arg(ad_account_id, "diagnose(ad_account_id=...)")
        if not isinstance(code, SparkCode):
            fingerprint_of(code)  # refuses what is not a code before any read
        if live and client is None:
            raise ValueError("diagnose(live=True) needs client=TikTokClient(...) to ask TikTok")
        found = self._query(now, lambda c: diagnose(c.world, code, post_id, ad_account_id))
        if found.authorization is not None or client is None or live is False:
            return found
        if found.suggestions:  # mangled on the way: TikTok would be asked the mangled text
            return found
        if not isinstance(code, str):
            raise ValueError("diagnose: asking TikTok needs the raw code text, not a SparkCode")
        if ad_account_id is None:
            raise ValueError(
                "diagnose: asking TikTok (client=...) needs ad_account_id=..., the ad account "
                "(advertiser) to ask in"
            )
        answer: tiktok.Item | TikTokAPIError
        try:
            items, skipped = tiktok.items_from_tt_video(client.video_info(ad_account_id, code))
            answer = (
                items[0]
                if items
                else TikTokAPIError("no_code", f"TikTok's answer holds no code ({skipped[0]})")
            )
        except TikTokAPIError as error:
            if about_the_connection(error):
                raise
            answer = error
        return self._query(
            now, lambda c: diagnose_at_tiktok(c.world, code, answer, post_id, ad_account_id)
        )
