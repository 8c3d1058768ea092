"""Reminders by email over SMTP (a notify channel). The password never leaves the sender:
no repr, log line, error or result holds it.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Final

from ..fields import email_problem, one_line, scrubbed
from ..notices import DeliveryError, Message, seconds_above_zero
from ..reminders import Reminder

__all__ = ["EmailSender"]

log = logging.getLogger(__name__)


#: The largest email, in bytes as sent (headers and transfer encoding included): far below
#: what mail servers refuse (10 MB and more is usual) and what mail clients show well. A
#: longer worklist is split.
MAX_SIZE = 256_000


class EmailSender:
    """Reminders by email, one message per person, through an SMTP server.

    Each message goes over its own connection (a refused one cannot spoil the next). It
    carries ``Date`` and ``Message-ID``, and a subject that says what is urgent. A worklist
    longer than ``max_size`` bytes is sent as several emails, "(1 of N)" in each subject.
    The address is the person's ``email``, which must be one address (an RFC 5322
    addr-spec): anything else reaches nobody.

    ``starttls=True`` upgrades the connection before logging in; with ``username`` (and
    ``password``) it logs in. The password stays out of the repr, logs and errors.

    >>> sender = EmailSender("smtp.brand.com", 587, "ads@brand.com", username="ops", password="pw")
    >>> sender  # doctest: +ELLIPSIS
    EmailSender(host='smtp.brand.com', port=587, from_addr='ads@brand.com', username='ops', ...)
    """

    kind: Final = "email"

    def __init__(
        self,
        host: str,
        port: int,
        from_addr: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
        max_size: int = MAX_SIZE,
    ) -> None:
        if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host.strip()):
            raise ValueError(f"host must be the SMTP server's name, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be a whole number from 1 to 65535, got {port!r}")
        address = parseaddr(from_addr)[1] if isinstance(from_addr, str) else ""
        if "@" not in address:
            raise ValueError(f"from_addr must be an email address, got {from_addr!r}")
        if password is not None and not username:
            raise ValueError("password is given without username: give both, or neither")
        if username is not None and (not isinstance(username, str) or not username.strip()):
            raise ValueError("username is empty: give the SMTP login, or leave it out")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 4_000:
            raise ValueError(
                f"max_size must be a number of bytes of 4000 or more, got {max_size!r}"
            )
        self.host: Final = host.strip()
        self.port: Final = port
        self.from_addr: Final = from_addr.strip()
        self.username: Final = username
        self.starttls: Final = bool(starttls)
        self.timeout: Final = seconds_above_zero("timeout", timeout)
        self.max_size: Final = max_size
        self._password = password
        self._domain = address.rpartition("@")[2] or "localhost"

    def __repr__(self) -> str:
        return (
            f"EmailSender(host={self.host!r}, port={self.port}, from_addr={self.from_addr!r}, "
            f"username={self.username!r}, starttls={self.starttls})"
        )

    def channel_for(self, reminder: Reminder) -> str | None:
        """``"email:<address>"``, or None for a person without one email address (or nobody)."""
        if not reminder.email or email_problem(reminder.email) is not None:
            return None
        return f"email:{reminder.email}"

    def why_unreached(self, reminder: Reminder) -> str:
        """Why :meth:`channel_for` gave None for ``reminder``."""
        if not reminder.email:
            return "no email recorded"
        problem = email_problem(reminder.email)
        return f"Person.email={one_line(reminder.email)[:80]!r} {problem}"

    def parts(self, message: Message, bound: int | None = None) -> list[tuple[str, str]]:
        """``message`` as (subject, body) pairs, each body's lines under ``bound`` bytes (default:
        ``max_size`` less room for the headers): the whole worklist, split between findings,
        "(1 of N)" in each subject when there are several."""
        if bound is None:
            bound = self.max_size - 2_000
        bodies = _packed(message.entries, bound) if message.entries else [[message.text]]
        count = len(bodies)
        out = []
        for number, entries in enumerate(bodies, 1):
            part = f" ({number} of {count})" if count > 1 else ""
            lines = [message.heading + part] if message.entries else []
            lines += entries
            if number == count:
                lines += message.footer
            else:
                lines += ["", f"Continued in part {number + 1} of {count}."]
            out.append((message.subject + part, "\n".join(lines)))
        return out

    def emails(self, message: Message) -> list[EmailMessage]:
        """The emails :meth:`send` delivers for ``message``: To, From, Date, Message-ID and a
        subject that says what is urgent; raises :class:`DeliveryError` for an address that
        is not one address."""
        address = message.email
        if not address:
            raise DeliveryError(f"{one_line(message.name)} has no email recorded")
        problem = email_problem(address)
        if problem is not None:
            raise DeliveryError(
                f"refused to send to Person.email={one_line(address)[:80]!r}: {problem}"
            )
        bound = self.max_size - 2_000
        for _ in range(4):  # the transfer encoding (quoted-printable) grows the text: shrink
            mails = self._built(message, address, bound)
            largest = max(len(mail.as_bytes()) for mail in mails)
            if largest <= self.max_size:
                return mails
            bound = int(bound * self.max_size / largest * 0.97)
        raise DeliveryError(f"could not fit the worklist in emails of {self.max_size} bytes")

    def _built(self, message: Message, address: str, bound: int) -> list[EmailMessage]:
        sent_at = message.sent_at or datetime.now(UTC)
        mails = []
        for subject, body in self.parts(message, bound):
            mail = EmailMessage()
            try:
                mail["From"] = self.from_addr
                mail["To"] = formataddr((one_line(message.name), address))
                mail["Subject"] = one_line(subject)
                mail["Date"] = format_datetime(sent_at.astimezone(UTC))
                mail["Message-ID"] = make_msgid(domain=self._domain)
            except (ValueError, TypeError) as error:
                raise DeliveryError(
                    f"cannot address the message to {one_line(address)}: {error}"
                ) from None
            mail.set_content(body)
            mails.append(mail)
        return mails

    def _secrets(self) -> tuple[str, ...]:
        password = self._password
        if not password:
            return ()
        login = f"\0{self.username}\0{password}".encode()
        return (
            password,
            base64.b64encode(login).decode(),
            base64.b64encode(password.encode()).decode(),
        )

    def send(self, message: Message) -> None:
        """Deliver ``message`` to ``message.email`` (in parts, if long); raises
        :class:`DeliveryError`. A part refused after others were accepted says so."""
        mails = self.emails(message)
        where = f"SMTP {self.host}:{self.port}"
        self._deliver(mails, message.email or "", where)
        log.debug("email to %s accepted by %s: %d part(s)", message.email, where, len(mails))

    def _deliver(self, mails: Sequence[EmailMessage], address: str, where: str) -> int:
        sent = 0
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                for mail in mails:
                    refused = smtp.send_message(mail)
                    if refused:
                        raise DeliveryError(f"{where} refused the recipient {address}")
                    sent += 1
        except DeliveryError as error:
            raise DeliveryError(_part(error, sent, len(mails))) from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
            raise DeliveryError(
                _part(
                    scrubbed(f"{where} refused the recipient {address}: {codes}", self._secrets()),
                    sent,
                    len(mails),
                )
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                scrubbed(
                    f"{where} refused the login of {self.username!r}: {error.smtp_code} "
                    f"{_text(error.smtp_error)}",
                    self._secrets(),
                )
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                _part(
                    scrubbed(
                        f"{where} refused the message: {error.smtp_code} {_text(error.smtp_error)}",
                        self._secrets(),
                    ),
                    sent,
                    len(mails),
                )
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise DeliveryError(
                scrubbed(
                    f"could not deliver through {where}: {type(error).__name__}: {error}",
                    self._secrets(),
                )
            ) from None
        return sent


def _part(error: object, sent: int, count: int) -> str:
    """An error's text, saying how many parts got through before it when there are several."""
    if count == 1:
        return str(error)
    return f"{error} (part {sent + 1} of {count}; {sent} delivered before it)"


def _packed(entries: Sequence[str], bound: int) -> list[list[str]]:
    """``entries`` in order, in as few groups as keep each group under ``bound`` bytes as
    sent (UTF-8, each line ended by CRLF); an entry longer than that alone is cut."""
    groups: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        length = _wire(entry)
        if length > bound:
            entry = entry.encode("utf-8")[: bound // 2].decode("utf-8", "ignore") + " …(cut)"
            length = _wire(entry)
        if groups[-1] and size + length > bound:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += length
    return groups


def _wire(entry: str) -> int:
    """The bytes ``entry`` takes in a message as sent: UTF-8, every line ended by CRLF."""
    return len(entry.encode("utf-8")) + 2 * (entry.count("\n") + 1)


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return one_line(text)[:300]
