"""A realistic sample ledger: creators in several regions, codes in every state, ads, people.

Used by ``delvia-ledger demo``, the docs and the example notebooks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from .records import (
    AdAccount,
    Creator,
    Notice,
    Person,
    Post,
    Record,
    RegionRule,
    RoleGrant,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
)

__all__ = ["SAMPLE_CODES", "sample_records"]

#: The raw codes of the sample authorizations (sample data only: real codes are never kept).
SAMPLE_CODES = {
    "live": "#sMpL3+live/code-A1=",
    "expiring": "#sMpL3+soon/code-B2=",
    "expired": "#sMpL3+old/code-C3=",
    "revoked": "#sMpL3+gone/code-D4=",
    "wrong_post": "#sMpL3+other/code-E5=",
    "region": "#sMpL3+far/code-F6=",
    "future": "#sMpL3+next/code-G7=",
    "unbound": "#sMpL3+left/code-H8=",
    "removed": "#sMpL3+taken/code-J9=",
}


def sample_records(now: datetime) -> Iterator[Record]:
    """The sample world, relative to ``now``, in an order the ledger accepts."""
    day = timedelta(days=1)
    world: list[Record] = [
        Creator(
            id="7000000000000000001",
            tiktok_identity_id="7000000000000000001",
            handle="@maya.makes",
            region="US",
            display_name="Maya",
        ),
        Creator(
            id="7000000000000000002",
            tiktok_identity_id="7000000000000000002",
            handle="@leo.cooks",
            region="GB",
            display_name="Leo",
        ),
        Creator(
            id="7000000000000000003",
            tiktok_identity_id="7000000000000000003",
            handle="@yuki.styles",
            region="JP",
        ),
        Creator(
            id="7000000000000000004",
            tiktok_identity_id="7000000000000000004",
            handle="@ana.trains",
            region=None,
        ),
        AdAccount(
            id="6900000000000000001", name="Brand US", region="US", business_center_id="bc_1"
        ),
        AdAccount(
            id="6900000000000000002", name="Brand UK", region="GB", business_center_id="bc_1"
        ),
        AdAccount(id="6900000000000000003", name="Brand DE", region="DE"),
        Person(id="p_ana", name="Ana Ortiz", email="ana@brand.example"),
        Person(id="p_ben", name="Ben Okafor", email="ben@agency.example"),
        Person(id="p_cy", name="Cy Lund", email="cy@brand.example", left_at=now - 20 * day),
        RegionRule(creator_region="GB", account_region="US", verdict="COMPATIBLE"),
        RegionRule(
            creator_region="JP",
            account_region="DE",
            verdict="INCOMPATIBLE",
            note="sample policy: verified with our TikTok rep",
        ),
    ]
    yield from world
    posts = {
        "maya1": ("7301000000000000001", "7000000000000000001"),
        "maya2": ("7301000000000000002", "7000000000000000001"),
        "leo1": ("7301000000000000003", "7000000000000000002"),
        "yuki1": ("7301000000000000004", "7000000000000000003"),
        "ana1": ("7301000000000000005", "7000000000000000004"),
        "leo2": ("7301000000000000006", "7000000000000000002"),
        "ana2": ("7301000000000000007", "7000000000000000004"),
    }
    removed = {"7301000000000000007": "AUDIT_DELETE"}  # taken down by moderation
    for post_id, creator_id in posts.values():
        yield Post(
            id=post_id,
            creator_id=creator_id,
            kind="VIDEO",
            posted_at=now - 40 * day,
            status=removed.get(post_id, "HESITATE_RECOMMEND"),
        )
    yield from [
        RoleGrant(
            id="g_ana_us",
            person_id="p_ana",
            scope="ad_account:6900000000000000001",
            role="ADMIN",
            granted_at=now - 300 * day,
        ),
        RoleGrant(
            id="g_ana_bc",
            person_id="p_ana",
            scope="business_center:bc_1",
            role="BC_ADMIN",
            granted_at=now - 300 * day,
        ),
        RoleGrant(
            id="g_ben_bc",
            person_id="p_ben",
            scope="business_center:bc_1",
            role="BC_STANDARD",
            granted_at=now - 100 * day,
        ),
        RoleGrant(
            id="g_ben_uk",
            person_id="p_ben",
            scope="ad_account:6900000000000000002",
            role="OPERATOR",
            granted_at=now - 100 * day,
            expires_at=now + 5 * day,
        ),
        RoleGrant(
            id="g_cy_de",
            person_id="p_cy",
            scope="ad_account:6900000000000000003",
            role="ADMIN",
            granted_at=now - 200 * day,
        ),
    ]

    def code(
        state: str, post: str, start: float, days: int, account: str, **extra: object
    ) -> SparkAuthorization:
        post_id, creator_id = posts[post]
        return SparkAuthorization.from_code(
            SAMPLE_CODES[state],
            id=f"auth_{state}",
            creator_id=creator_id,
            post_id=post_id,
            starts_at=now + start * day,
            expires_at=now + (start + days) * day,
            ad_account_id=f"690000000000000000{account}",
            **extra,
        )

    auths = [
        code("live", "maya1", -10, 60, "1", owner_id="p_ana"),
        code("expiring", "maya2", -27, 30, "1", owner_id="p_ana"),
        code("expired", "leo1", -40, 30, "2", owner_id="p_ben"),
        code("revoked", "ana1", -5, 30, "1", owner_id="p_cy", revoked_at=now - 2 * day),
        code("wrong_post", "leo1", -3, 365, "1", owner_id="p_ben"),
        code("region", "yuki1", -1, 60, "3"),
        code("future", "maya1", 2, 7, "1", owner_id="p_ana"),
        code("unbound", "leo2", -15, 60, "2", owner_id="p_ben"),
        code("removed", "ana2", -6, 30, "1", owner_id="p_ana"),
    ]
    yield from auths
    # What TikTok's /tt_video/list/ last reported for each account (a sync records these).
    for state, account, unbound_days in (
        ("live", "1", None),
        ("expiring", "1", None),
        ("wrong_post", "1", None),
        ("unbound", "2", 1),
        ("removed", "1", None),
    ):
        yield SparkBinding(
            authorization_id=f"auth_{state}",
            ad_account_id=f"690000000000000000{account}",
            bound_at=now - 5 * day,
            unbound_at=None if unbound_days is None else now - unbound_days * day,
            tiktok_status="AUTHORIZED",
        )
    ids = {a.id.removeprefix("auth_"): a for a in auths}
    yield from [
        SparkAd(
            id="ad_1",
            ad_account_id="6900000000000000001",
            authorization_id=ids["live"].id,
            intended_post_id=posts["maya1"][0],
            runs_from=now - 9 * day,
            runs_until=now + 80 * day,
            owner_id="p_ana",
        ),
        SparkAd(
            id="ad_2",
            ad_account_id="6900000000000000001",
            authorization_id=ids["expiring"].id,
            intended_post_id=posts["maya2"][0],
            runs_from=now - 20 * day,
            owner_id="p_ana",
        ),
        SparkAd(
            id="ad_3",
            ad_account_id="6900000000000000002",
            authorization_id=ids["expired"].id,
            intended_post_id=posts["leo1"][0],
            runs_from=now - 30 * day,
            owner_id="p_ben",
        ),
        SparkAd(
            id="ad_4",
            ad_account_id="6900000000000000001",
            authorization_id=ids["revoked"].id,
            intended_post_id=posts["ana1"][0],
            runs_from=now - 4 * day,
        ),
        SparkAd(
            id="ad_5",
            ad_account_id="6900000000000000001",
            authorization_id=ids["wrong_post"].id,
            intended_post_id=posts["maya2"][0],
            runs_from=now - 1 * day,
        ),
        SparkAd(
            id="ad_6",
            ad_account_id="6900000000000000003",
            authorization_id=ids["region"].id,
            intended_post_id=posts["yuki1"][0],
            runs_from=now + 1 * day,
        ),
        SparkAd(
            id="ad_7",
            ad_account_id="6900000000000000002",
            authorization_id=ids["unbound"].id,
            intended_post_id=posts["leo2"][0],
            runs_from=now - 10 * day,
            owner_id="p_ben",
        ),
    ]
    yield Notice(
        person_id="p_ana",
        channel="email",
        sent_at=now - 7 * day,
        finding_keys=("EXPIRING/authorization=auth_expiring/account=6900000000000000001",),
    )
