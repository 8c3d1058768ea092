"""Reminders by email over SMTP (a notify channel). The password never leaves the sender:
no repr, log line, error or result holds it.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Final

from ..notices import DeliveryError, Message, scrubbed, seconds_above_zero
from ..reminders import Reminder

__all__ = ["EmailSender"]

log = logging.getLogger(__name__)


class EmailSender:
    """Reminders by email, one message per person, through an SMTP server.

    Each message goes over its own connection (a refused one cannot spoil the next).

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
        self.host: Final = host.strip()
        self.port: Final = port
        self.from_addr: Final = from_addr.strip()
        self.username: Final = username
        self.starttls: Final = bool(starttls)
        self.timeout: Final = seconds_above_zero("timeout", timeout)
        self._password = password

    def __repr__(self) -> str:
        return (
            f"EmailSender(host={self.host!r}, port={self.port}, from_addr={self.from_addr!r}, "
            f"username={self.username!r}, starttls={self.starttls})"
        )

    def channel_for(self, reminder: Reminder) -> str | None:
        """``"email:<address>"``, or None for a person without an email (or nobody)."""
        return f"email:{reminder.email}" if reminder.email else None

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
        """Deliver ``message`` to ``message.email``; raises :class:`DeliveryError`."""
        if not message.email:
            raise DeliveryError(f"{message.name} has no email recorded")
        mail = EmailMessage()
        try:
            mail["From"] = self.from_addr
            mail["To"] = formataddr((message.name, message.email))
            mail["Subject"] = message.subject
        except (ValueError, TypeError) as error:
            raise DeliveryError(f"cannot address the message to {message.email}: {error}") from None
        mail.set_content(message.text)
        where = f"SMTP {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
            raise DeliveryError(
                scrubbed(f"{where} refused the recipient {message.email}: {codes}", self._secrets())
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
                scrubbed(
                    f"{where} refused the message: {error.smtp_code} {_text(error.smtp_error)}",
                    self._secrets(),
                )
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise DeliveryError(
                scrubbed(
                    f"could not deliver through {where}: {type(error).__name__}: {error}",
                    self._secrets(),
                )
            ) from None
        if refused:
            raise DeliveryError(f"{where} refused the recipient {message.email}")
        log.debug("email to %s accepted by %s", message.email, where)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
