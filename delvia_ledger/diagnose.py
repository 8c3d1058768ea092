"""Diagnose one code step by step, in troubleshooting order: known, live, right post, region."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

import attrs

from .checks import Auth, Checks
from .convert import to_micros
from .findings import Finding, FindingKind, Severity
from .records import AUTHORIZED, SparkAuthorization, SparkCode, fingerprint_of

__all__ = ["Diagnosis", "Step", "StepStatus", "diagnose"]


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
        fingerprint = code.fingerprint if isinstance(code, SparkCode) else fingerprint_of(code)
        unknown = Finding(
            kind=FindingKind.UNKNOWN_CODE,
            severity=Severity.ERROR,
            detail=f"fingerprint {fingerprint[:12]}…",
        )
        skipped = tuple(Step(name, StepStatus.NOT_CHECKED) for name in ("live", "post", "region"))
        return Diagnosis(
            (Step("known", StepStatus.FAILED, "not in the ledger"), *skipped), (unknown,), None
        )

    a = authorization
    [auth] = checks.auths("v.id = ?", (a.id,))
    t = checks.t
    steps = [Step("known", StepStatus.PASSED, f"authorization {a.id}")]
    found: list[Finding] = []

    def fail(kind: FindingKind, deadline: int | None = None, detail: str = "") -> None:
        found.append(checks.finding(kind, Severity.ERROR, auth, deadline, detail=detail))

    account = ad_account_id or a.ad_account_id
    if auth.revoked_at is not None and auth.revoked_at <= t:
        steps.append(
            Step("live", StepStatus.FAILED, f"revoked at {a.revoked_at:%Y-%m-%d %H:%M} UTC")
        )
        fail(FindingKind.REVOKED, auth.revoked_at)
    elif auth.expires_at <= t:
        steps.append(
            Step("live", StepStatus.FAILED, f"expired at {a.expires_at:%Y-%m-%d %H:%M} UTC")
        )
        fail(FindingKind.EXPIRED, auth.expires_at)
    elif auth.starts_at > t:
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
        if auth.expires_at <= to_micros(checks.now + timedelta(days=7)):
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
            for b in checks.bindings("v.id = ?", (f"{auth.id}@{account}",)):
                if checks.is_bound(b) and b.tiktok_status not in (None, AUTHORIZED):
                    problems.append(
                        (
                            FindingKind.NOT_AUTHORIZED,
                            None,
                            f"TikTok reports {b.tiktok_status} in account {account}",
                        )
                    )
    return problems
