"""Reminders posted to a webhook (a notify channel): Slack-compatible or generic JSON. The URL
is a secret: no repr, log line, error or result holds it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Literal, Self

import httpx

from ..fields import one_line, scrubbed
from ..notices import DeliveryError, Message, seconds_above_zero
from ..reminders import Reminder, finding_dict
from ..sync_wire import environment_proxy

__all__ = ["WebhookSender"]

log = logging.getLogger(__name__)

Style = Literal["slack", "json"]
STYLES: Final = ("slack", "json")

#: The longest text each style posts, in characters: Slack truncates a message's ``text``
#: past 40,000; a generic JSON hook gets the same bound (its findings travel as data).
LIMITS: Final = {"slack": 40_000, "json": 40_000}
#: Findings a chat message shows, worst first; the rest are counted, with the command that
#: lists them.
SHOWN = 10
#: The longest line of a chat message: a name cannot make one message of it alone.
LINE = 1_000
#: Findings a JSON message carries as data (the rest are counted in ``more``).
AS_DATA = 500
#: A chat handle as Slack's mention takes it (``U024BE7LH``, ``W123ABC``).
_CHAT_ID = re.compile(r"[A-Z0-9]{2,32}")
#: Words Slack-compatible services (Slack, Mattermost, Rocket.Chat) turn into a ping of a whole
#: channel when they stand in a message's text.
_PINGS = re.compile(r"@(channel|here|everyone|all)\b", re.IGNORECASE)


def slack_escaped(text: str) -> str:
    """``text`` as Slack shows it literally: ``&``, ``<`` and ``>`` as entities (so
    ``<!channel>`` and ``<https://evil.example|Reset your password>`` are only text), and
    ``@channel``/``@here``/``@everyone``/``@all`` broken by a word joiner so no service of the
    style pings a whole channel.

    >>> slack_escaped("<!channel> <https://evil.example|Reset> @here & co")
    '&lt;!channel&gt; &lt;https://evil.example|Reset&gt; @\u2060here &amp; co'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PINGS.sub(lambda m: "@\u2060" + m.group(1), text)


class WebhookSender:
    """Reminders posted to an incoming webhook, one message per person.

    ``style="slack"`` posts Slack's ``{"text": ...}`` (Slack-compatible hooks: Slack,
    Mattermost, Rocket.Chat, ...); ``style="json"`` posts the person, the message and each
    finding as data. ``channel`` names it in Notices (default ``"slack"`` or ``"webhook"``;
    give each hook its own name when there are several). The URL is a secret: the repr shows
    its host only, and neither logs nor errors hold it.

    Messages are short: what is urgent, the ``SHOWN`` worst findings (with the message to
    the creator, where there is one), "and N more: run delvia-ledger remind --person ..."
    — under each style's limit (``LIMITS``) however long the worklist. In the Slack style
    every text from the ledger is escaped (:func:`slack_escaped`) and the person is
    mentioned (``<@U024BE7LH>``) when their chat handle is known (``mentions`` maps person
    ids to handles; a reminder's own ``chat_id`` otherwise).

    ``routes`` maps person ids to a webhook URL of their own (their direct messages, their
    team's channel): their reminders go there, everybody else's to ``url``. With ``url``
    None only the people in ``routes`` are reached. Those URLs are secrets too.

    >>> WebhookSender("https://hooks.slack.com/services/T000/B000/XXXX")
    WebhookSender(host='hooks.slack.com', style='slack', channel='slack')
    """

    kind: Final = "webhook"

    def __init__(
        self,
        url: str | None,
        style: Style = "slack",
        timeout: float = 10.0,
        channel: str | None = None,
        *,
        routes: Mapping[str, str] | None = None,
        mentions: Mapping[str, str] | None = None,
    ) -> None:
        own = {}
        for person_id, route in (routes or {}).items():
            if not isinstance(person_id, str) or not person_id.strip():
                raise ValueError(f"routes: a person id must be a non-empty text, got {person_id!r}")
            own[person_id] = _hook_url(route, f"the webhook URL for {one_line(person_id)}")
        if url is None and not own:
            raise ValueError("give the webhook URL, or routes to people's own webhooks")
        parsed = None if url is None else _hook_url(url, "the webhook URL")
        self._mentions = {}
        for person_id, handle in (mentions or {}).items():
            if not isinstance(handle, str) or not _CHAT_ID.fullmatch(handle.strip()):
                raise ValueError(
                    f"mentions: the chat handle of {one_line(person_id)} must be a Slack member "
                    f"id such as 'U024BE7LH', got {one_line(handle)[:40]!r}"
                )
            self._mentions[person_id] = handle.strip()
        if style not in STYLES:
            raise ValueError(f"style must be 'slack' or 'json', got {style!r}")
        name = channel if channel is not None else ("slack" if style == "slack" else "webhook")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"channel must be a non-empty name, got {channel!r}")
        self.host: Final = parsed.host if parsed is not None else "(people's own hooks)"
        self.style: Final = style
        self.channel: Final = name.strip()
        self.timeout: Final = seconds_above_zero("timeout", timeout)
        self._url = parsed
        self._routes = own
        self._http: dict[str, httpx.Client] = {}

    def __repr__(self) -> str:
        routed = f", routes={len(self._routes)}" if self._routes else ""
        return (
            f"WebhookSender(host={self.host!r}, style={self.style!r}, "
            f"channel={self.channel!r}{routed})"
        )

    def channel_for(self, reminder: Reminder) -> str | None:
        """The hook's channel: every reminder (the unassigned one too) goes there, or, with
        no team URL, only those of the people with a route of their own."""
        if self._url is None and reminder.person_id not in self._routes:
            return None
        return self.channel

    def why_unreached(self, reminder: Reminder) -> str:
        """Why :meth:`channel_for` gave None for ``reminder``."""
        return "no webhook of their own (routes) and no team webhook"

    def _target(self, person_id: str | None) -> httpx.URL:
        if person_id is not None and person_id in self._routes:
            return self._routes[person_id]
        if self._url is None:
            raise DeliveryError(f"no webhook for {one_line(person_id or 'nobody')}")
        return self._url

    def _client(self, url: httpx.URL) -> httpx.Client:
        key = str(url)
        client = self._http.get(key)
        if client is None:
            client = self._http[key] = httpx.Client(
                timeout=self.timeout,
                transport=_SecretURLOnTheWire(url, proxy=environment_proxy(url)),
            )
        return client

    def close(self) -> None:
        """Close the connection pools (a later send opens new ones)."""
        clients, self._http = self._http, {}
        for client in clients.values():
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def mention(self, message: Message) -> str | None:
        """The person's chat handle, as this sender mentions them (a Slack member id); None
        if not known."""
        handle = self.chat_id(message)
        return handle if handle and _CHAT_ID.fullmatch(handle) else None

    def chat_id(self, message: Message) -> str | None:
        """The person's chat handle: the one given to this sender (``mentions``), else the
        recorded ``Person.chat_id`` (any service's; the JSON style carries it as data)."""
        return self._mentions.get(message.person_id or "") or message.chat_id

    def text(self, message: Message) -> str:
        """The short text posted for ``message``: what is urgent, the worst findings, how
        many more and the command that lists them; under the style's limit."""
        slack = self.style == "slack"
        escape = slack_escaped if slack else (lambda text: text)
        shown = message.findings[:SHOWN]
        lines = []
        handle = self.mention(message)
        title = escape(message.subject)
        if slack:
            title = f"*{title}*"
        lines.append(f"<@{handle}> {title}" if slack and handle else title)
        for finding in shown:
            lines.append(escape(_cut(f"• {finding}")))
            creator = finding.message_to_creator
            if creator is not None:
                lines.append(escape(_cut(f"   to the creator: {creator}")))
        more = len(message.findings) - len(shown)
        tail = []
        if more:
            tail.append(escape(f"and {more} more: run {message.remind}"))
        if message.still_open:
            tail.append(escape(f"still open from earlier reminders: {message.still_open}"))
        limit = LIMITS[self.style] - sum(len(line) + 1 for line in tail) - 200
        kept, size = [], 0
        for line in lines:
            if size + len(line) + 1 > limit:
                tail.insert(0, escape(f"(cut to fit: run {message.remind} for all)"))
                break
            kept.append(line)
            size += len(line) + 1
        return "\n".join(kept + tail)

    def body(self, message: Message) -> dict[str, object]:
        """What is posted for ``message``."""
        if self.style == "slack":
            return {"text": self.text(message), "unfurl_links": False, "unfurl_media": False}
        return {
            "person_id": message.person_id,
            "name": message.name,
            "email": message.email,
            "chat_id": self.chat_id(message),
            "channel": message.channel,
            "subject": message.subject,
            "text": self.text(message),
            "still_open": message.still_open,
            "findings": [finding_dict(f) for f in message.findings[:AS_DATA]],
            "more": max(0, len(message.findings) - AS_DATA),
        }

    def _secrets(self) -> tuple[str, ...]:
        found: list[str] = []
        for url in (self._url, *self._routes.values()):
            if url is not None:
                found += [
                    str(url),
                    url.raw_path.decode("ascii", "replace"),
                    url.path,
                    url.query.decode(),
                ]
        return tuple(s for s in found if s not in ("", "/"))

    def send(self, message: Message) -> None:
        """Post ``message``; any answer but a 2xx is a :class:`DeliveryError`."""
        url = self._target(message.person_id)
        where = f"the webhook at {url.host}"
        content = json.dumps(self.body(message), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        port = f":{url.port}" if url.port else ""
        public = httpx.URL(f"{url.scheme}://{url.host}{port}/")  # all httpx sees, logs, keeps
        try:
            response = self._client(url).post(public, content=content, headers=headers)
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
            said = one_line(scrubbed(response.text.strip()[:200], self._secrets()))
            raise DeliveryError(
                f"{where} answered HTTP {response.status_code} {response.reason_phrase}"
                + (f": {said}" if said else "")
            )
        log.debug("posted a reminder to %s", where)


def _cut(line: str) -> str:
    return line if len(line) <= LINE else line[: LINE - 1] + "…"


def _hook_url(url: object, what: str) -> httpx.URL:
    """``url`` as an http(s) URL with a host; the error never quotes it (it is a secret)."""
    try:
        parsed = httpx.URL(url.strip()) if isinstance(url, str) else httpx.URL()
    except httpx.InvalidURL:
        parsed = httpx.URL()
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{what} must be an http(s) URL with a host")
    return parsed


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
