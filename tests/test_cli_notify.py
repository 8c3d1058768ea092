"""``delvia-ledger notify`` routes per person and mentions people; names stay on one line in
the report table (issue 23 item 6, issue 25 item 3). A real webhook over HTTP on 127.0.0.1."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import delvia_ledger as dl
from delvia_ledger.cli import main

from .builders import Hook

SECRET = "cli-route-secret-31"


@pytest.fixture
def demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db)]) in (0, 1)
    capsys.readouterr()
    return db


def test_notify_routes_a_person_to_their_own_hook_and_mentions_them(
    demo: Path, hook: Hook, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANA_HOOK", hook.url(f"/ana/{SECRET}"))
    code = main(
        ["notify", "--db", str(demo), "--route", "p_ana=ANA_HOOK", "--mention", "p_ana=U024BE7LH"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    ((path, body),) = hook.posts  # no team hook: only Ana, on her own
    assert path == f"/ana/{SECRET}"
    assert body["text"].startswith("<@U024BE7LH> *delvia-ledger: ")
    assert "slack to Ana Ortiz" in out and "not reached: Ben Okafor" in out
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--route", "p_ana"], "--route 'p_ana': give PERSON=VAR"),
        (["--route", "p_ana=NOT_SET_VAR_X"], "$NOT_SET_VAR_X is not set"),
        (["--route", f"p_ana=https://hooks.example/{SECRET}"], "never the URL"),
        (["--mention", "p_ana=U024BE7LH"], "--mention goes with --slack-webhook-env"),
        (
            ["--slack-webhook-env", "TEAM_HOOK", "--mention", "p_ana=<!channel>"],
            "must be a Slack member id",
        ),
    ],
)
def test_notify_refuses_bad_routes_and_mentions_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("TEAM_HOOK", f"https://hooks.example/{SECRET}")
    code = main(["notify", "--db", str(tmp_path / "none.db"), *args])
    out, err = capsys.readouterr()
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and SECRET not in out + err
    assert not (tmp_path / "none.db").exists()


def test_a_name_with_a_line_feed_cannot_fake_a_line_of_the_report(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with dl.Ledger.open(demo) as ledger:
        person = ledger.get(dl.Person, "p_ana")
        assert person is not None
        ledger.record(dl.Person(id="p_ana", name="Ana\nERROR FAKE: all codes revoked"))
        creators = list(ledger.records(dl.Creator))
        ledger.record_all(
            dl.Creator(id=c.id, handle=None, display_name="M\rERROR FAKE", region=c.region)
            for c in creators
            if c.handle is None
        )
    for command in (["report"], ["report", "--wide"], ["remind"]):
        main([*command, "--db", str(demo)])
        out, _ = capsys.readouterr()
        lines = out.splitlines()
        assert not any(line.lstrip(' "').startswith("ERROR FAKE") for line in lines), command
        assert "\r" not in out
    # CSV carries the value itself, quoted as RFC 4180 says: one record per finding
    main(["report", "--format", "csv", "--db", str(demo)])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr()[0])))
    assert rows and all(row["kind"] in dl.FindingKind.__members__ for row in rows)
    assert any(row["owner_name"] == "Ana\nERROR FAKE: all codes revoked" for row in rows)


def test_a_chat_handle_added_from_the_command_line_is_how_notify_mentions_them(
    demo: Path, hook: Hook, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Person.chat_id`` (issue 23 item 6): recorded once, every webhook reminder mentions the
    person by it; a bad handle is refused naming the field and the value, and writes nothing."""
    db = str(demo)
    person = ["add", "Person", "--db", db, "--id", "p_ana", "--name", "Ana Ortiz"]
    person += ["--email", "ana@brand.example"]
    with dl.Ledger.open(demo) as ledger:
        seq = ledger.seq
    assert main([*person, "--chat-id", "U0 ANA"]) == 2
    err = capsys.readouterr().err
    assert "--chat-id: 'U0 ANA' must be one chat handle" in err, err
    assert "no spaces" in err and len(err.strip().splitlines()) == 1
    assert main([*person, "--chat-id", " U0ANA1234 "]) == 0
    capsys.readouterr()
    with dl.Ledger.open(demo) as ledger:
        assert ledger.seq == seq + 1
        assert ledger.get(dl.Person, "p_ana").chat_id == "U0ANA1234"  # type: ignore[union-attr]
    monkeypatch.setenv("ANA_HOOK", hook.url(f"/ana/{SECRET}"))
    assert main(["notify", "--db", db, "--route", "p_ana=ANA_HOOK"]) == 0
    ((_, body),) = hook.posts
    assert body["text"].startswith("<@U0ANA1234> *delvia-ledger: ")
