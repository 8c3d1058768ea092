"""Diagnose one code step by step, in troubleshooting order: known, live, right post, region."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from .checks import Checks
from .convert import from_micros, readable_time
from .errors import TikTokAPIError
from .findings import CONNECTION_KINDS, Finding, FindingKind, Severity
from .records import (
    AdAccount,
    Creator,
    Person,
    Post,
    Record,
    SparkAuthorization,
    SparkBinding,
    SparkCode,
    binding_id,
    fingerprint_of,
    repairs_of,
)
from .rules import EXPIRED, NOT_YET_ACTIVE, REVOKED, Auth, Binding
from .storage import row_of
from .tiktok import Item
from .world import World

__all__ = [
    "Diagnosis",
    "Step",
    "StepStatus",
    "Suggestion",
    "about_the_connection",
    "diagnose",
    "diagnose_at_tiktok",
]

#: A live code that ends this soon is EXPIRING in a diagnosis (DESIGN §7); in µs, added to
#: now as an integer, so a "now" near the end of time cannot overflow.
_WARN_MICROS = timedelta(days=7) // timedelta(microseconds=1)


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
class Suggestion:
    """A recorded code an unknown one probably was before a form or a link mangled it ("did
    you mean"): the recorded authorization, and what was repaired in words. It shows the
    recorded code's hint only, never a character of the code typed."""

    authorization: SparkAuthorization
    note: str

    def __str__(self) -> str:
        a = self.authorization
        return (
            f"did you mean the code {a.code.hint} (recorded for post {a.post_id}, creator "
            f"{a.creator_id})? {self.note}"
        )


@attrs.frozen
class Diagnosis:
    """The result of :meth:`Ledger.diagnose`; ``print()`` it for a short report.
    ``suggestions`` are the recorded codes an unknown code probably was ("did you mean")."""

    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]
    authorization: SparkAuthorization | None
    suggestions: tuple[Suggestion, ...] = ()

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
    world: World,
    code: str | SparkCode,
    post_id: str | None = None,
    ad_account_id: str | None = None,
) -> Diagnosis:
    """Run the four steps for one code, from one state of the ledger: run it inside one storage
    snapshot. Three reads: the code by its fingerprint, its neighbours (post, creator, owner,
    ad account, binding) at once, and the region rules when the region step runs. A raw code
    the ledger does not hold costs one more read: its repaired variants' fingerprints, all at
    once, for a "did you mean" (:func:`~delvia_ledger.records.repairs_of`)."""
    fingerprint = code.fingerprint if isinstance(code, SparkCode) else fingerprint_of(code)
    held = world.store.authorization_by_fingerprint(fingerprint, world.bound)
    if held is None:
        skipped = tuple(Step(name, StepStatus.NOT_CHECKED) for name in ("live", "post", "region"))
        suggestions = () if isinstance(code, SparkCode) else _suggest(world, code)
        said = "; ".join(str(s) for s in suggestions)
        hints = ", ".join(s.authorization.code.hint for s in suggestions)
        known = "not in the ledger" + (f"; did you mean the code {hints}?" if hints else "")
        return Diagnosis(
            (Step("known", StepStatus.FAILED, known), *skipped),
            (_unknown(code, f"fingerprint {fingerprint[:12]}…; {said}" if said else ""),),
            None,
            suggestions,
        )
    seq, a = held
    account = ad_account_id or a.ad_account_id
    wanted: list[tuple[type[Record], str]] = [(Post, a.post_id), (Creator, a.creator_id)]
    wanted += [(Person, a.owner_id)] if a.owner_id is not None else []
    if account is not None:
        wanted += [(AdAccount, account), (SparkBinding, binding_id(a.id, account))]
    around = world.store.latest_records(wanted, world.bound)
    checks = Checks(world.knowing(around.values()))
    auth = Auth(*row_of(seq, a, Auth._fields))
    binding = around.get((SparkBinding, binding_id(a.id, account))) if account else None
    steps = [Step("known", StepStatus.PASSED, f"authorization {a.id}")]
    found: list[Finding] = []

    def fail(kind: FindingKind, deadline: int | None = None, detail: str = "") -> None:
        found.append(checks.finding(kind, Severity.ERROR, auth, deadline, detail=detail))

    state = world.state(auth)
    if state == REVOKED:
        steps.append(Step("live", StepStatus.FAILED, f"revoked at {_at(auth.revoked_at)}"))
        fail(FindingKind.REVOKED, auth.revoked_at)
    elif state == EXPIRED:
        steps.append(Step("live", StepStatus.FAILED, f"expired at {_at(auth.expires_at)}"))
        fail(FindingKind.EXPIRED, auth.expires_at)
    elif state == NOT_YET_ACTIVE:
        steps.append(Step("live", StepStatus.FAILED, f"starts at {_at(auth.starts_at)}"))
        fail(FindingKind.NOT_YET_ACTIVE, auth.starts_at)
    else:
        problems = _what_tiktok_reports(world, auth, account, binding)
        for kind, deadline, detail in problems:
            found.append(
                checks.finding(
                    kind, Severity.ERROR, auth, deadline, ad_account_id=account, detail=detail
                )
            )
        if problems:
            steps.append(Step("live", StepStatus.FAILED, "; ".join(p[2] for p in problems)))
        else:
            steps.append(Step("live", StepStatus.PASSED, f"valid until {_at(auth.expires_at)}"))
        if world.expiring_by(world.t + _WARN_MICROS)(auth):
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
    elif account not in world.accounts:
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


def _suggest(world: World, raw: str) -> tuple[Suggestion, ...]:
    """The recorded codes ``raw`` probably was before form decoding or percent-encoding
    mangled it: its repaired variants' fingerprints, looked up in one read (none without a
    repair). Nothing raw is kept or returned."""
    repairs = repairs_of(raw)
    if not repairs:
        return ()
    held = world.store.authorizations_by_fingerprint([r.fingerprint for r in repairs], world.bound)
    return tuple(
        Suggestion(held[r.fingerprint][1], r.note) for r in repairs if r.fingerprint in held
    )


def _at(micros: int | None) -> str:
    """A time of the code's row as the steps print it."""
    return readable_time(from_micros(micros or 0))


def _unknown(code: str | SparkCode, detail: str = "") -> Finding:
    fingerprint = code.fingerprint if isinstance(code, SparkCode) else fingerprint_of(code)
    return Finding(
        kind=FindingKind.UNKNOWN_CODE,
        severity=Severity.ERROR,
        detail=detail or f"fingerprint {fingerprint[:12]}…",
    )


def diagnose_at_tiktok(
    world: World,
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

    a = answer.authorization

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
    auth = Auth(*row_of(0, a, Auth._fields))  # TikTok's answer: no revocation recorded
    state = world.state(auth)
    if state == EXPIRED:
        problems.append((FindingKind.EXPIRED, a.expires_at, f"expired at {_at(auth.expires_at)}"))
    elif state == NOT_YET_ACTIVE:
        detail = f"starts at {_at(auth.starts_at)}"
        problems.append((FindingKind.NOT_YET_ACTIVE, a.starts_at, detail))
    if world.gone((answer.post.status,)):
        problems.append(
            (FindingKind.POST_UNAVAILABLE, None, f"post {a.post_id} deleted or removed")
        )
    if world.refuses((answer.tiktok_status,)):
        detail = f"TikTok reports {answer.tiktok_status} in account {ad_account_id}"
        problems.append((FindingKind.NOT_AUTHORIZED, None, detail))
    for kind, deadline, detail in problems:
        found.append(finding(kind, deadline, detail))
    live = (
        Step("live", StepStatus.FAILED, "; ".join(p[2] for p in problems))
        if problems
        else Step("live", StepStatus.PASSED, f"valid until {_at(auth.expires_at)}")
    )
    if not problems and world.expiring_by(world.t + _WARN_MICROS)(auth):
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
    world: World, auth: Auth, account: str | None, held: tuple[int, Record] | None
) -> list[tuple[FindingKind, int | None, str]]:
    """What TikTok last reported against a code live by its window: its post deleted or
    removed, and — in ``account`` — its binding (``held``: its seq and record) unbound or not
    AUTHORIZED. What TikTok never reported (no post status, no binding record) fails nothing."""
    problems: list[tuple[FindingKind, int | None, str]] = []
    if auth.post_id in world.unavailable_posts:
        problems.append(
            (FindingKind.POST_UNAVAILABLE, None, f"post {auth.post_id} deleted or removed")
        )
    if held is not None:
        binding = Binding(*row_of(*held, Binding._fields))
        if world.is_unbound(binding):
            detail = f"unbound from account {account}"
            problems.append((FindingKind.UNBOUND, binding.unbound_at, detail))
        elif world.refused(binding):
            detail = f"TikTok reports {binding.tiktok_status} in account {account}"
            problems.append((FindingKind.NOT_AUTHORIZED, None, detail))
    return problems
