"""Who must act on what (DESIGN §13): each finding routed to one person, one worklist each.

What changed since a point is in :mod:`.changes`; telling people, in :mod:`.notices`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from .checks import Checks
from .convert import converter
from .fields import one_line
from .findings import Finding, FindingKind, Severity
from .records import Person

__all__ = [
    "DEFAULT_REMIND_WITHIN",
    "UNASSIGNED",
    "Reminder",
    "finding_dict",
    "grant_command",
    "is_escalated",
    "reminders",
]

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


def is_escalated(finding: Finding) -> bool:
    """True when ``finding`` needs an owner and has none who counts, so it goes up (§13).

    OWNER_MISSING always goes up: its owner (if any) holds no role, and only an account's
    administrator can give one (:func:`grant_command`).
    """
    if finding.kind is FindingKind.OWNER_MISSING:
        return True
    return finding.owner_id is None and finding.kind not in ACCOUNT_KINDS


def grant_command(finding: Finding) -> str | None:
    """For OWNER_MISSING whose owner is recorded but holds no role: the exact command an
    administrator of the code's account runs to give them one (OPERATOR: only ADMIN and
    OPERATOR can create Spark Ads). None for any other finding.

    >>> from delvia_ledger.findings import Finding, FindingKind, Severity
    >>> grant_command(Finding(kind=FindingKind.OWNER_MISSING, severity=Severity.WARNING,
    ...     authorization_id="a1", ad_account_id="6900", owner_id="p_ana"))
    'delvia-ledger grant p_ana OPERATOR ad_account:6900'
    """
    if finding.kind is not FindingKind.OWNER_MISSING or finding.owner_id is None:
        return None
    if finding.ad_account_id is not None:
        scope = f"ad_account:{finding.ad_account_id}"
        return f"delvia-ledger grant {shlex.quote(finding.owner_id)} OPERATOR {shlex.quote(scope)}"
    if finding.authorization_id is not None:
        scope = f"authorization:{finding.authorization_id}"
        return f"delvia-ledger grant {shlex.quote(finding.owner_id)} OWNER {shlex.quote(scope)}"
    return None


class _Router:
    """Who gets each finding, at the moment of ``checks`` (DESIGN §13).

    Its owner (§6: a person who counts); with none, the account's administrators, else the
    active BC admins of the account's Business Center; NO_ADMIN and NO_OPERATOR go straight
    to those BC admins; OWNER_MISSING to the account's administrators (its owner, if any,
    holds no role and cannot give themself one). Where several people qualify, the first by
    person id gets it, so every finding lands in exactly one reminder. None: nobody (the
    unassigned reminder).
    """

    def __init__(self, checks: Checks) -> None:
        self.checks = checks
        self._admins: dict[str, str | None] = {}
        self._bc_admins: dict[str, str | None] = {}

    def __call__(self, finding: Finding) -> str | None:
        account = finding.ad_account_id
        if finding.kind in ACCOUNT_KINDS:
            return self._bc_admin(account)
        if finding.owner_id is not None and finding.kind is not FindingKind.OWNER_MISSING:
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
    #: The person's handle in the team's chat (``Person.chat_id``, e.g. a Slack member id
    #: ``U024BE7LH``), which chat messages mention; None when not recorded.
    chat_id: str | None = None

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
        """The person as a reader knows them: ``"Ana Lima (p_ana)"`` (a name's line breaks and
        control characters shown as escapes, :func:`~delvia_ledger.fields.one_line`)."""
        name = one_line(self.name)
        return name if self.person_id is None else f"{name} ({self.person_id})"

    def heading(self, findings: Sequence[Finding] | None = None) -> str:
        """The worklist's first line: who, how many, of which severity."""
        shown = self.findings if findings is None else findings
        counts = {s: sum(f.severity is s for f in shown) for s in Severity}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing"
        return f"{self.who}: {len(shown)} to act on ({summary}), worst first"

    def entries(self, findings: Sequence[Finding] | None = None) -> list[str]:
        """Each finding's part of the worklist, numbered from 1, worst first: the first
        ``DETAILED`` in full (where, ads, escalation, the fix, the message to the creator),
        the rest one line each."""
        shown = self.findings if findings is None else findings
        return [_entry(number, finding) for number, finding in enumerate(shown, 1)]

    def worklist(self, findings: Sequence[Finding] | None = None) -> str:
        """The worklist text for ``findings`` (default: all of them), worst first."""
        shown = self.findings if findings is None else tuple(findings)
        return "\n".join([self.heading(shown), *self.entries(shown)])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the person, ``escalated``, and each finding (see :func:`finding_dict`)."""
        return {
            "person_id": self.person_id,
            "name": self.name,
            "email": self.email,
            "chat_id": self.chat_id,
            "escalated": self.escalated,
            "findings": [{**finding_dict(f), "escalated": is_escalated(f)} for f in self.findings],
        }

    def __str__(self) -> str:
        return self.worklist()


def _entry(number: int, finding: Finding) -> str:
    lines = [f"{number}. {finding}"]
    if number <= DETAILED:
        lines.append(f"   where: {finding.where}")
        if finding.affected_ad_ids:
            lines.append(f"   affects ads: {', '.join(finding.affected_ad_ids)}")
        command = grant_command(finding)
        if command is not None:
            lines.append(
                f"   fix: the owner {finding.owner_id} holds no role; as an administrator of "
                f"the account, run: {command}"
            )
        elif is_escalated(finding):
            lines.append("   escalated: nobody active owns this, so it comes to you")
        message = finding.message_to_creator
        if message is not None:
            lines.append(f"   message to the creator: {message}")
    return "\n".join(lines)


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
                chat_id=person.chat_id if person else None,
            )
        )
    found.sort(key=lambda r: (r.findings[0].sort_key(), r.person_id is None, r.name))
    return found
