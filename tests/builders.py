"""Builders the test modules share (no test module imports another): small ledgers, TikTok
payloads, a real SMTP server, and the store's tampering cases. Fixtures stay in conftest.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

import delvia_ledger as dl

from .conftest import T0, Backend, Clock, Raw

#: The installed console script (None when the package is not installed).
EXE = shutil.which("delvia-ledger")

DAY = timedelta(days=1)

# --- a small ledger: a creator, two posts, an account with an admin; codes and ads on it ---------


def world(
    ledger: dl.Ledger, *, creator_region: str | None = "US", account_region: str = "US"
) -> None:
    """Maya (two posts), account 6900 of Business Center bc1, and Ana, its ADMIN since T0 - 1d."""
    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya.makes", region=creator_region),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
            dl.Post(id="7302", creator_id="maya", kind="VIDEO"),
            dl.AdAccount(id="6900", name="Brand", region=account_region, business_center_id="bc1"),
            dl.Person(id="ana", name="Ana"),
            dl.RoleGrant(
                id="g1", person_id="ana", scope="ad_account:6900", role="ADMIN", granted_at=T0 - DAY
            ),
        ]
    )


def code(ledger: dl.Ledger, n: int = 0, **fields: object) -> dl.SparkAuthorization:
    """Records code ``n`` for Maya's post 7301 in account 6900, owned by Ana, live T0-1d..T0+30d
    (``fields`` override), and returns it."""
    values: dict[str, object] = dict(
        creator_id="maya",
        post_id="7301",
        starts_at=T0 - DAY,
        expires_at=T0 + 30 * DAY,
        ad_account_id="6900",
        owner_id="ana",
    )
    values.update(fields)
    auth = dl.SparkAuthorization.from_code(f"#code-{n:04d}-xyz=", **values)
    ledger.record(auth)
    return auth


def ad(
    ledger: dl.Ledger, auth: dl.SparkAuthorization, ad_id: str = "ad1", **fields: object
) -> dl.SparkAd:
    """Records an ad in account 6900 on ``auth`` intending post 7301 (``fields`` override)."""
    values: dict[str, Any] = dict(
        ad_account_id="6900", authorization_id=auth.id, intended_post_id="7301"
    )
    values.update(fields)
    record = dl.SparkAd(id=ad_id, **values)
    ledger.record(record)
    return record


# --- TikTok payloads, as the API documents them ----------------------------------------------

CODE = "#tT+doc/example-code=="
ADVERTISER = "6900000000000000001"


def item(code: str = CODE, item_id: str = "7301000000000000001", **auth: str) -> dict[str, Any]:
    """One ``/tt_video/`` item as TikTok documents it (``auth`` overrides ``auth_info``)."""
    return {
        "item_info": {
            "auth_code": code,
            "item_id": item_id,
            "item_type": "VIDEO",
            "text": "hi",
            "status": "HESITATE_RECOMMEND",
            "anchor_list": None,
            "something_new": 1,
        },
        "auth_info": {
            "ad_auth_status": "AUTHORIZED",
            "auth_start_time": "2026-11-01 10:00:00",
            "auth_end_time": "2026-12-01T10:00:00Z",
            "invite_start_time": "2026-11-01 09:00:00",
            **auth,
        },
        "user_info": {
            "identity_id": "7000000000000000001",
            "identity_type": "AUTH_CODE",
            "tiktok_name": "maya.makes",
        },
    }


def envelope(data: object, code: int = 0, message: str = "OK") -> dict[str, Any]:
    """TikTok's response envelope around ``data``."""
    return {"code": code, "message": message, "request_id": "x", "data": data}


# --- a real SMTP server (aiosmtpd) on 127.0.0.1 ---------------------------------------------

PASSWORD = "smtp-pass-9f8e7d6c"


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = cast(bytes, envelope.content)
        mail = message_from_bytes(content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), mail))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = data.login == b"ops" and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 on a failure

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for rcpts, mail in self.messages if address in rcpts]


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_smtp() -> Iterator[tuple[Mailbox, int]]:
    """An aiosmtpd server on 127.0.0.1 (a free port) that takes login ops / PASSWORD."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


# --- a real incoming webhook over HTTP on 127.0.0.1 ------------------------------------------

HOOK_SECRET = "hook-secret-4c3b2a19"


class Hook:
    """Incoming-webhook server: keeps each POST; answers 500 to those ``refuse`` picks, with a
    body that echoes the path (so a client that repeats the body must scrub it)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[dict[str, Any]] = []
        self.refuse: Callable[[dict[str, Any]], bool] = lambda body: False
        self.server = _HookServer(("127.0.0.1", 0), _HookHandler)
        self.server.hook = self
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = f"/services/T000/B000/{HOOK_SECRET}") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self.refuse(body):
            self.refused.append(body)
            return 500, f"internal error while handling {path}".encode()
        self.posts.append((path, body))
        return 200, b"ok"


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    hook: Hook


class _HookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        assert isinstance(self.server, _HookServer)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, answer = self.server.hook.answer(self.path, body)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def running_hook() -> Iterator[Hook]:
    """A :class:`Hook` serving on 127.0.0.1 (a free port) until the block ends."""
    server = Hook()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(timeout=5)


# --- a store to tamper with ---------------------------------------------------------------

CODES = [f"#raw-spark-code-{i:04d}+xyz=" for i in range(5)]


def opened(where: Path | Backend, clock: Clock | None = None) -> dl.Ledger:
    """The ledger at a file path, or on a test backend."""
    if isinstance(where, Backend):
        return where.open(clock=clock)
    return dl.Ledger.open(where, clock=clock)


def build(where: Path | Backend, creators: int = 6) -> list[dl.Entry]:
    """A ledger of ``creators`` creators, one entry each."""
    with opened(where, Clock()) as ledger:
        return [
            ledger.record(dl.Creator(id=f"c{i}", handle=f"@c{i}", region="US"))
            for i in range(creators)
        ]


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection with the guards dropped: what an attacker with the file can do."""
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    return conn


TAMPERING: dict[str, tuple[Callable[[Raw], object], int]] = {
    "edit a payload": (
        lambda c: c.execute(
            """UPDATE entries SET payload = replace(payload, '"c3"', '"evil"') WHERE seq = 4"""
        ),
        4,
    ),
    "edit a payload and its hash": (
        lambda c: c.execute(
            "UPDATE entries SET payload = '{}', payload_hash = ? WHERE seq = 3",
            (hashlib.sha256(b"{}").hexdigest(),),
        ),
        3,
    ),
    "edit recorded_at": (
        lambda c: c.execute(
            "UPDATE entries SET recorded_at = '2020-01-01T00:00:00.000000Z' WHERE seq = 5"
        ),
        5,
    ),
    "delete an entry": (lambda c: c.execute("DELETE FROM entries WHERE seq = 2"), 2),
    "reorder two entries": (
        lambda c: c.executescript(
            "UPDATE entries SET seq = -1 WHERE seq = 3; UPDATE entries SET seq = 3 WHERE seq = 4;"
            "UPDATE entries SET seq = 4 WHERE seq = -1;"
        ),
        3,
    ),
    "edit the first entry's type": (
        lambda c: c.execute("UPDATE entries SET type = 'Person' WHERE seq = 1"),
        1,
    ),
}


def build_versions(where: Path | Backend) -> None:
    """Six entries of four types; seq 5 is a second version of the creator at seq 1."""
    with opened(where, Clock()) as ledger:
        ledger.record(dl.Creator(id="c0", handle="@c0", region="US"))
        ledger.record(dl.Post(id="p0", creator_id="c0", kind="VIDEO"))
        ledger.record(dl.AdAccount(id="a1", name="Brand", region="US"))
        ledger.record(
            dl.SparkAuthorization.from_code(
                CODES[0],
                creator_id="c0",
                post_id="p0",
                starts_at=T0,
                expires_at=T0 + timedelta(days=30),
                ad_account_id="a1",
            )
        )
        ledger.record(dl.Creator(id="c0", handle="@c0.new", region="US"))
        ledger.record(dl.Creator(id="c1", handle="@c1", region=None))


# --- a year of history: a post re-authorized every month, and codes long dead -------------------


def year_of_history(ledger: dl.Ledger, now: datetime) -> dict[str, list[str]]:
    """Twelve monthly codes for Maya's post 7301 in account 6900, each bound when it started
    and unbound when the next one was (as syncs record it), the last one live with an ad on it;
    on post 7302, a code dead for 200 days and one expired 10 days ago, no ads. (``world``
    first.) Returns the code ids: ``replaced``, ``current``, ``long_dead``, ``recent``."""
    months = [now - (11 - n) * 30 * DAY - 20 * DAY for n in range(12)]
    monthly = [
        code(ledger, 100 + n, starts_at=start, expires_at=start + 30 * DAY)
        for n, start in enumerate(months)
    ]
    ledger.record_all(
        [
            dl.SparkBinding(
                authorization_id=auth.id,
                ad_account_id="6900",
                bound_at=auth.starts_at,
                unbound_at=None if n == 11 else monthly[n + 1].starts_at,
                tiktok_status="AUTHORIZED",
            )
            for n, auth in enumerate(monthly)
        ],
        source="tiktok",
    )
    ad(ledger, monthly[-1], "ad-now", runs_from=now - DAY)
    dead = code(ledger, 200, post_id="7302", starts_at=now - 230 * DAY, expires_at=now - 200 * DAY)
    recent = code(ledger, 201, post_id="7302", starts_at=now - 40 * DAY, expires_at=now - 10 * DAY)
    return {
        "replaced": [a.id for a in monthly[:-1]],
        "current": [monthly[-1].id],
        "long_dead": [dead.id],
        "recent": [recent.id],
    }


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and directories unwritable, for root too (``chattr +i``), then restore them."""
    modes = {path: path.stat().st_mode for path in paths}
    pinned: list[Path] = []
    try:
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        if os.geteuid() == 0:  # root writes through file modes
            for path in paths:
                done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
                if done.returncode:
                    pytest.skip(f"cannot make {path} read-only for root: {done.stderr.strip()}")
                pinned.append(path)
        yield
    finally:
        for path in pinned:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        for path, mode in modes.items():
            path.chmod(mode)
