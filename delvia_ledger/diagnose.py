"""Diagnose one code step by step, in troubleshooting order: known, live, right post, region."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

import attrs

from .checks import Checks
from .convert import to_micros
from .findings import Finding, FindingKind, Severity
from .records import SparkAuthorization, SparkCode, fingerprint_of

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

    account = ad_account_id or a.ad_account_id
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
