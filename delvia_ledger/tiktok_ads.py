"""TikTok ``/ad/get/`` and ``/adgroup/get/`` payloads to Spark Ad drafts, and drafts to
``SparkAd`` records once the codes bound in the ad's account are known (DESIGN §12 "Ads").

Pure translation, as in :mod:`delvia_ledger.tiktok`: a malformed item is a
:class:`~delvia_ledger.errors.PayloadError` naming its index and field; nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import attrs

from .errors import InvalidRecordError, PayloadError
from .records import NO_CODE, Creator, Post, PostKind, SparkAd, shown
from .tiktok import Skipped, _id, _optional_id, _required, _text, numbered, tiktok_time

__all__ = [
    "AdDraft",
    "AdStatus",
    "LinkedAds",
    "Schedule",
    "ad_drafts",
    "link_ads",
    "schedules_from_adgroup_get",
]

#: The only identity whose ads run a post through an authorization code (fact sheet §8.1).
AUTH_CODE = "AUTH_CODE"


class AdStatus(StrEnum):
    """TikTok's ``operation_status`` of an ad or ad group ([B] ``enum/operation_status.go``)."""

    ENABLE = "ENABLE"
    DISABLE = "DISABLE"
    DELETE = "DELETE"
    FROZEN = "FROZEN"  # cannot be enabled again

    @property
    def paused(self) -> bool:
        """DISABLE and FROZEN: the ad is off (DESIGN §12: ``paused_at``)."""
        return self in (AdStatus.DISABLE, AdStatus.FROZEN)


def _time(entry: Mapping[str, Any], name: str, where: str) -> datetime | None:
    value = entry.get(name)
    return None if value is None or value == "" else tiktok_time(value, f"{where}.{name}")


def _status(entry: Mapping[str, Any], where: str) -> AdStatus | None:
    text = _text(entry.get("operation_status"), f"{where}.operation_status")
    if text is None:
        return None
    try:
        return AdStatus(text.strip().upper())
    except ValueError:
        allowed = ", ".join(s.value for s in AdStatus)
        raise PayloadError(
            f"{where}.operation_status: {shown(text)} is not one of TikTok's ({allowed})"
        ) from None


@attrs.frozen
class Schedule:
    """An ad group's schedule (``schedule_start_time``/``schedule_end_time``, UTC+0)."""

    adgroup_id: str
    starts_at: datetime | None
    ends_at: datetime | None
    status: AdStatus | None = None


def schedules_from_adgroup_get(payload: Any) -> dict[str, Schedule]:
    """Each ad group's schedule from ``GET /adgroup/get/`` entries, by ``adgroup_id``.

    Times come in any layout TikTok uses; offset-less ones are UTC+0, as TikTok documents.
    An end that is not after the start names its ad group and field.

    >>> groups = {"list": [{"adgroup_id": "1700", "schedule_start_time": "2026-12-01 00:00:00",
    ...                     "schedule_end_time": "2026-12-31 00:00:00"}]}
    >>> schedules_from_adgroup_get(groups)["1700"].ends_at.isoformat()
    '2026-12-31T00:00:00+00:00'
    """
    found: dict[str, Schedule] = {}
    for _, where, group in numbered(payload, "adgroup/get"):
        adgroup_id = _id(_required(group, "adgroup_id", where), f"{where}.adgroup_id")
        starts = _time(group, "schedule_start_time", where)
        ends = _time(group, "schedule_end_time", where)
        if starts is not None and ends is not None and ends <= starts:
            raise PayloadError(
                f"{where}.schedule_end_time: {ends:%Y-%m-%d %H:%M:%S} is not after "
                f"schedule_start_time {starts:%Y-%m-%d %H:%M:%S} (UTC)"
            )
        found[adgroup_id] = Schedule(adgroup_id, starts, ends, _status(group, where))
    return found


@attrs.frozen(kw_only=True)
class AdDraft:
    """One Spark Ad made with an authorization code, as ``/ad/get/`` reports it.

    ``post_id`` is TikTok's ``tiktok_item_id`` (it joins to ``item_info.item_id``),
    ``identity_id`` the creator's ``AUTH_CODE`` identity. ``runs_from``/``runs_until`` come
    from the ad group's schedule; ``paused_at`` and an earlier ``runs_until`` from
    ``operation_status`` (see :func:`ad_drafts`).
    """

    index: int
    ad_id: str
    advertiser_id: str
    post_id: str
    adgroup_id: str | None = None
    identity_id: str | None = None
    status: AdStatus | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    runs_from: datetime | None = None
    runs_until: datetime | None = None
    paused_at: datetime | None = None

    def ad(self, authorization_id: str = NO_CODE) -> SparkAd:
        """The ``SparkAd`` this draft becomes with the code bound for its post (or none)."""
        return SparkAd(
            id=self.ad_id,
            ad_account_id=self.advertiser_id,
            authorization_id=authorization_id,
            intended_post_id=self.post_id,
            runs_from=self.runs_from,
            runs_until=self.runs_until,
            paused_at=self.paused_at,
        )

    def creator_and_post(self) -> tuple[Creator, Post] | None:
        """The creator (by its ``AUTH_CODE`` identity) and post this ad runs, for a post the
        ledger does not hold yet; the kind is not reported by ``/ad/get/`` (``VIDEO`` is a
        guess that a later ``/tt_video/list/`` corrects). None without an identity."""
        if self.identity_id is None:
            return None
        creator = Creator(id=self.identity_id, region=None, tiktok_identity_id=self.identity_id)
        return creator, Post(id=self.post_id, creator_id=self.identity_id, kind=PostKind.VIDEO)


def ad_drafts(
    payload: Any,
    *,
    advertiser_id: str,
    schedules: Mapping[str, Schedule] | None = None,
    seen_at: datetime | None = None,
    offset: int = 0,
) -> tuple[list[AdDraft], list[Skipped]]:
    """The Spark Ads made with a code among ``GET /ad/get/`` entries of ``advertiser_id``.

    Only ``identity_type`` ``AUTH_CODE`` ads run a post through a code: the others are skipped
    and returned with the reason, as is an ``AUTH_CODE`` ad with no ``tiktok_item_id`` yet
    (TikTok returns it for pushed Spark Ads only once they passed review). The rules:

    - ``runs_from``/``runs_until``: the ad group's schedule (``schedules``, by ``adgroup_id``;
      unknown when the ad group is not there);
    - ``DISABLE`` or ``FROZEN``: paused at ``modify_time`` (TikTok's time of the change), else at
      ``seen_at`` (default now);
    - ``DELETE``: ends then (``runs_until``, unless the schedule ends earlier); an ad deleted
      before its start never runs, so it is paused then instead.

    ``offset`` numbers the entries after those of earlier pages, so that an error names the
    entry's place in the whole listing.
    """
    advertiser = _id(advertiser_id, "advertiser_id")
    groups = schedules or {}
    now = seen_at or datetime.now(UTC)
    drafts: list[AdDraft] = []
    skipped: list[Skipped] = []
    for index, where, ad in numbered(payload, "ad/get", offset):
        ad_id = _id(_required(ad, "ad_id", where), f"{where}.ad_id")
        listed = _optional_id(ad.get("advertiser_id"), f"{where}.advertiser_id")
        if listed is not None and listed != advertiser:
            raise PayloadError(
                f"{where}.advertiser_id: {listed!r} is not the advertiser asked for "
                f"({advertiser!r})"
            )
        identity_type = _text(ad.get("identity_type"), f"{where}.identity_type")
        if identity_type != AUTH_CODE:
            what = f"identity_type {identity_type}" if identity_type else "no identity_type"
            skipped.append(Skipped(index, f"ad {ad_id}: {what}, not a Spark Ad made with a code"))
            continue
        post_id = _optional_id(ad.get("tiktok_item_id"), f"{where}.tiktok_item_id")
        if post_id is None:
            skipped.append(
                Skipped(index, f"ad {ad_id}: no tiktok_item_id (a pushed ad before review)")
            )
            continue
        adgroup_id = _optional_id(ad.get("adgroup_id"), f"{where}.adgroup_id")
        schedule = groups.get(adgroup_id) if adgroup_id is not None else None
        status = _status(ad, where)
        modified = _time(ad, "modify_time", where)
        runs_from = schedule.starts_at if schedule else None
        runs_until = schedule.ends_at if schedule else None
        paused_at = None
        when = modified or now
        if status is AdStatus.DELETE:
            if runs_from is not None and when <= runs_from:
                paused_at = when  # deleted before it ever ran
            elif runs_until is None or when < runs_until:
                runs_until = when
        elif status is not None and status.paused:
            paused_at = when
        try:
            draft = AdDraft(
                index=index,
                ad_id=ad_id,
                advertiser_id=advertiser,
                post_id=post_id,
                adgroup_id=adgroup_id,
                identity_id=_optional_id(ad.get("identity_id"), f"{where}.identity_id"),
                status=status,
                created_at=_time(ad, "create_time", where),
                modified_at=modified,
                runs_from=runs_from,
                runs_until=runs_until,
                paused_at=paused_at,
            )
            draft.ad()  # every draft makes a valid record
        except InvalidRecordError as error:
            raise PayloadError(f"{where}: {error}") from None
        drafts.append(draft)
    return drafts, skipped


@attrs.frozen
class LinkedAds:
    """:func:`link_ads`'s answer: a ``SparkAd`` per draft, the drafts whose post has no code
    bound in the ad's account (``AD_WITHOUT_CODE``), and of those, the ones on a post the
    ledger does not hold yet (the intake records the post first: ``creator_and_post``)."""

    ads: tuple[SparkAd, ...]
    without_code: tuple[AdDraft, ...]
    unknown_posts: tuple[AdDraft, ...] = ()


def link_ads(
    drafts: Sequence[AdDraft],
    bound: Mapping[str, str],
    *,
    known_posts: Collection[str] | None = None,
) -> LinkedAds:
    """Each draft as a ``SparkAd`` linked to the code bound in its account for its post.

    ``bound`` maps a post id to the authorization bound for it in the drafts' ad account (the
    ledger's reading, DESIGN §12). A post with none gives ``authorization_id`` =
    :data:`~delvia_ledger.records.NO_CODE` (``"AD_WITHOUT_CODE"``), which refers to no record,
    and the draft is listed in ``without_code``. ``known_posts`` (the posts the ledger holds;
    those in ``bound`` count as held) lets the answer name the posts to record first.

    >>> draft = AdDraft(index=0, ad_id="1800", advertiser_id="6900", post_id="7301")
    >>> link_ads([draft], {"7301": "auth_a1"}).ads[0].authorization_id
    'auth_a1'
    >>> linked = link_ads([draft], {})
    >>> linked.ads[0].authorization_id, [d.ad_id for d in linked.without_code]
    ('AD_WITHOUT_CODE', ['1800'])
    """
    ads: list[SparkAd] = []
    without: list[AdDraft] = []
    unknown: list[AdDraft] = []
    for draft in drafts:
        code = bound.get(draft.post_id)
        ads.append(draft.ad(code or NO_CODE))
        if code is None:
            without.append(draft)
            if known_posts is not None and draft.post_id not in known_posts:
                unknown.append(draft)
    return LinkedAds(tuple(ads), tuple(without), tuple(unknown))
