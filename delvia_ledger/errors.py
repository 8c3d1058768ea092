"""Every error the ledger raises: one base class, one subclass per kind of refusal.

When any of these is raised, nothing has been written.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tiktok_errors import ErrorExplanation


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


class ErasedSubjectError(LedgerError):
    """A record would bring back the personal data of an erased creator or person (DESIGN §16);
    recording it needs ``force=True``, for a new consent."""


class StorageError(LedgerError):
    """The ledger file could not be read or written: disk full, I/O error, read-only, damaged.

    Raised in place of the database driver's own errors, with what happened and what to do.
    """


class LedgerBusyError(StorageError):
    """Another process held the ledger's write lock for longer than the busy timeout."""


class NotALedgerError(StorageError):
    """The file exists but is not a delvia_ledger database (or is damaged)."""


class PayloadError(LedgerError, ValueError):
    """An input payload (TikTok API response, CSV row, JSON) is malformed or incomplete."""


class TikTokAPIError(PayloadError):
    """TikTok's API refused a request: a response envelope with a non-zero ``code``.

    Carries TikTok's ``code``, ``message`` and ``request_id`` (quote it to TikTok support) and,
    where the code is known, :attr:`explanation` from the one catalogue (``explain_error``).
    """

    def __init__(self, code: object, message: str, request_id: str | None = None) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        text = f"TikTok API error {code}: {message}".rstrip(": ")
        if request_id:
            text += f" (request id {request_id})"
        explanation = self.explanation
        if explanation is not None:
            text += f"; {explanation.remedy}"
        super().__init__(text)

    @property
    def explanation(self) -> ErrorExplanation | None:
        """What the code means and what to do, or None for a code the catalogue does not know."""
        from .tiktok_errors import explain_error  # it sits above errors in the layers

        return explain_error(str(self.code)) if isinstance(self.code, str | int) else None


#: Where the documentation lives when the package metadata does not say (a source checkout).
_DOCS = "https://github.com/delvia/delvia-ledger/tree/main/docs"


def docs_url(page: str = "") -> str:
    """The URL of a documentation page (``"reference"`` -> ``.../docs/reference.md``), from the
    package metadata's ``Documentation`` URL: what error texts point to, never a repository path.

    >>> docs_url("reference").endswith("/docs/reference.md")
    True
    """
    return f"{_documentation()}/{page}.md" if page else _documentation()


@lru_cache(maxsize=1)
def _documentation() -> str:
    try:
        for entry in metadata("delvia-ledger").get_all("Project-URL") or ():
            label, _, url = entry.partition(",")
            if label.strip().lower() == "documentation" and url.strip():
                return str(url).strip().rstrip("/")
    except PackageNotFoundError:
        pass
    return _DOCS
