"""Telling people (DESIGN §13): the :class:`Sender` protocol every channel implements, the
messages, and :func:`notify`, which sends only what is new or changed and records a Notice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from .checks import Checks, Within
from .convert import format_time
from .errors import LedgerError
from .findings import Finding, Severity
from .records import Notice
from .reminders import DEFAULT_REMIND_WITHIN, Reminder
from .storage import OneOf

__all__ = [
    "Delivery",
    "DeliveryError",
    "Failure",
    "Message",
    "NotifyResult",
    "Sender",
    "Unreached",
    "compose",
    "last_notices",
    "notice_token",
    "notify",
]

log = logging.getLogger(__name__)


def notice_token(finding: Finding) -> str:
    """How a :class:`Notice` names a finding: its key with its severity and deadline folded in.

    ``"EXPIRING/authorization=a1/account=6900|WARNING|2026-11-29T09:00:00.000000Z"``. A
    finding whose severity or deadline moves gets a new token, so comparing the tokens of the
    last notice with today's tells "new or changed" from "already told" without re-running
    the checks as of the notice (which :func:`changes` would). The key comes first and the
    two states never hold a ``|``, so ``token.rsplit("|", 2)`` takes it apart again. A
    Notice may also hold a bare key (recorded by hand): told of that finding in any state.
    """
    deadline = "" if finding.deadline is None else format_time(finding.deadline)
    return f"{finding.key}|{finding.severity}|{deadline}"


def last_notices(checks: Checks) -> dict[tuple[str | None, str], frozenset[str]]:
    """(person, channel) -> the tokens of the last :class:`Notice` recorded for that pair."""
    last: dict[tuple[str | None, str], int] = {}
    for seq, person_id, channel in checks.select(Notice, ("seq", "person_id", "channel")):
        pair = (person_id, str(channel))
        if seq > last.get(pair, -1):
            last[pair] = int(seq)
    wanted = sorted(last.values())
    tokens: dict[int, frozenset[str]] = {}
    if wanted:
        for seq, keys in checks.select(Notice, ("seq", "finding_keys"), OneOf("seq", wanted)):
            tokens[int(seq)] = frozenset(json.loads(keys))
    return {pair: tokens.get(seq, frozenset()) for pair, seq in last.items()}


class DeliveryError(LedgerError):
    """A sender could not deliver one message; the text holds no secret."""


@attrs.frozen(kw_only=True)
class Message:
    """One reminder message, ready for one channel: the findings new or changed there."""

    person_id: str | None
    name: str
    email: str | None
    channel: str
    subject: str
    text: str
    findings: tuple[Finding, ...]
    still_open: int = 0  # findings of the reminder already told on this channel


class Sender(Protocol):
    """A way to deliver reminders: a channel (``EmailSender``, ``WebhookSender``, one module
    each in ``delvia_ledger.notify``).

    ``kind`` names it in results (``"email"``); ``channel_for`` is the channel a reminder's
    person is reached on there (``"email:ana@brand.com"``, ``"slack"``), None if it cannot
    reach them; ``send`` delivers one message or raises :class:`DeliveryError`.
    """

    @property
    def kind(self) -> str: ...

    def channel_for(self, reminder: Reminder) -> str | None: ...

    def send(self, message: Message) -> None: ...


@attrs.frozen(kw_only=True)
class Delivery:
    """A message delivered (or, in a dry run, that would be) and the Notice that records it."""

    message: Message
    notice: Notice


@attrs.frozen(kw_only=True)
class Failure:
    """A message that could not be delivered: nothing was recorded for it."""

    person_id: str | None
    name: str
    channel: str
    reason: str

    def __str__(self) -> str:
        return f"{self.channel} for {self.name}: {self.reason}"


@attrs.frozen(kw_only=True)
class Unreached:
    """A person a kind of sender cannot reach (e.g. no email recorded), and who else did."""

    person_id: str | None
    name: str
    kind: str
    reason: str
    reached_by: tuple[str, ...]

    def __str__(self) -> str:
        others = (
            f"reached through {', '.join(self.reached_by)} only"
            if self.reached_by
            else "not reached on any channel"
        )
        return f"{self.name}: no {self.kind} ({self.reason}); {others}"


@attrs.frozen(kw_only=True)
class NotifyResult:
    """What ``ledger.notify`` did: deliveries (each recorded as a Notice), failures, and
    people some sender could not reach. ``ok`` is False when a delivery failed."""

    deliveries: tuple[Delivery, ...]
    failures: tuple[Failure, ...]
    unreached: tuple[Unreached, ...]
    dry_run: bool = False

    @property
    def sent(self) -> tuple[Notice, ...]:
        """The Notices recorded (in a dry run: that would be)."""
        return tuple(d.notice for d in self.deliveries)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        count = len(self.deliveries)
        lines = [f"{verb} {count} message{'' if count == 1 else 's'}" + (":" if count else "")]
        lines += [
            f"  {d.message.channel} to {d.message.name}: {len(d.message.findings)} new or changed"
            for d in self.deliveries
        ]
        if self.dry_run:
            lines.append("dry run: nothing was sent and nothing recorded")
        if self.failures:
            lines.append(f"failed {len(self.failures)}:")
            lines += [f"  {failure}" for failure in self.failures]
        lines += [f"not reached: {u}" for u in self.unreached]
        return "\n".join(lines)


class Notifying(Protocol):
    """What :func:`notify` needs of a ledger."""

    def now(self) -> datetime: ...

    def checks(self, now: datetime | str | None = None) -> Checks: ...

    def reminders(
        self, within: Within = ..., *, now: datetime | str | None = None
    ) -> list[Reminder]: ...

    def record(self, record: Notice) -> Any: ...


def compose(reminder: Reminder, fresh: Sequence[Finding], channel: str) -> Message:
    """The message for ``reminder`` on ``channel`` showing only the ``fresh`` findings."""
    still_open = len(reminder.findings) - len(fresh)
    errors = sum(f.severity is Severity.ERROR for f in fresh)
    subject = f"delvia-ledger: {len(fresh)} new or changed for {reminder.name}" + (
        f" ({errors} ERROR)" if errors else ""
    )
    text = [
        f"{reminder.worklist(fresh)}",
        "",
        "New or changed since the last reminder on this channel.",
    ]
    if still_open:
        where = f" --person {reminder.person_id}" if reminder.person_id else ""
        text.append(
            f"Still open from earlier reminders: {still_open} (delvia-ledger remind{where})."
        )
    return Message(
        person_id=reminder.person_id,
        name=reminder.name,
        email=reminder.email,
        channel=channel,
        subject=subject,
        text="\n".join(text),
        findings=tuple(fresh),
        still_open=still_open,
    )


def notify(
    ledger: Notifying,
    senders: Sequence[Sender],
    within: Within = DEFAULT_REMIND_WITHIN,
    now: datetime | str | None = None,
    dry_run: bool = False,
) -> NotifyResult:
    """Deliver each reminder through each sender, but only what is new or changed there.

    For each person and channel, the findings whose :func:`notice_token` the last Notice for
    that pair does not hold are sent; nothing new, nothing sent. A delivered message is
    recorded at once as a Notice whose ``finding_keys`` are the tokens of *every* finding
    the reminder held (the fresh ones shown, and those told before and still open), so the
    last notice alone says what the person knows of. A failed delivery records nothing and
    the rest go on. ``dry_run`` composes the same messages and sends and records nothing.
    (A finding that resolves and comes back with the very same severity and deadline is not
    sent again.)
    """
    if not senders:
        raise ValueError("notify: give at least one sender (EmailSender or WebhookSender)")
    worklists = ledger.reminders(within, now=now)
    known = last_notices(ledger.checks(now))
    deliveries, failures, unreached = [], [], []
    for reminder in worklists:
        tokens = [notice_token(f) for f in reminder.findings]
        reached, missed = [], []
        for sender in senders:
            channel = sender.channel_for(reminder)
            if channel is None:
                missed.append(sender)
                continue
            reached.append(channel)
            told = known.get((reminder.person_id, channel), frozenset())
            fresh = [
                f
                for f, token in zip(reminder.findings, tokens, strict=True)
                if token not in told and f.key not in told  # a bare key: told, whatever state
            ]
            if not fresh:
                continue
            message = compose(reminder, fresh, channel)
            try:  # built first: a channel the ledger cannot record is refused before sending
                notice = Notice(
                    person_id=reminder.person_id,
                    channel=channel,
                    sent_at=ledger.now(),
                    finding_keys=tuple(tokens),
                )
                if not dry_run:
                    sender.send(message)
            except Exception as error:  # one failed delivery must not stop the others
                reason = (
                    str(error)
                    if isinstance(error, LedgerError)
                    else f"the sender failed unexpectedly ({type(error).__name__})"
                )
                failures.append(
                    Failure(
                        person_id=reminder.person_id,
                        name=reminder.name,
                        channel=channel,
                        reason=reason,
                    )
                )
                log.warning("reminder to %s on %s failed: %s", reminder.who, channel, reason)
                continue
            if not dry_run:
                ledger.record(notice)
                log.info("reminded %s on %s: %d findings", reminder.who, channel, len(fresh))
            deliveries.append(Delivery(message=message, notice=notice))
        for sender in missed:
            reason = (
                "nobody is assigned"
                if reminder.person_id is None
                else "no email recorded"
                if sender.kind == "email"
                else "this sender cannot reach them"
            )
            unreached.append(
                Unreached(
                    person_id=reminder.person_id,
                    name=reminder.who,
                    kind=sender.kind,
                    reason=reason,
                    reached_by=tuple(reached),
                )
            )
    return NotifyResult(
        deliveries=tuple(deliveries),
        failures=tuple(failures),
        unreached=tuple(unreached),
        dry_run=dry_run,
    )


# --- what every channel shares ----------------------------------------------------------------


def scrubbed(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each secret (longest first) blanked out: for a channel's error messages."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def seconds_above_zero(name: str, value: object) -> float:
    """A channel's timeout argument, refused unless it is a number of seconds above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds above 0, got {value!r}")
    return float(value)
