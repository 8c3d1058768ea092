"""dl.plot: the expiry timeline (labels, states from the checks, today) and findings by kind."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import delvia_ledger as dl
from delvia_ledger.demo import sample_records
from delvia_ledger.plot import (
    FADED,
    LIVE,
    SEVERITY_COLOURS,
    STATE_COLOURS,
    code_states,
)

from .conftest import T0


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture
def sample(ledger: dl.Ledger) -> dl.Ledger:
    ledger.record_all(sample_records(T0))
    return ledger


def bars(ax: Axes) -> list[Rectangle]:
    return [bar for container in ax.containers for bar in container]


day: Callable[[datetime], float] = mdates.date2num  # matplotlib's date unit


def labels(ax: Axes) -> list[str]:
    return [label.get_text() for label in ax.get_yticklabels()]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def test_one_bar_per_code_from_start_to_expiry_soonest_first(sample: dl.Ledger) -> None:
    ax = dl.plot.timeline(sample)
    assert isinstance(ax, Axes)
    auths = sorted(sample.records(dl.SparkAuthorization), key=lambda a: a.expires_at)
    drawn = bars(ax)
    assert len(drawn) == len(auths) == 9
    for bar, auth in zip(drawn, auths, strict=True):
        assert bar.get_x() == pytest.approx(day(auth.starts_at))
        assert bar.get_x() + bar.get_width() == pytest.approx(day(auth.expires_at))
    rows = [bar.get_y() + bar.get_height() / 2 for bar in drawn]
    assert rows == sorted(rows)
    assert ax.yaxis_inverted()  # the first row, the soonest expiry, is at the top


def test_labels_name_the_creator_handle_and_post_never_an_id_hash(sample: dl.Ledger) -> None:
    ax = dl.plot.timeline(sample)
    auths = sorted(sample.records(dl.SparkAuthorization), key=lambda a: a.expires_at)
    shown = labels(ax)
    for label, auth in zip(shown, auths, strict=True):
        creator = sample.get(dl.Creator, auth.creator_id)
        assert creator is not None and creator.handle
        assert label.startswith(f"@{creator.handle.lstrip('@')} · post {auth.post_id}")
        assert auth.id not in label and auth.code.fingerprint[:8] not in label
    assert len(set(shown)) == len(shown), "two codes of one post are told apart by their hint"
    twins = [label for label in shown if " · code " in label]
    assert twins and all(label.count("…") == 1 for label in twins)


@pytest.mark.skipif(
    attrs.fields_dict(dl.Creator)["handle"].default is attrs.NOTHING,
    reason="Creator.handle is still required in this version",
)
def test_a_creator_without_handle_is_labelled_by_display_name_or_id(ledger: dl.Ledger) -> None:
    ledger.record_all(
        [
            dl.Creator(id="c1", handle=None, display_name="Maya M", region="US"),
            dl.Creator(id="c2", handle=None, region="US"),
            dl.Post(id="p1", creator_id="c1", kind="VIDEO"),
            dl.Post(id="p2", creator_id="c2", kind="VIDEO"),
            *(
                dl.SparkAuthorization.from_code(
                    f"#code-{n}-abcd=",
                    creator_id=f"c{n}",
                    post_id=f"p{n}",
                    starts_at=T0 - timedelta(days=1),
                    expires_at=T0 + timedelta(days=n * 40),
                )
                for n in (1, 2)
            ),
        ]
    )
    assert labels(dl.plot.timeline(ledger)) == ["Maya M · post p1", "creator c2 · post p2"]


def test_bars_are_coloured_by_the_checks_own_verdicts(sample: dl.Ledger) -> None:
    ax = dl.plot.timeline(sample, within="14d")
    states = code_states(sample.findings(within="14d"))
    auths = sorted(sample.records(dl.SparkAuthorization), key=lambda a: a.expires_at)
    for bar, auth in zip(bars(ax), auths, strict=True):
        state, severity = states.get(auth.id, (LIVE, None))
        alpha = FADED if severity == dl.Severity.INFO else 1.0
        assert bar.get_facecolor() == to_rgba(STATE_COLOURS[state], alpha), auth.id
    # the demo's codes are one of each state; each state's verdict is the checks'
    by_id = {auth.id: state for auth in auths for state in [states.get(auth.id, (LIVE,))[0]]}
    assert by_id == {
        "auth_expired": "expired",
        "auth_expiring": "expiring",
        "auth_future": "expiring",  # not yet active (INFO), but ends within 14 days (WARNING)
        "auth_revoked": "revoked",
        "auth_live": LIVE,
        "auth_unbound": "unbound",
        "auth_removed": "post removed",
        "auth_region": LIVE,
        "auth_wrong_post": LIVE,
    }


def test_the_worst_finding_decides_a_codes_state(sample: dl.Ledger) -> None:
    within_a_day = code_states(sample.findings(within="1d"))
    assert within_a_day["auth_future"] == ("not yet active", dl.Severity.INFO)
    within_two_weeks = code_states(sample.findings(within="14d"))
    assert within_two_weeks["auth_future"] == ("expiring", dl.Severity.WARNING)
    assert within_two_weeks["auth_revoked"] == ("revoked", dl.Severity.ERROR)
    assert "auth_live" not in within_two_weeks


def test_state_colours_follow_the_severity_colours() -> None:
    assert STATE_COLOURS["expired"] == SEVERITY_COLOURS[dl.Severity.ERROR]
    assert STATE_COLOURS["expiring"] == SEVERITY_COLOURS[dl.Severity.WARNING]
    assert STATE_COLOURS["not yet active"] == SEVERITY_COLOURS[dl.Severity.INFO]
    assert len(set(STATE_COLOURS.values())) == len(STATE_COLOURS)


def test_the_horizon_decides_what_is_expiring(sample: dl.Ledger) -> None:
    short = [bar.get_facecolor() for bar in bars(dl.plot.timeline(sample, within="1d"))]
    long = [bar.get_facecolor() for bar in bars(dl.plot.timeline(sample, within="60d"))]
    orange = to_rgba(STATE_COLOURS["expiring"])
    assert short.count(orange) == 0 < long.count(orange)


def test_today_is_a_line_in_the_legend(sample: dl.Ledger) -> None:
    ax = dl.plot.timeline(sample, now="2026-11-25T12:00:00Z")
    today = day(T0 + timedelta(days=1, hours=3))
    assert [line for line in ax.get_lines() if np.asarray(line.get_xdata()).tolist() == [today] * 2]
    texts = legend_texts(ax)
    assert "today (2026-11-25 12:00 UTC)" in texts
    assert {"expired", "expiring", "revoked", "live"} <= set(texts)


def test_with_many_codes_the_limit_keeps_those_needing_action(ledger: dl.Ledger) -> None:
    ledger.record_all(list(sample_records(T0)))
    ledger.record_all(
        [
            dl.SparkAuthorization.from_code(
                f"#spare-code-{n:03d}=",
                creator_id="7000000000000000001",
                post_id="7301000000000000001",
                starts_at=T0 - timedelta(days=5),
                expires_at=T0 + timedelta(days=100 + n),
            )
            for n in range(40)
        ]
    )
    ax = dl.plot.timeline(ledger, limit=10)
    assert len(bars(ax)) == 10
    assert "(10 of 49 codes)" in ax.get_title()
    kept = labels(ax)
    assert any(label.startswith("@leo.cooks") for label in kept)  # the expired one, with an ad
    assert any(label.startswith("@ana.trains") for label in kept)  # the revoked one, with an ad
    with pytest.raises(ValueError, match="limit=0"):
        dl.plot.timeline(ledger, limit=0)


def test_an_empty_ledger_still_draws_today(ledger: dl.Ledger) -> None:
    ax = dl.plot.timeline(ledger)
    assert bars(ax) == [] and labels(ax) == []
    assert any(text.startswith("today") for text in legend_texts(ax))
    assert "(0 codes)" in ax.get_title()


def test_it_draws_into_the_axes_given(sample: dl.Ledger) -> None:
    _, (left, right) = plt.subplots(1, 2)
    assert dl.plot.timeline(sample, ax=left) is left
    assert dl.plot.findings(sample, ax=right) is right
    assert len(bars(left)) == 9


def test_findings_by_kind_counts_in_whole_numbers_by_severity(sample: dl.Ledger) -> None:
    found = sample.findings(within="30d")
    ax = dl.plot.findings(found)
    segments = bars(ax)
    kinds = labels(ax)
    totals: Counter[str] = Counter()
    colours = {to_rgba(colour): severity for severity, colour in SEVERITY_COLOURS.items()}
    by_severity: Counter[tuple[str, dl.Severity]] = Counter()
    for bar in segments:
        row = kinds[round(bar.get_y() + bar.get_height() / 2)]
        totals[row] += int(bar.get_width())
        by_severity[(row, colours[to_rgba(bar.get_facecolor())])] += int(bar.get_width())
    assert totals == Counter(f.kind.value for f in found)
    assert +by_severity == Counter((f.kind.value, f.severity) for f in found)
    assert all(float(tick).is_integer() for tick in ax.get_xticks())
    assert kinds[0] in {f.kind.value for f in found if f.severity == dl.Severity.ERROR}
    assert set(legend_texts(ax)) == {s.value for s in {f.severity for f in found}}


def test_findings_by_kind_from_a_ledger_and_from_none(sample: dl.Ledger) -> None:
    assert len(labels(dl.plot.findings(sample, within="30d"))) == len(
        {f.kind for f in sample.findings(within="30d")}
    )
    empty = dl.plot.findings([])
    assert bars(empty) == [] and all(float(t).is_integer() for t in empty.get_xticks())


def test_the_rendered_png_is_a_picture(sample: dl.Ledger, tmp_path: Path) -> None:
    ax = dl.plot.timeline(sample)
    target = tmp_path / "timeline.png"
    figure = ax.figure
    assert isinstance(figure, Figure)
    figure.savefig(target)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_importing_delvia_ledger_does_not_import_matplotlib() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, delvia_ledger; print('matplotlib' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_without_matplotlib_the_error_says_how_to_install_it(
    sample: dl.Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == "matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"matplotlib.* pip install 'delvia-ledger\[notebooks\]'"):
        dl.plot.timeline(sample)
