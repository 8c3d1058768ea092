"""The channels reminders are delivered on, one module each (apprise-style): a new channel is
a module here implementing :class:`~delvia_ledger.notices.Sender` and one line in ``CHANNELS``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__all__ = ["CHANNELS", "EmailSender", "WebhookSender", "channel"]

#: Every channel by its ``kind`` (as results and ``Unreached`` name it): the module here that
#: holds it and its class. A channel is imported when first used (only the webhook loads httpx).
CHANNELS: dict[str, tuple[str, str]] = {
    "email": ("email", "EmailSender"),
    "webhook": ("webhook", "WebhookSender"),
}

if TYPE_CHECKING:
    from ..notices import Sender
    from .email import EmailSender
    from .webhook import WebhookSender
else:

    def __getattr__(name: str) -> object:
        """A channel's class, imported from its module on first use."""
        for kind, (_, class_name) in CHANNELS.items():
            if class_name == name:
                value = channel(kind)
                globals()[name] = value
                return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def channel(kind: str) -> type[Sender]:
    """The sender class of the channel ``kind``.

    >>> channel("email").__name__
    'EmailSender'
    """
    try:
        module, class_name = CHANNELS[kind]
    except KeyError:
        known = ", ".join(sorted(CHANNELS))
        raise ValueError(f"no notify channel {kind!r}; the channels are {known}") from None
    sender: type[Sender] = getattr(import_module(f".{module}", __name__), class_name)
    return sender
