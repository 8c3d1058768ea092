"""Say only what TikTok says (issue 21.3): no message, remedy or page claims that an extended
code keeps its string, and every kind's text is complete."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.findings import CONNECTION_KINDS, EXTEND_ASK, FindingKind

ROOT = Path(__file__).resolve().parents[1]

#: Claims TikTok does not make (fact sheet §8.4: "Nothing official says the code string stays the
#: same after an extension"). Each is a phrase that only such a claim uses.
CLAIMS = re.compile(
    r"same code\W+(keeps|stays|still|continues|works|remains)"
    r"|keeps? (using )?the same code"
    r"|no new code"
    r"|code (keeps|stays|remains) (working|valid|the same)"
    r"|extend\w*[^.\n]{0,60}\bthe same code",
    re.IGNORECASE,
)


def _catalogue_texts() -> list[tuple[str, str]]:
    texts = []
    for kind, advice in dl.CATALOGUE.items():
        for field in ("cause", "meaning", "remedy", "where", "to_creator"):
            texts.append((f"CATALOGUE[{kind.value}].{field}", getattr(advice, field)))
        finding = dl.Finding(kind=kind, severity=dl.Severity.ERROR, creator_id="c", post_id="1")
        texts.append((f"message_to_creator of {kind.value}", finding.message_to_creator or ""))
    return texts


def _string_literals(path: Path) -> list[tuple[str, str]]:
    """Every string constant of a module (messages, templates, docstrings) with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (f"{path.relative_to(ROOT)}:{node.lineno}", node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def _published_texts() -> list[tuple[str, str]]:
    texts = _catalogue_texts()
    for path in sorted((ROOT / "delvia_ledger").rglob("*.py")):
        texts += _string_literals(path)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    pages += sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in {".md", ".py"})
    for path in pages:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            texts.append((f"{path.relative_to(ROOT)}:{n}", line))
    for path in sorted((ROOT / "examples").rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for n, cell in enumerate(cells):
            outputs = [o.get("text", "") for o in cell.get("outputs", [])]
            for chunk in [cell.get("source", ""), *outputs]:
                text = "".join(chunk) if isinstance(chunk, list) else str(chunk)
                texts.append((f"{path.relative_to(ROOT)} cell {n}", text))
    return texts


def test_the_claim_pattern_catches_what_main_used_to_say() -> None:
    """The grep below can fail: each sentence the ledger used to publish is caught."""
    for said in (
        "Extending keeps the same code: no new code needed.",
        "(the same code keeps working, no new code needed)",
        "extending keeps the same code",
        "The same code keeps working.",
        "the creator extended (or shortened) the window: the same code, a new end",
    ):
        assert CLAIMS.search(said), said
    for fine in (
        EXTEND_ASK,
        "a second import must hold the same code, as code is an identity field",
        "importing the same code for a second advertiser adds a binding",
    ):
        assert not CLAIMS.search(fine), fine


def test_no_message_remedy_or_page_says_an_extended_code_stays_the_same() -> None:
    claims = [
        f"{where}: {text[:120]!r}" for where, text in _published_texts() if CLAIMS.search(text)
    ]
    assert claims == []


@pytest.mark.parametrize(
    "kind", [FindingKind.EXPIRED, FindingKind.EXPIRING, FindingKind.AD_OUTLIVES_CODE]
)
def test_expiry_remedies_ask_for_an_extension_and_a_new_code_if_tiktok_shows_one(
    kind: FindingKind,
) -> None:
    advice = dl.CATALOGUE[kind]
    assert EXTEND_ASK in advice.remedy
    assert "new code" in advice.to_creator and "send it to us" in advice.to_creator
    if kind is not FindingKind.AD_OUTLIVES_CODE:
        assert "TikTok does not document" in advice.meaning  # the silence is marked


def test_the_unbound_text_marks_what_tiktok_does_not_document() -> None:
    assert "does not document" in dl.CATALOGUE[FindingKind.UNBOUND].meaning


def test_every_kind_has_complete_text_and_a_severity_rule() -> None:
    assert set(dl.CATALOGUE) == set(FindingKind)
    for kind, advice in dl.CATALOGUE.items():
        for field in ("cause", "meaning", "remedy", "where", "severity"):
            assert getattr(advice, field).strip(), f"{kind.value}.{field} is empty"
        if kind in CONNECTION_KINDS:
            assert advice.to_creator == "" and advice.severity == "explain_error only"


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("AD_WITHOUT_CODE", "ERROR while the ad is active, else WARNING"),
        ("UNUSED_CODE", "INFO"),
        ("NOT_LISTED", "ERROR while an active ad uses the code, else WARNING"),
        ("POST_UNDER_REVIEW", "WARNING"),
        ("LEFT_WITH_ACCESS", "ERROR"),
        ("UNAPPROVED_ACCESS", "WARNING"),
        ("MISSING_ACCESS", "WARNING"),
        ("PENDING_INVITE", "INFO; WARNING after 7 days"),
        ("REVIEW_DUE", "WARNING"),
    ],
)
def test_the_kinds_added_this_round_document_the_severity_design_6_gives(
    kind: str, severity: str
) -> None:
    assert dl.CATALOGUE[FindingKind(kind)].severity == severity


def test_unused_code_is_authorized_but_never_launched() -> None:
    assert "authorized but never launched" in dl.CATALOGUE[FindingKind.UNUSED_CODE].meaning


def test_admin_without_finance_is_not_a_kind() -> None:
    """TikTok allows an Admin without a finance role (issue 24.2): no rule is invented."""
    assert not any("FINANCE" in kind.value for kind in FindingKind)
