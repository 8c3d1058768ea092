"""explain_error under TikTok's own names (issue 21.3, fact sheet §7-8.4) and the
"did you mean" repairs of codes mangled in transit (issue 21.5)."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.diagnose import about_the_connection
from delvia_ledger.findings import CONNECTION_KINDS, FindingKind
from delvia_ledger.records import fingerprint_of, repairs_of

K = FindingKind

#: TikTok's official SDK constant (tiktok_code.py) for each API code mapped, and its kind.
OFFICIAL = {
    20001: ("ERROR_CODE_PARTIAL_OK", K.PARTIAL_RESULT),
    40001: ("ERROR_CODE_PERMISSION_ERROR", K.MISSING_PERMISSION),
    40002: ("ERROR_CODE_PARAM_ERROR", K.REQUEST_REFUSED),
    40016: ("ERROR_CODE_BIZ_FC_ERROR", K.RATE_LIMITED),
    40100: ("ERROR_CODE_REQUEST_TOO_FREQUENT", K.RATE_LIMITED),
    40102: ("ERROR_CODE_ACCESS_TOKEN_EXPIRE", K.TOKEN_EXPIRED),
    40103: ("ERROR_CODE_REFRESH_TOKEN_EXPIRE", K.TOKEN_EXPIRED),
    40104: ("ERROR_CODE_EMPTY_ACCESS_TOKEN", K.TOKEN_INVALID),
    40105: ("ERROR_CODE_INVALID_ACCESS_TOKEN", K.TOKEN_INVALID),
    40106: ("ERROR_CODE_INVALID_CORE_USER", K.TOKEN_INVALID),
    40130: ("ERROR_CODE_SCOPE_NOT_AUTHORIZED", K.MISSING_PERMISSION),
    40132: ("ERROR_CODE_REQUEST_FREQUENCY_LIMITED", K.RATE_LIMITED),
    40202: ("ERROR_CODE_WRITE_CONFLICT", K.REQUEST_REFUSED),
    40300: ("ERROR_CODE_ADVERTISER_NOT_EXIST", K.MISSING_PERMISSION),
    50000: ("ERROR_CODE_SYS_ERROR", K.TRANSIENT_ERROR),
    50002: ("ERROR_CODE_SYS_TIMEOUT", K.TRANSIENT_ERROR),
    60001: ("ERROR_CODE_MAINTENANCE", K.TRANSIENT_ERROR),
}


@pytest.mark.parametrize("code", sorted(OFFICIAL))
def test_api_codes_carry_tiktoks_official_names(code: int) -> None:
    found = dl.explain_error(code)
    assert found is not None
    assert (found.name, found.kind) == OFFICIAL[code]
    assert found.code == str(code)
    # the name looks itself up, in any case
    assert dl.explain_error(found.name.lower()) == found
    assert found.kind in CONNECTION_KINDS  # never taken as TikTok's word on a code


def test_no_invented_labels_remain() -> None:
    for label in ("rate_limited", "access_token_invalid", "no_permission", "partial_success"):
        assert dl.explain_error(label) is None


def test_40102_is_an_expired_token_and_40001_any_missing_permission() -> None:
    expired = dl.explain_error(40102)
    assert expired is not None and "expired" in expired.cause
    permission = dl.explain_error("40001")
    assert permission is not None and "an advertiser it does not reach" in permission.cause
    assert "40001" in str(permission) and "ERROR_CODE_PERMISSION_ERROR" in str(permission)


def test_a_code_tiktok_names_nowhere_says_so() -> None:
    found = dl.explain_error(40133)
    assert found is not None and found.name == "" and "does not name it" in found.note
    assert str(found).startswith("40133: ")


def test_spark_code_errors_keep_their_ads_manager_names() -> None:
    for code, (name, kind) in {
        4025: ("auth_code_expired", K.EXPIRED),
        4013: ("auth_code_format_error", K.MALFORMED_CODE),
        4002: ("video_unavailable", K.POST_UNAVAILABLE),
        900003: ("multi_duet_stitch_refused", K.POST_UNSUPPORTED),
    }.items():
        found = dl.explain_error(code)
        assert found is not None and (found.name, found.kind) == (name, kind)
        assert dl.explain_error(name) == found  # by name too: same code
        assert found.kind not in CONNECTION_KINDS


@pytest.mark.parametrize("code", [40104, 40106, 60001, 40300, 40102, 40130, 40002, 40202])
def test_diagnose_reads_every_api_condition_as_about_the_connection(code: int) -> None:
    assert about_the_connection(dl.TikTokAPIError(code, "refused", "r1"))


@pytest.mark.parametrize("code", [4025, 4013, "auth_code_not_found"])
def test_a_spark_code_error_is_tiktoks_word_on_the_code(code: int | str) -> None:
    assert not about_the_connection(dl.TikTokAPIError(code, "refused", "r1"))


# --- "did you mean": codes mangled in transit ---------------------------------------------

code_bodies = st.text(
    alphabet=string.ascii_letters + string.digits + "+/=", min_size=6, max_size=40
)


@settings(max_examples=300)
@given(code_bodies, code_bodies)
def test_a_plus_read_as_a_space_is_repaired(head: str, tail: str) -> None:
    code = f"#{head}+{tail}="  # a + inside: one at either end goes with the surrounding spaces
    mangled = code.replace("+", " ")
    repairs = repairs_of(mangled)
    assert fingerprint_of(code) in [r.fingerprint for r in repairs]
    assert repairs[0].fingerprint == fingerprint_of(code)
    assert repairs[0].note.startswith("'+' read as a space")


@settings(max_examples=300)
@given(code_bodies)
def test_percent_encoding_is_repaired(body: str) -> None:
    code = f"#{body}="
    encoded = quote(code, safe="")  # %23, %2B, %2F, %3D
    assert fingerprint_of(code) in [r.fingerprint for r in repairs_of(encoded)]


@settings(max_examples=300)
@given(code_bodies, code_bodies, st.booleans())
def test_both_manglings_at_once_are_repaired(head: str, tail: str, lower: bool) -> None:
    code = f"#a{head}+/{tail}b="
    mangled = code.replace("+", " ").replace("/", "%2f" if lower else "%2F")
    assert fingerprint_of(code) in [r.fingerprint for r in repairs_of(mangled)]


@settings(max_examples=300)
@given(st.text(max_size=40).filter(str.strip))
def test_repairs_are_distinct_never_the_code_itself_and_never_show_it(raw: str) -> None:
    try:
        own = fingerprint_of(raw)
    except dl.InvalidRecordError:  # a lone surrogate: not text, refused as fingerprint_of does
        with pytest.raises(dl.InvalidRecordError):
            repairs_of(raw)
        return
    repairs = repairs_of(raw)
    prints = [r.fingerprint for r in repairs]
    assert own not in prints and len(set(prints)) == len(prints) <= 3
    for repair in repairs:
        assert raw.strip() not in repair.note or len(raw.strip()) < 3
        assert repair.note and repr(raw) not in repr(repair)


def test_a_clean_code_needs_no_repair() -> None:
    assert repairs_of("#mX1nZq+example/code=") == []
    assert repairs_of("  #mX1nZq+example/code=\n") == []  # surrounding whitespace is no mangling


def test_the_command_line_explains_an_expired_token_by_code_or_name() -> None:
    import subprocess
    import sys

    for asked in ("40102", "error_code_access_token_expire"):
        done = subprocess.run(
            [sys.executable, "-m", "delvia_ledger", "explain", asked],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("40102 ERROR_CODE_ACCESS_TOKEN_EXPIRE → TOKEN_EXPIRED")
        assert "expired" in done.stdout and "Traceback" not in done.stderr
