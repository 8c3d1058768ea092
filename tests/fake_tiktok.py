"""A fake TikTok API for Business over real HTTP on 127.0.0.1, for tests and for trying the CLI.

python -m tests.fake_tiktok --port 8765 --items 120   # then: delvia-ledger sync --base-url URL …
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

API_PREFIX = "/open_api/v1.3/"
LIST = "tt_video/list/"
INFO = "tt_video/info/"
#: The advertiser the ``fake_tiktok`` fixture and ``main`` fill.
ADVERTISER = "7000000000000000001"
#: The token the fake accepts by default: distinctive, so tests can search for it.
TOKEN = "fake-token-7c1e9a5b3d"


def make_items(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    """``count`` posts in the shape ``/tt_video/list/`` documents (codes ``#fake-spark-…=``)."""
    return [
        {
            "item_info": {
                "auth_code": f"#fake-spark-{i:08d}=",
                "item_id": f"73{i:017d}",
                "item_type": "VIDEO",
                "text": f"Post {i}",
                "status": "HESITATE_RECOMMEND",
                "anchor_list": None,
            },
            "auth_info": {
                "ad_auth_status": "AUTHORIZED",
                "auth_start_time": "2026-11-01 00:00:00",
                "auth_end_time": "2027-11-01 00:00:00",
                "invite_start_time": "2026-10-31 12:00:00",
            },
            "user_info": {
                "identity_id": f"fake-identity-{i % 40:04d}",
                "identity_type": "AUTH_CODE",
                "tiktok_name": f"creator{i % 40}",
            },
        }
        for i in range(start, start + count)
    ]


def envelope(code: int, message: str, data: object = None, request_id: str = "") -> bytes:
    """TikTok's response envelope ``{code, message, request_id, data}`` as bytes."""
    body = {"code": code, "message": message, "request_id": request_id, "data": data or {}}
    return json.dumps(body).encode()


@attrs.frozen
class SeenRequest:
    """One request the fake received: whether the token matched, never the token itself."""

    path: str
    query: Mapping[str, str]
    token_ok: bool
    client_port: int

    @property
    def page(self) -> int | None:
        page = self.query.get("page")
        return int(page) if page and page.isdigit() else None


@attrs.define
class _Fault:
    """An answer given instead of the real one, ``times`` times (None: forever).

    With ``body`` None the real answer is given, ``delay`` seconds late.
    """

    status: int
    body: bytes | None
    times: int | None
    page: int | None
    path: str | None
    headers: Mapping[str, str] = attrs.Factory(dict)
    delay: float = 0.0

    def matches(self, path: str, page: int | None) -> bool:
        return (
            (self.times is None or self.times > 0)
            and (self.path is None or self.path == path)
            and (self.page is None or self.page == page)
        )


class FakeTikTok:
    """``/tt_video/list/`` and ``/tt_video/info/`` served from ``items`` per advertiser.

    Tell it to misbehave with :meth:`throttle`, :meth:`fail`, :meth:`stall`,
    :meth:`answer_partial`, :meth:`break_page`, :meth:`deny` or :meth:`respond`; a wrong
    ``Access-Token`` gets code 40105. Every request is kept in :attr:`requests`.
    """

    def __init__(
        self,
        *,
        token: str | None = TOKEN,
        items: Mapping[str, list[dict[str, Any]]] | None = None,
        port: int = 0,
    ) -> None:
        self.token = token  # None: any non-empty token is accepted
        self.items: dict[str, list[dict[str, Any]]] = dict(items or {})
        #: Pages claimed beyond those the items fill (as when posts are unbound mid-sweep).
        self.extra_pages = 0
        self.requests: list[SeenRequest] = []
        self._faults: list[_Fault] = []
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL to give ``TikTokClient(base_url=...)``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    def __repr__(self) -> str:
        return f"FakeTikTok(url={self.url!r})"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # What to misbehave on ------------------------------------------------------------------

    def respond(
        self,
        status: int,
        body: bytes,
        *,
        times: int | None = 1,
        page: int | None = None,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests (None: all of them) with exactly this."""
        self._add(_Fault(status, body, times, page, path, dict(headers or {})))

    def throttle(
        self,
        times: int = 1,
        *,
        http_429: bool = False,
        retry_after: float | None = None,
        code: int = 40100,
        page: int | None = None,
    ) -> None:
        """Rate-limit the next ``times`` requests: ``code`` inside an HTTP 200, or an HTTP 429."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        if http_429:
            self.respond(429, b"Too Many Requests", times=times, page=page, headers=headers)
        else:
            body = envelope(code, "Too many requests, please retry later")
            self.respond(200, body, times=times, page=page, headers=headers)

    def fail(
        self, times: int = 1, *, status: int = 500, code: int | None = None, page: int | None = None
    ) -> None:
        """Fail the next ``times`` requests: HTTP ``status``, or ``code`` inside an HTTP 200."""
        if code is None:
            self.respond(status, b"Internal Server Error", times=times, page=page)
        else:
            self.respond(200, envelope(code, "call_rpc_fail"), times=times, page=page)

    def stall(self, seconds: float, times: int = 1, *, page: int | None = None) -> None:
        """Hold the next ``times`` requests ``seconds`` before answering them."""
        self._add(_Fault(200, None, times, page, None, delay=seconds))

    def break_page(self, page: int, *, invalid_json: bool = False) -> None:
        """Answer ``page`` of the list with HTTP 500 (or a 200 that is not JSON) forever."""
        if invalid_json:
            self.respond(200, b'{"code": 0, "data": {"list": [', times=None, page=page, path=LIST)
        else:
            self.respond(500, b"Internal Server Error", times=None, page=page, path=LIST)

    def answer_partial(self, page: int, message: str = "Partial success") -> None:
        """Answer ``page`` of the list with code 20001 (partial success) and its items."""
        self._partial[page] = message

    def deny(self, path: str = LIST) -> None:
        """Answer ``path`` with 40001: the app lacks the permission scope (TikTok's wording)."""
        message = f"advertiser does not grant you /{path}:GET permission"
        self.respond(200, envelope(40001, message), times=None, path=path)

    def requests_for(self, *, page: int | None = None, path: str = LIST) -> list[SeenRequest]:
        """The requests seen for ``path`` (and ``page``), in order."""
        return [
            seen
            for seen in self.requests
            if seen.path == path and (page is None or seen.page == page)
        ]

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    # Answering -----------------------------------------------------------------------------

    def answer(
        self, target: str, token: str | None, client_port: int
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Status, headers and body for one GET of ``target`` (called by the handler)."""
        parts = urlsplit(target)  # absolute-form when the fake is used as a proxy
        path = parts.path.removeprefix(API_PREFIX)
        query = dict(parse_qsl(parts.query))
        token_ok = bool(token) and (self.token is None or token == self.token)
        seen = SeenRequest(path=path, query=query, token_ok=token_ok, client_port=client_port)
        with self._lock:
            self.requests.append(seen)
            request_id = f"fake-{len(self.requests):08d}"
            fault = next((f for f in self._faults if f.matches(path, seen.page)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
        if fault is not None and fault.body is not None:
            return fault.status, fault.headers, fault.body
        if fault is not None:
            time.sleep(fault.delay)
        if not parts.path.startswith(API_PREFIX) or path not in (LIST, INFO):
            return 404, {}, b"Not Found"
        if not token_ok:
            body = envelope(40105, "The access token is invalid or expired", None, request_id)
            return 200, {}, body
        if path == LIST:
            return 200, {}, self._list(query, seen.page, request_id)
        return 200, {}, self._info(query, request_id)

    def _list(self, query: Mapping[str, str], page: int | None, request_id: str) -> bytes:
        advertiser = query.get("advertiser_id", "")
        size = query.get("page_size", "20")
        if advertiser not in self.items:
            message = f"No permission to operate advertiser {advertiser}"
            return envelope(40001, message, None, request_id)
        if page is None or page < 1 or not size.isdigit() or not 1 <= int(size) <= 50:
            message = "page must be 1 or more and page_size between 1 and 50"
            return envelope(40002, message, None, request_id)
        items = self.items[advertiser]
        per_page = int(size)
        shown = items[(page - 1) * per_page : page * per_page]
        data = {
            "list": shown or None,  # TikTok sends null for an empty array
            "page_info": {
                "page": page,
                "page_size": per_page,
                "total_number": len(items),
                "total_page": math.ceil(len(items) / per_page) + self.extra_pages,
            },
        }
        partial = self._partial.get(page)
        if partial is not None:
            return envelope(20001, partial, data, request_id)
        return envelope(0, "OK", data, request_id)

    def _info(self, query: Mapping[str, str], request_id: str) -> bytes:
        advertiser, code = query.get("advertiser_id", ""), query.get("auth_code", "")
        for item in self.items.get(advertiser, []):
            if item["item_info"]["auth_code"] == code:
                return envelope(0, "OK", item, request_id)
        # Pessimistic: the message echoes the code, so the client must keep it out of errors.
        return envelope(40002, f"auth_code {code} not found", None, request_id)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTikTok

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet about clients that hung up (a client that timed out does)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    disable_nagle_algorithm = True  # headers and body go out in two writes
    timeout = 10

    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        token = self.headers.get("Access-Token")
        status, headers, body = self.server.fake.answer(self.path, token, self.client_address[1])
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's requests are in ``FakeTikTok.requests``."""


@pytest.fixture(name="fake_tiktok")
def fake_tiktok_fixture() -> Iterator[FakeTikTok]:
    """A started fake with 120 posts for ``ADVERTISER``, accepting ``TOKEN``; stopped after."""
    with FakeTikTok(items={ADVERTISER: make_items(120)}) as fake:
        yield fake


def main(argv: list[str] | None = None) -> None:
    """Serve generated posts until interrupted, and print how to point the CLI at them."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_tiktok", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--advertiser", default=ADVERTISER)
    args = parser.parse_args(argv)
    fake = FakeTikTok(token=None, items={args.advertiser: make_items(args.items)}, port=args.port)
    with fake:
        print(
            f"fake TikTok API at {fake.url} ({args.items} posts for advertiser {args.advertiser})"
        )
        print("it accepts any non-empty TIKTOK_ACCESS_TOKEN; try:")
        print(
            f"  delvia-ledger sync --advertiser {args.advertiser} --base-url {fake.url}", flush=True
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped")


if __name__ == "__main__":
    main()
