"""Who must act on what (DESIGN §13): one worklist per person, what changed since a point, and
the notices that record who was told what.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import attrs
from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta

from .chain import Digest
from .checks import DEFAULT_WITHIN, Checks, Within, duration, horizon, paired_drafts
from .convert import converter, format_time, to_micros
from .errors import LedgerError
from .findings import Finding, FindingKind, Severity
from .records import Notice, Person, Record, RoleGrant, SparkAuthorization, SparkBinding
from .storage import OneOf, Storage

__all__ = [
    "DEFAULT_REMIND_WITHIN",
    "UNASSIGNED",
    "ChangeKind",
    "Changes",
    "Delivery",
    "DeliveryError",
    "Failure",
    "FindingChange",
    "Message",
    "NotifyResult",
    "RecordChange",
    "Reminder",
    "Sender",
    "Unreached",
    "changes",
    "finding_dict",
    "notice_token",
    "notify",
    "reminders",
]

log = logging.getLogger(__name__)

DEFAULT_REMIND_WITHIN = "14d"
#: The name of the reminder that holds what nobody can be found for.
UNASSIGNED = "nobody (unassigned)"
#: Kinds about an account's roles: only a Business Center admin can fix them, by assigning.
ACCOUNT_KINDS = frozenset({FindingKind.NO_ADMIN, FindingKind.NO_OPERATOR})
#: Findings listed in full in one message; the rest get one line each.
DETAILED = 25


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A finding as plain JSON-ready data: its fields, ``key``, the catalogue's text, one line."""
    data: dict[str, Any] = converter.unstructure(finding)
    data.update(
        key=finding.key,
        cause=finding.cause,
        meaning=finding.meaning,
        remedy=finding.remedy,
        where=finding.where,
        message_to_creator=finding.message_to_creator,
        text=str(finding),
    )
    return data


# --- routing and reminders ----------------------------------------------------------------------


def is_escalated(finding: Finding) -> bool:
    """True when ``finding`` needs an owner and has none who counts, so it goes up (§13)."""
    return finding.owner_id is None and finding.kind not in ACCOUNT_KINDS


class _Router:
    """Who gets each finding, at the moment of ``checks`` (DESIGN §13).

    Its owner (§6: a person who counts); with none, the account's administrators, else the
    active BC admins of the account's Business Center; NO_ADMIN and NO_OPERATOR go straight
    to those BC admins. Where several people qualify, the first by person id gets it, so
    every finding lands in exactly one reminder. None: nobody (the unassigned reminder).
    """

    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        self._admins: dict[str, str | None] = {}
        self._bc_admins: dict[str, str | None] = {}

    def __call__(self, finding: Finding) -> str | None:
        account = finding.ad_account_id
        if finding.kind in ACCOUNT_KINDS:
            return self._bc_admin(account)
        if finding.owner_id is not None:
            return finding.owner_id
        return self._admin(account) or self._bc_admin(account)

    def _admin(self, account: str | None) -> str | None:
        if account is None:
            return None
        if account not in self._admins:
            self._admins[account] = min(self.checks.administrators(account), default=None)
        return self._admins[account]

    def _bc_admin(self, account: str | None) -> str | None:
        if account is None:
            return None
        if account not in self._bc_admins:
            self._bc_admins[account] = min(self.checks.bc_admins(account), default=None)
        return self._bc_admins[account]


@attrs.frozen(kw_only=True)
class Reminder:
    """One person's worklist: the findings they must act on, worst first.

    ``person_id`` None is the unassigned reminder (nobody could be found). ``escalated`` is
    True when some findings reached this person because nobody active owns them; those are
    :attr:`escalated_findings`. ``str(reminder)`` is the worklist, with a message to the
    creator for each code finding a creator can fix.
    """

    person_id: str | None
    name: str
    email: str | None
    findings: tuple[Finding, ...]
    escalated: bool

    @property
    def escalated_findings(self) -> tuple[Finding, ...]:
        """The findings that reached this person because nobody active owns them."""
        return tuple(f for f in self.findings if is_escalated(f))

    @property
    def creator_messages(self) -> tuple[tuple[Finding, str], ...]:
        """Each code finding a creator can fix, with the catalogue's ready-to-send message."""
        return tuple(
            (f, message) for f in self.findings if (message := f.message_to_creator) is not None
        )

    @property
    def who(self) -> str:
        """The person as a reader knows them: ``"Ana Lima (p_ana)"``."""
        return self.name if self.person_id is None else f"{self.name} ({self.person_id})"

    def worklist(self, findings: Sequence[Finding] | None = None) -> str:
        """The worklist text for ``findings`` (default: all of them), worst first."""
        shown = self.findings if findings is None else tuple(findings)
        counts = {s: sum(f.severity is s for f in shown) for s in Severity}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing"
        lines = [f"{self.who}: {len(shown)} to act on ({summary}), worst first"]
        for number, finding in enumerate(shown, 1):
            lines.append(f"{number}. {finding}")
            if number > DETAILED:
                continue
            lines.append(f"   where: {finding.where}")
            if finding.affected_ad_ids:
                lines.append(f"   affects ads: {', '.join(finding.affected_ad_ids)}")
            if is_escalated(finding):
                lines.append("   escalated: nobody active owns this, so it comes to you")
            message = finding.message_to_creator
            if message is not None:
                lines.append(f"   message to the creator: {message}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the person, ``escalated``, and each finding (see :func:`finding_dict`)."""
        return {
            "person_id": self.person_id,
            "name": self.name,
            "email": self.email,
            "escalated": self.escalated,
            "findings": [{**finding_dict(f), "escalated": is_escalated(f)} for f in self.findings],
        }

    def __str__(self) -> str:
        return self.worklist()


def reminders(
    checks: Checks, findings: Iterable[Finding], load_person: Callable[[str], Person | None]
) -> list[Reminder]:
    """One :class:`Reminder` per person with work, the most urgent first (the unassigned one,
    if any, sorts with the rest). ``findings`` are those of ``checks``, worst first, as
    :meth:`Checks.findings` returns them; routing reads the grants at ``checks.now``."""
    route = _Router(checks)
    groups: dict[str | None, list[Finding]] = {}
    for finding in findings:  # worst first already: each person's share stays in that order
        person_id = route(finding)
        group = groups.get(person_id)
        if group is None:
            group = groups[person_id] = []
        group.append(finding)
    found = []
    for person_id, routed in groups.items():
        person = None if person_id is None else load_person(person_id)
        found.append(
            Reminder(
                person_id=person_id,
                name=UNASSIGNED if person_id is None else person.name if person else person_id,
                email=person.email if person else None,
                findings=tuple(routed),
                escalated=any(map(is_escalated, routed)),
            )
        )
    found.sort(key=lambda r: (r.findings[0].sort_key(), r.person_id is None, r.name))
    return found


# --- what changed since a point -------------------------------------------------------------


class ChangeKind(StrEnum):
    """What one recorded entry did to its record."""

    ADDED = "added"
    CHANGED = "changed"
    EXTENDED = "extended"  # an authorization's window now ends later
    SHORTENED = "shortened"  # ... or sooner
    REVOKED = "revoked"
    UNBOUND = "unbound"  # TikTok no longer lists the code in that account
    REBOUND = "re-bound"
    ENDED = "ended"  # a role grant
    LEFT = "left"  # a person left the organisation


@attrs.frozen(kw_only=True)
class RecordChange:
    """One entry recorded since the point: which record, what it did, and the fields it moved."""

    seq: int
    recorded_at: datetime
    type: str
    id: str
    kind: ChangeKind
    detail: str
    record: Record = attrs.field(repr=False)

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return (
            f"seq {self.seq} {self.recorded_at:%Y-%m-%d %H:%M} {self.type} {self.id} "
            f"{self.kind}{detail}"
        )


@attrs.frozen(kw_only=True)
class FindingChange:
    """A finding open at both points whose severity or deadline moved."""

    before: Finding
    after: Finding

    @property
    def key(self) -> str:
        return self.after.key

    def __str__(self) -> str:
        moved = []
        if self.before.severity is not self.after.severity:
            moved.append(f"severity {self.before.severity} → {self.after.severity}")
        if self.before.deadline != self.after.deadline:
            moved.append(f"deadline {_show(self.before.deadline)} → {_show(self.after.deadline)}")
        return f"{self.after} ({'; '.join(moved)})"


@attrs.frozen(kw_only=True)
class Changes:
    """What was recorded since a point, and how the findings moved (both sides from the same
    checks: ``as_of`` the point at its time, and now).

    ``since``/``until`` are the moments the findings were taken at; ``since_seq``/``until_seq``
    the entries each side sees.
    """

    since_seq: int
    since: datetime
    until_seq: int
    until: datetime
    entries: tuple[RecordChange, ...]
    new: tuple[Finding, ...]
    resolved: tuple[Finding, ...]
    changed: tuple[FindingChange, ...]

    def of_kind(self, kind: ChangeKind | str) -> tuple[RecordChange, ...]:
        """The entries that did ``kind`` (e.g. ``"extended"``)."""
        return tuple(e for e in self.entries if e.kind == kind)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the points, each entry (without the record) and the findings."""
        return {
            "since_seq": self.since_seq,
            "since": format_time(self.since),
            "until_seq": self.until_seq,
            "until": format_time(self.until),
            "entries": [
                {
                    "seq": e.seq,
                    "recorded_at": format_time(e.recorded_at),
                    "type": e.type,
                    "id": e.id,
                    "kind": e.kind.value,
                    "detail": e.detail,
                }
                for e in self.entries
            ],
            "new": [finding_dict(f) for f in self.new],
            "resolved": [finding_dict(f) for f in self.resolved],
            "changed": [
                {"before": finding_dict(c.before), "after": finding_dict(c.after)}
                for c in self.changed
            ],
        }

    def __str__(self) -> str:
        lines = [
            f"Since seq {self.since_seq} ({self.since:%Y-%m-%d %H:%M} UTC), "
            f"up to seq {self.until_seq} ({self.until:%Y-%m-%d %H:%M} UTC):",
            f"recorded: {len(self.entries)} entr{'y' if len(self.entries) == 1 else 'ies'}",
        ]
        lines += [f"  {entry}" for entry in self.entries]
        lines.append(
            f"findings: {len(self.new)} new, {len(self.resolved)} resolved, "
            f"{len(self.changed)} changed"
        )
        lines += [f"  new       {f}" for f in self.new]
        lines += [f"  resolved  {f}" for f in self.resolved]
        lines += [f"  changed   {c}" for c in self.changed]
        return "\n".join(lines)


R = TypeVar("R", bound=Record)


class View(Protocol):
    """What :func:`changes` reads: a ledger or an ``as_of`` view."""

    @property
    def seq(self) -> int: ...

    def now(self) -> datetime: ...

    def as_of(
        self, *, seq: int | None = None, recorded_at: datetime | str | None = None
    ) -> View: ...

    def checks(self, now: datetime | str | None = None) -> Checks: ...

    def get(self, cls: type[R], id: str) -> R | None: ...

    def digest(self) -> Digest: ...


Since = int | Digest | datetime | str | timedelta | relativedelta
_SEQ = re.compile(r"\s*\d+\s*")
_DIGEST = re.compile(r"\s*\d+:[0-9a-f]{64}\s*")
_HOW = "use a seq (e.g. 120), a digest ('<seq>:<hash>'), an ISO time with an offset, or e.g. '7d'"


def changes(
    view: View,
    store: Storage,
    since: Since,
    within: Within = DEFAULT_WITHIN,
    now: datetime | None = None,
) -> Changes:
    """What was recorded after ``since`` (up to ``view``) and which findings are new, resolved
    or changed, matched by :attr:`Finding.key`.

    ``since`` is a seq, a :class:`Digest` (refused unless this ledger extends it), an aware
    time, a duration (``"7d"``, a timedelta: that long before ``now``) or their text forms.
    The findings then are ``view.as_of(point).findings(within, now=<the point's time>)``: the
    very checks that run now, so "what we would have flagged" needs no second set of rules.
    """
    until = view.now() if now is None else now
    until_seq = view.seq
    since_seq, since_moment = _point(view, store, since, until)
    current = view.as_of(seq=until_seq)
    then, at = view.as_of(seq=since_seq).checks(since_moment), current.checks(until)
    h_then, h_now = (to_micros(horizon(moment, within)) for moment in (since_moment, until))
    new: list[Finding] = []
    resolved: list[Finding] = []
    changed: list[FindingChange] = []
    # The codes: both views' decisions, paired code by code in one pass; only what differs
    # becomes a Finding (a million of each side need not be built, nor held).
    for before, after in paired_drafts(then, at, h_then, h_now):
        if before is not None and after is not None and before.key == after.key:
            if before.severity is not after.severity or before.deadline != after.deadline:
                changed.append(FindingChange(before=then.built(before), after=at.built(after)))
            continue
        if before is not None:
            resolved.append(then.built(before))
        if after is not None:
            new.append(at.built(after))
    # Ads, regions and access: few, matched by key.
    earlier = {f.key: f for f in then.other_findings(h_then)}
    for finding in at.other_findings(h_now):
        old = earlier.pop(finding.key, None)
        if old is None:
            new.append(finding)
        elif old.severity is not finding.severity or old.deadline != finding.deadline:
            changed.append(FindingChange(before=old, after=finding))
    resolved += earlier.values()
    new.sort(key=Finding.sort_key)
    resolved.sort(key=Finding.sort_key)
    changed.sort(key=lambda change: change.after.sort_key())
    return Changes(
        since_seq=since_seq,
        since=since_moment,
        until_seq=until_seq,
        until=until,
        entries=tuple(_recorded(current, store, since_seq, until_seq)),
        new=tuple(new),
        resolved=tuple(resolved),
        changed=tuple(changed),
    )


def _point(view: View, store: Storage, since: Since, now: datetime) -> tuple[int, datetime]:
    """The seq and the moment ``since`` names."""
    said = since.strip() if isinstance(since, str) else str(since)
    if isinstance(since, bool):
        raise ValueError(f"since={said}: {_HOW}")
    if isinstance(since, str):
        text = since.strip()
        if _SEQ.fullmatch(text):
            since = int(text)
        elif _DIGEST.fullmatch(text):
            since = Digest.parse(text)
        else:
            try:
                since = duration(text)
            except ValueError:
                try:
                    since = isoparse(text)
                except ValueError:
                    raise ValueError(f"since={said!r}: {_HOW}") from None
    if isinstance(since, timedelta | relativedelta):
        try:
            horizon(now, since)  # refuses zero and negative durations
        except ValueError:
            raise ValueError(f"since={said!r}: the duration must be more than zero") from None
        since = now - since
    if isinstance(since, datetime):
        if since.utcoffset() is None:
            raise ValueError(f"since={said!r}: give the time with an offset, e.g. Z or +02:00")
        if since > now:
            raise ValueError(f"since={said!r}: that is after now ({now:%Y-%m-%d %H:%M} UTC)")
        return view.as_of(recorded_at=since).seq, since
    if isinstance(since, Digest):
        if since.seq > view.seq:
            raise ValueError(f"since={since}: this ledger's last seq is {view.seq}")
        if view.as_of(seq=since.seq).digest() != since:
            raise ValueError(
                f"since={since}: this ledger does not extend that digest (it is from another "
                "ledger, or entries were rewritten); run 'delvia-ledger verify --digest'"
            )
        since = since.seq
    if isinstance(since, int):
        if since < 0:
            raise ValueError(f"since={since}: a seq is 0 or more")
        if since > view.seq:
            raise ValueError(f"since={since}: this ledger's last seq is {view.seq}")
        # seq 0 sees nothing, at any time: show it at the first entry's time
        return since, store.recorded_at(max(since, 1)) or now
    raise ValueError(f"since={said!r}: {_HOW}")


def _recorded(view: View, store: Storage, after: int, upto: int) -> Iterator[RecordChange]:
    """Each entry after ``after``, set against the version of its record before it."""
    previous: dict[tuple[type[Record], str], Record | None] = {}
    then = view.as_of(seq=after)
    for entry in store.entries(bound=upto, after=after):
        record = entry.record
        key = (type(record), record.id)
        # a record's first entry here follows the version ``then`` sees
        old = previous[key] if key in previous else then.get(type(record), record.id)
        previous[key] = record
        kind, detail = _what(old, record)
        yield RecordChange(
            seq=entry.seq,
            recorded_at=entry.recorded_at,
            type=type(record).__name__,
            id=record.id,
            kind=kind,
            detail=detail,
            record=record,
        )


def _what(old: Record | None, new: Record) -> tuple[ChangeKind, str]:
    """What a new version did, and its moved fields (``owner_id p_ana → p_bo``)."""
    if old is None:
        return ChangeKind.ADDED, _describe(new)
    moved = [
        (name, getattr(old, name), getattr(new, name))
        for name in attrs.fields_dict(type(new))
        if getattr(old, name) != getattr(new, name)
    ]
    detail = "; ".join(f"{name} {_show(a)} → {_show(b)}" for name, a, b in moved)
    fields = {name for name, _, _ in moved}
    kind = ChangeKind.CHANGED
    if isinstance(new, SparkAuthorization) and isinstance(old, SparkAuthorization):
        if "revoked_at" in fields:
            kind = ChangeKind.REVOKED
        elif "expires_at" in fields:
            later = new.expires_at > old.expires_at
            kind = ChangeKind.EXTENDED if later else ChangeKind.SHORTENED
    elif isinstance(new, SparkBinding) and "unbound_at" in fields:
        kind = ChangeKind.UNBOUND if new.unbound_at is not None else ChangeKind.REBOUND
    elif isinstance(new, RoleGrant) and "ended_at" in fields:
        kind = ChangeKind.ENDED
    elif isinstance(new, Person) and "left_at" in fields:
        kind = ChangeKind.LEFT
    return kind, detail


def _describe(record: Record) -> str:
    """A short line for a record seen for the first time."""
    if isinstance(record, SparkAuthorization):
        return (
            f"code {record.code.hint} for post {record.post_id} of creator {record.creator_id}, "
            f"{_show(record.starts_at)} → {_show(record.expires_at)}"
        )
    if isinstance(record, RoleGrant):
        return f"{record.role} on {record.scope} for {record.person_id}"
    if isinstance(record, SparkBinding):
        return f"{record.authorization_id} in account {record.ad_account_id}"
    if isinstance(record, Notice):
        told = len(record.finding_keys)
        return f"{record.channel} told {record.person_id or UNASSIGNED} of {told} findings"
    if isinstance(record, Person):
        return record.name
    return ""


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, tuple):
        return f"{len(value)} items"
    return str(value)


# --- notices: who was told what -------------------------------------------------------------


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
    """A way to deliver reminders (``EmailSender``, ``WebhookSender`` in ``delvia_ledger.notify``).

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
