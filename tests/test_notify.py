"""Notify end to end: a real SMTP server (aiosmtpd) and a real webhook over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import IO, Any, cast

import pytest

import delvia_ledger as dl
from delvia_ledger.notices import notice_token

from .builders import HOOK_SECRET, PASSWORD, Hook, Mailbox, free_port
from .conftest import T0, Backend, Clock

DAY = timedelta(days=1)
ACC = "6900"
CODES = {
    "a1": "#notify-code-a1-Zq9=",
    "a_late": "#notify-code-late-Xw8=",
    "a2": "#notify-code-a2-Vu7=",
    "a3": "#notify-code-a3-Ts6=",
}


# --- a real SMTP server -----------------------------------------------------------------------


# --- the world ------------------------------------------------------------------------------


def world(ledger: dl.Ledger) -> None:
    """Ana (email) owns a1, expiring in 10 days, and a_late, expiring in 20; Bo (email) owns
    ad2 on the wrong post; Cy (no email) owns a3, revoked. Stable for a week but for a_late."""

    def code(id_: str, post: str, owner: str, **fields: Any) -> dl.SparkAuthorization:
        times = {"starts_at": T0 - 20 * DAY, "expires_at": T0 + 200 * DAY, **fields}
        return dl.SparkAuthorization.from_code(
            CODES[id_],
            id=id_,
            creator_id="maya",
            post_id=post,
            ad_account_id=ACC,
            owner_id=owner,
            **times,
        )

    def grant(id_: str, person: str, role: str) -> dl.RoleGrant:
        return dl.RoleGrant(
            id=id_, person_id=person, scope=f"ad_account:{ACC}", role=role, granted_at=T0 - DAY
        )

    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya.makes", region="US"),
            *(dl.Post(id=p, creator_id="maya", kind="VIDEO") for p in ("7301", "7302", "7303")),
            dl.AdAccount(id=ACC, name="Brand US", region="US"),
            dl.Person(id="p_ana", name="Ana Ortiz", email="ana@brand.example"),
            dl.Person(id="p_bo", name="Bo Berg", email="bo@agency.example"),
            dl.Person(id="p_cy", name="Cy Lund"),
            grant("g_ana", "p_ana", "ADMIN"),
            grant("g_bo", "p_bo", "OPERATOR"),
            grant("g_cy", "p_cy", "ANALYST"),
            code("a1", "7301", "p_ana", expires_at=T0 + 10 * DAY),
            code("a_late", "7302", "p_ana", expires_at=T0 + 20 * DAY),
            code("a2", "7302", "p_bo"),
            code("a3", "7303", "p_cy", revoked_at=T0 - DAY),
            dl.SparkAd(
                id="ad2",
                ad_account_id=ACC,
                authorization_id="a2",
                intended_post_id="7301",
                runs_from=T0 - DAY,
                owner_id="p_bo",
            ),
        ]
    )


def senders(port: int, hook: Hook) -> list[dl.Sender]:
    return [
        dl.EmailSender(
            "127.0.0.1", port, "ads-ops@brand.example", username="ops", password=PASSWORD
        ),
        dl.WebhookSender(hook.url(), style="slack"),
    ]


def secrets_in(text: str) -> list[str]:
    found = [s for s in (PASSWORD, HOOK_SECRET) if s in text]
    return found + [c for c in CODES.values() if c in text]


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line but the SMTP server's own (aiosmtpd logs what it receives, AUTH too)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail"))


# --- the tests ----------------------------------------------------------------------------------


def test_notify_delivers_once_then_only_what_is_new(
    ledger: dl.Ledger,
    clock: Clock,
    smtp_server: tuple[Mailbox, int],
    hook: Hook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mailbox, port = smtp_server
    world(ledger)
    first = ledger.notify(senders(port, hook))
    assert first.ok and not first.dry_run

    # one email per person with an email, one webhook post per person, each with their findings
    assert [len(mailbox.to(a)) for a in ("ana@brand.example", "bo@agency.example")] == [1, 1]
    assert len(mailbox.messages) == 2
    ana = mailbox.to("ana@brand.example")[0]
    assert ana["From"] == "ads-ops@brand.example" and "Ana Ortiz" in ana["To"]
    assert ana["Subject"] == "delvia-ledger: 1 code expires by 4 Dec (Ana Ortiz)"
    assert ana["Date"] == "Tue, 24 Nov 2026 09:00:00 +0000"  # the ledger's clock
    assert ana["Message-ID"].endswith("@brand.example>")
    body = ana.get_content()
    assert (
        "EXPIRING" in body
        and "code a1" in body
        and "message to the creator: Hi @maya.makes" in body
    )
    assert "code a_late" not in body  # not within 14 days yet
    bo = mailbox.to("bo@agency.example")[0].get_content()
    assert "WRONG_POST" in bo and "ad ad2" in bo and "a1" not in bo
    assert mailbox.logins == [(b"ops", PASSWORD.encode())] * 2
    names = ("Ana Ortiz", "Bo Berg", "Cy Lund")
    posted = {
        name: body["text"]
        for _, body in hook.posts
        for name in names
        if body["text"].splitlines()[0].endswith(f"({name})*")
    }
    assert set(posted) == set(names) and len(hook.posts) == 3
    assert all(path == f"/services/T000/B000/{HOOK_SECRET}" for path, _ in hook.posts)
    assert "REVOKED" in posted["Cy Lund"]

    # each delivered message is one Notice; Cy is reached through the webhook only
    notices = list(ledger.records(dl.Notice))
    assert sorted((n.person_id, n.channel) for n in notices) == [  # no address: the person
        ("p_ana", "email"),
        ("p_ana", "slack"),
        ("p_bo", "email"),
        ("p_bo", "slack"),
        ("p_cy", "slack"),
    ]
    assert sorted(first.sent, key=lambda n: n.id) == sorted(notices, key=lambda n: n.id)
    ana_notice = next(n for n in notices if (n.person_id, n.channel) == ("p_ana", "email"))
    assert ana_notice.finding_keys == (
        "EXPIRING/authorization=a1/account=6900|WARNING|2026-12-04T09:00:00.000000Z",
    )
    assert ana_notice.sent_at == T0
    (cy,) = first.unreached
    assert (cy.person_id, cy.kind, cy.reached_by) == ("p_cy", "email", ("slack",))
    assert "Cy Lund (p_cy): no email (no email recorded); reached through slack only" in str(first)

    # nothing changed: nothing delivered, nothing recorded
    seq = ledger.seq
    again = ledger.notify(senders(port, hook))
    assert again.deliveries == () and again.ok
    assert ledger.seq == seq and len(mailbox.messages) == 2 and len(hook.posts) == 3

    # a week later a_late starts expiring: only that finding goes out, to Ana, on both channels
    clock.advance(days=7)
    later = ledger.notify(senders(port, hook))
    assert [
        (d.message.channel, [f.authorization_id for f in d.message.findings])
        for d in later.deliveries
    ] == [
        ("email:ana@brand.example", ["a_late"]),
        ("slack", ["a_late"]),
    ]
    update = mailbox.to("ana@brand.example")[1]
    assert "code a_late" in update.get_content() and "code a1 " not in update.get_content()
    assert "Still open from earlier reminders: 1" in update.get_content()
    assert ledger.seq == seq + 2
    last = ledger.get(dl.Notice, later.sent[0].id)
    assert last is not None and len(last.finding_keys) == 2  # what Ana now knows of

    # no raw code, password or webhook URL anywhere: messages, notices, results, logs
    delivered = [m.as_string() for _, m in mailbox.messages] + [
        json.dumps(b) for _, b in hook.posts
    ]
    exported: list[str] = []
    ledger.export_json(cast(IO[str], _Collect(exported)))
    shown = "\n".join([*delivered, *exported, str(first), str(again), str(later), our_logs(caplog)])
    assert secrets_in(shown) == []
    assert "HTTP Request: POST http://127.0.0.1" in our_logs(caplog)  # httpx did log, safely
    assert repr(senders(port, hook)) == (
        f"[EmailSender(host='127.0.0.1', port={port}, from_addr='ads-ops@brand.example', "
        "username='ops', starttls=False), WebhookSender(host='127.0.0.1', style='slack', "
        "channel='slack')]"
    )


class _Collect:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> int:
        self.into.append(text)
        return len(text)


def test_a_refused_message_leaves_its_notice_unwritten_and_the_rest_go_on(
    ledger: dl.Ledger,
    smtp_server: tuple[Mailbox, int],
    hook: Hook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mailbox, port = smtp_server
    world(ledger)
    mailbox.refuse = {"bo@agency.example"}
    hook.refuse = lambda body: "(Ana Ortiz)*" in body["text"]
    result = ledger.notify(senders(port, hook))
    assert not result.ok
    failed = sorted((f.person_id, f.channel) for f in result.failures)
    assert failed == [("p_ana", "slack"), ("p_bo", "email:bo@agency.example")]
    reasons = {f.channel: f.reason for f in result.failures}
    assert reasons["email:bo@agency.example"] == (
        f"SMTP 127.0.0.1:{port} refused the recipient bo@agency.example: "
        "550 5.1.1 <bo@agency.example>: mailbox unavailable"
    )
    assert reasons["slack"] == (
        "the webhook at 127.0.0.1 answered HTTP 500 Internal Server Error: "
        "internal error while handling …"
    )
    delivered = sorted((n.person_id, n.channel) for n in ledger.records(dl.Notice))
    assert delivered == [
        ("p_ana", "email"),
        ("p_bo", "slack"),
        ("p_cy", "slack"),
    ]
    assert delivered == sorted((n.person_id, n.channel) for n in result.sent)
    assert len(mailbox.messages) == 1 and len(hook.posts) == 2
    assert "failed 2:" in str(result)

    # the servers recover: only what failed goes out now
    mailbox.refuse = set()
    hook.refuse = lambda body: False
    retry = ledger.notify(senders(port, hook))
    assert retry.ok
    assert sorted((d.message.person_id, d.message.channel) for d in retry.deliveries) == failed
    shown = "\n".join([str(result), str(retry), our_logs(caplog)])
    assert secrets_in(shown) == []


def test_a_wrong_password_a_missing_server_and_no_starttls_are_failures_not_crashes(
    ledger: dl.Ledger, smtp_server: tuple[Mailbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, port = smtp_server
    world(ledger)
    wrong = dl.EmailSender(
        "127.0.0.1", port, "ops@brand.example", username="ops", password="nope-" + PASSWORD
    )
    gone = dl.EmailSender("127.0.0.1", free_port(), "ops@brand.example")
    tls = dl.EmailSender("127.0.0.1", port, "ops@brand.example", starttls=True)
    hookless = dl.WebhookSender(f"http://127.0.0.1:{free_port()}/hook/{HOOK_SECRET}", style="json")
    cases: list[tuple[dl.Sender, str]] = [
        (wrong, "refused the login of 'ops': 535"),
        (gone, "could not deliver through SMTP 127.0.0.1"),
        (tls, "STARTTLS extension not supported by server"),
        (hookless, "could not reach the webhook at 127.0.0.1 (ConnectError"),
    ]
    for sender, reason in cases:
        result = ledger.notify([sender])
        assert result.failures and all(reason in f.reason for f in result.failures), result
        assert result.sent == ()
        assert secrets_in(str(result) + repr(sender)) == []
    assert list(ledger.records(dl.Notice)) == []
    assert secrets_in(our_logs(caplog)) == []


def test_the_json_webhook_carries_each_finding_as_data(ledger: dl.Ledger, hook: Hook) -> None:
    world(ledger)
    # a Mattermost user id: no Slack mention, but data the receiving service can use
    ledger.record(dl.Person(id="p_cy", name="Cy Lund", chat_id="x7k2mattermost9id"))
    with dl.WebhookSender(hook.url("/generic"), style="json", channel="ops-feed") as sender:
        result = ledger.notify([sender])
    assert result.ok and {n.channel for n in result.sent} == {"ops-feed"}
    bodies = {body["person_id"]: body for _, body in hook.posts}
    assert set(bodies) == {"p_ana", "p_bo", "p_cy"}
    (finding,) = bodies["p_bo"]["findings"]
    assert finding["kind"] == "WRONG_POST" and finding["owner_id"] == "p_bo"
    assert finding["key"] == "WRONG_POST/authorization=a2/ad=ad2/account=6900"
    assert bodies["p_ana"]["email"] == "ana@brand.example" and bodies["p_ana"]["still_open"] == 0
    assert (bodies["p_cy"]["chat_id"], bodies["p_ana"]["chat_id"]) == ("x7k2mattermost9id", None)
    assert secrets_in(json.dumps(bodies)) == []


def test_a_dry_run_composes_the_same_messages_and_sends_nothing(
    ledger: dl.Ledger, smtp_server: tuple[Mailbox, int], hook: Hook
) -> None:
    mailbox, port = smtp_server
    world(ledger)
    seq = ledger.seq
    preview = ledger.notify(senders(port, hook), dry_run=True)
    assert preview.dry_run and ledger.seq == seq
    assert mailbox.messages == [] and hook.posts == []
    assert len(preview.deliveries) == 5 and "would send 5 messages" in str(preview)
    real = ledger.notify(senders(port, hook))
    assert [d.message.text for d in real.deliveries] == [d.message.text for d in preview.deliveries]


def test_senders_refuse_bad_settings_without_echoing_secrets() -> None:
    with pytest.raises(ValueError, match="port must be") as refused:
        dl.EmailSender("smtp.brand.example", 0, "ops@brand.example", password=PASSWORD)
    assert PASSWORD not in str(refused.value)
    with pytest.raises(ValueError, match="without username"):
        dl.EmailSender("smtp.brand.example", 587, "ops@brand.example", password=PASSWORD)
    with pytest.raises(ValueError, match="email address"):
        dl.EmailSender("smtp.brand.example", 587, "not an address")
    with pytest.raises(ValueError, match="http") as refused:
        dl.WebhookSender(f"ftp://hooks.example/{HOOK_SECRET}")
    assert HOOK_SECRET not in str(refused.value)
    with pytest.raises(ValueError, match="style"):
        dl.WebhookSender("https://hooks.example/x", style="teams")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one sender"):
        dl.Ledger.notify(cast(dl.Ledger, None), [])


def test_a_channel_the_ledger_cannot_record_is_refused_before_sending(
    ledger: dl.Ledger, hook: Hook
) -> None:
    world(ledger)
    result = ledger.notify([dl.WebhookSender(hook.url(), channel="ops\tfeed")])
    assert {f.person_id for f in result.failures} == {"p_ana", "p_bo", "p_cy"}
    assert all("control characters" in f.reason for f in result.failures)
    assert hook.posts == []  # nothing went out that could not be recorded
    assert list(ledger.records(dl.Notice)) == []


def test_an_email_notice_names_no_address_and_an_older_one_still_counts(
    backend: Backend, clock: Clock, smtp_server: tuple[Mailbox, int], hook: Hook
) -> None:
    """Issue 26: a Notice recorded ``email:<address>``, so erasing a person left their address
    in the chain. Now it records ``email`` (the recipient is its person); a notice recorded the
    old way still says what Ana was told."""
    mailbox, port = smtp_server
    with backend.open(clock=clock) as ledger:
        world(ledger)
        (ana,) = [r for r in ledger.reminders() if r.person_id == "p_ana"]
        told = ledger.record(  # as schema version 6 recorded it, a day ago
            dl.Notice(
                person_id="p_ana",
                channel="email:ana@brand.example",
                sent_at=T0 - DAY,
                finding_keys=tuple(notice_token(f) for f in ana.findings),
            )
        )
        (stored,) = [e for e in ledger.entries() if e.seq == told.seq]
        assert stored.salt is not None  # it names its recipient: personal, salted
        result = ledger.notify(senders(port, hook)[:1])
        assert [d.message.channel for d in result.deliveries] == ["email:bo@agency.example"]
        assert mailbox.to("ana@brand.example") == []  # told already, the old way
        (notice,) = result.sent
        assert (notice.person_id, notice.channel) == ("p_bo", "email")
        (entry,) = [e for e in ledger.entries() if e.record == notice]
        assert entry.salt is None and "agency.example" not in (entry.payload or "")
        clock.advance(days=7)  # a_late starts expiring: Ana hears of it alone
        later = ledger.notify(senders(port, hook)[:1])
        assert [(n.person_id, n.channel) for n in later.sent] == [("p_ana", "email")]
        assert "code a_late" in mailbox.to("ana@brand.example")[0].get_content()
