"""The installed ``delvia-ledger`` console script, run in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import delvia_ledger as dl
from delvia_ledger.demo import SAMPLE_CODES

from . import builders
from .builders import EXE

pytestmark = pytest.mark.skipif(EXE is None, reason="the package is not installed")


def run(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert EXE is not None
    return subprocess.run(
        [EXE, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``demo`` command's sample ledger, made once: the tests that start from it get a copy
    (``demo`` itself is the subject of the test below)."""
    folder = tmp_path_factory.mktemp("demo")
    assert run("demo", cwd=folder).returncode == 0
    return folder / "delvia-ledger.db"


def demo_in(sample: Path, folder: Path) -> None:
    """``folder`` holds a copy of the sample ledger, as if ``demo`` had run there."""
    for path in sample.parent.glob(sample.name + "*"):
        shutil.copy(path, folder / path.name)


def test_demo_then_report_check_verify_history(tmp_path: Path) -> None:
    demo = run("demo", cwd=tmp_path)
    assert demo.returncode == 0
    assert any(line.split()[:2] == ["ERROR", "WRONG_POST"] for line in demo.stdout.splitlines())
    assert (tmp_path / "delvia-ledger.db").exists()
    again = run("demo", cwd=tmp_path)  # the README line, run twice: it replaces its own sample
    assert again.returncode == 0 and "Wrote a sample ledger" in again.stdout
    run("add", "Person", "--id", "p_real", "--name", "A real person", cwd=tmp_path)
    refused = run("demo", cwd=tmp_path)  # no longer only the sample: never replaced
    assert (
        refused.returncode == 2
        and "already holds" in refused.stderr
        and "Traceback" not in refused.stderr
    )

    report = run("report", "--json", cwd=tmp_path)
    assert report.returncode == 1
    kinds = {f["kind"] for f in json.loads(report.stdout)}
    assert {"EXPIRED", "REVOKED", "WRONG_POST", "REGION_INCOMPATIBLE", "EXPIRING"} <= kinds

    check = run(
        "check",
        "-",
        "--post",
        "7301000000000000002",
        cwd=tmp_path,
        stdin=SAMPLE_CODES["wrong_post"] + "\n",
    )
    assert check.returncode == 1 and "WRONG_POST" in check.stdout
    healthy = run("check", "-", cwd=tmp_path, stdin=SAMPLE_CODES["live"])
    assert healthy.returncode == 0

    assert run("verify", cwd=tmp_path).returncode == 0
    shown = run("history", "Creator", "7000000000000000001", cwd=tmp_path).stdout
    assert "maya.makes" in shown and "(from api)" in shown  # each version says its source
    as_json = run("history", "Creator", "7000000000000000001", "--json", cwd=tmp_path).stdout
    assert [v["source"] for v in json.loads(as_json)] == ["api"]
    outputs = demo.stdout + report.stdout + check.stdout + healthy.stdout
    assert all(code not in outputs for code in SAMPLE_CODES.values())


def test_verify_deep_catches_an_edited_query_table(sample: Path, tmp_path: Path) -> None:
    demo_in(sample, tmp_path)
    conn = sqlite3.connect(tmp_path / "delvia-ledger.db", isolation_level=None)
    conn.execute("DROP TRIGGER spark_authorization_versions_refuse_update")
    seq = conn.execute("SELECT min(seq) FROM spark_authorization_versions").fetchone()[0]
    conn.execute("UPDATE spark_authorization_versions SET revoked_at = 0 WHERE seq = ?", (seq,))
    conn.close()
    assert run("verify", cwd=tmp_path).returncode == 0  # the chain is intact
    deep = run("verify", "--deep", cwd=tmp_path)
    assert deep.returncode == 1
    assert deep.stdout.strip() == (
        f"FAILED: seq {seq}: spark_authorization_versions.revoked_at differs from the entry"
    )


def test_db_comes_from_the_environment(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path, env={"DELVIA_LEDGER_DB": "env.db"}).returncode == 0
    assert (tmp_path / "env.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "--db", "missing.db"), "no such ledger"),
        (("report", "--db", "junk.db"), "not a delvia_ledger database"),
        (("report", "--db", "empty.db", "--within", "0d"), "within="),
        (("history", "--db", "empty.db", "Nope", "x"), "unknown record type"),
        (("check", "--db", "empty.db", "-"), "the code is empty"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 200)
    run("init", "--db", "empty.db", cwd=tmp_path)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_import_a_tiktok_response(sample: Path, tmp_path: Path) -> None:
    from .builders import ADVERTISER, CODE, envelope, item

    demo_in(sample, tmp_path)
    (tmp_path / "info.json").write_text(json.dumps(envelope(item())))
    first = run("import", "info.json", "--advertiser", ADVERTISER, cwd=tmp_path)
    assert first.returncode == 0 and "4 new entries" in first.stdout
    again = run("import", "-", "--advertiser", ADVERTISER, cwd=tmp_path, stdin=json.dumps(item()))
    assert again.returncode == 0 and "0 new entries" in again.stdout
    refused = run("import", "info.json", "--advertiser", "nope", cwd=tmp_path)
    assert refused.returncode == 2 and "not in the ledger" in refused.stderr
    assert CODE not in first.stdout + again.stdout + refused.stderr


def test_export_csv_and_json_then_import_the_csv(sample: Path, tmp_path: Path) -> None:
    demo_in(sample, tmp_path)
    exported = run("export", "--type", "SparkAuthorization", cwd=tmp_path)
    assert exported.returncode == 0 and exported.stdout.startswith("code_fingerprint,code_hint,id")
    (tmp_path / "auths.csv").write_text(exported.stdout)
    copy = run("import", "auths.csv", "--type", "SparkAuthorization", cwd=tmp_path)
    assert copy.returncode == 0 and "0 new entries, 9 unchanged" in copy.stdout
    assert run("import", "auths.csv", cwd=tmp_path).returncode == 2
    whole = run("export", cwd=tmp_path)
    assert len(json.loads(whole.stdout)["entries"]) == 46
    assert all(code not in exported.stdout + whole.stdout for code in SAMPLE_CODES.values())


# --- who must act: remind, notify, changes, report --owner --------------------------------


def entries_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


def test_remind_previews_and_writes_nothing(sample: Path, tmp_path: Path) -> None:
    demo_in(sample, tmp_path)
    before = entries_in(tmp_path / "delvia-ledger.db")
    text = run("remind", cwd=tmp_path)
    assert text.returncode == 0
    assert "Ana Ortiz (p_ana):" in text.stdout and "nobody (unassigned):" in text.stdout
    assert "message to the creator: Hi @" in text.stdout
    ben = run("remind", "--person", "p_ben", "--json", cwd=tmp_path)
    assert ben.returncode == 0
    (reminder,) = json.loads(ben.stdout)
    assert reminder["person_id"] == "p_ben" and reminder["email"] == "ben@agency.example"
    assert all(f["owner_id"] == "p_ben" and f["key"] for f in reminder["findings"])
    unknown = run("remind", "--person", "nobody", cwd=tmp_path)
    assert unknown.returncode == 2 and "no person with id 'nobody'" in unknown.stderr
    assert entries_in(tmp_path / "delvia-ledger.db") == before
    assert all(code not in text.stdout + ben.stdout for code in SAMPLE_CODES.values())


def test_report_owner_filters_on_who_must_act(sample: Path, tmp_path: Path) -> None:
    demo_in(sample, tmp_path)
    report = run("report", "--owner", "p_ben", "--json", cwd=tmp_path)
    assert report.returncode == 1  # Ben has ERROR findings
    found = json.loads(report.stdout)
    assert found and {f["owner_id"] for f in found} == {"p_ben"}
    assert all(f["key"].startswith(f["kind"]) and f["owner_name"] == "Ben Okafor" for f in found)
    everything = json.loads(run("report", "--json", cwd=tmp_path).stdout)
    assert len(found) == sum(f["owner_id"] == "p_ben" for f in everything) < len(everything)
    assert run("report", "--owner", "p_nope", cwd=tmp_path).returncode == 2


def test_notify_dry_run_prints_what_would_be_sent(sample: Path, tmp_path: Path) -> None:
    secret_url = "https://hooks.slack.example/services/T0/B0/cli-hook-secret-77"
    demo_in(sample, tmp_path)
    before = entries_in(tmp_path / "delvia-ledger.db")
    dry = run(
        "notify",
        "--smtp",
        "127.0.0.1:1",
        "--from",
        "ops@brand.example",
        "--slack-webhook-env",
        "TEAM_HOOK",
        "--dry-run",
        cwd=tmp_path,
        env={"TEAM_HOOK": secret_url},
    )
    assert dry.returncode == 0, dry.stderr
    assert "--- email:ana@brand.example: delvia-ledger:" in dry.stdout
    assert "--- slack: delvia-ledger:" in dry.stdout
    assert "dry run: nothing was sent and nothing recorded" in dry.stdout
    assert entries_in(tmp_path / "delvia-ledger.db") == before
    assert "cli-hook-secret-77" not in dry.stdout + dry.stderr
    assert all(code not in dry.stdout for code in SAMPLE_CODES.values())


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {}, "name at least one channel"),
        (("--slack-webhook-env", "https://hooks.example/T/B/cli-secret-88"), {}, "never the URL"),
        (("--webhook-env", "MISSING_HOOK_VAR"), {}, "$MISSING_HOOK_VAR is not set"),
        (("--smtp", "mail.example", "--from", "a@b.example"), {}, "HOST:PORT"),
        (("--smtp", "mail.example:25"), {}, "needs --from"),
        (
            ("--smtp", "mail.example:25", "--from", "a@b.example", "--smtp-user", "u"),
            {},
            "DELVIA_SMTP_PASSWORD",
        ),
        (("--slack-webhook-env", "H"), {"H": "ftp://x.example/cli-secret-88"}, "http(s) URL"),
    ],
)
def test_notify_refuses_bad_channels_in_one_line_without_echoing_secrets(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    # channels are checked before the ledger is opened: no ledger needed
    result = run("notify", *args, cwd=tmp_path, env={"DELVIA_SMTP_PASSWORD": "", **env})
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cli-secret-88" not in result.stdout + result.stderr


def test_notify_delivers_by_smtp_and_exits_1_when_a_delivery_fails(
    sample: Path, tmp_path: Path
) -> None:
    from .builders import PASSWORD, running_smtp

    demo_in(sample, tmp_path)
    with running_smtp() as (mailbox, port):
        notify_by_smtp(tmp_path, mailbox, port, PASSWORD)


def notify_by_smtp(tmp_path: Path, mailbox: Any, port: int, password: str) -> None:
    args = ("notify", "--smtp", f"127.0.0.1:{port}", "--from", "ops@brand.example")
    login = ("--smtp-user", "ops")
    env = {"DELVIA_SMTP_PASSWORD": password}
    mailbox.refuse = {"ben@agency.example"}
    first = run(*args, *login, cwd=tmp_path, env=env)
    assert first.returncode == 1, first.stderr
    assert "failed 1:" in first.stdout and "550 5.1.1" in first.stdout
    assert [rcpts for rcpts, _ in mailbox.messages] == [["ana@brand.example"]]
    mailbox.refuse = set()
    second = run(*args, *login, cwd=tmp_path, env=env)
    assert second.returncode == 0 and "email:ben@agency.example to Ben Okafor" in second.stdout
    third = run(*args, *login, cwd=tmp_path, env=env)
    assert third.returncode == 0 and third.stdout.startswith("sent 0 messages")
    assert len(mailbox.messages) == 2
    outputs = first.stdout + first.stderr + second.stdout + third.stdout
    assert password not in outputs
    assert all(code not in outputs for code in SAMPLE_CODES.values())


def test_changes_since_a_duration_a_seq_and_a_digest(sample: Path, tmp_path: Path) -> None:
    demo_in(sample, tmp_path)
    verify = run("verify", cwd=tmp_path)
    digest = verify.stdout.strip().rsplit(" ", 1)[-1]
    week = run("changes", "--since", "7d", cwd=tmp_path)
    assert week.returncode == 0 and "SparkAuthorization auth_live added" in week.stdout
    as_json = json.loads(run("changes", "--since", "0", "--json", cwd=tmp_path).stdout)
    assert len(as_json["entries"]) == 46 and as_json["since_seq"] == 0
    assert {f["kind"] for f in as_json["new"]} >= {"EXPIRED", "WRONG_POST"}
    same = json.loads(run("changes", "--since", digest, "--json", cwd=tmp_path).stdout)
    assert (same["entries"], same["new"], same["resolved"]) == ([], [], [])
    bad = run("changes", "--since", "last tuesday", cwd=tmp_path)
    assert bad.returncode == 2 and "use a seq" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert all(code not in week.stdout for code in SAMPLE_CODES.values())


def test_report_leaves_quiet_codes_out_unless_all(tmp_path: Path) -> None:
    """A code dead for 200 days that no ad needs is quiet: `report` leaves it out and says
    nothing about replaced codes; `report --all` shows the quiet one too."""
    now = datetime.now(UTC)
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        builders.world(ledger)
        ids = builders.year_of_history(ledger, now)

    def shown(*args: str) -> set[str]:
        report = run("report", "--within", "14d", "--json", *args, cwd=tmp_path)
        assert report.returncode == 0, report.stderr
        return {f["authorization_id"] for f in json.loads(report.stdout)}

    plain, every = shown(), shown("--all")
    assert ids["current"][0] in plain and not plain & set(ids["long_dead"] + ids["replaced"])
    assert every - plain == set(ids["long_dead"])


def test_check_suggests_the_code_a_mangled_one_was_and_explain_shows_the_note(
    sample: Path,
    tmp_path: Path,
) -> None:
    """A code whose '+' became a space is matched to the recorded code, by its hint only; and
    `explain` shows a code's note, with no empty name for one TikTok names nowhere."""
    raw = SAMPLE_CODES["live"].replace("=", "+x/y=")
    demo_in(sample, tmp_path)
    with dl.Ledger.open(tmp_path / "delvia-ledger.db") as ledger:
        held = ledger.authorization_for(SAMPLE_CODES["live"])
        assert held is not None
        ledger.record(
            dl.SparkAuthorization.from_code(
                raw,
                creator_id=held.creator_id,
                post_id=held.post_id,
                starts_at=held.starts_at,
                expires_at=held.expires_at,
            )
        )
        auth = ledger.authorization_for(raw)
        assert auth is not None
    arrived = raw.replace("+", " ")
    check = run("check", "-", cwd=tmp_path, stdin=arrived)
    assert check.returncode == 1 and "UNKNOWN_CODE" in check.stdout
    assert f"did you mean the code {auth.code.hint}" in check.stdout
    assert f"post {auth.post_id}, creator {auth.creator_id}" in check.stdout
    assert raw not in check.stdout + check.stderr and arrived.strip() not in check.stdout
    explained = run("explain", "40133", cwd=tmp_path)
    assert explained.returncode == 0 and explained.stdout.startswith("40133 → RATE_LIMITED")
    assert "  note:" in explained.stdout and "40133  →" not in explained.stdout
