"""The generated reference page (``docs/reference.md``): every record type's CSV columns,
types, required-ness, allowed values and an example row, all read from the records."""

from __future__ import annotations

import io as _io
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import attrs

from .records import ROLE_SCOPES, Record, Role

__all__ = ["reference_cells", "reference_markdown"]

_ID = (
    "text without surrounding spaces, control characters or bidi controls "
    "(U+202A-U+202E, U+2066-U+2069)"
)
_TIME = (
    "ISO-8601 with `Z` or an offset (`2026-11-01T09:00:00Z`, `2026-11-01 09:00:00+01:00`); "
    "a date alone (`2026-11-01`) is midnight UTC; a time without an offset needs "
    "`--timezone ZONE` (Python: `timezone=`)"
)
_REGION = "an ISO 3166-1 alpha-2 region code such as `US` (any case)"

#: What each validator (by name) allows, in the users' words. A validator missing here fails
#: :func:`reference_markdown`, so a new rule cannot go undocumented.
_ALLOWED: dict[str, str] = {
    "_check_id": "an id",
    "_check_text": "any text that is not blank",
    "_check_optional_text": "any text",
    "_check_optional_email": "an email address such as `ana@brand.example`",
    "_check_optional_chat_id": (
        "a chat handle such as `U024BE7LH` (a Slack member id): no spaces, `<` or `>`, "
        "at most 128 characters"
    ),
    "_check_time": "a time",
    "_check_region": _REGION,
    "_check_region_pattern": _REGION + ", or `*` for any region",
    "_check_optional_word": "a TikTok status word such as `AUTHORIZED` or `USER_DELETE` (any case)",
    "_check_keys": 'a JSON list of finding keys, e.g. `["EXPIRING/authorization=auth_1"]`',
    "_check_scope": (
        "`ad_account:<id>`, `business_center:<id>`, `creator:<id>` or `authorization:<id>`"
    ),
    "_check_binding_id": "`<authorization_id>@<ad_account_id>`, the only value allowed",
    "_check_rule_id": "`<creator_region>-><account_region>`, the only value allowed",
    "_check_source": "`tiktok` (a role TikTok's Business Center lists: the actual side), or "
    "blank (a role people approved: the intended side)",
}

#: What a blank cell of a field with a derived default becomes (by the default's function).
_DERIVED: dict[str, str] = {
    "_authorization_id": "`auth_` and the first 16 hex digits of the code's SHA-256",
    "_binding_id": "`<authorization_id>@<ad_account_id>`",
    "_rule_id": "`<creator_region>-><account_region>`",
    "_notice_id": "`notice_` and 16 hex digits of a hash of person, channel, time and keys",
}

#: What a converter does to a cell before it is checked (by the converter's name).
_CONVERTED: dict[str, str] = {
    "to_handle": "; a leading `@` is dropped",
    "to_item_status": "; an `ITEM_STATUS_` prefix is dropped",
}


def _example_records() -> list[Record]:
    """One record of each type, in dependency order, that fit together in one ledger."""
    from .records import (
        AdAccount,
        Creator,
        Notice,
        Person,
        Post,
        RegionRule,
        RoleGrant,
        SparkAd,
        SparkAuthorization,
        SparkBinding,
    )

    auth = SparkAuthorization.from_code(
        "#mX1nZq+example/code=",
        creator_id="maya",
        post_id="7301",
        starts_at="2026-11-01T00:00:00Z",
        expires_at="2026-12-01T00:00:00Z",
        ad_account_id="6900",
        owner_id="ana",
    )
    return [
        Creator(id="maya", handle="@maya.makes", region="US", display_name="Maya Makes"),
        Post(id="7301", creator_id="maya", kind="VIDEO", posted_at="2026-10-30T18:00:00Z"),
        AdAccount(id="6900", name="Brand US", region="US", business_center_id="7100"),
        Person(id="ana", name="Ana Ruiz", email="ana@example.com", chat_id="U024BE7LH"),
        auth,
        SparkBinding(
            authorization_id=auth.id,
            ad_account_id="6900",
            bound_at="2026-11-02T10:00:00Z",
            tiktok_status="AUTHORIZED",
        ),
        SparkAd(
            id="ad_1",
            ad_account_id="6900",
            authorization_id=auth.id,
            intended_post_id="7301",
            runs_from="2026-11-03T00:00:00Z",
            owner_id="ana",
        ),
        RoleGrant(
            id="ana-admin-6900",
            person_id="ana",
            scope="ad_account:6900",
            role="ADMIN",
            granted_at="2026-10-01T00:00:00Z",
        ),
        RegionRule(creator_region="US", account_region="US", verdict="COMPATIBLE"),
        Notice(
            person_id="ana",
            channel="email",
            sent_at="2026-11-24T09:00:00Z",
            finding_keys=(f"EXPIRING/authorization={auth.id}",),
        ),
    ]


def reference_markdown() -> str:
    """``docs/reference.md``: every record type's CSV columns, types, whether each is required
    (and its default), the values allowed, and an example row, all read from the records."""
    from .io import _write_csv
    from .records import RECORD_TYPES

    examples = {type(record): record for record in _example_records()}
    parts = [_REFERENCE_INTRO]
    for cls in RECORD_TYPES:
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        parts.append(f"## {cls.__name__}\n\n{' '.join(doc.split()).replace('``', '`')}\n")
        parts.append("| column | type | required | allowed values |\n|---|---|---|---|")
        for field in attrs.fields(cast(Any, cls)):
            parts += _reference_rows(cls, field)
        out = _io.StringIO()
        _write_csv([examples[cls]], cls, out)
        parts.append(f"\nExample:\n\n```csv\n{out.getvalue().replace(chr(13), '')}```\n")
    return "\n".join(parts)


def _reference_rows(cls: type[Any], field: Any) -> list[str]:
    """The table rows of one field (a code is two columns, or a raw ``code``)."""
    return [f"| `{name}` | {kind} | {required} | {allowed} |" for name, kind, required, allowed
            in reference_cells(cls, field)]  # fmt: skip


def reference_cells(cls: type[Any], field: Any) -> list[tuple[str, str, str, str]]:
    """(column, type, required, allowed values) of one field, as the reference lists them;
    ``delvia-ledger add TYPE --help`` shows the same."""
    if field.name == "code":
        return [
            ("code_fingerprint", "text", "yes", "the code's SHA-256, 64 lowercase hex digits, as "
             "exported; or, instead of both code columns, a raw `code` column (never stored)"),
            ("code_hint", "text", "no (blank: `…`)", "`…` and at most the last 4 characters "
             "of the code, as exported"),
        ]  # fmt: skip
    kind, enum = _reference_type(field.type)
    validator = field.validator
    optional = type(validator).__name__ == "_OptionalValidator"
    check = getattr(validator, "validator", validator) if optional else validator
    name = getattr(check, "__name__", "")
    if enum is not None:
        allowed = ", ".join(f"`{member.value}`" for member in enum) + " (any case)"
        if enum is Role:
            by_scopes: dict[frozenset[str], list[str]] = {}
            for role in Role:
                by_scopes.setdefault(ROLE_SCOPES[role], []).append(f"`{role.value}`")
            allowed += "; " + "; ".join(
                f"{', '.join(roles)} on {' or '.join(f'`{s}:`' for s in sorted(scopes))} scopes"
                for scopes, roles in by_scopes.items()
            )
    elif name in _ALLOWED:
        allowed = _ALLOWED[name]
    else:
        raise LookupError(f"reference_markdown: describe {cls.__name__}.{field.name}'s rule")
    allowed += _CONVERTED.get(getattr(field.converter, "__name__", ""), "")
    default = field.default
    if default is attrs.NOTHING:
        may_be_blank = optional or name == "_check_optional_text" or kind == "JSON list"
        required = "yes, may be blank" if may_be_blank else "yes"
    elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        required = f"no (blank: {_DERIVED[default.factory.__name__]})"
    else:
        required = "no"
    return [(field.name, kind, required, allowed)]


def _reference_type(annotation: Any) -> tuple[str, Any]:
    """How the reference names a field's type, and its enum if it is a choice."""
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    base = args[0] if str(annotation).startswith(("str |", "datetime")) else annotation
    if isinstance(base, type) and issubclass(base, StrEnum):
        return "choice", base
    if base is datetime:
        return "time", None
    if str(annotation).startswith("tuple"):
        return "JSON list", None
    return "text", None


_REFERENCE_INTRO = (
    """\
# Reference: the CSV columns of every record

<!-- Generated by delvia_ledger.io.reference_markdown(); do not edit by hand.
     tests/test_io.py checks it is current and says how to regenerate it. -->

`ledger.import_csv(cls, path_or_file)` and `delvia-ledger import FILE.csv --type TYPE` read a
CSV of one record type; `export_csv` and `delvia-ledger export --type TYPE` write one. Import
the types in the order of this page (a post's creator first, and so on).

How a file is read:

- UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8", Google Sheets' download).
- The header row names the columns in any order. A header matches a column whatever its case,
  surrounding spaces, or spaces for `_`: `Creator ID` is `creator_id`. A column the record
  lacks (`notes`) is ignored with a warning naming it (`IgnoredColumnsWarning`; one line on
  stderr from the CLI). A column named twice is refused.
- A required column must be in the header; a blank cell in an optional column means none, or
  the default shown.
- Times: ISO-8601 with `Z` or an offset. A date alone (`2026-11-01`) is midnight UTC. A time
  without an offset (`2026-11-01 09:00:00`, as Sheets and Excel write it) is refused unless
  `--timezone Europe/Berlin` (Python: `timezone="Europe/Berlin"`; any zoneinfo name, or `UTC`)
  says which zone it is in. Exports write UTC with microseconds and `Z`.
- Choices (kinds, roles, verdicts) and regions are read in any case.
- A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or carriage return
  first) is exported with a leading `'`; the import takes that `'` away again.
- A Spark code is exported as `code_fingerprint` and `code_hint`, never raw. Your own sheet may
  carry a raw `code` column instead; the code is fingerprinted and never stored.
- A bad row fails the whole import and nothing is written; the error names the line (where
  the row starts), the column as your header spells it, the value, and what is allowed.

In the tables, an id is """
    + _ID
    + """; a time is """
    + _TIME
    + """.
"""
)
