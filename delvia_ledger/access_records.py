"""The access records DESIGN §8 adds: ``PendingInvite`` (an invitation TikTok lists, not a
role) and the signed ``AccessReview`` with its keep/remove decisions."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import attrs

from .choices import Role, to_role
from .fields import (
    SURROGATE,
    _after,
    _check_id,
    _check_optional_time,
    _check_time,
    _fail,
    _member_of,
    _to_tuple,
    shown,
    to_utc,
)

__all__ = ["VERDICTS", "AccessReview", "PendingInvite", "decision", "parse_decision"]


#: A decision of an access review: keep or remove the grant.
VERDICTS = ("keep", "remove")
_NOTE = " -- "


def _check_scope_text(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    kind, _, target = value.partition(":") if isinstance(value, str) else ("", "", "")
    if value == "all":
        return
    if kind not in {"ad_account", "business_center"} or not target or target != target.strip():
        raise _fail(
            instance,
            field,
            value,
            "must be 'all', 'ad_account:<id>' or 'business_center:<id>'",
        )


@attrs.frozen(kw_only=True)
class PendingInvite:
    """An invitation TikTok lists as ``PENDING`` in a Business Center: not a role (DESIGN §8).

    ``seen_at`` is when a sync first saw it (TikTok's member listing gives no invitation
    time); ``ended_at`` when a sync no longer listed it as pending (accepted or withdrawn).
    ``role`` is the Business Center role offered, when TikTok says it.
    """

    id: str = attrs.field(validator=_check_id)
    person_id: str = attrs.field(validator=_check_id)
    scope: str = attrs.field(validator=_check_scope_text)
    seen_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    role: Role | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(to_role),
        validator=attrs.validators.optional(_member_of(Role)),
    )
    ended_at: datetime | None = attrs.field(
        default=None, converter=to_utc, validator=_check_optional_time
    )

    def __attrs_post_init__(self) -> None:
        _after(self, "ended_at", "seen_at", strict=False)


def _check_decisions(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    problem = None
    if not isinstance(value, tuple):
        problem = "must be a tuple of decisions"
    else:
        seen: set[str] = set()
        for item in value:
            decided = parse_decision(item)
            if decided is None:
                problem = (
                    f"each decision must read 'keep <grant id>' or 'remove <grant id>', "
                    f"optionally followed by '{_NOTE}<note>'; {shown(item)} does not"
                )
                break
            if decided[1] in seen:
                problem = f"decides grant {shown(decided[1])} twice"
                break
            seen.add(decided[1])
    if problem:
        raise _fail(instance, field, value, problem)


def parse_decision(item: object) -> tuple[str, str, str] | None:
    """``"remove g1 -- left in May"`` -> ``("remove", "g1", "left in May")``; None if malformed.

    >>> parse_decision("keep tiktok:ad_account:6900:ADMIN:71")
    ('keep', 'tiktok:ad_account:6900:ADMIN:71', '')
    """
    if not isinstance(item, str) or SURROGATE.search(item):
        return None
    verdict, _, rest = item.partition(" ")
    grant_id, _, note = rest.partition(_NOTE)
    grant_id = grant_id.strip()
    if verdict not in VERDICTS or not grant_id or " " in grant_id:
        return None
    return verdict, grant_id, note.strip()


def decision(verdict: str, grant_id: str, note: str = "") -> str:
    """The text of one decision as :attr:`AccessReview.decisions` holds it."""
    return f"{verdict} {grant_id}" + (f"{_NOTE}{note.strip()}" if note.strip() else "")


def _review_id(instance: AccessReview) -> str:
    if not (
        isinstance(instance.reviewer_id, str)
        and isinstance(instance.scope, str)
        and isinstance(instance.reviewed_at, datetime)
        and not SURROGATE.search(instance.reviewer_id + instance.scope)
    ):
        return ""  # the fields' own validators (which run first) say what is wrong
    text = f"{instance.scope}\n{instance.reviewer_id}\n{instance.reviewed_at.isoformat()}"
    return "review_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _check_digest(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"(0|[1-9][0-9]*):[0-9a-f]{64}", value):
        raise _fail(instance, field, value, "must be a ledger digest '<seq>:<64 hex digits>'")


@attrs.frozen(kw_only=True)
class AccessReview:
    """A signed access review (DESIGN §8): ``reviewer_id`` looked at the review sheet of
    ``scope`` (``"all"``, ``"ad_account:<id>"`` or ``"business_center:<id>"``) as the ledger
    stood at ``digest`` (``"<seq>:<hash>"``), and decided, per grant, keep or remove.

    ``decisions`` holds one text per grant: ``"keep <grant id>"`` or ``"remove <grant id>"``,
    optionally followed by ``" -- <note>"``; :attr:`decided` reads them.
    """

    reviewer_id: str = attrs.field(validator=_check_id)
    reviewed_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    scope: str = attrs.field(validator=_check_scope_text)
    digest: str = attrs.field(validator=_check_digest)
    decisions: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_check_decisions)
    id: str = attrs.field(default=attrs.Factory(_review_id, takes_self=True), validator=_check_id)

    @property
    def decided(self) -> dict[str, tuple[str, str]]:
        """Grant id -> (``"keep"`` or ``"remove"``, note)."""
        found = {}
        for item in self.decisions:
            parsed = parse_decision(item)
            if parsed is not None:
                found[parsed[1]] = (parsed[0], parsed[2])
        return found
