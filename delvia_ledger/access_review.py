"""Access reviews (DESIGN §8): the review sheet (person × role × scope, intended against actual),
the decisions read back from it, and the signed :class:`~delvia_ledger.records.AccessReview`.
"""

from __future__ import annotations

import csv
import io as text_io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .access_checks import latest_decisions
from .convert import from_micros, readable_time
from .errors import LedgerError, MissingReferenceError
from .records import ACTUAL, AccessReview, Person, RoleGrant, decision, parse_decision, shown
from .world import World

if TYPE_CHECKING:  # the ledger sits above (DESIGN §3): it hands itself in
    from .chain import Entry
    from .ledger import Ledger

__all__ = [
    "SHEET_COLUMNS",
    "ReviewRow",
    "decisions_from_sheet",
    "format_sheet",
    "review_sheet",
]

#: The columns of the exported sheet, in order; ``decision`` and ``note`` are the reviewer's.
SHEET_COLUMNS = (
    "person",
    "email",
    "role",
    "scope",
    "scope_name",
    "intended",
    "actual",
    "since",
    "granted_by",
    "last_decision",
    "decision",
    "note",
    "person_id",
)


@attrs.frozen(kw_only=True)
class ReviewRow:
    """One person's one role on one scope: approved (intended), listed by TikTok (actual), or
    both; ``grant_ids`` are the grants a decision on this row applies to."""

    person_id: str
    person: str
    email: str | None
    role: str
    scope: str
    scope_name: str
    intended: bool
    actual: bool
    since: datetime
    granted_by: str
    last_decision: str
    grant_ids: tuple[str, ...]

    def cells(self) -> dict[str, str]:
        """The row as the sheet shows it (no internal ids needed to read it)."""
        return {
            "person": self.person,
            "email": self.email or "",
            "role": self.role,
            "scope": self.scope,
            "scope_name": self.scope_name,
            "intended": "yes" if self.intended else "no",
            "actual": "yes" if self.actual else ("no" if self.synced else "not synced"),
            "since": readable_time(self.since),
            "granted_by": self.granted_by,
            "last_decision": self.last_decision,
            "decision": "",
            "note": "",
            "person_id": self.person_id,
        }

    synced: bool = True


def _in_scope(grant_scope: str, scope: str | None, world: World) -> bool:
    if scope in (None, "all"):
        return True
    if grant_scope == scope:
        return True
    kind, _, target = grant_scope.partition(":")
    return kind == "ad_account" and f"business_center:{world.business_center(target)}" == scope


def review_sheet(world: World, grants: Iterable[RoleGrant], scope: str | None) -> list[ReviewRow]:
    """The sheet of ``scope`` (None or ``"all"``: everything) from the grants in force at
    ``world.now``: one row per person, role and scope, sorted by scope, person and role."""
    kind, _, target = (scope or "all").partition(":")
    if scope not in (None, "all") and (kind not in ("ad_account", "business_center") or not target):
        raise ValueError(
            f"access_review: scope={shown(scope)} must be None or 'all', 'ad_account:<id>' or "
            "'business_center:<id>'"
        )
    decided = latest_decisions(world)
    rows: dict[tuple[str, str, str], list[RoleGrant]] = {}
    for grant in grants:
        if grant.role.value == "OWNER" or not _in_scope(grant.scope, scope, world):
            continue
        rows.setdefault((grant.scope, grant.person_id, grant.role.value), []).append(grant)
    names = world.people
    found = []
    for (grant_scope, person_id, role), held in sorted(rows.items()):
        intended = [g for g in held if g.source != ACTUAL]
        actual = [g for g in held if g.source == ACTUAL]
        by = sorted(
            {names.get(g.granted_by, (g.granted_by, None))[0] for g in intended if g.granted_by}
        )
        if actual and not by:
            by = ["TikTok (listed by a sync)"]
        last = [decided[g.id] for g in held if g.id in decided]
        last_text = ""
        if last:
            verdict, note, at = max(last, key=lambda d: d[2])
            last_text = f"{verdict} ({readable_time(from_micros(at))})" + (
                f": {note}" if note else ""
            )
        kind, _, target = grant_scope.partition(":")
        scope_name = target
        if kind == "ad_account" and target in world.accounts:
            scope_name = world.account_names.get(target, target)
        found.append(
            ReviewRow(
                person_id=person_id,
                person=names.get(person_id, (person_id, None))[0],
                email=world.emails.get(person_id),
                role=role,
                scope=grant_scope,
                scope_name=scope_name,
                intended=bool(intended),
                actual=bool(actual),
                since=min(g.granted_at for g in held),
                granted_by=", ".join(by),
                last_decision=last_text,
                grant_ids=tuple(sorted(g.id for g in held)),
                synced=world.synced(grant_scope),
            )
        )
    return found


def format_sheet(rows: Sequence[ReviewRow], fmt: str) -> str:
    """The sheet as ``csv`` (one row per person and role, for a spreadsheet), ``md`` or
    ``html`` (a table to read or mail)."""
    cells = [row.cells() for row in rows]
    if fmt == "csv":
        out = text_io.StringIO()
        writer = csv.DictWriter(out, SHEET_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(cells)
        return out.getvalue()
    from tabulate import tabulate

    table = [[c[name] for name in SHEET_COLUMNS[:-3]] for c in cells]
    style = {"md": "github", "html": "html"}.get(fmt)
    if style is None:
        raise ValueError(f"review export: --format {shown(fmt)} is not one of csv, md, html")
    return str(tabulate(table, headers=list(SHEET_COLUMNS[:-3]), tablefmt=style)) + "\n"


def decisions_from_sheet(text: str, rows: Sequence[ReviewRow]) -> tuple[str, ...]:
    """The decisions of a filled-in CSV sheet (``decision`` ``keep`` or ``remove``, blank is
    keep; ``note``), matched to the current rows by person id, role and scope; each applies
    to every grant of its row. A row that names no current role, or an unknown decision, is
    refused with its line."""
    by_key = {(r.person_id, r.role, r.scope): r for r in rows}
    reader = csv.DictReader(text_io.StringIO(text.lstrip("\ufeff")))
    headers = {(h or "").strip().lower(): h for h in reader.fieldnames or ()}
    lacking = [c for c in ("person_id", "role", "scope", "decision") if c not in headers]
    if lacking:
        raise LedgerError(
            f"review sign --decisions: the sheet lacks the column(s) {', '.join(lacking)}; "
            "fill in the sheet that 'delvia-ledger review export --format csv' writes"
        )
    decided: dict[str, str] = {}
    for line, raw in enumerate(reader, start=2):
        cell = {name: (raw.get(h) or "").strip() for name, h in headers.items()}
        key = (cell["person_id"], cell["role"].upper(), cell["scope"])
        row = by_key.get(key)
        if row is None:
            raise LedgerError(
                f"review sign --decisions: line {line}: no current role {key[1]} on {key[2]} "
                f"for person {shown(key[0])}; export the sheet again and fill that one in"
            )
        verdict = cell["decision"].lower() or "keep"
        if verdict not in ("keep", "remove"):
            raise LedgerError(
                f"review sign --decisions: line {line}, column decision: {shown(cell['decision'])}"
                " is not keep or remove"
            )
        for grant_id in row.grant_ids:
            decided[grant_id] = decision(verdict, grant_id, cell.get("note", ""))
    return tuple(decided.values())


def ended_by_review(review: AccessReview, grants: Iterable[RoleGrant]) -> list[RoleGrant]:
    """The approved (intended) grants a review decided to remove, ended at its time: the
    ledger can end those; a role TikTok lists ends when TikTok stops listing it."""
    remove = {g for g, (verdict, _) in review.decided.items() if verdict == "remove"}
    return [
        attrs.evolve(g, ended_at=max(review.reviewed_at, g.granted_at))
        for g in grants
        if g.id in remove and g.source != ACTUAL and g.ended_at is None
    ]


def history_rows(reviews: Iterable[AccessReview], names: dict[str, Any]) -> list[dict[str, str]]:
    """One row per signed review, newest first."""
    rows = []
    for review in sorted(reviews, key=lambda r: r.reviewed_at, reverse=True):
        verdicts = [v for v, _ in review.decided.values()]
        rows.append(
            {
                "reviewed_at": readable_time(review.reviewed_at),
                "reviewer": str(names.get(review.reviewer_id, (review.reviewer_id,))[0]),
                "scope": review.scope,
                "kept": str(verdicts.count("keep")),
                "removed": str(verdicts.count("remove")),
                "digest": review.digest,
            }
        )
    return rows


def sign(
    ledger: Ledger, by: str, scope: str, decisions: Iterable[str] | None, moment: datetime
) -> Entry:
    """``Ledger.sign_review``'s work: the sheet, the decisions matched to its grants, the
    review and the approved grants it removes, in one transaction."""
    reviewer = ledger.get(Person, by)
    if reviewer is None or (reviewer.left_at is not None and reviewer.left_at <= moment):
        raise MissingReferenceError(
            f"sign_review: by={by!r} is not a person in the ledger who has not left"
        )
    with ledger.transaction():
        rows = ledger.access_review(scope, now=moment)
        given = {}
        for text in decisions or ():
            parsed = parse_decision(text)
            if parsed is None:
                raise ValueError(
                    f"sign_review: decision {shown(text)} must read 'keep <grant id>' or "
                    "'remove <grant id>', optionally followed by ' -- <note>'"
                )
            given[parsed[1]] = text
        texts = [given.pop(g, f"keep {g}") for row in rows for g in row.grant_ids]
        if given:
            raise LedgerError(
                f"sign_review: no grant {sorted(given)[0]!r} in the sheet of scope {scope!r}"
            )
        review = AccessReview(
            reviewer_id=reviewer.id,
            reviewed_at=moment,
            scope=scope,
            digest=str(ledger.digest()),
            decisions=tuple(texts),
        )
        grants = [g for g in ledger.records(RoleGrant) if g.id in review.decided]
        ledger.record_all([review, *ended_by_review(review, grants)])
        return ledger.history(AccessReview, review.id)[-1]
