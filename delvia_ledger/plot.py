"""Plots for notebooks: the expiry timeline of the codes and the findings by kind (``dl.plot``).

matplotlib is an optional extra (``pip install 'delvia-ledger[notebooks]'``), imported on first use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from .checks import Within, horizon
from .convert import readable_time
from .dataframes import notebooks_extra
from .findings import Finding, FindingKind, Severity
from .ledger import LedgerView
from .records import Creator, SparkAuthorization

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "FADED",
    "LIVE",
    "PLOT_WITHIN",
    "SEVERITY_COLOURS",
    "STATE_COLOURS",
    "STATE_OF_KIND",
    "code_states",
    "findings",
    "timeline",
]

#: The horizon the plots use unless told otherwise.
PLOT_WITHIN = "30d"

#: One colour per severity; the states below take the colour of the severity they usually carry.
SEVERITY_COLOURS = {
    Severity.ERROR: "#d62728",
    Severity.WARNING: "#ff7f0e",
    Severity.INFO: "#1f77b4",
}

#: A code's state on the timeline is the one its own finding of these kinds gives, if any.
STATE_OF_KIND = {
    FindingKind.REVOKED: "revoked",
    FindingKind.EXPIRED: "expired",
    FindingKind.POST_UNAVAILABLE: "post removed",
    FindingKind.NOT_AUTHORIZED: "not authorized",
    FindingKind.UNBOUND: "unbound",
    FindingKind.EXPIRING: "expiring",
    FindingKind.NOT_YET_ACTIVE: "not yet active",
}
#: The state of a code with none of those findings.
LIVE = "live"

#: One colour per state, in the legend's order (worst first).
STATE_COLOURS = {
    "revoked": "#7b1113",
    "expired": SEVERITY_COLOURS[Severity.ERROR],
    "post removed": "#8c564b",
    "not authorized": "#9467bd",
    "unbound": "#e377c2",
    "expiring": SEVERITY_COLOURS[Severity.WARNING],
    "not yet active": SEVERITY_COLOURS[Severity.INFO],
    LIVE: "#2ca02c",
}
#: Bars of codes whose finding is only INFO (no running ad affected) are drawn faded.
FADED = 0.35


def code_states(found: Iterable[Finding]) -> dict[str, tuple[str, Severity]]:
    """Authorization id -> (state, severity of the finding that decided it), from the checks.

    A code's worst finding of the kinds in :data:`STATE_OF_KIND` decides (on a tie, the first
    kind listed): a code not yet active whose window also ends within the horizon is expiring.
    Codes absent from the result are live.
    """
    ranks = {kind: rank for rank, kind in enumerate(STATE_OF_KIND)}
    deciding: dict[str, Finding] = {}
    for finding in found:
        if finding.kind in ranks and finding.authorization_id is not None:
            held = deciding.get(finding.authorization_id)
            if held is None or (finding.severity.rank, ranks[finding.kind]) < (
                held.severity.rank,
                ranks[held.kind],
            ):
                deciding[finding.authorization_id] = finding
    return {id_: (STATE_OF_KIND[f.kind], f.severity) for id_, f in deciding.items()}


def timeline(
    ledger: LedgerView,
    *,
    now: datetime | str | None = None,
    within: Within = PLOT_WITHIN,
    limit: int = 30,
    ax: Axes | None = None,
) -> Axes:
    """One bar per code from start to expiry, labelled by creator and post, coloured by state.

    The state is the checks' own verdict at ``now`` (expiring means within ``within``); a dashed
    line marks today. With more than ``limit`` codes, those needing action come first, then the
    ones expiring nearest to today; the bars are drawn soonest expiry at the top.
    """
    with notebooks_extra():
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

    if limit < 1:
        raise ValueError(f"timeline(limit={limit!r}): show at least one code")
    moment = ledger.checks(now).now
    end_of_horizon = horizon(moment, within)
    states = code_states(ledger.findings(within, now=moment))
    auths = list(ledger.records(SparkAuthorization))

    def state_of(auth: SparkAuthorization) -> tuple[str, Severity | None]:
        return states.get(auth.id, (LIVE, None))

    def urgency(auth: SparkAuthorization) -> tuple[int, float]:
        # needing action first (ERROR, WARNING), then live codes, then the merely informative
        rank = {Severity.ERROR: 0, Severity.WARNING: 1, None: 2, Severity.INFO: 3}[
            state_of(auth)[1]
        ]
        return rank, abs((auth.expires_at - moment).total_seconds())

    shown = sorted(sorted(auths, key=urgency)[:limit], key=lambda a: (a.expires_at, a.id))
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 1.6 + 0.34 * max(len(shown), 3)), layout="constrained")
    day: Callable[[datetime], float] = mdates.date2num  # matplotlib's date axis unit
    for row, auth in enumerate(shown):
        state, severity = state_of(auth)
        ax.barh(
            row,
            day(auth.expires_at) - day(auth.starts_at),
            left=day(auth.starts_at),
            height=0.6,
            color=STATE_COLOURS[state],
            alpha=FADED if severity == Severity.INFO else 1.0,
        )
        ended = f"revoked {auth.revoked_at:%Y-%m-%d}" if auth.revoked_at else ""
        ax.annotate(
            f"{auth.expires_at:%Y-%m-%d}" + (f" ({ended})" if state == "revoked" else ""),
            (day(auth.expires_at), row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color="dimgrey",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5},
        )
    first = min([day(moment), *(day(auth.starts_at) for auth in shown)])
    last = max([day(end_of_horizon), *(day(auth.expires_at) for auth in shown)])
    ax.set_xlim(first - 0.03 * (last - first), last + 0.18 * (last - first))  # room for dates
    ax.set_yticks(range(len(shown)), _labels(ledger, shown))
    ax.set_ylim(max(len(shown), 1) - 0.5, -0.5)  # soonest expiry at the top
    if not shown:
        ax.text(0.5, 0.5, "no authorizations recorded", transform=ax.transAxes, ha="center")
    ax.axvspan(day(moment), day(end_of_horizon), color=STATE_COLOURS["expiring"], alpha=0.08)
    ax.axvline(day(moment), color="black", linestyle="--", linewidth=1.2)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.grid(axis="x", alpha=0.3)

    present = {state_of(auth)[0] for auth in shown}
    handles: list[Patch | Line2D] = [
        Patch(color=colour, label=state)
        for state, colour in STATE_COLOURS.items()
        if state in present
    ]
    if any(state_of(auth)[1] == Severity.INFO for auth in shown):
        handles.append(Patch(color="grey", alpha=FADED, label="faded: no running ad affected"))
    handles.append(
        Line2D([], [], color="black", linestyle="--", label=f"today ({readable_time(moment)})")
    )
    handles.append(
        Patch(
            color=STATE_COLOURS["expiring"],
            alpha=0.15,
            label=f"expiry horizon (to {end_of_horizon:%Y-%m-%d})",
        )
    )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False
    )
    counted = f"{len(shown)} of {len(auths)}" if len(shown) < len(auths) else f"{len(auths)}"
    ax.set_title(f"Spark codes: start to expiry ({counted} codes)")
    return ax


def findings(
    source: LedgerView | Iterable[Finding],
    *,
    now: datetime | str | None = None,
    within: Within = PLOT_WITHIN,
    ax: Axes | None = None,
) -> Axes:
    """How many findings of each kind, one bar per kind split by severity (counts are whole).

    ``source`` is a ledger (its findings at ``now`` within ``within``) or findings at hand.
    """
    with notebooks_extra():
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

    found = source.findings(within, now=now) if isinstance(source, LedgerView) else list(source)
    counts = Counter((f.kind, f.severity) for f in found)
    worst: dict[FindingKind, int] = {}
    totals: Counter[FindingKind] = Counter()
    for (kind, severity), n in counts.items():
        worst[kind] = min(worst.get(kind, severity.rank), severity.rank)
        totals[kind] += n
    kinds = sorted(totals, key=lambda kind: (worst[kind], -totals[kind], kind.value))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 1.4 + 0.32 * max(len(kinds), 3)), layout="constrained")
    left = [0] * len(kinds)
    for severity in Severity:
        widths = [counts.get((kind, severity), 0) for kind in kinds]
        if any(widths):
            ax.barh(
                [k.value for k in kinds],
                widths,
                left=left,
                height=0.6,
                color=SEVERITY_COLOURS[severity],
                label=severity.value,
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
    for row, kind in enumerate(kinds):
        ax.annotate(
            str(totals[kind]),
            (totals[kind], row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.invert_yaxis()  # worst first, at the top
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(totals.values(), default=1) * 1.12)
    ax.set_xlabel("findings")
    if not kinds:
        ax.text(0.5, 0.5, "no findings", transform=ax.transAxes, ha="center")
        ax.set_yticks([])
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title(f"Findings by kind ({len(found)})")
    return ax


def _labels(ledger: LedgerView, auths: list[SparkAuthorization]) -> list[str]:
    """``@handle · post <id>`` (else the creator's name or id); a code's hint tells twins apart."""
    creators: dict[str, Creator | None] = {}
    labels = []
    for auth in auths:
        if auth.creator_id not in creators:
            creators[auth.creator_id] = ledger.get(Creator, auth.creator_id)
        labels.append(
            f"{_creator_name(creators[auth.creator_id], auth.creator_id)} · post {auth.post_id}"
        )
    twins = {label for label, n in Counter(labels).items() if n > 1}
    return [
        f"{label} · code {auth.code.hint}" if label in twins else label
        for label, auth in zip(labels, auths, strict=True)
    ]


def _creator_name(creator: Creator | None, creator_id: str) -> str:
    if creator is not None and creator.handle:
        return "@" + creator.handle.lstrip("@")
    if creator is not None and creator.display_name:
        return creator.display_name
    return f"creator {creator_id}"
