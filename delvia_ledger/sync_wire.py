"""The wire under :mod:`delvia_ledger.sync`: secrets added only as a request leaves, a total
deadline per request, answers read with a bound on their decoded size, and the one scrubber
every text from a server passes before anyone may show it (issue 25).
"""

from __future__ import annotations

import contextvars
import json
import math
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
import httpcore
import httpx

from .fields import scrubbed

__all__ = [
    "MAX_QUOTE",
    "Answer",
    "Oversized",
    "Refusal",
    "WireTransport",
    "deadline",
    "environment_proxy",
    "read_answer",
    "read_bounded",
    "scrub",
    "seconds",
    "without_token",
]

#: The longest text from a server an error, a log line or a progress line quotes.
MAX_QUOTE: Final = 300
#: Envelope codes (inside an HTTP 200) that mean "too many requests: slow down".
THROTTLED: Final = frozenset({40100, 40133, 40016})
#: Envelope codes that mean "TikTok failed this time: try again".
TRANSIENT: Final = frozenset({-500, 50000, 50002})
#: The envelope code of a partial success: the data that came back is good, some is missing.
PARTIAL_SUCCESS: Final = 20001
#: The request extension that carries a request's secret query parameters to the wire.
SECRET_PARAMS: Final = "delvia_ledger.secret_params"
#: When the request under way must be over (``time.monotonic()``), or None for no deadline.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "delvia_ledger_request_deadline", default=None
)


def scrub(text: object, secrets: Iterable[str] = (), *, limit: int = MAX_QUOTE) -> str:
    """``text`` (anything a server sent) made safe to show: every ``secret`` removed, in the
    form it was sent and URL-encoded, control characters and line breaks escaped, and at most
    ``limit`` characters long. The one place server text goes through on its way out.

    >>> scrub("token tok-123 echoed\\nforged line", ["tok-123"])
    'token … echoed\\\\nforged line'
    >>> scrub("x" * 1000, limit=20)
    'xxxxxxxxxxxxxxxxxxx…'
    """
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    longest = max(map(len, forms), default=0)
    text = str(text)
    cut = len(text) > limit + longest
    text = scrubbed(text[: limit + longest], forms)  # a secret crossing the cut is whole there
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if cut or len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _forms(secret: str) -> tuple[str, ...]:
    """A secret as it may come back: as sent, URL-encoded (a query string), form-encoded."""
    return (
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
    )


def without_token(body: bytes, token: str) -> Any:
    """The JSON ``body`` parsed, with every occurrence of ``token`` blanked out, wherever a
    server echoed it (a field of an item, a key, an escaped string).

    Raises ``ValueError`` for a body that is not JSON (or ``RecursionError`` for one nested
    past any real answer).
    """
    raw = token.encode()
    if raw in body:
        body = body.replace(raw, "…".encode())
    parsed = json.loads(body)
    if b"\\" in body and token in json.dumps(parsed, ensure_ascii=False):  # escaped echoes
        parsed = _blanked(parsed, token)
    return parsed


def _blanked(value: Any, token: str) -> Any:
    if isinstance(value, str):
        return value.replace(token, "…")
    if isinstance(value, list):
        return [_blanked(v, token) for v in value]
    if isinstance(value, dict):
        return {_blanked(k, token): _blanked(v, token) for k, v in value.items()}
    return value


class Oversized(Exception):
    """An answer longer, once decoded, than the bound (raised by :func:`read_bounded`)."""

    def __init__(self, limit: int, encoding: str) -> None:
        self.limit = limit
        self.encoding = encoding
        kind = f"{encoding}-compressed " if encoding != "identity" else ""
        super().__init__(f"the {kind}answer is longer than {limit:,} bytes once decoded")


def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """A streamed ``response``'s body, decoded (gzip or deflate), refused past ``limit`` bytes.

    Inflates at most ``limit + 1`` bytes at any time, so a small compressed body that would
    inflate to gigabytes costs no more memory than ``limit``.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise ValueError(f"the answer is compressed as {scrub(encoding, limit=40)!r}, not asked")
    declared = response.headers.get("Content-Length", "")
    if encoding == "identity" and declared.isdigit() and int(declared) > limit:
        raise Oversized(limit, encoding)
    out = bytearray()
    inflate = None if encoding == "identity" else zlib.decompressobj(zlib.MAX_WBITS | 32)
    for chunk in response.iter_raw():
        if inflate is None:
            out += chunk
            if len(out) > limit:
                raise Oversized(limit, encoding)
            continue
        data = chunk
        while data and not inflate.eof:
            try:
                out += inflate.decompress(data, limit + 1 - len(out))
            except zlib.error as error:
                raise ValueError(f"the {encoding} answer does not decompress ({error})") from None
            if len(out) > limit:
                raise Oversized(limit, encoding)
            data = inflate.unconsumed_tail
    return bytes(out)


class deadline:
    """Within this block, every read, write and connect of this thread's requests ends by
    ``seconds`` from now in all: a server sending one byte at a time cannot stretch it."""

    def __init__(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds
        self._token: contextvars.Token[float | None] | None = None

    def __enter__(self) -> None:
        self._token = _DEADLINE.set(self._until)

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _DEADLINE.reset(self._token)


def _remaining(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of the request's deadline; ``error`` once it is past."""
    until = _DEADLINE.get()
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation is cut to the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wait = _remaining(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each cut to the request's deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _remaining(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        wait = _remaining(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class WireTransport(httpx.BaseTransport):
    """Adds the ``Access-Token`` header and a request's secret parameters as it leaves, and
    holds each request to its deadline.

    httpx logs, and keeps in responses and errors, the request it was handed; that request
    carries neither secret.
    """

    def __init__(self, token: str, *, proxy: str | None) -> None:
        self._token = token
        self._wire = httpx.HTTPTransport(proxy=proxy)
        pool = getattr(self._wire, "_pool", None)  # httpx builds it with httpcore's sockets
        backend = getattr(pool, "_network_backend", None)
        if backend is None:  # pragma: no cover - an httpx that builds its pool otherwise
            raise RuntimeError("this httpx version cannot hold requests to a deadline")
        pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return "WireTransport()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        url = request.url
        secrets: Mapping[str, str] = extensions.pop(SECRET_PARAMS, {})
        for name, value in secrets.items():
            url = url.copy_add_param(name, value)
        headers = request.headers.copy()
        headers["Access-Token"] = self._token
        wire = httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=extensions
        )
        return self._wire.handle_request(wire)

    def close(self) -> None:
        self._wire.close()


def seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is ignored: backoff applies)."""
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(0.0, number) if math.isfinite(number) else None


@attrs.frozen
class Answer:
    """A usable envelope: code 0 or a partial success."""

    code: int | str
    message: str
    request_id: str | None
    data: Mapping[str, Any]


@attrs.frozen
class Refusal:
    """Why one attempt failed, and whether trying again may help."""

    code: int | str
    message: str
    request_id: str | None = None
    retry: bool = False
    retry_after: float | None = None
    throttled: bool = False


def read_answer(response: httpx.Response, raw: bytes, token: str) -> Answer | Refusal:
    """Classify one HTTP answer: usable, throttled, transient, or refused."""
    status = f"HTTP {response.status_code}"
    try:
        body = without_token(raw, token)
    except (ValueError, RecursionError):  # not JSON, or nested past any real answer
        body = None
    envelope = body if isinstance(body, Mapping) and "code" in body else None
    code = _code(envelope["code"]) if envelope else 0
    message = str(envelope.get("message") or "") if envelope else ""
    request_id = _text(envelope.get("request_id")) if envelope else None
    retry_after = seconds(response.headers.get("Retry-After"))
    if response.is_redirect:
        return Refusal(
            status,
            "a redirect, which this client does not follow (the token would go with it); "
            "check --base-url",
        )
    if not response.is_success:
        code = code or status  # TikTok's code when it sent one, else the HTTP status
        message = message or response.reason_phrase
        if response.status_code == 429:
            return Refusal(code, message, request_id, True, retry_after, throttled=True)
        return Refusal(code, message, request_id, response.status_code >= 500, retry_after)
    if envelope is None:
        what = "not JSON" if body is None else "not a TikTok API response (no 'code')"
        return Refusal(status, f"the answer is {what}")
    if code in THROTTLED:
        message = message or "too many requests"
        return Refusal(code, message, request_id, True, retry_after, throttled=True)
    if code in TRANSIENT:
        return Refusal(code, message or "TikTok failed this time", request_id, retry=True)
    if code not in (0, PARTIAL_SUCCESS):
        return Refusal(code, message, request_id)
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        return Refusal(status, f"code {code} came with no 'data' object", request_id)
    return Answer(code, message, request_id, data)


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` name for ``url``, unless
    ``NO_PROXY`` exempts its host (httpx skips the environment once given a transport)."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _code(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
