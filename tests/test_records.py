"""Records: validation on construction, normalisation, and the Spark code's secrecy."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.records import is_hint

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
        (dl.Person, dict(id="p", name="Ana", chat_id="U02 4BE"), "Person.chat_id='U02 4BE': "),
        (dl.Person, dict(id="p", name="Ana", chat_id="U0\nhi"), "no spaces, line breaks"),
        (dl.Person, dict(id="p", name="Ana", chat_id="<!here>"), "Person.chat_id='<!here>'"),
        (dl.Person, dict(id="p", name="Ana", chat_id="U" * 129), "129 characters long"),
        (dl.Person, dict(id="p", name="Ana", chat_id=42), "Person.chat_id=42: must be a chat"),
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


# --- hardening (issue 12): times at the limits, ids, text that is not text, codes and hints --

TIME_FIELDS = [
    (dl.Post, dict(id="p", creator_id="m", kind="VIDEO"), "posted_at"),
    (dl.Person, dict(id="p", name="Ana"), "left_at"),
    (dl.RoleGrant, dict(id="g", person_id="p", scope="ad_account:1", role="ADMIN"), "granted_at"),
    (
        dl.SparkAuthorization,
        dict(code="#c0de-123=", creator_id="m", post_id="p", expires_at="9999-12-31T00:00:00Z"),
        "starts_at",
    ),
    (dl.SparkBinding, dict(authorization_id="a", ad_account_id="b"), "bound_at"),
    (
        dl.SparkAd,
        dict(id="a", ad_account_id="b", authorization_id="c", intended_post_id="d"),
        "paused_at",
    ),
    (dl.Notice, dict(channel="slack", finding_keys=()), "sent_at"),
]
BEYOND_THE_LIMITS = [
    "0001-01-01T00:00:00+01:00",  # the year 0 in UTC
    "9999-12-31T23:59:59-05:00",  # the year 10000 in UTC
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("moment", BEYOND_THE_LIMITS, ids=str)
@pytest.mark.parametrize(
    ("cls", "fields", "name"), TIME_FIELDS, ids=lambda v: getattr(v, "__name__", "")
)
def test_times_beyond_the_limits_are_refused_as_bad_input(
    cls: type[Any], fields: dict[str, Any], name: str, moment: object
) -> None:
    """They raised OverflowError from the time converter; now they name the field and value."""
    with pytest.raises(
        dl.InvalidRecordError, match=f"{cls.__name__}.{name}=.*is out of range"
    ) as error:
        cls(**fields, **{name: moment})
    assert "datetime.datetime" not in str(error.value)  # times are shown as ISO text
    text = moment if isinstance(moment, str) else cast(datetime, moment).isoformat()
    assert text in str(error.value)


def test_the_extreme_times_themselves_are_accepted() -> None:
    earliest = dl.Person(id="p", name="Ana", left_at="0001-01-01T00:00:00Z").left_at
    latest = dl.Person(id="p", name="Ana", left_at="9999-12-31T23:59:59.999999+00:00").left_at
    assert (earliest, latest) == (
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
    )


def test_a_naive_datetime_is_shown_as_iso_text() -> None:
    with pytest.raises(dl.InvalidRecordError, match=r"Person.left_at='2026-11-24T09:00:00': naive"):
        dl.Person(id="p", name="Ana", left_at=datetime(2026, 11, 24, 9))


@pytest.mark.parametrize(
    "bad",
    [
        "a\ud800",
        "\udfffb",
        "a\x85b",
        "a\x9fb",
        "a\u202eb",
        "a\u202ab",
        "a\u2066b",
        "a\u2069b",
        "\x7f",
    ],
)
@pytest.mark.parametrize(
    ("cls", "fields", "name"),
    [
        (dl.Creator, dict(id="m", region=None), "id"),
        (dl.Creator, dict(id="m", region=None), "tiktok_identity_id"),
        (dl.Post, dict(id="p", creator_id="m", kind="VIDEO"), "source_post_id"),
        (dl.AdAccount, dict(id="a", name="Brand", region="US"), "business_center_id"),
        (dl.Notice, dict(sent_at=NOW, finding_keys=()), "channel"),
    ],
)
def test_ids_refuse_surrogates_c1_controls_and_bidi_overrides(
    cls: type[Any], fields: dict[str, Any], name: str, bad: str
) -> None:
    with pytest.raises(dl.InvalidRecordError, match=f"{cls.__name__}.{name}=.*bidi controls"):
        cls(**{**fields, name: bad})


def test_ids_keep_accepting_ordinary_unicode() -> None:
    assert dl.Creator(id="yūki_東京-1", region=None).id == "yūki_東京-1"


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (dl.Creator, dict(id="m", region=None, display_name="Maya \ud83d")),
        (dl.Post, dict(id="p", creator_id="m", kind="VIDEO", caption="\udc80")),
        (dl.Person, dict(id="p", name="An\ud800a")),
        (
            dl.RegionRule,
            dict(creator_region="US", account_region="GB", verdict="UNKNOWN", note="\ud800"),
        ),
        (dl.Notice, dict(channel="slack", sent_at=NOW, finding_keys=["EXPIRING\ud800"])),
    ],
)
def test_text_with_a_lone_surrogate_is_refused(cls: type[Any], fields: dict[str, Any]) -> None:
    """A lone surrogate cannot be written as UTF-8: it used to fail deep in the write path."""
    with pytest.raises(dl.InvalidRecordError, match=r"lone surrogate|finding keys"):
        cls(**fields)


def test_a_code_with_a_lone_surrogate_is_refused_without_carrying_the_code() -> None:
    raw = "#SECRET-surrogate-\ud800-code="
    for attempt in (
        lambda: dl.SparkCode(raw),
        lambda: dl.SparkAuthorization(code=raw, **AUTH),
        lambda: dl.SparkCode("#other-code=").matches(raw),
    ):
        with pytest.raises(dl.InvalidRecordError, match="lone surrogate") as error:
            attempt()
        chained = error.value.__cause__ or error.value.__context__
        assert chained is None  # a UnicodeEncodeError would carry the whole code in its args
        assert all("SECRET" not in str(arg) for arg in error.value.args)


@pytest.mark.parametrize("code", ["#SECRET\ncode=", "#SECRET\x1b[2Jcode=", "#SECRET\u202ecode="])
def test_a_code_with_control_or_bidi_characters_is_refused_without_echo(code: str) -> None:
    """Such a code is no TikTok code, and its hint would carry the control into terminals."""
    with pytest.raises(dl.InvalidRecordError, match="control") as error:
        dl.SparkCode(code)
    assert "SECRET" not in str(error.value)


@pytest.mark.parametrize("bad", [None, 5, b"#bytes-code="])
def test_a_code_that_is_not_text_is_refused(bad: object) -> None:
    """It raised AttributeError ('int' object has no attribute 'strip')."""
    with pytest.raises(dl.InvalidRecordError, match="SparkCode"):
        dl.SparkCode("#a-code=").matches(bad)  # type: ignore[arg-type]


@given(raw_codes)
def test_a_hint_pasted_with_the_raw_code_is_refused_and_never_echoed(raw: str) -> None:
    code = dl.SparkCode(raw)
    assert dl.SparkCode.from_fingerprint(code.fingerprint, code.hint) == code
    for fingerprint, hint in ((raw, code.hint), (code.fingerprint, raw)):
        with pytest.raises(dl.InvalidRecordError, match="not shown") as error:
            dl.SparkCode.from_fingerprint(fingerprint, hint)
        assert raw not in str(error.value)


@given(st.text(min_size=1, max_size=30).filter(lambda s: s.strip()))
def test_every_hint_a_code_makes_has_the_hint_shape(raw: str) -> None:
    try:
        code = dl.SparkCode(raw)
    except dl.InvalidRecordError:
        return  # not text (a lone surrogate)
    assert is_hint(code.hint)
    assert dl.SparkCode.from_fingerprint(code.fingerprint, code.hint) == code


@pytest.mark.parametrize(
    "hint", ["", "ode=", "…abcde", "…ab\n", "…a\x85", "…a ", 5, None, "…\u202e", "…\ud800"]
)
def test_a_hint_of_another_shape_is_refused(hint: object) -> None:
    with pytest.raises(dl.InvalidRecordError, match=r"SparkCode\.hint"):
        dl.SparkCode.from_fingerprint("0" * 64, hint)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cls", "fields", "message"),
    [
        (dl.Creator, dict(id="m", region=["US"]), "Creator.region=\\['US'\\]"),
        (dl.Creator, dict(id="m", region={"US": 1}), "Creator.region="),
        (dl.AdAccount, dict(id="a", name="B", region=["US"]), "AdAccount.region="),
        (
            dl.RegionRule,
            dict(creator_region=[1], account_region="US", verdict="UNKNOWN"),
            "RegionRule.creator_region=",
        ),
        (dl.Notice, dict(channel="slack", sent_at=NOW, finding_keys=5), "Notice.finding_keys=5"),
        (
            dl.Notice,
            dict(channel="slack", sent_at="soon", finding_keys=[]),
            "Notice.sent_at='soon'",
        ),
        (dl.Notice, dict(channel=5, sent_at=NOW, finding_keys=[]), "Notice.channel=5"),
        (dl.Creator, dict(id="m", region=None, handle=["@m"]), "Creator.handle="),
    ],
)
def test_wrong_types_are_invalid_records_never_type_errors(
    cls: type[Any], fields: dict[str, Any], message: str
) -> None:
    """A list region raised TypeError (unhashable), an int finding_keys TypeError in the id."""
    with pytest.raises(dl.InvalidRecordError, match=message):
        cls(**fields)


def test_a_very_long_value_is_shortened_in_the_message() -> None:
    with pytest.raises(dl.InvalidRecordError) as error:
        dl.Creator(id="m", region="X" * 100_000)
    assert len(str(error.value)) < 300 and "100000 characters" in str(error.value)


@given(st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2099, 1, 1).date()))
def test_a_bare_iso_date_is_midnight_utc_in_every_time_field(day: date) -> None:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    person = dl.Person(id="p", name="P", left_at=day.isoformat())
    assert person.left_at == midnight
    auth = dl.SparkAuthorization.from_code(
        "#c0de=", creator_id="c", post_id="p", starts_at=day.isoformat(),
        expires_at=(midnight + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert auth.starts_at == midnight
    with pytest.raises(dl.InvalidRecordError, match="no time zone"):
        dl.Person(id="p", name="P", left_at=f"{day.isoformat()}T10:00")


@given(st.text(max_size=140))
def test_a_chat_handle_is_one_token_or_refused_naming_the_field(text: str) -> None:
    """Whatever text a sheet or a person types as ``Person.chat_id``: either it is one chat
    handle (no space, line break, control, ``<`` or ``>``; at most 128 characters: nothing a
    chat message could be steered by) and it comes back from a CSV exactly, or it is refused
    naming the field and the value."""
    try:
        person = dl.Person(id="p", name="Ana", chat_id=text)
    except dl.InvalidRecordError as error:
        assert str(error).startswith("Person.chat_id=")
        return
    handle = person.chat_id
    if handle is None:
        assert text.strip() == ""
        return
    assert handle == text.strip() and 0 < len(handle) <= 128 and handle.isprintable()
    assert not any(c.isspace() or c in "<>" for c in handle)
    out = io.StringIO()
    dl.io.write_csv([person], dl.Person, out)
    out.seek(0)
    assert list(dl.io.read_csv(dl.Person, out)) == [person]
