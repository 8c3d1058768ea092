"""Records: validation on construction, normalisation, and the Spark code's secrecy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given

import delvia_ledger as dl

from .strategies import raw_codes, worlds

NOW = "2026-11-24T09:00:00Z"
AUTH = dict(creator_id="maya", post_id="7301", starts_at=NOW, expires_at="2026-12-24T09:00:00Z")


@pytest.mark.parametrize(
    ("cls", "fields", "message"),
    [
        (
            dl.Creator,
            dict(id="", handle="@m", region=None),
            "Creator.id='': must be a non-empty string",
        ),
        (dl.Creator, dict(id=" m", handle="@m", region=None), "surrounding spaces"),
        (dl.Creator, dict(id="m\n", handle="@m", region=None), "control characters"),
        (dl.Creator, dict(id=123, handle="@m", region=None), "Creator.id=123"),
        (dl.Creator, dict(id="m", handle=5, region=None), "Creator.handle=5"),
        (dl.Creator, dict(id="m", tiktok_identity_id=" 7", region=None), "surrounding spaces"),
        (
            dl.Post,
            dict(id="p", creator_id="m", kind="VIDEO", status="gone!"),
            "Post.status='GONE!'",
        ),
        (
            dl.Creator,
            dict(id="m", handle="@m", region="XX"),
            "Creator.region='XX': must be an ISO 3166-1",
        ),
        (dl.Creator, dict(id="m", handle="@m", region="USA"), "Creator.region='USA'"),
        (dl.Creator, dict(id="m", handle="@m", region=None, contact=5), "Creator.contact=5"),
        (
            dl.Post,
            dict(id="p", creator_id="m", kind="REEL"),
            "Post.kind='REEL': must be one of VIDEO, CAROUSEL",
        ),
        (
            dl.Post,
            dict(id="p", creator_id="m", kind="VIDEO", posted_at="yesterday"),
            "Post.posted_at='yesterday': is not an ISO-8601 time",
        ),
        (
            dl.Post,
            dict(id="p", creator_id="m", kind="VIDEO", posted_at="2026-11-24T09:00:00"),
            "has no time zone",
        ),
        (
            dl.Post,
            dict(id="p", creator_id="m", kind="VIDEO", posted_at=datetime(2026, 11, 24)),
            "naive datetime",
        ),
        (
            dl.Post,
            dict(id="p", creator_id="m", kind="VIDEO", posted_at=20261124),
            "must be a timezone-aware datetime",
        ),
        (dl.AdAccount, dict(id="a", name="Brand", region="*"), "AdAccount.region='*'"),
        (dl.Person, dict(id="p", name=""), "Person.name=''"),
        (dl.Person, dict(id="p", name="Ana", left_at="soon"), "Person.left_at='soon'"),
        (
            dl.RoleGrant,
            dict(id="g", person_id="p", scope="ad_account:1", role="BOSS", granted_at=NOW),
            "RoleGrant.role='BOSS'",
        ),
        (
            dl.RoleGrant,
            dict(id="g", person_id="p", scope="account:1", role="ADMIN", granted_at=NOW),
            "RoleGrant.scope='account:1'",
        ),
        (
            dl.RoleGrant,
            dict(id="g", person_id="p", scope="ad_account:", role="ADMIN", granted_at=NOW),
            "RoleGrant.scope='ad_account:'",
        ),
        (
            dl.RoleGrant,
            dict(id="g", person_id="p", scope="creator:m", role="ADMIN", granted_at=NOW),
            "cannot be granted on scope 'creator:m'",
        ),
        (
            dl.RoleGrant,
            dict(
                id="g",
                person_id="p",
                scope="ad_account:1",
                role="ADMIN",
                granted_at=NOW,
                expires_at=NOW,
            ),
            "RoleGrant.expires_at=",
        ),
        (
            dl.RoleGrant,
            dict(
                id="g",
                person_id="p",
                scope="ad_account:1",
                role="ADMIN",
                granted_at=NOW,
                ended_at="2026-01-01T00:00:00Z",
            ),
            "RoleGrant.ended_at=",
        ),
        (
            dl.SparkAuthorization,
            dict(AUTH, code="#c0de-1234=", expires_at=NOW),
            "SparkAuthorization.expires_at=",
        ),
        (
            dl.SparkAuthorization,
            dict(AUTH, code=""),
            "SparkAuthorization.code: must be a SparkCode",
        ),
        (
            dl.SparkAuthorization,
            dict(AUTH, code="#c0de-1234=", post_id=""),
            "SparkAuthorization.post_id=''",
        ),
        (
            dl.SparkAd,
            dict(
                id="d",
                ad_account_id="a",
                authorization_id="x",
                intended_post_id="p",
                runs_from=NOW,
                runs_until=NOW,
            ),
            "SparkAd.runs_until=",
        ),
        (
            dl.RegionRule,
            dict(creator_region="US", account_region="EU", verdict="COMPATIBLE"),
            "RegionRule.account_region='EU'",
        ),
        (
            dl.RegionRule,
            dict(creator_region="US", account_region="GB", verdict="maybe"),
            "RegionRule.verdict='maybe'",
        ),
        (
            dl.RegionRule,
            dict(creator_region="US", account_region="GB", verdict="COMPATIBLE", id="x"),
            "RegionRule.id='x': must be 'US->GB'",
        ),
    ],
)
def test_invalid_records_cannot_be_built(
    cls: type[Any], fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(
        dl.InvalidRecordError, match=message.replace("(", r"\(").replace("*", r"\*")
    ) as error:
        cls(**fields)
    assert isinstance(error.value, ValueError)  # the contract: a ValueError, and a LedgerError
    assert isinstance(error.value, dl.LedgerError)


def test_inputs_are_normalised() -> None:
    creator = dl.Creator(id="maya", handle="@maya", region=" us ")
    assert creator.region == "US"
    post = dl.Post(id="1", creator_id="maya", kind="video", posted_at="2026-11-24T10:00:00+01:00")
    assert post.kind is dl.PostKind.VIDEO and post.kind == "VIDEO"
    assert post.posted_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert post.posted_at.tzinfo is UTC
    grant = dl.RoleGrant(
        id="g",
        person_id="p",
        scope="ad_account:1",
        role="operator",
        granted_at=datetime(2026, 1, 1, 3, tzinfo=timezone(timedelta(hours=3))),
    )
    assert grant.role is dl.Role.OPERATOR and grant.granted_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert (grant.scope_kind, grant.scope_id) == ("ad_account", "1")
    rule = dl.RegionRule(creator_region="us", account_region="*", verdict="incompatible")
    assert rule.id == "US->*" and rule.verdict is dl.RegionVerdict.INCOMPATIBLE


def test_records_are_frozen() -> None:
    creator = dl.Creator(id="maya", handle="@maya", region="US")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        creator.handle = "@other"  # type: ignore[misc]


@given(raw_codes)
def test_spark_code_keeps_only_a_fingerprint_and_a_hint(raw: str) -> None:
    code = dl.SparkCode(f"  {raw}\n")
    assert code == dl.SparkCode(raw)
    assert code.matches(raw) and not code.matches(raw + "x")
    assert len(code.hint) <= 5 and raw.endswith(code.hint[1:])
    auth = dl.SparkAuthorization(code=raw, **AUTH)
    assert auth.id == "auth_" + code.fingerprint[:16]
    for shown in (
        repr(code),
        str(code),
        repr(auth),
        str(auth),
        repr(attrs.asdict(auth, recurse=False)),
    ):
        assert raw not in shown


def test_short_codes_reveal_at_most_a_third() -> None:
    assert dl.SparkCode("abc").hint == "…c"
    assert dl.SparkCode("ab").hint == "…"
    assert dl.SparkCode("#abcdefghijkl=").hint == "…jkl="


def test_spark_code_rejects_empty_and_rebuilds_from_a_fingerprint() -> None:
    with pytest.raises(dl.InvalidRecordError, match="non-empty"):
        dl.SparkCode("   ")
    code = dl.SparkCode("#secret-code-123=")
    assert dl.SparkCode.from_fingerprint(code.fingerprint, code.hint) == code
    with pytest.raises(dl.InvalidRecordError, match="64 lowercase hex"):
        dl.SparkCode.from_fingerprint("nothex", "…")


@given(worlds())
def test_every_generated_world_is_valid_and_equal_to_itself(world: list[dl.Record]) -> None:
    for record in world:
        assert attrs.evolve(record) == record
