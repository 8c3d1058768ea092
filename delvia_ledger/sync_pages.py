"""What a sweep of TikTok's listings returns (pages, waits, sweeps, confirmations), and how one
page is read out of TikTok's answer: the result types of :mod:`delvia_ledger.sync`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

import attrs

from .errors import TikTokAPIError
from .sync_wire import PARTIAL_SUCCESS, Answer

__all__ = [
    "Budget",
    "Confirmation",
    "Key",
    "Page",
    "Progress",
    "Repeated",
    "Sweep",
    "VideoPage",
    "Wait",
    "bc_key",
    "field_key",
    "is_count",
    "keys_of",
    "page_of",
    "post_key",
    "repeats_refused",
]

if TYPE_CHECKING:
    from .sync import TikTokClient


@attrs.frozen
class Page:
    """One page of a TikTok listing, with ``data`` exactly as TikTok sent it (the token blanked).

    ``data`` holds raw Spark codes, so it is left out of the repr. ``partial`` is True when
    TikTok answered code 20001 (partial success): ``message`` then says what is missing.
    """

    number: int
    total_pages: int
    total_items: int | None
    data: Mapping[str, Any] = attrs.field(repr=False)
    partial: bool = False
    message: str = ""
    request_id: str | None = None
    endpoint: str = "tt_video/list/"

    @property
    def items(self) -> list[Mapping[str, Any]]:
        """The page's entries (TikTok sends ``"list": null`` for none)."""
        return list(self.data.get("list") or [])


#: The name a page of ``/tt_video/list/`` had first.
VideoPage = Page


@attrs.frozen
class Wait:
    """Progress: TikTok throttled or failed a request, and the sweep waits before trying again."""

    what: str  #: the request, e.g. ``GET tt_video/list/ page 3, advertiser 7000…``
    reason: str  #: TikTok's code and message (scrubbed)
    seconds: float  #: this wait
    waited: float  #: waited so far in this sweep, this wait included
    budget: float  #: the most the sweep waits in all (``max_backoff``)

    def __str__(self) -> str:
        return (
            f"{self.what}: {self.reason}; waiting {self.seconds:.2f} s "
            f"({self.waited:.1f} s of at most {self.budget:g} s in all)"
        )


Progress = Callable[[Page | Wait], object]


@attrs.frozen
class Sweep:
    """Every page of one listing, and whether the listing held still while it was read.

    ``stable`` is False when the listing kept moving under every pass (``why`` says how): a
    sweep that is not stable proves nothing by a post's absence. ``passes`` counts the reads
    of the whole listing, ``requests`` every request made (retries and re-reads included).
    """

    endpoint: str
    scope: str
    pages: tuple[Page, ...] = attrs.field(repr=False)
    stable: bool
    why: str = ""
    passes: int = 1
    requests: int = 0
    waited: float = 0.0

    @property
    def items(self) -> list[Mapping[str, Any]]:
        """The entries of every page, in order."""
        return [item for page in self.pages for item in page.items]


@attrs.frozen
class Confirmation:
    """What the exact ``keyword=<item_id>`` lookups said of posts a sweep did not list.

    ``absent``: TikTok does not list them (safe to unbind); ``listed``: TikTok does, with the
    entry it sent (the sweep missed them); ``unsure``: ids the lookup cannot settle (not a
    numeric id of 19 characters or more, which TikTok documents as the exact match).
    """

    absent: frozenset[str]
    listed: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    unsure: frozenset[str] = frozenset()
    requests: int = 0


@attrs.define
class Budget:
    """What one sweep (or one call) may still spend: waiting, and time in all."""

    until: float
    waited: float = 0.0
    requests: int = 0


Key = Callable[[Mapping[str, Any]], object]


def page_of(
    answer: Answer, number: int, what: str, client: TikTokClient, endpoint: str = ""
) -> Page:
    """The :class:`Page` of one usable answer (its paging checked; server texts scrubbed)."""
    page_info = answer.data.get("page_info")
    total_pages = page_info.get("total_page") if isinstance(page_info, Mapping) else None
    total_items = page_info.get("total_number") if isinstance(page_info, Mapping) else None
    items = answer.data.get("list")
    request_id = client.scrub(answer.request_id) if answer.request_id else None
    if not is_count(total_pages):
        shown = client.scrub(repr(total_pages))
        raise TikTokAPIError(
            "HTTP 200",
            f"data.page_info.total_page is {shown}, not a page count ({what})",
            request_id,
        )
    if items is not None and not isinstance(items, list):
        raise TikTokAPIError(
            "HTTP 200", f"data.list is a {type(items).__name__}, not a list ({what})", request_id
        )
    return Page(
        number=number,
        total_pages=total_pages,
        total_items=total_items if is_count(total_items) else None,
        data=answer.data,
        partial=answer.code == PARTIAL_SUCCESS,
        message=client.scrub(answer.message),
        request_id=request_id,
        endpoint=endpoint or what.split()[1],
    )


class Repeated(Exception):
    """A page that lists the very same entries as an earlier page of the same pass."""

    def __init__(self, why: str, request_id: str | None) -> None:
        super().__init__(why)
        self.why, self.request_id = why, request_id

    def error(self) -> TikTokAPIError:
        """The error a sweep raises when the repeat comes back on its last pass."""
        return TikTokAPIError(
            "HTTP 200",
            f"{self.why}: TikTok's paging is not moving on; nothing was written, try again later",
            self.request_id,
        )


def repeats_refused(pages: Iterator[Page]) -> Iterator[Page]:
    """``pages``, with a repeated page an error at once (a single pass has no second try)."""
    try:
        yield from pages
    except Repeated as repeated:
        raise repeated.error() from None


def keys_of(page: Page, key: Key) -> tuple[object, ...]:
    """What identifies each entry of ``page`` (its id), to compare pages by."""
    return tuple(key(item) if isinstance(item, Mapping) else repr(item) for item in page.items)


def post_key(item: Mapping[str, Any]) -> object:
    """A post's ``item_info.item_id``."""
    info = item.get("item_info")
    return str(info.get("item_id")) if isinstance(info, Mapping) else repr(item)


def bc_key(item: Mapping[str, Any]) -> object:
    """A Business Center's ``bc_info.bc_id``."""
    info = item.get("bc_info")
    return str(info.get("bc_id")) if isinstance(info, Mapping) else str(item.get("bc_id"))


def field_key(name: str) -> Key:
    """The key that identifies an entry by its field ``name``."""

    def key(item: Mapping[str, Any]) -> object:
        value = item.get(name)
        return repr(item) if value is None else str(value)

    return key


def is_count(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a whole number of 0 or more (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
