"""The TikTok API for Business client behind ``sync`` (DESIGN §12): stable, bounded sweeps of
TikTok's paged listings (posts, ads, ad groups, Business Center members), retries, throttling.

Secrets (the access token, a raw Spark code) join a request only on its way to the wire, and
every text a server sent passes :func:`~delvia_ledger.sync_wire.scrub` before it is shown.
"""

from __future__ import annotations

import json
import logging
import math
import random as _random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self

import httpx

from .errors import TikTokAPIError
from .sync_pages import (
    Budget,
    Confirmation,
    Key,
    Page,
    Progress,
    Repeated,
    Sweep,
    VideoPage,
    Wait,
    bc_key,
    field_key,
    is_count,
    keys_of,
    page_of,
    post_key,
    repeats_refused,
)
from .sync_wire import (
    SECRET_PARAMS,
    Answer,
    Oversized,
    Refusal,
    WireTransport,
    deadline,
    environment_proxy,
    read_answer,
    read_bounded,
    scrub,
)
from .tiktok import DEFAULT_BASE_URL

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "Confirmation",
    "Page",
    "Sweep",
    "TikTokClient",
    "VideoPage",
    "Wait",
]

log = logging.getLogger(__name__)
#: Kept for the modules that found the proxy here first.
_environment_proxy = environment_proxy

#: ``/tt_video/list/`` serves at most this many posts a page.
MAX_PAGE_SIZE: Final = 50
#: ``/bc/member/get/`` and ``/bc/asset/member/get/`` serve at most this many a page.
MAX_MEMBER_PAGE_SIZE: Final = 20
#: TikTok's code for any missing permission: a scope, or an account the token does not reach.
NO_PERMISSION: Final = 40001
#: The fields asked of ``/ad/get/`` and ``/adgroup/get/`` (fact sheet §8.1).
AD_FIELDS: Final = (
    "ad_id",
    "adgroup_id",
    "campaign_id",
    "advertiser_id",
    "identity_type",
    "identity_id",
    "identity_authorized_bc_id",
    "tiktok_item_id",
    "operation_status",
    "secondary_status",
    "create_time",
    "modify_time",
)
ADGROUP_FIELDS: Final = (
    "adgroup_id",
    "schedule_type",
    "schedule_start_time",
    "schedule_end_time",
    "operation_status",
)
_THROTTLE_ADVICE: Final = (
    "nothing was written; retry later (TikTok's rate-limit page gives about 5 minutes for a "
    "per-minute limit; a per-day limit resets at 00:00 UTC)"
)


class TikTokClient:
    """The TikTok API for Business endpoints that sync and diagnose read, over one connection pool.

    Throttling (40100 and its relatives, or HTTP 429) is waited out, with growing waits, up to
    ``max_backoff`` seconds in all per sweep; transient failures (5xx, -500, 50000, 50002, a
    network error or a timeout) are retried at most ``max_retries`` times per request; any
    other refusal is a :class:`~delvia_ledger.errors.TikTokAPIError` at once. Bounds that no
    server can push past: ``timeout`` per request in all (not per read), ``sweep_timeout`` per
    sweep, ``max_response_bytes`` per decoded answer, ``max_pages`` per sweep. ``sleep``,
    ``clock`` and ``random`` are there for tests; proxies come from ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` / ``NO_PROXY`` as usual.

    >>> with TikTokClient("an-access-token", page_size=20) as client:
    ...     client  # doctest: +ELLIPSIS
    TikTokClient(base_url='https://business-api.tiktok.com/open_api/v1.3/', page_size=20, ...)
    """

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        max_retries: int = 5,
        page_size: int = MAX_PAGE_SIZE,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        max_backoff: float = 300.0,
        max_resweeps: int = 2,
        max_pages: int = 2_000,
        max_response_bytes: int = 8 * 2**20,
        sweep_timeout: float = 3_600.0,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        token = access_token.strip() if isinstance(access_token, str) else ""
        if not token:
            raise ValueError("access_token is empty: set TIKTOK_ACCESS_TOKEN to the app's token")
        if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
            raise ValueError(
                "access_token holds spaces or characters an HTTP header cannot carry: "
                "copy the token again"
            )
        try:
            url = httpx.URL(str(base_url).rstrip("/") + "/")
        except httpx.InvalidURL:
            url = httpx.URL()
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not (is_count(page_size) and 1 <= page_size <= MAX_PAGE_SIZE):
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size!r}")
        for name, count, least in (
            ("max_retries", max_retries, 0),
            ("max_resweeps", max_resweeps, 0),
            ("max_pages", max_pages, 1),
            ("max_response_bytes", max_response_bytes, 1024),
        ):
            if not (is_count(count) and count >= least):
                raise ValueError(f"{name} must be a whole number of {least} or more, got {count!r}")
        bounds: tuple[tuple[str, object, float | None], ...] = (
            ("timeout", timeout, None),
            ("sweep_timeout", sweep_timeout, None),
            ("backoff", backoff, 0),
            ("max_wait", max_wait, 0),
            ("max_backoff", max_backoff, 0),
        )
        for name, value, floor in bounds:
            if not _seconds_ok(value, floor):
                more = "more than 0" if floor is None else "0 or more"
                raise ValueError(f"{name} must be {more} seconds, got {value!r}")
        self.base_url: Final = str(url)
        self.page_size: Final = page_size
        self.max_retries: Final = max_retries
        self.timeout: Final = float(timeout)
        self.backoff: Final = float(backoff)
        self.max_wait: Final = float(max_wait)
        self.max_backoff: Final = float(max_backoff)
        self.max_resweeps: Final = max_resweeps
        self.max_pages: Final = max_pages
        self.max_response_bytes: Final = max_response_bytes
        self.sweep_timeout: Final = float(sweep_timeout)
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._token = token
        self._http = httpx.Client(
            base_url=url,
            timeout=self.timeout,
            headers={"Accept": "application/json", "Accept-Encoding": "gzip, deflate"},
            transport=WireTransport(token, proxy=environment_proxy(url)),
        )

    def __repr__(self) -> str:
        return (
            f"TikTokClient(base_url={self.base_url!r}, page_size={self.page_size}, "
            f"max_retries={self.max_retries}, timeout={self.timeout})"
        )

    def close(self) -> None:
        """Close the connection pool (the client cannot be used afterwards)."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def scrub(self, text: object, *secrets: str) -> str:
        """``text`` that came from TikTok, safe to show: without the token (or ``secrets``),
        control characters escaped, length capped. For errors that quote what TikTok sent."""
        return scrub(text, (self._token, *secrets))

    # Posts ----------------------------------------------------------------------------------

    def sweep_videos(self, advertiser_id: str, *, progress: Progress | None = None) -> Sweep:
        """A stable sweep of the advertiser's authorized posts (``GET /tt_video/list/``).

        Reads every page, then page 1 again: if the listing's ``total_number`` or page 1
        changed meanwhile, the listing moved under the sweep, so it is read again, at most
        ``max_resweeps`` more times; a sweep that never settles comes back ``stable=False``.
        ``progress`` gets each :class:`Page` as it arrives and each :class:`Wait`.
        """
        advertiser = _required("advertiser_id", advertiser_id)
        params: dict[str, str | int] = {"advertiser_id": advertiser, "page_size": self.page_size}
        return self._sweep("tt_video/list/", params, post_key, f"advertiser {advertiser}", progress)

    def iter_video_pages(self, advertiser_id: str) -> Iterator[Page]:
        """Every page of the advertiser's authorized posts (``GET /tt_video/list/``), in order:
        one pass, without the stability check of :meth:`sweep_videos`.

        Pages are requested from 1 until ``data.page_info.total_page`` (as the latest page
        states it) or an empty page. A partial success (20001) is yielded with ``partial=True``;
        any failure raises :class:`~delvia_ledger.errors.TikTokAPIError` mid-iteration.
        """
        advertiser = _required("advertiser_id", advertiser_id)
        params: dict[str, str | int] = {"advertiser_id": advertiser, "page_size": self.page_size}
        scope = f"advertiser {advertiser}"
        pages = self._pages("tt_video/list/", params, post_key, scope, self._budget(), None)
        return repeats_refused(pages)

    def video_pages(self, advertiser_id: str) -> list[Page]:
        """All pages of :meth:`iter_video_pages` (a failure on any page raises, returns nothing)."""
        return list(self.iter_video_pages(advertiser_id))

    def confirm_unlisted(
        self, advertiser_id: str, item_ids: Sequence[str], *, progress: Progress | None = None
    ) -> Confirmation:
        """Ask TikTok about each post a sweep did not list, one exact ``keyword=<item_id>``
        lookup of ``/tt_video/list/`` per post (one request each, retries aside).

        Only posts in :attr:`Confirmation.absent` may be concluded unbound.
        """
        advertiser = _required("advertiser_id", advertiser_id)
        budget = self._budget()
        absent, unsure, listed = set(), set(), {}
        for item_id in dict.fromkeys(str(i) for i in item_ids):
            if not (item_id.isdigit() and len(item_id) >= 19):
                unsure.add(item_id)  # TikTok matches a keyword exactly only for such ids
                continue
            what = f"GET tt_video/list/ keyword {item_id}, advertiser {advertiser}"
            params: dict[str, str | int] = {
                "advertiser_id": advertiser,
                "keyword": item_id,
                "page": 1,
                "page_size": 1,
            }
            answer = self._get(
                "tt_video/list/", params, what=what, budget=budget, progress=progress
            )
            found = [i for i in page_of(answer, 1, what, self).items if post_key(i) == item_id]
            if found:
                listed[item_id] = found[0]
            else:
                absent.add(item_id)
        return Confirmation(frozenset(absent), listed, frozenset(unsure), budget.requests)

    def video_info(self, advertiser_id: str, auth_code: str) -> Mapping[str, Any]:
        """What TikTok knows of one raw Spark code (``GET /tt_video/info/``): the ``data`` object.

        A preview: it applies nothing. A code TikTok refuses raises
        :class:`~delvia_ledger.errors.TikTokAPIError` (its ``explanation`` says what to do).
        The returned mapping holds the raw code under ``item_info.auth_code``.
        """
        advertiser = _required("advertiser_id", advertiser_id)
        if not isinstance(auth_code, str):
            raise ValueError(
                "auth_code must be the raw code text the creator sent "
                "(a SparkCode keeps only a fingerprint)"
            )
        code = auth_code.strip()
        if not code:
            raise ValueError("auth_code is empty: pass the Spark code the creator sent")
        what = f"GET tt_video/info/, advertiser {advertiser}"
        params = {"advertiser_id": advertiser}
        return self._get(
            "tt_video/info/", params, what=what, budget=self._budget(), secrets={"auth_code": code}
        ).data

    # Ads and access -------------------------------------------------------------------------

    def sweep_ads(
        self,
        advertiser_id: str,
        *,
        filtering: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Sweep:
        """A stable sweep of the advertiser's ads (``GET /ad/get/``), raw entries with
        :data:`AD_FIELDS`; ``filtering`` is sent as TikTok's JSON ``filtering`` object."""
        advertiser = _required("advertiser_id", advertiser_id)
        params = self._fields(advertiser, AD_FIELDS, filtering)
        return self._sweep(
            "ad/get/", params, field_key("ad_id"), f"advertiser {advertiser}", progress
        )

    def sweep_adgroups(
        self,
        advertiser_id: str,
        *,
        filtering: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Sweep:
        """A stable sweep of the advertiser's ad groups (``GET /adgroup/get/``): their
        schedules and status (:data:`ADGROUP_FIELDS`)."""
        advertiser = _required("advertiser_id", advertiser_id)
        params = self._fields(advertiser, ADGROUP_FIELDS, filtering)
        key = field_key("adgroup_id")
        return self._sweep("adgroup/get/", params, key, f"advertiser {advertiser}", progress)

    def sweep_business_centers(self, *, progress: Progress | None = None) -> Sweep:
        """A stable sweep of the Business Centers the token reaches (``GET /bc/get/``)."""
        params: dict[str, str | int] = {"page_size": self.page_size}
        return self._sweep("bc/get/", params, bc_key, "this token", progress)

    def sweep_bc_members(self, bc_id: str, *, progress: Progress | None = None) -> Sweep:
        """A stable sweep of a Business Center's members (``GET /bc/member/get/``), PENDING
        invitations included, at most 20 a page as TikTok allows."""
        bc = _required("bc_id", bc_id, what="the Business Center id")
        params: dict[str, str | int] = {
            "bc_id": bc,
            "page_size": min(self.page_size, MAX_MEMBER_PAGE_SIZE),
        }
        key = field_key("user_id")
        return self._sweep("bc/member/get/", params, key, f"Business Center {bc}", progress)

    def sweep_asset_members(
        self,
        bc_id: str,
        asset_id: str,
        *,
        asset_type: str = "ADVERTISER",
        progress: Progress | None = None,
    ) -> Sweep:
        """A stable sweep of the members holding a role on one asset of a Business Center
        (``GET /bc/asset/member/get/``; for an ad account, ``advertiser_role``)."""
        bc = _required("bc_id", bc_id, what="the Business Center id")
        asset = _required("asset_id", asset_id, what="the asset (ad account) id")
        params: dict[str, str | int] = {
            "bc_id": bc,
            "asset_type": str(asset_type),
            "asset_id": asset,
            "page_size": min(self.page_size, MAX_MEMBER_PAGE_SIZE),
        }
        key = field_key("user_id")
        scope = f"{asset_type.lower()} {asset} in Business Center {bc}"
        return self._sweep("bc/asset/member/get/", params, key, scope, progress)

    def _fields(
        self, advertiser: str, fields: Sequence[str], filtering: Mapping[str, Any] | None
    ) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "advertiser_id": advertiser,
            "fields": json.dumps(list(fields)),
            "page_size": self.page_size,
        }
        if filtering is not None:
            params["filtering"] = json.dumps(dict(filtering), separators=(",", ":"))
        return params

    # Sweeping -------------------------------------------------------------------------------

    def _budget(self) -> Budget:
        return Budget(until=self._clock() + self.sweep_timeout)

    def _sweep(
        self,
        endpoint: str,
        params: Mapping[str, str | int],
        key: Key,
        scope: str,
        progress: Progress | None,
    ) -> Sweep:
        """Read the whole listing until a pass is stable, at most ``1 + max_resweeps`` passes."""
        budget = self._budget()
        why = ""
        pages: list[Page] = []
        passes = repeats = 0
        for passes in range(1, self.max_resweeps + 2):
            pages = []
            why = ""
            try:
                for page in self._pages(
                    endpoint, params, key, scope, budget, progress, passes == 1
                ):
                    if pages and page.total_items != pages[0].total_items:
                        why = (
                            f"total_number went from {pages[0].total_items} to "
                            f"{page.total_items} between page 1 and page {page.number}"
                        )
                        break
                    pages.append(page)
            except Repeated as repeated:
                repeats += 1
                if repeats > self.max_resweeps:  # on every pass: a server that pages nowhere
                    raise repeated.error() from None
                why = repeated.why  # drift can repeat a page (one post added in front of it)
            if not why and len(pages) > 1:
                again = next(self._pages(endpoint, params, key, scope, budget, None, False))
                if again.total_items != pages[0].total_items:
                    why = (
                        f"total_number went from {pages[0].total_items} to {again.total_items} "
                        "while the pages were read"
                    )
                elif keys_of(again, key) != keys_of(pages[0], key):
                    why = "page 1 changed while the pages were read"
            if not why:
                return Sweep(
                    endpoint, scope, tuple(pages), True, "", passes, budget.requests, budget.waited
                )
            log.info("%s, %s: the listing moved (%s); reading it again", endpoint, scope, why)
        why = (
            f"the listing kept moving while it was read ({passes} times; last: {why}): "
            "nothing can be concluded from what it did not list"
        )
        return Sweep(
            endpoint, scope, tuple(pages), False, why, passes, budget.requests, budget.waited
        )

    def _pages(
        self,
        endpoint: str,
        params: Mapping[str, str | int],
        key: Key,
        scope: str,
        budget: Budget,
        progress: Progress | None,
        first: bool = True,
    ) -> Iterator[Page]:
        """One pass over a paged listing, from page 1 to ``total_page`` or an empty page."""
        number, total = 1, 1
        seen: dict[tuple[object, ...], int] = {}
        while number <= total:
            what = f"GET {endpoint} page {number}, {scope}"
            try:
                answer = self._get(
                    endpoint,
                    {**params, "page": number},
                    what=what,
                    budget=budget,
                    progress=progress,
                )
            except TikTokAPIError as error:
                if first and number == 1 and error.code == NO_PERMISSION:
                    raise TikTokAPIError(
                        error.code,
                        f"{error.message}; the token may not reach {scope}: TikTok answers "
                        f"{NO_PERMISSION} for any missing permission, an account that has not "
                        "authorized this app as much as a scope the app lacks",
                        error.request_id,
                    ) from None
                raise
            page = page_of(answer, number, what, self, endpoint)
            if page.total_pages > self.max_pages:
                shown = scrub(page.total_pages, limit=40)
                raise TikTokAPIError(
                    "HTTP 200",
                    f"data.page_info.total_page is {shown}, more than max_pages="
                    f"{self.max_pages} ({what}); nothing was written (raise max_pages if the "
                    "account is really this big)",
                    page.request_id,
                )
            if progress is not None:
                progress(page)
            yield page
            if not page.items:
                return
            keys = keys_of(page, key)
            if keys in seen:  # drift can do it once; a server that pages nowhere does it always
                why = f"page {number} lists the very same entries as page {seen[keys]} ({what})"
                raise Repeated(why, page.request_id)
            seen[keys] = number
            total = page.total_pages
            number += 1

    # One request ----------------------------------------------------------------------------

    def _get(
        self,
        endpoint: str,
        params: Mapping[str, str | int],
        *,
        what: str,
        budget: Budget,
        progress: Progress | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request, retried as §12 says; ``what`` names it in logs and errors."""
        hidden = (self._token, *(secrets or {}).values())
        failures = 0
        while True:
            if self._clock() > budget.until:
                raise TikTokAPIError(
                    "timeout",
                    f"the sweep took longer than sweep_timeout={self.sweep_timeout:g} s ({what}); "
                    "nothing was written",
                )
            outcome = self._attempt(endpoint, params, secrets or {})
            budget.requests += 1
            if isinstance(outcome, Answer):
                return outcome
            code = scrub(outcome.code, hidden, limit=60)
            message = scrub(outcome.message, hidden)
            request_id = scrub(outcome.request_id, hidden, limit=80) if outcome.request_id else None
            shown_code: int | str = outcome.code if isinstance(outcome.code, int) else code
            if not outcome.retry:
                raise TikTokAPIError(shown_code, f"{message} ({what})", request_id)
            wait = self._wait(failures, outcome.retry_after)
            left = min(self.max_backoff - budget.waited, budget.until - self._clock())
            if outcome.throttled and left <= 0:
                raise TikTokAPIError(
                    shown_code,
                    f"{message} ({what}); TikTok was still throttling after "
                    f"{budget.waited:.0f} s of waiting in all (max_backoff="
                    f"{self.max_backoff:g} s): {_THROTTLE_ADVICE}",
                    request_id,
                )
            if not outcome.throttled and (failures >= self.max_retries or left <= 0):
                tries = f"{failures + 1} attempt{'s' if failures else ''}"
                raise TikTokAPIError(
                    shown_code, f"{message} ({what}; gave up after {tries})", request_id
                )
            wait = min(wait, left)
            budget.waited += wait
            reason = f"{message} ({code}{f', request id {request_id}' if request_id else ''})"
            event = Wait(what, reason, wait, budget.waited, self.max_backoff)
            if outcome.throttled:
                log.info("%s", event)
            else:
                log.info("%s; retry %d of %d", event, failures + 1, self.max_retries)
            if progress is not None:
                progress(event)
            self._sleep(wait)
            failures += 1

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """The server's ``Retry-After`` (at most ``max_wait``), else full jitter over
        ``backoff * 2**attempt`` (capped at ``max_wait``)."""
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        ceiling = min(self.max_wait, self.backoff * 2.0 ** min(attempt, 64))
        return self._random() * ceiling

    def _attempt(
        self, endpoint: str, params: Mapping[str, str | int], secrets: Mapping[str, str]
    ) -> Answer | Refusal:
        host = httpx.URL(self.base_url).host
        try:
            with (
                deadline(self.timeout),
                self._http.stream(
                    "GET", endpoint, params=dict(params), extensions={SECRET_PARAMS: secrets}
                ) as response,
            ):
                try:
                    body = read_bounded(response, self.max_response_bytes)
                except Oversized as error:
                    return Refusal(f"HTTP {response.status_code}", f"{error}: refused")
                except ValueError as error:
                    return Refusal(f"HTTP {response.status_code}", str(error))
        except httpx.TimeoutException as error:
            return Refusal(
                "network",
                f"no complete answer within {self.timeout:g} s ({type(error).__name__})",
                retry=True,
            )
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as error:
            return Refusal(
                "network", f"could not reach {host} ({type(error).__name__}: {error})", retry=True
            )
        except httpx.RequestError as error:  # not worth retrying (e.g. a malformed response)
            return Refusal("network", f"{type(error).__name__}: {error}")
        return read_answer(response, body, self._token)


def _required(
    name: str, value: object, *, what: str = "the TikTok ad account (advertiser) id"
) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text:
        raise ValueError(f"{name} is empty: pass {what}")
    return text


def _seconds_ok(value: object, least: float | None) -> bool:
    """Whether ``value`` is a finite number of seconds, > 0 (``least`` None) or >= ``least``."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return False
    return value > 0 if least is None else value >= least
