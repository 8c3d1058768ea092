"""Telling people (DESIGN §13): the :class:`Sender` protocol every channel implements, the
messages, and :func:`notify`, which sends only what is new or changed and records a Notice.
"""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import attrs

from .checks import Checks, Within
from .convert import format_time
from .errors import LedgerError
from .fields import one_line
from .findings import Finding, FindingKind, Severity
from .records import EMAIL_ROUTE, Notice
from .reminders import DEFAULT_REMIND_WITHIN, Reminder
from .storage import All, Equals, Missing, OneOf

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
    "recorded_channel",
    "urgency",
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


def recorded_channel(channel: str) -> str:
    """The channel as a :class:`Notice` records it: an email route without its address
    (``"email:ana@brand.example"`` -> ``"email"``), any other channel as it is. The recipient
    is the notice's person; an address would be personal data kept in the chain (DESIGN §16).

    >>> recorded_channel("email:ana@brand.example"), recorded_channel("slack:#growth")
    ('email', 'slack:#growth')
    """
    return "email" if channel.startswith(EMAIL_ROUTE) else channel


def _channels(channel: str) -> list[str]:
    """The channels a Notice for ``channel`` may have been recorded under: as recorded now,
    and as recorded before schema version 7 (the route itself, address included)."""
    recorded = recorded_channel(channel)
    return [recorded] if recorded == channel else [recorded, channel]


def last_notices(checks: Checks) -> dict[tuple[str | None, str], frozenset[str]]:
    """(person, channel) -> the tokens of the last :class:`Notice` recorded for that pair
    (channels as :func:`recorded_channel` gives them)."""
    last: dict[tuple[str | None, str], int] = {}
    for seq, person_id, channel in checks.select(Notice, ("seq", "person_id", "channel")):
        if channel is None:  # redacted: the notice named an erased person's address
            continue
        pair = (person_id, recorded_channel(str(channel)))
        if seq > last.get(pair, -1):
            last[pair] = int(seq)
    wanted = sorted(last.values())
    tokens: dict[int, frozenset[str]] = {}
    if wanted:
        for seq, keys in checks.select(Notice, ("seq", "finding_keys"), OneOf("seq", wanted)):
            tokens[int(seq)] = frozenset(json.loads(keys))
    return {pair: tokens.get(seq, frozenset()) for pair, seq in last.items()}


def told_before(checks: Checks, person_id: str | None, channel: str) -> frozenset[str]:
    """The tokens of the last :class:`Notice` recorded for ``person_id`` on ``channel``
    (read at once: inside the ledger's write lock, what an overlapping run just recorded)."""
    who = Missing("person_id") if person_id is None else Equals("person_id", person_id)
    rows = checks.select(
        Notice, ("seq", "finding_keys"), All(who, OneOf("channel", _channels(channel)))
    )
    if not rows:
        return frozenset()
    _, keys = max(rows, key=lambda row: int(row[0]))
    return frozenset(json.loads(keys))


class DeliveryError(LedgerError):
    """A sender could not deliver one message; the text holds no secret."""


#: How far ahead "this week" looks in a subject.
WEEK = timedelta(days=7)


@attrs.frozen(kw_only=True)
class Message:
    """One reminder message, ready for one channel: the findings new or changed there.

    ``heading`` and ``entries`` are the worklist's first line and each finding's part of it
    (numbered, worst first), so a channel can split a long worklist (email) or show the
    first few (chat); ``text`` is all of it. ``remind`` is the command that shows the whole
    worklist. Every name in it is shown on one line (:func:`~delvia_ledger.fields.one_line`).
    """

    person_id: str | None
    name: str
    email: str | None
    channel: str
    subject: str
    text: str
    findings: tuple[Finding, ...]
    still_open: int = 0  # findings of the reminder already told on this channel
    heading: str = ""
    entries: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    remind: str = "delvia-ledger remind"
    chat_id: str | None = None
    sent_at: datetime | None = None


class Sender(Protocol):
    """A way to deliver reminders: a channel (``EmailSender``, ``WebhookSender``, one module
    each in ``delvia_ledger.notify``).

    ``kind`` names it in results (``"email"``); ``channel_for`` is the channel a reminder's
    person is reached on there (``"email:ana@brand.com"``, ``"slack"``), None if it cannot
    reach them, and ``why_unreached`` says why in the user's words; ``send`` delivers one
    message (in as many parts as the channel needs) or raises :class:`DeliveryError`. A
    route ``email:<address>`` is shown in results as it is and recorded in the Notice as
    ``email`` (:func:`recorded_channel`); a channel of your own should name no address.
    """

    @property
    def kind(self) -> str: ...

    def channel_for(self, reminder: Reminder) -> str | None: ...

    def why_unreached(self, reminder: Reminder) -> str: ...

    def send(self, message: Message) -> None: ...


@attrs.frozen(kw_only=True)
class Delivery:
    """A message delivered (or, in a dry run, that would be) and the Notice that records it."""

    message: Message
    notice: Notice


@attrs.frozen(kw_only=True)
class Failure:
    """A message that could not be delivered, or (``delivered`` True) one delivered whose
    Notice could not be recorded: it may be sent again by the next run."""

    person_id: str | None
    name: str
    channel: str
    reason: str
    delivered: bool = False

    def __str__(self) -> str:
        return f"{one_line(self.channel)} for {one_line(self.name)}: {self.reason}"


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
            f"reached through {', '.join(map(one_line, self.reached_by))} only"
            if self.reached_by
            else "not reached on any channel"
        )
        return f"{one_line(self.name)}: no {self.kind} ({self.reason}); {others}"


@attrs.frozen(kw_only=True)
class NotifyResult:
    """What ``ledger.notify`` did: deliveries (each recorded as a Notice), failures, and
    people some sender could not reach. ``ok`` is False when a delivery failed, or a
    delivered message could not be recorded."""

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
            f"  {one_line(d.message.channel)} to {one_line(d.message.name)}: "
            f"{len(d.message.findings)} new or changed"
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

    def transaction(self) -> AbstractContextManager[Any]: ...


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def urgency(findings: Sequence[Finding], now: datetime) -> str:
    """What is urgent in ``findings``, in a few words for a subject line.

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 12, 1, tzinfo=UTC)
    >>> soon = [Finding(kind=FindingKind.EXPIRING, severity=Severity.WARNING,
    ...     deadline=t + timedelta(days=d)) for d in (2, 5, 20)]
    >>> urgency(soon, t)
    '2 codes expire this week, 1 code expires by 21 Dec'
    """
    errors = sum(f.severity is Severity.ERROR for f in findings)
    expiring = [f.deadline for f in findings if f.kind is FindingKind.EXPIRING and f.deadline]
    this_week = sum(deadline <= now + WEEK for deadline in expiring)
    later = [deadline for deadline in expiring if deadline > now + WEEK]
    warnings = sum(f.severity is Severity.WARNING for f in findings) - len(expiring)
    infos = sum(f.severity is Severity.INFO for f in findings)
    parts = []
    if errors:
        parts.append(_plural(errors, "fails now", "fail now"))
    if this_week:
        parts.append(_plural(this_week, "code expires this week", "codes expire this week"))
    if later:
        last = max(later)
        by = f"by {last.day} {last:%b}"
        parts.append(_plural(len(later), f"code expires {by}", f"codes expire {by}"))
    if warnings:
        parts.append(_plural(warnings, "warning", "warnings"))
    if infos and not parts:
        parts.append(_plural(infos, "note", "notes"))
    return ", ".join(parts) or "nothing to act on"


def compose(
    reminder: Reminder, fresh: Sequence[Finding], channel: str, now: datetime | None = None
) -> Message:
    """The message for ``reminder`` on ``channel`` showing only the ``fresh`` findings; its
    subject says what is urgent at ``now`` (default: the current time), :func:`urgency`."""
    moment = now if now is not None else datetime.now(UTC)
    still_open = len(reminder.findings) - len(fresh)
    subject = f"delvia-ledger: {urgency(fresh, moment)} ({one_line(reminder.name)})"
    remind = "delvia-ledger remind" + (
        f" --person {shlex.quote(reminder.person_id)}" if reminder.person_id else ""
    )
    heading = reminder.heading(fresh)
    entries = tuple(reminder.entries(fresh))
    footer = ["", "New or changed since the last reminder on this channel."]
    if still_open:
        footer.append(f"Still open from earlier reminders: {still_open} ({remind}).")
    return Message(
        person_id=reminder.person_id,
        name=reminder.name,
        email=reminder.email,
        channel=channel,
        subject=subject,
        text="\n".join([heading, *entries, *footer]),
        findings=tuple(fresh),
        still_open=still_open,
        heading=heading,
        entries=entries,
        footer=tuple(footer),
        remind=remind,
        chat_id=reminder.chat_id,
        sent_at=moment,
    )


def _reason(error: BaseException) -> str:
    return (
        str(error)
        if isinstance(error, LedgerError)
        else f"the sender failed unexpectedly ({type(error).__name__})"
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

    Overlapping runs (a cron job and a manual run, two hosts on one PostgreSQL ledger) send
    each message once: for each person and channel, "read the last Notice, send, record the
    Notice" runs inside the ledger's write lock (``ledger.transaction()``), so a second run
    reads the Notice the first just recorded. Other writers wait while one message is sent
    (at most the sender's timeout). When the Notice of a delivered message cannot be
    recorded, the result lists it (``Failure.delivered``) and the others go on.
    """
    if not senders:
        raise ValueError("notify: give at least one sender (EmailSender or WebhookSender)")
    worklists = ledger.reminders(within, now=now)
    deliveries: list[Delivery] = []
    failures: list[Failure] = []
    unreached: list[Unreached] = []
    for reminder in worklists:
        tokens = tuple(notice_token(f) for f in reminder.findings)
        reached, missed = [], []
        for sender in senders:
            channel = sender.channel_for(reminder)
            if channel is None:
                missed.append(sender)
                continue
            reached.append(channel)
            if dry_run:
                told = told_before(ledger.checks(now), reminder.person_id, channel)
                message = _message(ledger, reminder, tokens, told, channel)
                if message is not None:
                    notice = _notice(ledger, reminder, tokens, channel, failures)
                    if notice is not None:
                        deliveries.append(Delivery(message=message, notice=notice))
                continue
            _deliver(ledger, sender, reminder, tokens, channel, now, deliveries, failures)
        for sender in missed:
            unreached.append(
                Unreached(
                    person_id=reminder.person_id,
                    name=reminder.who,
                    kind=sender.kind,
                    reason=_unreached(sender, reminder),
                    reached_by=tuple(reached),
                )
            )
    return NotifyResult(
        deliveries=tuple(deliveries),
        failures=tuple(failures),
        unreached=tuple(unreached),
        dry_run=dry_run,
    )


def _unreached(sender: Sender, reminder: Reminder) -> str:
    """Why ``sender`` cannot reach ``reminder``'s person (a sender written before
    ``why_unreached`` existed gets a general reason)."""
    if reminder.person_id is None:
        return "nobody is assigned"
    why = getattr(sender, "why_unreached", None)
    return str(why(reminder)) if why is not None else "this sender cannot reach them"


def _message(
    ledger: Notifying,
    reminder: Reminder,
    tokens: tuple[str, ...],
    told: frozenset[str],
    channel: str,
) -> Message | None:
    """The message of what ``told`` lacks, or None when nothing is new."""
    fresh = [
        f
        for f, token in zip(reminder.findings, tokens, strict=True)
        if token not in told and f.key not in told  # a bare key: told, whatever state
    ]
    return compose(reminder, fresh, channel, ledger.now()) if fresh else None


def _notice(
    ledger: Notifying,
    reminder: Reminder,
    tokens: tuple[str, ...],
    channel: str,
    failures: list[Failure],
) -> Notice | None:
    """The Notice recording a delivery; built first, so a channel the ledger cannot record is
    refused before anything is sent."""
    try:
        return Notice(
            person_id=reminder.person_id,
            channel=recorded_channel(channel),
            sent_at=ledger.now(),
            finding_keys=tokens,
        )
    except LedgerError as error:
        failures.append(
            Failure(
                person_id=reminder.person_id,
                name=reminder.name,
                channel=channel,
                reason=_reason(error),
            )
        )
        return None


def _deliver(
    ledger: Notifying,
    sender: Sender,
    reminder: Reminder,
    tokens: tuple[str, ...],
    channel: str,
    now: datetime | str | None,
    deliveries: list[Delivery],
    failures: list[Failure],
) -> None:
    """Read the last Notice, send, record: one message, inside the ledger's write lock."""
    notice = _notice(ledger, reminder, tokens, channel, failures)
    if notice is None:
        return
    message = None
    sent = False
    try:
        with ledger.transaction():
            told = told_before(ledger.checks(now), reminder.person_id, channel)
            message = _message(ledger, reminder, tokens, told, channel)
            if message is None:  # nothing new, or an overlapping run just told them
                return
            sender.send(message)
            sent = True
            ledger.record(notice)
    except Exception as error:  # one failed delivery must not stop the others
        reason = _reason(error)
        if sent:
            reason = (
                f"delivered, but its Notice could not be recorded ({reason}); the next run "
                "may send it again"
            )
        failures.append(
            Failure(
                person_id=reminder.person_id,
                name=reminder.name,
                channel=channel,
                reason=reason,
                delivered=sent,
            )
        )
        log.warning("reminder to %s on %s failed: %s", reminder.who, one_line(channel), reason)
        return
    assert message is not None
    log.info(
        "reminded %s on %s: %d findings", reminder.who, one_line(channel), len(message.findings)
    )
    deliveries.append(Delivery(message=message, notice=notice))


# --- what every channel shares ----------------------------------------------------------------


def seconds_above_zero(name: str, value: object) -> float:
    """A channel's timeout argument, refused unless it is a number of seconds above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds above 0, got {value!r}")
    return float(value)
