"""The TikTok API for Business client behind ``sync`` (DESIGN §12): paging, retries, rate limits.

Secrets (the access token, a raw Spark code) join a request only on its way to the wire, so no
log line, repr or error, ours or httpx's, ever holds them.
"""

from __future__ import annotations

import logging
import math
import random as _random
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Self, TypeGuard

import attrs
import httpx

from .errors import TikTokAPIError
from .proxy import environment_proxy as _environment_proxy

__all__ = ["DEFAULT_BASE_URL", "MAX_PAGE_SIZE", "TikTokClient", "VideoPage"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://business-api.tiktok.com/open_api/v1.3/"
#: ``/tt_video/list/`` serves at most this many posts a page.
MAX_PAGE_SIZE: Final = 50
#: Envelope codes (inside an HTTP 200) that mean "too many requests: slow down".
THROTTLED: Final = frozenset({40100, 40133, 40016})
#: Envelope codes that mean "TikTok failed this time: try again".
TRANSIENT: Final = frozenset({-500, 50000, 50002})
#: The envelope code of a partial success: the data that came back is good, some is missing.
PARTIAL_SUCCESS: Final = 20001

_SECRET_PARAMS: Final = "delvia_ledger.secret_params"


@attrs.frozen
class VideoPage:
    """One page of ``GET /tt_video/list/``, with ``data`` exactly as TikTok sent it.

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

    @property
    def items(self) -> list[Mapping[str, Any]]:
        """The page's posts (TikTok sends ``"list": null`` for none)."""
        return list(self.data.get("list") or [])


@attrs.frozen
class _Answer:
    """A usable envelope: code 0 or a partial success."""

    code: int | str
    message: str
    request_id: str | None
    data: Mapping[str, Any]


@attrs.frozen
class _Refusal:
    """Why one attempt failed, and whether trying again may help."""

    code: int | str
    message: str
    request_id: str | None = None
    retry: bool = False
    retry_after: float | None = None


class TikTokClient:
    """The TikTok API for Business endpoints that sync and diagnose read, over one connection pool.

    Throttled and transient failures are retried (exponential backoff with full jitter, or the
    server's ``Retry-After``), at most ``max_retries`` times per request; any other refusal is
    a :class:`~delvia_ledger.errors.TikTokAPIError` at once. ``sleep`` and ``random`` are there
    for tests; proxies come from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` as usual.

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
        max_backoff: float = 60.0,
        sleep: Callable[[float], object] = time.sleep,
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
        if not (_count(page_size) and 1 <= page_size <= MAX_PAGE_SIZE):
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size!r}")
        if not _count(max_retries):
            raise ValueError(f"max_retries must be 0 or more, got {max_retries!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be more than 0 seconds, got {timeout!r}")
        if not (backoff >= 0 and max_backoff >= 0):
            raise ValueError(
                f"backoff and max_backoff must be 0 or more, got {backoff!r} and {max_backoff!r}"
            )
        self.base_url: Final = str(url)
        self.page_size: Final = page_size
        self.max_retries: Final = max_retries
        self.timeout: Final = float(timeout)
        self.backoff: Final = float(backoff)
        self.max_backoff: Final = float(max_backoff)
        self._sleep = sleep
        self._random = random
        self._token = token
        self._http = httpx.Client(
            base_url=url,
            timeout=self.timeout,
            headers={"Accept": "application/json"},
            transport=_SecretsOnTheWire(token, proxy=_environment_proxy(url)),
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

    def iter_video_pages(self, advertiser_id: str) -> Iterator[VideoPage]:
        """Every page of the advertiser's authorized posts (``GET /tt_video/list/``), in order.

        Pages are requested from 1 until ``data.page_info.total_page`` (as the latest page
        states it) or an empty page. A partial success (20001) is yielded with ``partial=True``;
        any failure raises :class:`~delvia_ledger.errors.TikTokAPIError` mid-iteration.
        """
        return self._video_pages(_required("advertiser_id", advertiser_id))

    def _video_pages(self, advertiser: str) -> Iterator[VideoPage]:
        number, total = 1, 1
        while number <= total:
            what = f"GET tt_video/list/ page {number}, advertiser {advertiser}"
            params: dict[str, str | int] = {
                "advertiser_id": advertiser,
                "page": number,
                "page_size": self.page_size,
            }
            answer = self._get("tt_video/list/", params, what=what)
            page = _video_page(answer, number, what)
            yield page
            if not page.items:
                return
            total = page.total_pages
            number += 1

    def video_pages(self, advertiser_id: str) -> list[VideoPage]:
        """All pages of :meth:`iter_video_pages` (a failure on any page raises, returns nothing)."""
        return list(self.iter_video_pages(advertiser_id))

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
        return self._get("tt_video/info/", params, what=what, secrets={"auth_code": code}).data

    def _get(
        self,
        endpoint: str,
        params: Mapping[str, str | int],
        *,
        what: str,
        secrets: Mapping[str, str] | None = None,
    ) -> _Answer:
        """One request, retried as §12 says; ``what`` names it in logs and errors."""
        hidden = (self._token, *(secrets or {}).values())
        attempt = 0
        while True:
            outcome = self._attempt(endpoint, params, secrets or {})
            if isinstance(outcome, _Answer):
                return outcome
            message = _without(hidden, outcome.message)
            if not outcome.retry:
                raise TikTokAPIError(outcome.code, f"{message} ({what})", outcome.request_id)
            if attempt >= self.max_retries:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise TikTokAPIError(
                    outcome.code, f"{message} ({what}; gave up after {tries})", outcome.request_id
                )
            wait = self._wait(attempt, outcome.retry_after)
            log.info(
                "%s: %s (%s%s); retry %d of %d in %.2f s",
                what,
                message,
                outcome.code,
                f", request id {outcome.request_id}" if outcome.request_id else "",
                attempt + 1,
                self.max_retries,
                wait,
            )
            self._sleep(wait)
            attempt += 1

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """The server's ``Retry-After`` (at most ``max_backoff``), else full jitter over
        ``backoff * 2**attempt`` (capped at ``max_backoff``)."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** min(attempt, 64))
        return self._random() * ceiling

    def _attempt(
        self, endpoint: str, params: Mapping[str, str | int], secrets: Mapping[str, str]
    ) -> _Answer | _Refusal:
        try:
            response = self._http.get(
                endpoint, params=dict(params), extensions={_SECRET_PARAMS: secrets}
            )
        except httpx.TimeoutException as error:
            return _Refusal(
                "network",
                f"no answer within {self.timeout:g} s ({type(error).__name__})",
                retry=True,
            )
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as error:
            host = httpx.URL(self.base_url).host
            return _Refusal(
                "network", f"could not reach {host} ({type(error).__name__}: {error})", retry=True
            )
        except httpx.RequestError as error:  # not worth retrying (e.g. a malformed response)
            return _Refusal("network", f"{type(error).__name__}: {error}")
        return _read(response)


def _read(response: httpx.Response) -> _Answer | _Refusal:
    """Classify one HTTP answer: usable, throttled, transient, or refused."""
    status = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested past any real answer
        body = None
    envelope = body if isinstance(body, Mapping) and "code" in body else None
    code = _code(envelope["code"]) if envelope else 0
    message = str(envelope.get("message") or "") if envelope else ""
    request_id = _text(envelope.get("request_id")) if envelope else None
    if not response.is_success:
        code = code or status  # TikTok's code when it sent one, else the HTTP status
        message = message or response.reason_phrase
        if response.status_code == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            return _Refusal(code, message, request_id, retry=True, retry_after=retry_after)
        retry_after = _seconds(response.headers.get("Retry-After"))  # e.g. a 503's
        return _Refusal(code, message, request_id, response.status_code >= 500, retry_after)
    if envelope is None:
        what = "not JSON" if body is None else "not a TikTok API response (no 'code')"
        return _Refusal(status, f"the answer is {what}")
    if code in THROTTLED:
        retry_after = _seconds(response.headers.get("Retry-After"))
        return _Refusal(code, message or "too many requests", request_id, True, retry_after)
    if code in TRANSIENT:
        return _Refusal(code, message or "TikTok failed this time", request_id, retry=True)
    if code not in (0, PARTIAL_SUCCESS):
        return _Refusal(code, message, request_id)
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        return _Refusal(status, f"code {code} came with no 'data' object", request_id)
    return _Answer(code, message, request_id, data)


def _video_page(answer: _Answer, number: int, what: str) -> VideoPage:
    page_info = answer.data.get("page_info")
    total_pages = page_info.get("total_page") if isinstance(page_info, Mapping) else None
    total_items = page_info.get("total_number") if isinstance(page_info, Mapping) else None
    items = answer.data.get("list")
    if not _count(total_pages):
        raise TikTokAPIError(
            "HTTP 200",
            f"data.page_info.total_page is {total_pages!r}, not a page count ({what})",
            answer.request_id,
        )
    if items is not None and not isinstance(items, list):
        raise TikTokAPIError(
            "HTTP 200", f"data.list is a {type(items).__name__}, not a list ({what})"
        )
    return VideoPage(
        number=number,
        total_pages=total_pages,
        total_items=total_items if _count(total_items) else None,
        data=answer.data,
        partial=answer.code == PARTIAL_SUCCESS,
        message=answer.message,
        request_id=answer.request_id,
    )


class _SecretsOnTheWire(httpx.BaseTransport):
    """Adds the ``Access-Token`` header and a request's secret parameters as it leaves.

    httpx logs, and keeps in responses and errors, the request it was handed; that request
    carries neither secret.
    """

    def __init__(self, token: str, *, proxy: str | None) -> None:
        self._token = token
        self._wire = httpx.HTTPTransport(proxy=proxy)

    def __repr__(self) -> str:
        return "_SecretsOnTheWire()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        url = request.url
        for name, value in extensions.pop(_SECRET_PARAMS, {}).items():
            url = url.copy_add_param(name, value)
        headers = request.headers.copy()
        headers["Access-Token"] = self._token
        wire = httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=extensions
        )
        return self._wire.handle_request(wire)

    def close(self) -> None:
        self._wire.close()


def _required(name: str, value: object) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text:
        raise ValueError(f"{name} is empty: pass the TikTok ad account (advertiser) id")
    return text


def _without(secrets: tuple[str, ...], text: str) -> str:
    """``text`` with every secret blanked out, in case an answer echoes one."""
    for secret in secrets:
        text = text.replace(secret, "…")
    return text


def _code(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is ignored: backoff applies)."""
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
