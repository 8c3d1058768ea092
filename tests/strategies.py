"""Hypothesis strategies shared by the tests: valid records, and whole linked worlds."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.records import ISO_REGIONS

ids = st.text(alphabet=string.ascii_letters + string.digits + "_-.:", min_size=1, max_size=24)
texts = st.text(min_size=1, max_size=40).filter(lambda s: s.strip())
optional_texts = st.none() | st.text(max_size=40)
#: One email address (an RFC 5322 addr-spec), as ``Person.email`` takes it.
optional_emails = st.none() | st.emails()
regions = st.sampled_from(sorted(ISO_REGIONS))
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=offsets
)
optional_times = st.none() | times
# TikTok status words: item_info.status, auth_info.ad_auth_status
statuses = st.sampled_from(
    ["AUTHORIZED", "EXPIRED", "USER_DELETE", "AUDIT_DELETE", "HESITATE_RECOMMEND"]
)
# Real codes look like "#<letters, digits, +/>=": the "#" never occurs in a repr, so a search
# for the raw code in printed output cannot match by accident.
raw_codes = st.text(
    alphabet=string.ascii_letters + string.digits + "+/", min_size=8, max_size=60
).map(lambda body: f"#{body}=")


@st.composite
def windows(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = draw(times)
    return start, start + draw(st.timedeltas(timedelta(seconds=1), timedelta(days=400)))


@st.composite
def worlds(draw: st.DrawFn) -> list[dl.Record]:
    """One record of every type, linked so that every reference resolves, in record order."""
    creator = dl.Creator(
        id=draw(ids),
        handle=draw(st.none() | texts),
        region=draw(st.none() | regions),
        display_name=draw(optional_texts),
        contact=draw(optional_texts),
        tiktok_identity_id=draw(st.none() | ids),
    )
    post = dl.Post(
        id=draw(ids),
        creator_id=creator.id,
        kind=draw(st.sampled_from(["VIDEO", "CAROUSEL"])),
        caption=draw(optional_texts),
        posted_at=draw(optional_times),
        source_post_id=draw(st.none() | ids),
        status=draw(st.none() | statuses),
    )
    account = dl.AdAccount(
        id=draw(ids),
        name=draw(texts),
        region=draw(regions),
        business_center_id=draw(st.none() | ids),
    )
    person = dl.Person(
        id=draw(ids), name=draw(texts), email=draw(optional_emails), left_at=draw(optional_times)
    )
    starts, expires = draw(windows())
    auth = dl.SparkAuthorization.from_code(
        draw(raw_codes),
        creator_id=creator.id,
        post_id=post.id,
        starts_at=starts,
        expires_at=expires,
        ad_account_id=draw(st.none() | st.just(account.id)),
        owner_id=draw(st.none() | st.just(person.id)),
        revoked_at=draw(optional_times),
    )
    runs_from, runs_until = draw(windows())
    ad = dl.SparkAd(
        id=draw(ids),
        ad_account_id=account.id,
        authorization_id=auth.id,
        intended_post_id=post.id,
        runs_from=draw(st.none() | st.just(runs_from)),
        runs_until=runs_until,
        paused_at=draw(optional_times),
        owner_id=draw(st.none() | st.just(person.id)),
    )
    granted, grant_expires = draw(windows())
    role = draw(st.sampled_from(list(dl.Role)))
    scope = {
        dl.Role.BC_ADMIN: f"business_center:{draw(ids)}",
        dl.Role.BC_STANDARD: f"business_center:{draw(ids)}",
        dl.Role.OWNER: f"creator:{creator.id}",
    }.get(role, f"ad_account:{account.id}")
    grant = dl.RoleGrant(
        id=draw(ids),
        person_id=person.id,
        scope=scope,
        role=role,
        granted_at=granted,
        expires_at=draw(st.none() | st.just(grant_expires)),
        granted_by=draw(st.none() | st.just(person.id)),
    )
    rule = dl.RegionRule(
        creator_region=draw(st.just("*") | regions),
        account_region=draw(st.just("*") | regions),
        verdict=draw(st.sampled_from(list(dl.RegionVerdict))),
        note=draw(optional_texts),
    )
    bound, unbound = draw(windows())
    binding = dl.SparkBinding(
        authorization_id=auth.id,
        ad_account_id=account.id,
        bound_at=bound,
        unbound_at=draw(st.none() | st.just(unbound)),
        tiktok_status=draw(st.none() | statuses),
    )
    notice = dl.Notice(
        person_id=draw(st.none() | st.just(person.id)),
        channel=draw(st.sampled_from(["slack", "webhook", f"email:{person.id}@example.com"])),
        sent_at=draw(times),
        finding_keys=draw(st.lists(texts, max_size=3)),
    )
    return [creator, post, account, person, auth, binding, ad, grant, rule, notice]


# --- hostile input (issue 12): what users and payloads can really send -------------------------

#: Every raw code the fuzz tests write carries this, so output and files can be searched for it.
CODE_MARKER = "Qz7MARKERxK9"

#: Raw codes that carry :data:`CODE_MARKER` well away from their last 4 characters (the hint).
marked_codes = st.text(
    alphabet=string.ascii_letters + string.digits + "+/", min_size=6, max_size=30
).map(lambda body: f"#{CODE_MARKER}{body}=")

#: Characters that break things: controls (C0, C1, DEL), bidi overrides and isolates, lone
#: surrogates, spaces of every kind, quotes, CSV and formula characters, non-ASCII letters.
nasty_characters = st.sampled_from(
    [
        "\x00",
        "\t",
        "\n",
        "\r",
        "\x1b",
        "\x7f",
        "\x85",
        "\x9f",
        "\u00a0",
        "\u2028",
        "\u202a",
        "\u202e",
        "\u2066",
        "\u2069",
        "\u200d",
        "\ufeff",
        "\ud800",
        "\udfff",
        " ",
        '"',
        "'",
        ",",
        "=",
        "+",
        "-",
        "@",
        "…",
        "é",
        "東",
        "\U0001f600",
        "a",
        "Z",
        "7",
    ]
)
nasty_texts = st.lists(nasty_characters, max_size=8).map("".join) | st.text(max_size=12)

#: Times at and beyond the ends of what datetime can hold, in UTC and with offsets.
far_offsets = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=14)),
        timezone(timedelta(hours=-14)),
        timezone(timedelta(hours=1)),
    ]
)
extreme_times = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 3), timezones=far_offsets),
    st.datetimes(min_value=datetime(9999, 12, 29), timezones=far_offsets),
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=far_offsets
    ),
    st.datetimes(max_value=datetime(1, 1, 3)),  # naive
)
extreme_time_texts = extreme_times.map(lambda t: t.isoformat()) | st.sampled_from(
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00Z",
        "2026-11-24T09:00:00",
        "10000-01-01T00:00:00Z",
        "yesterday",
        "",
    ]
)

#: Values of the wrong type for any field.
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(timedelta(days=1)),
)

#: Anything a field may be handed: nasty text, times at the limits, wrong types, plain ids.
hostile_values = st.one_of(
    nasty_texts, extreme_times, extreme_time_texts, wrong_types, ids, regions
)


# --- TikTok ads and Business Center entries (issues 21.2, 24.1) --------------------------------

#: TikTok ids as TikTok sends them: 19-digit numbers, as text or (rarely) as JSON numbers.
tiktok_ids = st.integers(10**18, 10**19 - 1).map(str)
utc_times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))


def tiktok_layouts(moment: datetime) -> st.SearchStrategy[object]:
    """``moment`` (UTC, whole seconds) in each layout TikTok sends a time in."""
    return st.sampled_from(
        [
            moment.strftime("%Y-%m-%d %H:%M:%S"),  # documented: UTC+0
            moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            moment.isoformat(),
            int(moment.timestamp()),
        ]
    )


@st.composite
def ad_groups(draw: st.DrawFn) -> tuple[dict[str, object], tuple[datetime, datetime | None]]:
    """An ``/adgroup/get/`` entry and its schedule (start, end or None)."""
    start = draw(utc_times)
    seconds = draw(st.none() | st.integers(3600, 400 * 86400))
    ends = None if seconds is None else start + timedelta(seconds=seconds)
    entry: dict[str, object] = {
        "adgroup_id": draw(tiktok_ids),
        "schedule_type": "SCHEDULE_START_END" if ends else "SCHEDULE_FROM_NOW",
        "schedule_start_time": draw(tiktok_layouts(start)),
        "operation_status": draw(st.sampled_from(["ENABLE", "DISABLE"])),
    }
    if ends is not None:
        entry["schedule_end_time"] = draw(tiktok_layouts(ends))
    return entry, (start, ends)


@st.composite
def spark_ad_entries(
    draw: st.DrawFn, advertiser_id: str, adgroup_ids: list[str]
) -> tuple[dict[str, object], dict[str, object]]:
    """An ``/ad/get/`` entry of an ``AUTH_CODE`` Spark Ad, and what it says in plain values."""
    created = draw(utc_times)
    modified = created + timedelta(seconds=draw(st.integers(0, 100 * 86400)))
    said: dict[str, object] = {
        "ad_id": draw(tiktok_ids),
        "post_id": draw(tiktok_ids),
        "identity_id": draw(tiktok_ids),
        "adgroup_id": draw(st.sampled_from(adgroup_ids)) if adgroup_ids else None,
        "status": draw(st.sampled_from(["ENABLE", "DISABLE", "DELETE", "FROZEN"])),
        "created_at": created,
        "modified_at": modified,
    }
    entry: dict[str, object] = {
        "ad_id": said["ad_id"],
        "advertiser_id": draw(st.sampled_from([advertiser_id, int(advertiser_id)])),
        "campaign_id": draw(tiktok_ids),
        "identity_type": "AUTH_CODE",
        "identity_id": said["identity_id"],
        "tiktok_item_id": said["post_id"],
        "operation_status": draw(st.sampled_from([said["status"], str(said["status"]).lower()])),
        "secondary_status": "AD_STATUS_DELIVERY_OK",
        "create_time": draw(tiktok_layouts(created)),
        "modify_time": draw(tiktok_layouts(modified)),
        "dark_post_status": "ON",
    }
    if said["adgroup_id"] is not None:
        entry["adgroup_id"] = said["adgroup_id"]
    return entry, said


other_identity_ad = st.builds(
    lambda ad_id, kind: {
        "ad_id": ad_id,
        "identity_type": kind,
        "identity_id": "1",
        "operation_status": "ENABLE",
    },
    tiktok_ids,
    st.sampled_from(["CUSTOMIZED_USER", "TT_USER", "BC_AUTH_TT", "TTS_TT", None]),
)


@st.composite
def bc_members(draw: st.DrawFn) -> dict[str, object]:
    """A ``/bc/member/get/`` entry (any relation status, any case of TikTok's words)."""
    relation = draw(st.sampled_from(["BOUND", "PENDING", "UNBOUND", "REJECTED"]))
    entry: dict[str, object] = {
        "user_id": draw(tiktok_ids),
        "user_name": draw(st.none() | st.text(min_size=1, max_size=20)),
        "user_email": draw(st.none() | st.emails()),
        "user_role": draw(st.sampled_from(["ADMIN", "STANDARD", "admin", "standard"])),
        "relation_status": draw(st.sampled_from([relation, relation.lower()])),
    }
    if draw(st.booleans()):
        entry["ext_user_role"] = {"finance_role": draw(st.sampled_from(["MANAGER", "ANALYST"]))}
    return entry


asset_members = st.builds(
    lambda user_id, role: {"user_id": user_id, "advertiser_role": role},
    tiktok_ids,
    st.sampled_from(["ADMIN", "OPERATOR", "ANALYST"]),
)


# --- the one-tab sheet (delvia_ledger.sheet) ------------------------------------------------------

handles = st.text(alphabet=string.ascii_lowercase + string.digits + "._", min_size=2, max_size=24)
post_ids = st.integers(
    min_value=7_000_000_000_000_000_000, max_value=7_999_999_999_999_999_999
).map(str)
days = st.dates(min_value=datetime(2000, 1, 1).date(), max_value=datetime(2099, 12, 31).date())


@st.composite
def header_spellings(draw: st.DrawFn, name: str) -> str:
    """``name`` as a person might type it in a header: any case, ``_``/``-``/extra spaces."""
    words = name.split(" ")
    cased = [draw(st.sampled_from([w, w.upper(), w.title(), w.lower()])) for w in words]
    joiner = draw(st.sampled_from([" ", "  ", "_", "-", " _ "]))
    pad = draw(st.sampled_from(["", " ", "  "]))
    return pad + joiner.join(cased) + draw(st.sampled_from(["", " ", ":"]))


@st.composite
def video_links(draw: st.DrawFn) -> tuple[str, str, str]:
    """(link, post id, handle): a TikTok video link as browsers and the app share it."""
    handle, post = draw(handles), draw(post_ids)
    host = draw(
        st.sampled_from(
            [
                "https://www.tiktok.com",
                "https://tiktok.com",
                "www.tiktok.com",
                "https://m.tiktok.com",
            ]
        )
    )
    query = draw(st.sampled_from(["", "?is_from_webapp=1&sender_device=pc", "?lang=en", "/"]))
    return f"{host}/@{handle}/video/{post}{query}", post, handle


def form_decoded(code: str) -> str:
    """``code`` after a form decoded it: each ``+`` a space."""
    return code.replace("+", " ")


def percent_encoded(code: str) -> str:
    """``code`` sent in a link: ``+``, ``/`` and ``=`` percent-encoded."""
    return code.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def form_decoded_then_encoded(code: str) -> str:
    """``code`` whose ``+`` became a space and whose ``/`` and ``=`` were percent-encoded."""
    return form_decoded(code).replace("/", "%2F").replace("=", "%3D")


#: (raw code, the same code mangled on the way), always changed by it.
mangled_codes = (
    st.tuples(
        raw_codes, st.sampled_from([form_decoded, percent_encoded, form_decoded_then_encoded])
    )
    .map(lambda pair: (pair[0], pair[1](pair[0])))
    .filter(lambda pair: pair[0] != pair[1])
)
