"""Reminders posted to a webhook (a notify channel): Slack-compatible or generic JSON. The URL
is a secret: no repr, log line, error or result holds it.
"""

from __future__ import annotations

import json
import logging
from types import TracebackType
from typing import Final, Literal, Self

import httpx

from ..notices import DeliveryError, Message, scrubbed, seconds_above_zero
from ..reminders import Reminder, finding_dict
from ..sync_wire import environment_proxy

__all__ = ["WebhookSender"]

log = logging.getLogger(__name__)

Style = Literal["slack", "json"]
STYLES: Final = ("slack", "json")


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
        self.timeout: Final = seconds_above_zero("timeout", timeout)
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
                transport=_SecretURLOnTheWire(self._url, proxy=environment_proxy(self._url)),
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
            reason = scrubbed(str(error), self._secrets())
            raise DeliveryError(
                f"could not reach {where} ({type(error).__name__}: {reason})"
            ) from None
        if not response.is_success:
            said = scrubbed(response.text.strip()[:200], self._secrets())
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
