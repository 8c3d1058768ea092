"""The rules of DESIGN §6, each defined once: a storage filter (its SQL form) with a compiled
Python twin, a code's state, the row layouts they compile over, and the ``within`` horizon.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from dateutil.relativedelta import relativedelta

from .convert import to_micros as _micros
from .records import AUTHORIZED, UNAVAILABLE_POST_STATUSES, UNDER_REVIEW, shown
from .storage import After, All, AnyOf, AtMost, Equals, Filter, Missing, Not, OneOf, first_match

__all__ = [
    "DEFAULT_QUIET_AFTER",
    "DEFAULT_WITHIN",
    "EXPIRED",
    "LIVE",
    "NOT_YET_ACTIVE",
    "REVOKED",
    "UNUSED_AFTER",
    "Ad",
    "Auth",
    "AuthRow",
    "Binding",
    "Grant",
    "Within",
    "ad_active",
    "ad_scheduled",
    "bound_at",
    "code_ended",
    "code_expired",
    "code_expiring",
    "code_live",
    "code_pending",
    "code_quiet",
    "code_retired",
    "code_revoked",
    "code_state",
    "duration",
    "grant_in_force",
    "horizon",
    "long_bound",
    "newer",
    "not_authorized",
    "person_counts",
    "post_unavailable",
    "post_under_review",
    "quiet_cutoff",
    "retired_at",
    "tiktok_refuses",
    "unbound_at",
]

Within = timedelta | relativedelta | str
DEFAULT_WITHIN = "7d"
#: How long an EXPIRED or REVOKED finding that no ad needs stays in findings() (DESIGN §6).
DEFAULT_QUIET_AFTER = "30d"
#: How long a code must be bound with no ad before it is UNUSED_CODE (DESIGN §6).
UNUSED_AFTER = timedelta(days=14)
_UNITS = {"h": "hours", "d": "days", "w": "weeks", "mo": "months"}


def horizon(now: datetime, within: Within) -> datetime:
    """``now + within``; ``within`` is a timedelta, a relativedelta or ``"36h"``/``"7d"``/...

    >>> from datetime import UTC
    >>> horizon(datetime(2026, 1, 31, tzinfo=UTC), "1mo").date()
    datetime.date(2026, 2, 28)

    A horizon past the year 9999 (``"100000000d"``) is refused like any other bad value.
    """
    step = _step(within, now)
    try:
        end = now + step
    except (OverflowError, ValueError):  # timedelta, relativedelta or datetime out of range
        raise _too_far(within, now) from None
    if end <= now:
        raise ValueError(f"within={_within_text(within)}: the horizon must be after now")
    return end


def _step(within: Within, now: datetime) -> timedelta | relativedelta:
    if isinstance(within, timedelta | relativedelta):
        return within
    if not isinstance(within, str):
        raise ValueError(
            f"within={shown(within)}: expected a timedelta, a relativedelta or e.g. '7d'"
        )
    match = re.fullmatch(r"\s*(\d+)\s*(h|d|w|mo)\s*", within)
    if not match:
        raise ValueError(
            f"within={shown(within)}: use a number and a unit, e.g. '36h', '7d', '2w' or '1mo'"
        )
    if len(match[1].lstrip("0")) > 12:  # 10**12 hours is 100 million years: no horizon
        raise _too_far(within, now)
    amount: dict[str, Any] = {_UNITS[match[2]]: int(match[1])}
    return relativedelta(**amount)


def duration(within: Within) -> timedelta | relativedelta:
    """The step ``within`` names (``"7d"`` is ``relativedelta(days=7)``); :func:`horizon` adds
    it to now and refuses one that is not positive."""
    return _step(within, datetime.now(UTC))


def _too_far(within: Within, now: datetime) -> ValueError:
    return ValueError(
        f"within={_within_text(within)}: the horizon would fall after 9999-12-31, the "
        f"latest time the ledger can handle (now is {now:%Y-%m-%d}); use a shorter one"
    )


def _within_text(within: Within) -> str:
    """``within`` as the user wrote it: ``'7d'``, ``3 days, 0:00:00``, ``relativedelta(...)``."""
    return str(within) if isinstance(within, timedelta) else shown(within)


class Auth(NamedTuple):
    id: str
    creator_id: str
    post_id: str
    starts_at: int
    expires_at: int
    ad_account_id: str | None
    owner_id: str | None
    revoked_at: int | None
    seq: int  # the version's entry: equal keys of a sorted stream fall in recording order


#: An authorization as the cursor returns it: a plain tuple in :class:`Auth`'s field order.
#: The per-code loop reads these, since building a million named tuples costs ~0.5 µs each.
AuthRow = tuple[str, str, str, int, int, str | None, str | None, int | None, int]


class Ad(NamedTuple):
    id: str
    ad_account_id: str
    authorization_id: str
    intended_post_id: str
    runs_from: int | None
    runs_until: int | None
    paused_at: int | None
    owner_id: str | None


class Grant(NamedTuple):
    id: str
    person_id: str
    scope: str
    role: str
    granted_at: int
    expires_at: int | None
    ended_at: int | None
    source: str | None  # None: intended (approved); "tiktok": actual (DESIGN §8)


class Binding(NamedTuple):
    authorization_id: str
    ad_account_id: str
    bound_at: int
    unbound_at: int | None
    tiktok_status: str | None


# --- the rules of DESIGN §6, each defined once ---------------------------------------------
# Each is a storage filter at time t (µs): storage narrows its reads with it, and the checks
# decide in memory with its compiled twin (``storage.predicate``), so the SQL condition and
# the Python test cannot drift apart.


def code_revoked(t: int) -> Filter:
    """A code revoked at t: ``revoked_at`` <= t."""
    return AtMost("revoked_at", t)


def code_expired(t: int) -> Filter:
    """A code expired at t: not revoked and ``expires_at`` <= t."""
    return All(Not(code_revoked(t)), AtMost("expires_at", t))


def code_ended(t: int) -> Filter:
    """A code that no longer works at t: revoked or expired."""
    return AnyOf(code_revoked(t), AtMost("expires_at", t))  # revoked, else expired


def code_pending(t: int) -> Filter:
    """A code whose window has not started at t (and not revoked)."""
    return All(Not(code_revoked(t)), After("starts_at", t))


def code_live(t: int) -> Filter:
    """A code that works at t: started, not expired, not revoked."""
    return All(Not(code_ended(t)), Not(After("starts_at", t)))


def code_expiring(t: int, h: int) -> Filter:
    """A code not revoked that expires after t and no later than the horizon h."""
    return All(Not(code_revoked(t)), After("expires_at", t), AtMost("expires_at", h))


def retired_at(t: int) -> Filter:
    """A code retired at t (``Ledger.retire``): ``retired_at`` <= t. A retired code raises no
    finding (DESIGN §9), nor does an ad, a binding or a region pair about it."""
    return AtMost("retired_at", t)


def code_retired(retired_ids: Iterable[str]) -> Filter:
    """The codes among ``retired_ids`` (``World.retired``, read with :func:`retired_at`), for
    the streams of codes that leave them out."""
    return OneOf("id", sorted(retired_ids))


def ad_active(t: int) -> Filter:
    """An ad running at t: started (or no start), not paused, not ended."""
    return All(
        Not(After("runs_from", t)), Not(AtMost("paused_at", t)), Not(AtMost("runs_until", t))
    )


def ad_scheduled(t: int) -> Filter:
    """An ad due to start after t and not paused by then."""
    return All(After("runs_from", t), Not(AtMost("paused_at", t)))


def bound_at(t: int) -> Filter:
    """A binding bound at t: ``bound_at`` <= t and not unbound by then."""
    return All(AtMost("bound_at", t), Not(unbound_at(t)))


def unbound_at(t: int) -> Filter:
    """A binding unbound at t: ``unbound_at`` <= t."""
    return AtMost("unbound_at", t)


def tiktok_refuses() -> Filter:
    """A binding (or TikTok's answer for a code) whose TikTok status is set and is not
    ``AUTHORIZED``."""
    return All(Not(Missing("tiktok_status")), Not(Equals("tiktok_status", AUTHORIZED)))


def not_authorized(t: int) -> Filter:
    """A binding bound at t whose TikTok status refuses the code (:func:`tiktok_refuses`)."""
    return All(tiktok_refuses(), bound_at(t))


def post_unavailable() -> Filter:
    """A post TikTok last reported deleted by the creator, removed by moderation, or removed
    by moderators after posting (``ONLY_USER_PASS``)."""
    return OneOf("status", sorted(UNAVAILABLE_POST_STATUSES))


def post_under_review() -> Filter:
    """A post TikTok last reported under review (``REVIEW_PENDING``)."""
    return Equals("status", UNDER_REVIEW)


def quiet_cutoff(now: datetime, quiet_after: Within) -> int:
    """The moment (µs) before which an ended code's deadline makes it quiet: ``now`` minus
    ``quiet_after`` (a timedelta, a relativedelta or ``"30d"``; refused unless positive)."""
    step = _step(quiet_after, now)
    try:
        cutoff = now - step
    except (OverflowError, ValueError):
        cutoff = datetime.min.replace(tzinfo=UTC)
    if cutoff >= now:
        raise ValueError(f"quiet_after={_within_text(quiet_after)}: it must be positive")
    return _micros(cutoff)


def code_quiet(t: int, cutoff: int) -> Filter:
    """A code whose REVOKED or EXPIRED finding is *quiet* at t (DESIGN §6) if no ad uses it:
    revoked before ``cutoff``, or not revoked at t and expired before ``cutoff`` (the finding's
    deadline is older than ``quiet_after``). Whether an ad uses the code is decided apart."""
    return AnyOf(
        AtMost("revoked_at", cutoff - 1),
        All(Not(code_revoked(t)), AtMost("expires_at", cutoff - 1)),
    )


def long_bound(t: int) -> Filter:
    """A binding bound at t since longer than :data:`UNUSED_AFTER` (``UNUSED_CODE``)."""
    return All(bound_at(t), Not(After("bound_at", t - _UNUSED_MICROS)))


def newer(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether code ``a`` is newer than code ``b`` (rows in :class:`Auth`'s layout): it started
    later; at an equal start, it ends later; at an equal window, it was recorded later. A code
    is *replaced* at t when a newer one for its post is bound at t in one of its accounts."""
    return (a[3], a[4], a[8]) > (b[3], b[4], b[8])


def person_counts(t: int) -> Filter:
    """A recorded person who has not left at t (``left_at`` unset or later)."""
    return Not(AtMost("left_at", t))


def grant_in_force(t: int) -> Filter:
    """A grant in force at t (its person must count too, :func:`person_counts`)."""
    return All(AtMost("granted_at", t), Not(AtMost("ended_at", t)), Not(AtMost("expires_at", t)))


_UNUSED_MICROS = int(UNUSED_AFTER.total_seconds()) * 1_000_000

#: A code's states at t, as :func:`code_state` numbers them.
REVOKED, EXPIRED, NOT_YET_ACTIVE, LIVE = range(4)


def code_state(t: int, fields: Sequence[str] = Auth._fields) -> Callable[[Sequence[Any]], int]:
    """A code's state at t (:data:`REVOKED`, ...) from its row (items ``fields``), decided by
    the rules above in one compiled call."""
    return first_match((code_revoked(t), code_expired(t), code_pending(t)), fields)
