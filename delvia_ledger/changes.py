"""What changed since a point (DESIGN §13): the entries recorded after it, and the findings
new, resolved or changed, from the very checks run as of each side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any, Protocol, TypeVar

import attrs
from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta

from .chain import Digest
from .checks import CODE_KINDS, DEFAULT_WITHIN, Checks, Draft, Within, duration, horizon
from .convert import format_time, readable_time, to_micros
from .findings import Finding
from .records import (
    AccessReview,
    Notice,
    Person,
    Record,
    RoleGrant,
    SparkAuthorization,
    SparkBinding,
)
from .reminders import UNASSIGNED, finding_dict
from .rules import Auth, AuthRow
from .storage import Storage

__all__ = ["ChangeKind", "Changes", "FindingChange", "RecordChange", "Since", "changes"]


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
            f"seq {self.seq} {readable_time(self.recorded_at, zone=False)} {self.type} {self.id} "
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
            f"Since seq {self.since_seq} ({readable_time(self.since)}), "
            f"up to seq {self.until_seq} ({readable_time(self.until)}):",
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
            raise ValueError(f"since={said!r}: that is after now ({readable_time(now)})")
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
    reviewed = _reviewed(store, upto)
    for entry in store.entries(bound=upto, after=after):
        record = entry.record
        key = (type(record), record.id)
        # a record's first entry here follows the version ``then`` sees
        old = previous[key] if key in previous else then.get(type(record), record.id)
        previous[key] = record
        kind, detail = _what(old, record)
        if isinstance(record, RoleGrant) and old is not None:
            last = max(
                (t for t in reviewed.get(record.id, ()) if t < entry.recorded_at), default=None
            )
            if last is not None:
                detail += f"; changed since the review of {readable_time(last)}"
        yield RecordChange(
            seq=entry.seq,
            recorded_at=entry.recorded_at,
            type=type(record).__name__,
            id=record.id,
            kind=kind,
            detail=detail,
            record=record,
        )


def _reviewed(store: Storage, upto: int) -> dict[str, list[datetime]]:
    """Grant id -> when signed access reviews decided on it (DESIGN §8)."""
    found: dict[str, list[datetime]] = {}
    for entry in store.current_entries(AccessReview, upto):
        review = entry.record
        assert isinstance(review, AccessReview)
        for grant_id in review.decided:
            found.setdefault(grant_id, []).append(review.reviewed_at)
    return found


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
        return readable_time(value)
    if isinstance(value, tuple):
        return f"{len(value)} items"
    return str(value)


#: (superseded_by, *Auth row) of a code version, as :func:`paired_drafts` reads them.
_BETWEEN = ("superseded_by", *Auth._fields)
_BATCH = 1000  # code versions per decision batch


def paired_drafts(
    then: Checks, now: Checks, h_then: int, h_now: int
) -> Iterator[tuple[Draft | None, Draft | None]]:
    """The per-code decisions of two views of one ledger (``then`` sees no further than
    ``now``), paired by code and kind: one read of the codes serves both (``ledger.changes``).

    Versions come in seq order, so a code's version at ``then`` comes no later than its
    version at ``now``: only decisions with no partner (yet) are held.
    """
    low, high = then.world.bound or 0, now.world.bound
    assert high is None or low <= high, "then is the earlier view"
    waiting: dict[tuple[str, str], Draft] = {}
    # every code version current at some bound from low to high (None: now), in seq order
    rows = now.world.store.current_rows(
        SparkAuthorization, _BETWEEN, bound=high, since=low, order_by=("seq",)
    )
    while batch := list(islice(rows, _BATCH)):
        at_then: list[AuthRow] = []
        at_now: list[AuthRow] = []
        for superseded_by, *auth in batch:
            seq = auth[8]
            if seq <= low and (superseded_by is None or superseded_by > low):
                at_then.append(tuple(auth))
            if superseded_by is None or (high is not None and superseded_by > high):
                at_now.append(tuple(auth))
        for draft in then.code_drafts(at_then, CODE_KINDS, h_then):
            waiting[draft.auth[0], draft.kind._value_] = draft
        for draft in now.code_drafts(at_now, CODE_KINDS, h_now):
            yield waiting.pop((draft.auth[0], draft.kind._value_), None), draft
    for before in waiting.values():
        yield before, None
