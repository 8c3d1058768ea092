"""The channels reminders are delivered on, one module each (apprise-style): a new channel is
a module here implementing :class:`~delvia_ledger.notices.Sender` and one line in ``CHANNELS``.
"""

from ..notices import Sender
from .email import EmailSender
from .webhook import WebhookSender

__all__ = ["CHANNELS", "EmailSender", "WebhookSender"]

#: Every channel by its ``kind`` (as results and ``Unreached`` name it).
CHANNELS: dict[str, type[Sender]] = {
    EmailSender.kind: EmailSender,
    WebhookSender.kind: WebhookSender,
}
