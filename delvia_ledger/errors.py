"""Every error the ledger raises: one base class, one subclass per kind of refusal.

When any of these is raised, nothing has been written.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error raised by delvia_ledger."""

    #: The record that was refused, when a rule refused one (None otherwise).
    record: object = None


class InvalidRecordError(LedgerError, ValueError):
    """A record field holds a value the record cannot accept (raised on construction)."""


class MissingReferenceError(LedgerError):
    """A record refers to another record the ledger does not hold."""


class InconsistentReferenceError(LedgerError):
    """A record's references contradict each other (e.g. a code for another creator's post)."""


class ImmutableFieldError(LedgerError):
    """A new version tries to change a field that identifies the record."""


class IrreversibleChangeError(LedgerError):
    """A new version tries to undo something that cannot be undone (a revocation, a departure)."""


class DuplicateCodeError(LedgerError):
    """The same Spark code is already recorded under another authorization id."""


class NotALedgerError(LedgerError):
    """The file exists but is not a delvia_ledger database (or is damaged)."""


class PayloadError(LedgerError, ValueError):
    """An input payload (TikTok API response, CSV row, JSON) is malformed or incomplete."""


class TikTokAPIError(PayloadError):
    """A TikTok API response envelope reports an error (non-zero ``code``)."""

    def __init__(self, code: object, message: str) -> None:
        super().__init__(f"TikTok API error {code}: {message}")
        self.code = code
        self.message = message
