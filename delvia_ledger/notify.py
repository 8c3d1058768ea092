"""Delivery of reminders: email over SMTP, and Slack-compatible or generic JSON webhooks.

Passwords and webhook URLs are secrets: no repr, log line, error or result ever holds them.
"""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from types import TracebackType
from typing import Final, Literal, Self

import httpx

from .reminders import DeliveryError, Message, Reminder, finding_dict
from .sync import _environment_proxy

__all__ = ["EmailSender", "WebhookSender"]

log = logging.getLogger(__name__)

Style = Literal["slack", "json"]
STYLES: Final = ("slack", "json")


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each secret (longest first) blanked out."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds above 0, got {value!r}")
    return float(value)


class EmailSender:
    """Reminders by email, one message per person, through an SMTP server.

    Each message goes over its own connection (a refused one cannot spoil the next).

    ``starttls=True`` upgrades the connection before logging in; with ``username`` (and
    ``password``) it logs in. The password stays out of the repr, logs and errors.

    >>> sender = EmailSender("smtp.brand.com", 587, "ads@brand.com", username="ops", password="pw")
    >>> sender  # doctest: +ELLIPSIS
    EmailSender(host='smtp.brand.com', port=587, from_addr='ads@brand.com', username='ops', ...)
    """

    kind: Final = "email"

    def __init__(
        self,
        host: str,
        port: int,
        from_addr: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host.strip()):
            raise ValueError(f"host must be the SMTP server's name, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be a whole number from 1 to 65535, got {port!r}")
        address = parseaddr(from_addr)[1] if isinstance(from_addr, str) else ""
        if "@" not in address:
            raise ValueError(f"from_addr must be an email address, got {from_addr!r}")
        if password is not None and not username:
            raise ValueError("password is given without username: give both, or neither")
        if username is not None and (not isinstance(username, str) or not username.strip()):
            raise ValueError("username is empty: give the SMTP login, or leave it out")
        self.host: Final = host.strip()
        self.port: Final = port
        self.from_addr: Final = from_addr.strip()
        self.username: Final = username
        self.starttls: Final = bool(starttls)
        self.timeout: Final = _positive("timeout", timeout)
        self._password = password

    def __repr__(self) -> str:
        return (
            f"EmailSender(host={self.host!r}, port={self.port}, from_addr={self.from_addr!r}, "
            f"username={self.username!r}, starttls={self.starttls})"
        )

    def channel_for(self, reminder: Reminder) -> str | None:
        """``"email:<address>"``, or None for a person without an email (or nobody)."""
        return f"email:{reminder.email}" if reminder.email else None

    def _secrets(self) -> tuple[str, ...]:
        password = self._password
        if not password:
            return ()
        login = f"\0{self.username}\0{password}".encode()
        return (
            password,
            base64.b64encode(login).decode(),
            base64.b64encode(password.encode()).decode(),
        )

    def send(self, message: Message) -> None:
        """Deliver ``message`` to ``message.email``; raises :class:`DeliveryError`."""
        if not message.email:
            raise DeliveryError(f"{message.name} has no email recorded")
        mail = EmailMessage()
        try:
            mail["From"] = self.from_addr
            mail["To"] = formataddr((message.name, message.email))
            mail["Subject"] = message.subject
        except (ValueError, TypeError) as error:
            raise DeliveryError(f"cannot address the message to {message.email}: {error}") from None
        mail.set_content(message.text)
        where = f"SMTP {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
            raise DeliveryError(
                _scrub(f"{where} refused the recipient {message.email}: {codes}", self._secrets())
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                _scrub(
                    f"{where} refused the login of {self.username!r}: {error.smtp_code} "
                    f"{_text(error.smtp_error)}",
                    self._secrets(),
                )
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                _scrub(
                    f"{where} refused the message: {error.smtp_code} {_text(error.smtp_error)}",
                    self._secrets(),
                )
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise DeliveryError(
                _scrub(
                    f"could not deliver through {where}: {type(error).__name__}: {error}",
                    self._secrets(),
                )
            ) from None
        if refused:
            raise DeliveryError(f"{where} refused the recipient {message.email}")
        log.debug("email to %s accepted by %s", message.email, where)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class WebhookSender:
    """Reminders posted to an incoming webhook, one message per person.

    ``style="slack"`` posts Slack's ``{"text": ...}`` (Slack-compatible hooks: Slack,
    Mattermost, Rocket.Chat, ...); ``style="json"`` posts the person, the message and each
    finding as data. ``channel`` names it in Notices (default ``"slack"`` or ``"webhook"``;
    give each hook its own name when there are several). The URL is a secret: the repr shows
    its host only, and neither logs nor errors hold it.

    >>> WebhookSender("https://hooks.slack.com/services/T000/B000/XXXX")
    WebhookSender(host='hooks.slack.com', style='slack', channel='slack')
    """

    kind: Final = "webhook"

    def __init__(
        self,
        url: str,
        style: Style = "slack",
        timeout: float = 10.0,
        channel: str | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(url.strip()) if isinstance(url, str) else httpx.URL()
        except httpx.InvalidURL:
            parsed = httpx.URL()
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("the webhook URL must be an http(s) URL with a host")
        if style not in STYLES:
            raise ValueError(f"style must be 'slack' or 'json', got {style!r}")
        name = channel if channel is not None else ("slack" if style == "slack" else "webhook")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"channel must be a non-empty name, got {channel!r}")
        self.host: Final = parsed.host
        self.style: Final = style
        self.channel: Final = name.strip()
        self.timeout: Final = _positive("timeout", timeout)
        self._url = parsed
        port = f":{parsed.port}" if parsed.port else ""
        # httpx sees, logs and keeps only this: scheme, host and port
        self._public = httpx.URL(f"{parsed.scheme}://{parsed.host}{port}/")
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"WebhookSender(host={self.host!r}, style={self.style!r}, channel={self.channel!r})"

    def channel_for(self, reminder: Reminder) -> str | None:
        """Every reminder, the unassigned one too, goes to the hook's channel."""
        return self.channel

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                timeout=self.timeout,
                transport=_SecretURLOnTheWire(self._url, proxy=_environment_proxy(self._url)),
            )
        return self._http

    def close(self) -> None:
        """Close the connection pool (a later send opens a new one)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def body(self, message: Message) -> dict[str, object]:
        """What is posted for ``message``."""
        if self.style == "slack":
            return {"text": f"*{message.subject}*\n{message.text}"}
        return {
            "person_id": message.person_id,
            "name": message.name,
            "email": message.email,
            "channel": message.channel,
            "subject": message.subject,
            "text": message.text,
            "still_open": message.still_open,
            "findings": [finding_dict(f) for f in message.findings],
        }

    def _secrets(self) -> tuple[str, ...]:
        url = self._url
        return (str(url), url.raw_path.decode("ascii", "replace"), url.path, url.query.decode())

    def send(self, message: Message) -> None:
        """Post ``message``; any answer but a 2xx is a :class:`DeliveryError`."""
        where = f"the webhook at {self.host}"
        content = json.dumps(self.body(message), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = self._client().post(self._public, content=content, headers=headers)
        except httpx.TimeoutException as error:
            raise DeliveryError(
                f"{where} gave no answer within {self.timeout:g} s ({type(error).__name__})"
            ) from None
        except httpx.HTTPError as error:
            reason = _scrub(str(error), self._secrets())
            raise DeliveryError(
                f"could not reach {where} ({type(error).__name__}: {reason})"
            ) from None
        if not response.is_success:
            said = _scrub(response.text.strip()[:200], self._secrets())
            raise DeliveryError(
                f"{where} answered HTTP {response.status_code} {response.reason_phrase}"
                + (f": {said}" if said else "")
            )
        log.debug("posted a reminder to %s", where)


class _SecretURLOnTheWire(httpx.BaseTransport):
    """Sends each request to the secret URL as it leaves: httpx logs, and keeps in responses
    and errors, only the request it was handed, which holds the host alone."""

    def __init__(self, url: httpx.URL, *, proxy: str | None) -> None:
        self._url = url
        self._wire = httpx.HTTPTransport(proxy=proxy)

    def __repr__(self) -> str:
        return "_SecretURLOnTheWire()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wire = httpx.Request(
            request.method,
            self._url,
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return self._wire.handle_request(wire)

    def close(self) -> None:
        self._wire.close()
