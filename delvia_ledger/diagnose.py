"""Diagnose one code step by step, in troubleshooting order: known, live, right post, region."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from .checks import EXPIRED, NOT_YET_ACTIVE, REVOKED, Auth, Checks
from .convert import to_micros
from .errors import TikTokAPIError
from .findings import CONNECTION_KINDS, Finding, FindingKind, Severity
from .records import AUTHORIZED, SparkAuthorization, SparkCode, fingerprint_of
from .storage import Equals
from .tiktok import Item

__all__ = [
    "Diagnosis",
    "Step",
    "StepStatus",
    "about_the_connection",
    "diagnose",
    "diagnose_at_tiktok",
]

#: A live code that ends this soon is EXPIRING in a diagnosis (DESIGN §7); compared as a
#: difference, so a "now" near the end of time cannot overflow.
_WARN_WITHIN = timedelta(days=7)


def about_the_connection(error: TikTokAPIError) -> bool:
    """True when a refusal says nothing about the code asked about: the token, a missing
    scope, throttling or an outage past the retries, or no usable answer at all (an HTTP
    status or a network failure instead of TikTok's own code)."""
    explanation = error.explanation
    if explanation is not None:
        return explanation.kind in CONNECTION_KINDS
    code = str(error.code).strip()
    return not code.lstrip("-").isdigit()  # "HTTP 429", "network", …


class StepStatus(StrEnum):
    PASSED = "ok"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    NOT_CHECKED = "not checked"


@attrs.frozen
class Step:
    """One step of a diagnosis: its name, its status and what it found."""

    name: str
    status: StepStatus
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.name:<10} {self.status}" + (f" — {self.detail}" if self.detail else "")


@attrs.frozen
class Diagnosis:
    """The result of :meth:`Ledger.diagnose`; ``print()`` it for a short report."""

    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]
    authorization: SparkAuthorization | None

    @property
    def ok(self) -> bool:
        """True only if every step passed ("not checked" and "unconfirmed" do not)."""
        return all(step.status is StepStatus.PASSED for step in self.steps)

    def __str__(self) -> str:
        code = f"code {self.authorization.code.hint}" if self.authorization else "code"
        lines = [f"{code}: {'OK' if self.ok else 'NOT OK'}", *(f"  {s}" for s in self.steps)]
        lines += [f"  → {f}" for f in self.findings]
        return "\n".join(lines)


def diagnose(
    checks: Checks,
    code: str | SparkCode,
    authorization: SparkAuthorization | None,
    post_id: str | None = None,
    ad_account_id: str | None = None,
) -> Diagnosis:
    """Run the four steps for one code (``authorization`` is what the ledger holds for it)."""
    if authorization is None:
        skipped = tuple(Step(name, StepStatus.NOT_CHECKED) for name in ("live", "post", "region"))
        return Diagnosis(
            (Step("known", StepStatus.FAILED, "not in the ledger"), *skipped),
            (_unknown(code),),
            None,
        )

    a = authorization
    [auth] = checks.auths(Equals("id", a.id))
    steps = [Step("known", StepStatus.PASSED, f"authorization {a.id}")]
    found: list[Finding] = []

    def fail(kind: FindingKind, deadline: int | None = None, detail: str = "") -> None:
        found.append(checks.finding(kind, Severity.ERROR, auth, deadline, detail=detail))

    account = ad_account_id or a.ad_account_id
    state = checks.state(auth)
    if state == REVOKED:
        steps.append(
            Step("live", StepStatus.FAILED, f"revoked at {a.revoked_at:%Y-%m-%d %H:%M} UTC")
        )
        fail(FindingKind.REVOKED, auth.revoked_at)
    elif state == EXPIRED:
        steps.append(
            Step("live", StepStatus.FAILED, f"expired at {a.expires_at:%Y-%m-%d %H:%M} UTC")
        )
        fail(FindingKind.EXPIRED, auth.expires_at)
    elif state == NOT_YET_ACTIVE:
        steps.append(Step("live", StepStatus.FAILED, f"starts at {a.starts_at:%Y-%m-%d %H:%M} UTC"))
        fail(FindingKind.NOT_YET_ACTIVE, auth.starts_at)
    else:
        problems = _what_tiktok_reports(checks, auth, account)
        for kind, deadline, detail in problems:
            found.append(
                checks.finding(
                    kind, Severity.ERROR, auth, deadline, ad_account_id=account, detail=detail
                )
            )
        if problems:
            steps.append(Step("live", StepStatus.FAILED, "; ".join(p[2] for p in problems)))
        else:
            steps.append(
                Step("live", StepStatus.PASSED, f"valid until {a.expires_at:%Y-%m-%d %H:%M} UTC")
            )
        if auth.expires_at - to_micros(checks.now) <= _WARN_WITHIN // timedelta(microseconds=1):
            found.append(
                checks.finding(FindingKind.EXPIRING, Severity.WARNING, auth, auth.expires_at)
            )

    if post_id is None:
        steps.append(Step("post", StepStatus.NOT_CHECKED, "no post given"))
    elif post_id == a.post_id:
        steps.append(Step("post", StepStatus.PASSED, f"post {post_id}"))
    else:
        steps.append(
            Step("post", StepStatus.FAILED, f"code is for post {a.post_id}, not {post_id}")
        )
        fail(FindingKind.WRONG_POST, detail=f"expected post {post_id}, code is for {a.post_id}")

    if account is None:
        steps.append(Step("region", StepStatus.NOT_CHECKED, "no ad account given or bound"))
    elif account not in checks.accounts:
        steps.append(
            Step("region", StepStatus.NOT_CHECKED, f"ad account {account} is not recorded")
        )
    else:
        finding = checks.region_finding(auth, account)
        if finding is None:
            steps.append(Step("region", StepStatus.PASSED, f"account {account}"))
        elif finding.kind is FindingKind.REGION_INCOMPATIBLE:
            steps.append(Step("region", StepStatus.FAILED, finding.detail))
            found.append(finding)
        else:
            steps.append(Step("region", StepStatus.UNCONFIRMED, finding.detail))
            found.append(finding)
    return Diagnosis(tuple(steps), tuple(found), a)


def _unknown(code: str | SparkCode, detail: str = "") -> Finding:
    fingerprint = code.fingerprint if isinstance(code, SparkCode) else fingerprint_of(code)
    return Finding(
        kind=FindingKind.UNKNOWN_CODE,
        severity=Severity.ERROR,
        detail=detail or f"fingerprint {fingerprint[:12]}…",
    )


def diagnose_at_tiktok(
    checks: Checks,
    code: str,
    answer: Item | TikTokAPIError,
    post_id: str | None,
    ad_account_id: str,
) -> Diagnosis:
    """Diagnose a code the ledger does not hold from what ``/tt_video/info/`` said of it.

    ``answer`` is TikTok's item for the code in ``ad_account_id``, or its refusal. The
    "known" step fails (the ledger should hold every code in use: record it or sync); the
    live and post steps are decided from TikTok's answer. The region step is not checked:
    TikTok reports no creator region.
    """
    known = Step("known", StepStatus.FAILED, "not in the ledger; asked TikTok")
    region = Step("region", StepStatus.NOT_CHECKED, "TikTok reports no creator region")
    if isinstance(answer, TikTokAPIError):
        said = f"TikTok refused it: {answer.code} {_message(answer)}".rstrip()
        explanation = answer.explanation
        found = [_unknown(code, "not in the ledger")]
        if explanation is not None:
            found.append(Finding(kind=explanation.kind, severity=Severity.ERROR, detail=said))
        live = Step("live", StepStatus.FAILED, said)
        return Diagnosis(
            (known, live, Step("post", StepStatus.NOT_CHECKED), region), tuple(found), None
        )

    a, t = answer.authorization, checks.now

    def finding(kind: FindingKind, deadline: datetime | None = None, detail: str = "") -> Finding:
        severity = Severity.WARNING if kind is FindingKind.EXPIRING else Severity.ERROR
        return Finding(
            kind=kind,
            severity=severity,
            deadline=deadline,
            post_id=a.post_id,
            ad_account_id=ad_account_id,
            detail=detail,
        )

    found = [_unknown(code, f"TikTok knows it: post {a.post_id}; record it or sync")]
    problems: list[tuple[FindingKind, datetime | None, str]] = []
    if a.expires_at <= t:  # TikTok's answer, not a recorded code: its revocation is not checked
        problems.append(
            (FindingKind.EXPIRED, a.expires_at, f"expired at {a.expires_at:%Y-%m-%d %H:%M} UTC")
        )
    elif a.starts_at > t:
        problems.append(
            (FindingKind.NOT_YET_ACTIVE, a.starts_at, f"starts at {a.starts_at:%Y-%m-%d %H:%M} UTC")
        )
    if answer.post.unavailable:
        problems.append(
            (FindingKind.POST_UNAVAILABLE, None, f"post {a.post_id} deleted or removed")
        )
    if answer.tiktok_status not in (None, AUTHORIZED):
        detail = f"TikTok reports {answer.tiktok_status} in account {ad_account_id}"
        problems.append((FindingKind.NOT_AUTHORIZED, None, detail))
    for kind, deadline, detail in problems:
        found.append(finding(kind, deadline, detail))
    live = (
        Step("live", StepStatus.FAILED, "; ".join(p[2] for p in problems))
        if problems
        else Step("live", StepStatus.PASSED, f"valid until {a.expires_at:%Y-%m-%d %H:%M} UTC")
    )
    if not problems and a.expires_at - t <= _WARN_WITHIN:
        found.append(finding(FindingKind.EXPIRING, a.expires_at))
    if post_id is None:
        post = Step("post", StepStatus.NOT_CHECKED, "no post given")
    elif post_id == a.post_id:
        post = Step("post", StepStatus.PASSED, f"post {post_id}")
    else:
        post = Step("post", StepStatus.FAILED, f"code is for post {a.post_id}, not {post_id}")
        detail = f"expected post {post_id}, code is for {a.post_id}"
        found.append(finding(FindingKind.WRONG_POST, detail=detail))
    return Diagnosis((known, live, post, region), tuple(found), None)


def _message(error: TikTokAPIError) -> str:
    """TikTok's message without the "(GET tt_video/info/ …)" the client adds."""
    return error.message.split(" (GET ", 1)[0]


def _what_tiktok_reports(
    checks: Checks, auth: Auth, account: str | None
) -> list[tuple[FindingKind, int | None, str]]:
    """What TikTok last reported against a code live by its window: its post deleted or
    removed, and — in ``account`` — its binding unbound or not AUTHORIZED. What TikTok never
    reported (no post status, no binding record) fails nothing."""
    problems: list[tuple[FindingKind, int | None, str]] = []
    if auth.post_id in checks.unavailable_posts:
        problems.append(
            (FindingKind.POST_UNAVAILABLE, None, f"post {auth.post_id} deleted or removed")
        )
    if account is not None:
        unbound_at = checks.unbound.get((auth.id, account))
        if unbound_at is not None:
            problems.append((FindingKind.UNBOUND, unbound_at, f"unbound from account {account}"))
        else:
            for b in checks.bindings(Equals("id", f"{auth.id}@{account}")):
                if checks.is_bound(b) and b.tiktok_status not in (None, AUTHORIZED):
                    problems.append(
                        (
                            FindingKind.NOT_AUTHORIZED,
                            None,
                            f"TikTok reports {b.tiktok_status} in account {account}",
                        )
                    )
    return problems
