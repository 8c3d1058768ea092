"""A fake TikTok API for Business over real HTTP on 127.0.0.1, for tests and for trying the CLI:
posts, ads, ad groups and Business Center members, drift, throttling in virtual time, and hostile
answers (lying paging, gzip bombs, drips, token echoes, redirects).

python -m tests.fake_tiktok --port 8765 --items 120   # then: delvia-ledger sync --base-url URL …
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

API_PREFIX = "/open_api/v1.3/"
LIST = "tt_video/list/"
INFO = "tt_video/info/"
ADS = "ad/get/"
ADGROUPS = "adgroup/get/"
BCS = "bc/get/"
MEMBERS = "bc/member/get/"
ASSET_MEMBERS = "bc/asset/member/get/"
#: The Business Center the ``access`` builders fill.
BC = "7100000000000000001"
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


def make_ads(
    items: list[dict[str, Any]], *, adgroup: str = "1700000000000000001"
) -> list[dict[str, Any]]:
    """One ``AUTH_CODE`` Spark Ad per post in ``items``, as ``/ad/get/`` documents them."""
    return [
        {
            "ad_id": f"18{i:017d}",
            "adgroup_id": adgroup,
            "campaign_id": "1600000000000000001",
            "advertiser_id": ADVERTISER,
            "identity_type": "AUTH_CODE",
            "identity_id": item["user_info"]["identity_id"],
            "tiktok_item_id": item["item_info"]["item_id"],
            "operation_status": "ENABLE",
            "create_time": "2026-11-02 00:00:00",
            "modify_time": "2026-11-02 00:00:00",
        }
        for i, item in enumerate(items)
    ]


def make_adgroups(*ids: str) -> list[dict[str, Any]]:
    """Ad groups with a fixed schedule, as ``/adgroup/get/`` documents them."""
    return [
        {
            "adgroup_id": adgroup,
            "schedule_type": "SCHEDULE_START_END",
            "schedule_start_time": "2026-11-02 00:00:00",
            "schedule_end_time": "2027-02-01 00:00:00",
            "operation_status": "ENABLE",
        }
        for adgroup in ids or ("1700000000000000001",)
    ]


def make_members(count: int, *, pending: int = 0) -> list[dict[str, Any]]:
    """``count`` Business Center members (the last ``pending`` of them invited, PENDING)."""
    return [
        {
            "user_id": f"69{i:017d}",
            "user_name": f"member{i}",
            "user_email": f"member{i}@brand.example",
            "user_role": "ADMIN" if i == 0 else "STANDARD",
            "relation_status": "PENDING" if i >= count - pending else "BOUND",
            "ext_user_role": {"finance_role": "MANAGER" if i == 0 else None},
        }
        for i in range(count)
    ]


def make_asset_members(
    members: list[dict[str, Any]], role: str = "OPERATOR"
) -> list[dict[str, Any]]:
    """The asset members of one ad account: each of ``members`` with ``advertiser_role``."""
    return [
        {"user_id": m["user_id"], "user_name": m["user_name"], "advertiser_role": role}
        for m in members
    ]


def serve_business_center(
    fake: FakeTikTok, *, members: int = 25, pending: int = 2, admins: int = 3, operators: int = 3
) -> list[dict[str, Any]]:
    """Make ``fake`` serve Business Center :data:`BC` (reached by the token) with ``members``
    members (the last ``pending`` invited) and, on :data:`ADVERTISER`, the first ``admins`` as
    ADMIN and the next ``operators`` as OPERATOR. Returns the members."""
    fake.business_centers = [{"bc_info": {"bc_id": BC, "name": "Brand"}, "user_role": "ADMIN"}]
    made = make_members(members, pending=pending)
    fake.members[BC] = made
    fake.asset_members[(BC, ADVERTISER)] = make_asset_members(made[:admins], "ADMIN") + (
        make_asset_members(made[admins : admins + operators], "OPERATOR")
    )
    return made


def gzip_bomb(inflated: int = 400 * 2**20) -> bytes:
    """A gzip body of JSON whitespace that inflates to ``inflated`` bytes (~0.4 MB for 400 MiB)."""
    pack = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * 2**20
    parts = [pack.compress(block) for _ in range(inflated // len(block))]
    return b"".join(parts) + pack.flush()


class VirtualClock:
    """Time that moves only when someone sleeps: the client's ``sleep``/``clock`` and the fake's
    ``clock`` share one, so minutes of throttling pass in milliseconds over real HTTP."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def envelope(code: object, message: str, data: object = None, request_id: object = "") -> bytes:
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
    drip: float = 0.0  #: seconds between single bytes of the answer (0: all at once)
    echo: str | None = None  #: where to echo the request's token (see ``echo_token``)
    echo_code: int | None = None

    def matches(self, path: str, page: int | None) -> bool:
        return (
            (self.times is None or self.times > 0)
            and (self.path is None or self.path == path)
            and (self.page is None or self.page == page)
        )


class FakeTikTok:
    """Posts (``/tt_video/list/``, ``/tt_video/info/``, keyword lookups), ads (``/ad/get/``,
    ``/adgroup/get/``) and Business Center access (``/bc/get/``, ``/bc/member/get/``,
    ``/bc/asset/member/get/``), served per advertiser or Business Center.

    Tell it to misbehave with :meth:`throttle`, :meth:`throttle_for`, :meth:`fail`,
    :meth:`stall`, :meth:`drip`, :meth:`answer_partial`, :meth:`break_page`, :meth:`deny`,
    :meth:`echo_token`, :meth:`lie_about_pages`, :meth:`after_page` or :meth:`respond`; a wrong
    ``Access-Token`` gets code 40105; an advertiser it does not hold gets 40001. Every request is
    kept in :attr:`requests`. ``clock`` (seconds) is what :meth:`throttle_for` measures.
    """

    def __init__(
        self,
        *,
        token: str | None = TOKEN,
        items: Mapping[str, list[dict[str, Any]]] | None = None,
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token  # None: any non-empty token is accepted
        self.items: dict[str, list[dict[str, Any]]] = dict(items or {})
        self.ads: dict[str, list[dict[str, Any]]] = {}
        self.adgroups: dict[str, list[dict[str, Any]]] = {}
        #: ``/bc/get/`` entries, and per Business Center id its members and, per ad account,
        #: the members holding a role on it.
        self.business_centers: list[dict[str, Any]] = []
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.asset_members: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: Pages claimed beyond those the items fill (as when posts are unbound mid-sweep).
        self.extra_pages = 0
        self.requests: list[SeenRequest] = []
        self.clock = clock
        self._faults: list[_Fault] = []
        self._partial: dict[int, str] = {}
        self._throttled_until = -math.inf
        self._lie: str | None = None
        self._after: list[tuple[str, Callable[[str, int], object]]] = []
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
        drip: float = 0.0,
    ) -> None:
        """Answer the next ``times`` matching requests (None: all of them) with exactly this
        (``drip``: one byte every ``drip`` seconds, headers included)."""
        self._add(_Fault(status, body, times, page, path, dict(headers or {}), drip=drip))

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

    def throttle_for(self, seconds: float) -> None:
        """Answer every request with 40100 (as TikTok does for every limit) until ``seconds``
        have passed on :attr:`clock` from now."""
        self._throttled_until = self.clock() + seconds

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

    def drip(self, every: float = 0.25, times: int | None = None) -> None:
        """Send the real answers one byte every ``every`` seconds, headers included."""
        self._add(_Fault(200, None, times, None, None, drip=every))

    def echo_token(self, where: str, times: int | None = None, *, code: int | None = None) -> None:
        """Echo the request's ``Access-Token`` back in ``where``: ``message``, ``request_id``,
        ``code``, ``page_info``, ``item`` (fields of a listed post) or ``escaped`` (the same,
        with a JSON escape in the token); ``code`` replaces the answer's code (e.g. a refusal
        that quotes the message)."""
        self._add(_Fault(200, None, times, None, None, echo=where, echo_code=code))

    def lie_about_pages(self, how: str) -> None:
        """Page forever: ``"one-more"`` (``total_page`` is always the page after this one),
        ``"repeat"`` (page 1's posts on every page, one more always announced), ``"endless"``
        (new posts on every page, one more always announced) or ``"huge"`` (``total_page`` =
        10**400)."""
        self._lie = how

    def after_page(self, hook: Callable[[str, int], object], *, path: str = LIST) -> None:
        """Call ``hook(advertiser or bc_id, page)`` after each page of ``path`` is made
        (keyword lookups aside): the place to make a listing drift mid-sweep."""
        self._after.append((path, hook))

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

    def requests_for(
        self, *, page: int | None = None, path: str = LIST, keyword: bool | None = False
    ) -> list[SeenRequest]:
        """The requests seen for ``path`` (and ``page``), in order; keyword lookups only with
        ``keyword=True`` (both with None)."""
        return [
            seen
            for seen in self.requests
            if seen.path == path
            and (page is None or seen.page == page)
            and (keyword is None or ("keyword" in seen.query) == keyword)
        ]

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    # Answering -----------------------------------------------------------------------------

    def answer(
        self, target: str, token: str | None, client_port: int
    ) -> tuple[int, Mapping[str, str], bytes, float]:
        """Status, headers, body and drip for one GET of ``target`` (called by the handler)."""
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
        drip = fault.drip if fault is not None else 0.0
        if fault is not None and fault.body is not None:
            return fault.status, fault.headers, fault.body, drip
        if fault is not None:
            time.sleep(fault.delay)
        if not parts.path.startswith(API_PREFIX) or path not in _ROUTES:
            return 404, {}, b"Not Found", drip
        if not token_ok:
            body = envelope(40105, "The access token is invalid or expired", None, request_id)
            return 200, {}, body, drip
        if self.clock() < self._throttled_until:
            return 200, {}, envelope(40100, "Too many requests", None, request_id), drip
        code, message, data = getattr(self, _ROUTES[path])(query, seen.page)
        if seen.page is not None and "keyword" not in query:
            scope = query.get("advertiser_id") or query.get("bc_id") or ""
            for where, hook in self._after:
                if where == path:
                    hook(scope, seen.page)
        if fault is not None and fault.echo is not None:
            code, message, request_id = _echoed(fault.echo, str(token), code, message, data)
            code = code if fault.echo_code is None else fault.echo_code
            if fault.echo == "escaped":  # the token's first character as a JSON \\u escape
                body = envelope(code, message, data, request_id)
                escaped = f"\\u{ord(str(token)[0]):04x}{str(token)[1:]}"
                return 200, {}, body.replace(str(token).encode(), escaped.encode()), drip
        return 200, {}, envelope(code, message, data, request_id), drip

    def _list(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        advertiser = query.get("advertiser_id", "")
        if advertiser not in self.items:
            return 40001, f"No permission to operate advertiser {advertiser}", None
        keyword = query.get("keyword")
        items = self.items[advertiser]
        if keyword is not None:  # an item id of 19+ digits matches exactly, else the text
            exact = keyword.isdigit() and len(keyword) >= 19
            items = [
                item
                for item in items
                if (item["item_info"]["item_id"] == keyword)
                or (not exact and keyword in str(item["item_info"].get("text")))
            ]
        answer = self._paged(items, query, page, 50)
        if keyword is None and answer[0] == 0 and page is not None:
            data = answer[2]
            if self._lie == "repeat":
                data["list"] = self.items[advertiser][: int(query["page_size"])] or None
            elif self._lie == "endless":
                size = int(query["page_size"])
                data["list"] = make_items(size, start=10_000_000 + page * size)
            partial = self._partial.get(page)
            if partial is not None:
                answer = 20001, partial, data
        return answer

    def _paged(
        self, items: list[dict[str, Any]], query: Mapping[str, str], page: int | None, most: int
    ) -> tuple[Any, str, Any]:
        size = query.get("page_size", "10")
        if page is None or page < 1 or not size.isdigit() or not 1 <= int(size) <= most:
            return 40002, f"page must be 1 or more and page_size between 1 and {most}", None
        per_page = int(size)
        shown = items[(page - 1) * per_page : page * per_page]
        total_page = math.ceil(len(items) / per_page) + self.extra_pages
        if self._lie in ("one-more", "repeat", "endless"):
            total_page = page + 1
        elif self._lie == "huge":
            total_page = 10**400
        data = {
            "list": shown or None,  # TikTok sends null for an empty array
            "page_info": {
                "page": page,
                "page_size": per_page,
                "total_number": len(items),
                "total_page": total_page,
            },
        }
        return 0, "OK", data

    def _info(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        advertiser, code = query.get("advertiser_id", ""), query.get("auth_code", "")
        for item in self.items.get(advertiser, []):
            if item["item_info"]["auth_code"] == code:
                return 0, "OK", item
        # Pessimistic: the message echoes the code, so the client must keep it out of errors.
        return 40002, f"auth_code {code} not found", None

    def _ads(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        return self._advertiser_listing(self.ads, query, page)

    def _adgroups(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        return self._advertiser_listing(self.adgroups, query, page)

    def _advertiser_listing(
        self, held: Mapping[str, list[dict[str, Any]]], query: Mapping[str, str], page: int | None
    ) -> tuple[Any, str, Any]:
        advertiser = query.get("advertiser_id", "")
        if advertiser not in self.items and advertiser not in held:
            return 40001, f"No permission to operate advertiser {advertiser}", None
        for name, kind in (("fields", list), ("filtering", dict)):
            if name in query:
                try:
                    parsed = json.loads(query[name])
                except ValueError:
                    parsed = None
                if not isinstance(parsed, kind):
                    return 40002, f"{name} must be a JSON {kind.__name__}", None
        return self._paged(held.get(advertiser, []), query, page, 1000)

    def _bcs(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        return self._paged(self.business_centers, query, page, 50)

    def _members(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        bc = query.get("bc_id", "")
        if bc not in self.members:
            return 40001, f"No permission to operate business center {bc}", None
        return self._paged(self.members[bc], query, page, 20)

    def _asset_members(self, query: Mapping[str, str], page: int | None) -> tuple[Any, str, Any]:
        bc, asset = query.get("bc_id", ""), query.get("asset_id", "")
        if bc not in self.members:
            return 40001, f"No permission to operate business center {bc}", None
        if query.get("asset_type") not in ("ADVERTISER", "TT_ACCOUNT", "CATALOG"):
            return 40002, "asset_type is required", None
        return self._paged(self.asset_members.get((bc, asset), []), query, page, 20)


_ROUTES: Mapping[str, str] = {
    LIST: "_list",
    INFO: "_info",
    ADS: "_ads",
    ADGROUPS: "_adgroups",
    BCS: "_bcs",
    MEMBERS: "_members",
    ASSET_MEMBERS: "_asset_members",
}


def _echoed(where: str, token: str, code: Any, message: str, data: Any) -> tuple[Any, str, str]:
    """The answer with the request's token echoed ``where`` (a careless or hostile server)."""
    request_id = "fake-echo"
    if where == "message":
        message = f"token {token} is not allowed here"
    elif where == "request_id":
        request_id = f"req-{token}"
    elif where == "code":
        code = f"E-{token}"
    elif where == "page_info" and isinstance(data, dict):
        data["page_info"] = {**data.get("page_info", {}), "total_page": f"{token}"}
    elif where in ("item", "escaped") and isinstance(data, dict) and data.get("list"):
        first = data["list"][0]
        data["list"] = [
            dict(
                first,
                item_info=dict(first["item_info"], text=token),
                auth_info=dict(first["auth_info"], auth_end_time=f"{token} is no time"),
            ),
            *data["list"][1:],
        ]
    return code, message, request_id


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTikTok

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet about clients that hung up (a client that timed out does)."""


_REASONS: Mapping[int, str] = {
    200: "OK",
    302: "Found",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    disable_nagle_algorithm = True  # headers and body go out in two writes
    timeout = 10

    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        token = self.headers.get("Access-Token")
        fake = self.server.fake
        status, headers, body, drip = fake.answer(self.path, token, self.client_address[1])
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        wire = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        if not drip:
            self.wfile.write(wire)
            return
        for i in range(len(wire)):  # one byte at a time, for as long as the client listens
            self.wfile.write(wire[i : i + 1])
            self.wfile.flush()
            time.sleep(drip)

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


@contextmanager
def virtual_clients(
    fake: FakeTikTok, clock: VirtualClock, **defaults: Any
) -> Iterator[Callable[..., Any]]:
    """``connect(**options)``: clients of ``fake`` whose waits pass on ``clock`` (so minutes of
    throttling take no time), closed when the block ends; ``defaults`` apply to each."""
    from delvia_ledger.sync import TikTokClient

    clients: list[TikTokClient] = []

    def connect(**options: Any) -> TikTokClient:
        settings: dict[str, Any] = {"base_url": fake.url, "sleep": clock.sleep, "clock": clock}
        clients.append(TikTokClient(TOKEN, **(settings | defaults | options)))
        return clients[-1]

    try:
        yield connect
    finally:
        for client in clients:
            client.close()
