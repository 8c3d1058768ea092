"""Notify that cannot be steered (issue 25 item 3, issue 23 item 6): one address per person,
chat texts escaped, names on one line in every output, long worklists that still deliver,
overlapping runs that send once, a Notice that cannot be recorded. Real SMTP (aiosmtpd) and a
real webhook over HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delvia_ledger as dl
from delvia_ledger.notices import Message, urgency
from delvia_ledger.notify.email import MAX_SIZE
from delvia_ledger.notify.webhook import LIMITS, slack_escaped
from delvia_ledger.reminders import Reminder

from .builders import Hook, Mailbox
from .conftest import T0, Backend, Clock

DAY = timedelta(days=1)
ACC = "6900"
PHISH = "<https://evil.example/reset|Reset your TikTok password>"
PING = "<!channel>"


def people_and_codes(
    ledger: dl.Ledger,
    *,
    codes: int = 1,
    person_name: str = "Ana Ortiz",
    creator_name: str | None = None,
    email: str | None = "ana@brand.example",
) -> None:
    """One creator (known by ``creator_name``, no handle), one account with Ana as its admin,
    and ``codes`` codes Ana owns, expiring from 3 days on (one an hour later than the last)."""
    posts = [dl.Post(id=f"73{n:05d}", creator_id="cr1", kind="VIDEO") for n in range(codes)]
    ledger.record_all(
        [
            dl.Creator(id="cr1", display_name=creator_name, region="US"),
            *posts,
            dl.AdAccount(id=ACC, name="Brand US", region="US"),
            dl.Person(id="p_ana", name=person_name, email=email),
            dl.RoleGrant(
                id="g_ana",
                person_id="p_ana",
                scope=f"ad_account:{ACC}",
                role="ADMIN",
                granted_at=T0 - DAY,
            ),
            *(
                dl.SparkAuthorization.from_code(
                    f"#hostile-code-{n:05d}=",
                    id=f"a{n:05d}",
                    creator_id="cr1",
                    post_id=post.id,
                    ad_account_id=ACC,
                    owner_id="p_ana",
                    starts_at=T0 - 20 * DAY,
                    expires_at=T0 + 3 * DAY + n * timedelta(hours=1),
                )
                for n, post in enumerate(posts)
            ),
        ]
    )


def email_sender(port: int, **options: Any) -> dl.EmailSender:
    return dl.EmailSender("127.0.0.1", port, "ads-ops@brand.example", **options)


# --- one address, never a list ------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "two@brand.example, attacker@evil.example",
        "team: ana@brand.example, attacker@evil.example;",
        "Ana <ana@brand.example>",
        "ana@brand.example\nBcc: attacker@evil.example",
        "not an address",
    ],
)
def test_a_person_with_anything_but_one_address_is_refused_naming_the_field(email: str) -> None:
    with pytest.raises(dl.InvalidRecordError, match=r"^Person\.email=") as refused:
        dl.Person(id="p_x", name="X", email=email)
    assert "address" in str(refused.value)


def test_the_cli_and_a_csv_import_refuse_a_list_of_addresses_and_write_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    with dl.Ledger.open(db) as ledger:
        seq = ledger.seq
        sheet = tmp_path / "people.csv"
        sheet.write_text('id,name,email\np_x,X,"two@brand.example, attacker@evil.example"\n')
        with pytest.raises(dl.LedgerError, match="email") as refused:
            ledger.import_csv(dl.Person, sheet)
        assert "more than one address" in str(refused.value)
        assert ledger.seq == seq


def test_a_message_to_an_address_list_is_refused_at_send_time_too(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    # a Message (as an older ledger's Person could hold) with a list for its address
    message = Message(
        person_id="p_x",
        name="X",
        email="two@brand.example, attacker@evil.example",
        channel="email:two@brand.example",
        subject="s",
        text="t",
        findings=(),
    )
    with pytest.raises(dl.DeliveryError, match="more than one address"):
        email_sender(port).send(message)
    assert mailbox.messages == []
    reminder = Reminder(
        person_id="p_x", name="X", email=message.email, findings=(), escalated=False
    )
    sender = email_sender(port)
    assert sender.channel_for(reminder) is None
    assert "more than one address" in sender.why_unreached(reminder)


# --- chat texts escaped, in the reminder and in the message to the creator -----------------------


def test_a_creator_cannot_ping_the_channel_or_plant_a_link(ledger: dl.Ledger, hook: Hook) -> None:
    people_and_codes(ledger, creator_name=f"{PING} {PHISH} @here & more")
    result = ledger.notify([dl.WebhookSender(hook.url(), style="slack")])
    assert result.ok
    ((_, body),) = hook.posts
    text = body["text"]
    assert "<" not in text.replace("<@", "") and ">" not in text  # no Slack control syntax
    assert "&lt;!channel&gt;" in text and "&lt;https://evil.example/reset|Reset" in text
    assert "@\u2060here" in text and "@here" not in text and "&amp; more" in text
    creator_line = next(line for line in text.splitlines() if "to the creator" in line)
    assert "&lt;!channel&gt;" in creator_line  # the message the team forwards, escaped too
    assert body["unfurl_links"] is False


def test_slack_escaping_leaves_no_control_syntax_whatever_the_text() -> None:
    @given(st.text())
    def check(text: str) -> None:
        shown = slack_escaped(text)
        assert "<" not in shown and ">" not in shown
        assert shown.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0
        assert "@channel" not in shown.lower() and "@here" not in shown.lower()

    check()


# --- names on one line, in every output ---------------------------------------------------------

#: Characters a name may hold that would start a line, move the cursor or reorder text.
BREAKING = "\n\r\x0b\x0c\x1b\x85\u2028\u2029\u202e\u2066"
hostile_names = st.builds(
    lambda head, breaker, tail: f"{head}{breaker}{tail}",
    st.text(min_size=1, max_size=8).filter(str.strip),
    st.sampled_from(sorted(BREAKING)),
    st.sampled_from(["ERROR FAKE: all codes revoked", "INFO FAKE ok", "ok"]),
)


def lines_of(*texts: str) -> list[str]:
    return [line for text in texts for line in text.split("\n")]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(person_name=hostile_names, creator_name=hostile_names)
def test_hostile_names_never_fake_a_line_of_any_output(
    smtp_server: tuple[Mailbox, int],
    hook: Hook,
    caplog: pytest.LogCaptureFixture,
    person_name: str,
    creator_name: str,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    mailbox, port = smtp_server
    mailbox.messages.clear()
    hook.posts.clear()
    with (
        tempfile.TemporaryDirectory() as folder,
        dl.Ledger.open(Path(folder) / "l.db", clock=lambda: T0) as ledger,
    ):
        people_and_codes(ledger, person_name=person_name, creator_name=creator_name)
        reminders = ledger.reminders()
        findings = ledger.findings(within="14d")
        result = ledger.notify([email_sender(port), dl.WebhookSender(hook.url(), style="slack")])
        dry = ledger.notify([email_sender(port)], dry_run=True, now=T0 + DAY)
    assert result.ok, str(result)
    (mail,) = [m for _, m in mailbox.messages]
    ((_, body),) = hook.posts
    outputs = [
        *map(str, reminders),
        *map(str, findings),
        str(result),
        str(dry),
        mail.get_content().replace("\r\n", "\n"),  # SMTP's own line ends
        str(mail["Subject"]),
        body["text"],
        *(r.getMessage() for r in caplog.records if r.name.startswith("delvia")),
    ]
    for line in lines_of(*outputs):
        assert not any(c in BREAKING for c in line), line
        assert not line.lstrip(" •*").startswith(("ERROR FAKE", "INFO FAKE")), line


# --- long worklists deliver ---------------------------------------------------------------------


def test_a_worklist_of_5000_findings_is_split_into_emails_and_one_short_chat_message(
    tmp_path: Path, smtp_server: tuple[Mailbox, int], hook: Hook
) -> None:
    mailbox, port = smtp_server
    with dl.Ledger.open(tmp_path / "big.db", clock=lambda: T0) as ledger:
        people_and_codes(ledger, codes=5000, creator_name="Maya")
        result = ledger.notify(
            [email_sender(port), dl.WebhookSender(hook.url(), style="slack")], within="400d"
        )
        assert result.ok, str(result)
        assert len(result.sent) == 2  # one Notice per channel, whatever the parts
    mails = [m for _, m in mailbox.messages]
    count = len(mails)
    assert count > 1
    assert [m["Subject"].rsplit("(", 1)[1] for m in mails] == [
        f"{n} of {count})" for n in range(1, count + 1)
    ]
    # 3 days + n hours: 97 within the week, the last of the others on 23 June
    urgent = "delvia-ledger: 97 codes expire this week, 4903 codes expire by 23 Jun (Ana Ortiz)"
    assert all(m["Subject"].startswith(urgent) for m in mails)
    bodies = [m.get_content().replace("\r\n", "\n") for m in mails]
    assert all(len(body.encode()) <= MAX_SIZE for body in bodies)
    assert all(len(m.as_bytes()) <= MAX_SIZE + 500 for m in mails)  # as sent (+ Received)
    every = "\n".join(bodies)
    assert all(f"code a{n:05d} " in every for n in (0, 1, 2500, 4999))
    numbered = [line for line in every.splitlines() if line[:1].isdigit()]
    assert len(numbered) == 5000  # each finding once, across the parts
    ((_, body),) = hook.posts
    assert len(body["text"]) < LIMITS["slack"]
    assert body["text"].splitlines()[1].startswith("• WARNING EXPIRING")
    assert "and 4990 more: run delvia-ledger remind --person p_ana" in body["text"]


def test_a_hostile_long_name_cannot_push_a_chat_message_past_its_limit(
    ledger: dl.Ledger, hook: Hook
) -> None:
    people_and_codes(ledger, codes=12, creator_name="M" * 100_000, person_name="A" * 100_000)
    assert ledger.notify([dl.WebhookSender(hook.url(), style="slack")]).ok
    ((_, body),) = hook.posts
    assert len(body["text"]) <= LIMITS["slack"]


# --- messages people act on ---------------------------------------------------------------------


def test_the_subject_says_what_is_urgent() -> None:
    def finding(kind: str, severity: str, days: float | None) -> dl.Finding:
        deadline = None if days is None else T0 + timedelta(days=days)
        return dl.Finding(
            kind=dl.FindingKind(kind), severity=dl.Severity(severity), deadline=deadline
        )

    assert urgency([finding("EXPIRING", "WARNING", 2), finding("EXPIRING", "WARNING", 6)], T0) == (
        "2 codes expire this week"
    )
    assert (
        urgency([finding("REVOKED", "ERROR", -1), finding("EXPIRING", "WARNING", 10)], T0)
        == "1 fails now, 1 code expires by 4 Dec"
    )
    assert urgency([finding("UNUSED_CODE", "INFO", None)], T0) == "1 note"


def test_webhooks_route_per_person_and_mention_them(
    ledger: dl.Ledger, clock: Clock, smtp_server: tuple[Mailbox, int], hook: Hook
) -> None:
    people_and_codes(ledger, creator_name="Maya")
    ledger.record_all(
        [
            dl.Person(id="p_bo", name="Bo Berg", chat_id="U0BOBERG1"),  # mentioned by it
            dl.SparkAuthorization.from_code(
                "#hostile-code-bo=",
                id="a_bo",
                creator_id="cr1",
                post_id="7300000",
                ad_account_id=ACC,
                owner_id="p_bo",
                starts_at=T0 - 20 * DAY,
                expires_at=T0 + 2 * DAY,
            ),
            dl.RoleGrant(
                id="g_bo",
                person_id="p_bo",
                scope=f"ad_account:{ACC}",
                role="OPERATOR",
                granted_at=T0 - DAY,
            ),
        ]
    )
    team, own = hook.url("/team/T-SECRET"), hook.url("/ana/A-SECRET")
    sender = dl.WebhookSender(team, routes={"p_ana": own}, mentions={"p_ana": "U024BE7LH"})
    assert "SECRET" not in repr(sender)
    assert ledger.notify([sender]).ok
    by_path = {path: body["text"] for path, body in hook.posts}
    assert set(by_path) == {"/team/T-SECRET", "/ana/A-SECRET"}
    assert by_path["/ana/A-SECRET"].startswith("<@U024BE7LH> *delvia-ledger: 1 code expires")
    assert by_path["/team/T-SECRET"].startswith("<@U0BOBERG1> *delvia-ledger: 1 code expires")
    assert "(Bo Berg)" in by_path["/team/T-SECRET"]
    # only people with a route of their own, when there is no team hook; a mention given to
    # the sender wins over the recorded chat handle
    hook.posts.clear()
    clock.advance(days=1)
    only = dl.WebhookSender(
        None, channel="own-hooks", routes={"p_bo": own}, mentions={"p_bo": "U0OTHER"}
    )
    result = ledger.notify([only])
    assert [u.person_id for u in result.unreached] == ["p_ana"]
    assert [body["text"].split()[0] for _, body in hook.posts] == ["<@U0OTHER>"]
    with pytest.raises(ValueError, match="mentions"):
        dl.WebhookSender(team, mentions={"p_ana": "<!channel>"})


# --- overlapping runs send once; a Notice that cannot be recorded ----------------------------------


class _Together:
    """A real sender that waits in ``channel_for`` until the other run got there too, so both
    runs have read the ledger before either sends (the overlap of cron and a manual run)."""

    def __init__(self, sender: dl.Sender, barrier: threading.Barrier) -> None:
        self.sender, self.barrier, self.kind = sender, barrier, sender.kind

    def channel_for(self, reminder: Reminder) -> str | None:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other run failed
            self.barrier.wait(timeout=10)
        return self.sender.channel_for(reminder)

    def why_unreached(self, reminder: Reminder) -> str:
        return self.sender.why_unreached(reminder)

    def send(self, message: Message) -> None:
        self.sender.send(message)


def test_two_overlapping_notify_runs_send_each_reminder_once(
    backend: Backend, smtp_server: tuple[Mailbox, int], hook: Hook
) -> None:
    mailbox, port = smtp_server
    with backend.open(clock=lambda: T0) as ledger:
        people_and_codes(ledger, codes=3, creator_name="Maya")
    barrier = threading.Barrier(2)
    results: list[dl.NotifyResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with backend.open(clock=lambda: T0) as ledger:
                senders = [
                    _Together(email_sender(port), barrier),
                    _Together(dl.WebhookSender(hook.url(), style="slack"), barrier),
                ]
                results.append(ledger.notify(senders))
        except BaseException as error:  # reported below
            errors.append(error)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)
    assert errors == [] and len(results) == 2
    assert all(r.ok for r in results), [str(r) for r in results]
    assert len(mailbox.messages) == 1 and len(hook.posts) == 1
    assert sum(len(r.deliveries) for r in results) == 2
    with backend.open() as ledger:
        assert len(list(ledger.records(dl.Notice))) == 2


def test_a_notice_that_cannot_be_recorded_is_reported_and_the_others_go_on(
    backend: Backend, smtp_server: tuple[Mailbox, int], hook: Hook
) -> None:
    mailbox, port = smtp_server
    with backend.open(clock=lambda: T0) as ledger:
        people_and_codes(ledger, creator_name="Maya")
    raw = backend.connect()
    # the database itself refuses the email channel's Notice (as a full disk or a lost
    # connection would, after the message went out)
    if backend.name == "sqlite":
        raw.execute(
            "CREATE TRIGGER fail_email_notice BEFORE INSERT ON entries "
            "WHEN NEW.type = 'Notice' AND instr(NEW.payload, '\"channel\":\"email\"') > 0 "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    else:
        raw.execute(
            "CREATE FUNCTION fail_email_notice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.type = 'Notice' AND strpos(NEW.payload, '\"channel\":\"email\"') > 0 THEN "
            "RAISE EXCEPTION 'disk I/O error'; END IF; RETURN NEW; END $$"
        )
        raw.execute(
            "CREATE TRIGGER fail_email_notice BEFORE INSERT ON entries FOR EACH ROW "
            "EXECUTE FUNCTION fail_email_notice()"
        )
    with backend.open(clock=lambda: T0) as ledger:
        result = ledger.notify([email_sender(port), dl.WebhookSender(hook.url(), style="slack")])
        (failure,) = result.failures
        assert failure.delivered and failure.channel == "email:ana@brand.example"
        assert "delivered, but its Notice could not be recorded" in failure.reason
        assert not result.ok and "failed 1:" in str(result)
        assert len(mailbox.messages) == 1 and len(hook.posts) == 1  # the webhook went on
        assert [n.channel for n in ledger.records(dl.Notice)] == ["slack"]
        assert ledger.verify().ok
    raw.execute(
        "DROP TRIGGER fail_email_notice" + (" ON entries" if backend.name == "postgres" else "")
    )
    raw.close()
    with backend.open(clock=lambda: T0) as ledger:  # the next run sends it again, and records it
        again = ledger.notify([email_sender(port), dl.WebhookSender(hook.url(), style="slack")])
        assert again.ok and [d.message.channel for d in again.deliveries] == [
            "email:ana@brand.example"
        ]
    assert json.dumps([b for _, b in hook.posts]).count("#hostile-code") == 0
