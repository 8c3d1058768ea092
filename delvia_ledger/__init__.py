"""delvia_ledger: the access record behind TikTok Spark Ads, in a tamper-evident SQLite ledger.

>>> import delvia_ledger as dl
>>> dl.SparkCode("#example-code=")
SparkCode(hint='…ode=')
"""

from importlib import import_module
from typing import TYPE_CHECKING

#: Where each public name lives. Names are imported on first use (PEP 562), so that
#: ``import delvia_ledger`` loads no dependency at all: not the storage engine, not httpx, and
#: no optional extra (pandas, numpy, matplotlib, psycopg) until something that needs it is
#: called. A submodule maps to itself.
_HOMES: dict[str, tuple[str, ...]] = {
    "access": ("OffboardingPlan",),
    "chain": ("SOURCES", "Digest", "Entry", "VerifyResult"),
    "changes": ("ChangeKind", "Changes", "FindingChange", "RecordChange"),
    "convert": ("converter",),
    "dataframes": ("frames",),
    "diagnose": ("Diagnosis", "Step", "StepStatus", "Suggestion"),
    "errors": (
        "DuplicateCodeError",
        "ErasedSubjectError",
        "ImmutableFieldError",
        "InconsistentReferenceError",
        "InvalidRecordError",
        "IrreversibleChangeError",
        "LedgerBusyError",
        "LedgerError",
        "MissingReferenceError",
        "NotALedgerError",
        "PayloadError",
        "StorageError",
        "TikTokAPIError",
    ),
    "findings": ("CATALOGUE", "Finding", "FindingKind", "Severity"),
    "io": ("io",),
    "ledger": ("ImportResult", "Ledger", "LedgerView", "RecordAllResult", "SyncResult"),
    "notices": (
        "Delivery",
        "DeliveryError",
        "Failure",
        "Message",
        "NotifyResult",
        "Sender",
        "Unreached",
    ),
    "notify.email": ("EmailSender",),
    "notify.webhook": ("WebhookSender",),
    "plot": ("plot",),
    "records": (
        "AccessReview",
        "AdAccount",
        "Creator",
        "Erasure",
        "Notice",
        "PendingInvite",
        "Person",
        "Post",
        "PostKind",
        "Record",
        "RegionRule",
        "RegionVerdict",
        "Role",
        "RoleGrant",
        "SparkAd",
        "SparkAuthorization",
        "SparkBinding",
        "SparkCode",
    ),
    "reminders": ("Reminder",),
    "sync": ("TikTokClient",),
    "tiktok": ("tiktok",),
    "tiktok_errors": ("ErrorExplanation", "explain_error"),
}
_HOME: dict[str, str] = {name: home for home, names in _HOMES.items() for name in names}

if TYPE_CHECKING:  # the same names for type checkers, which see no __getattr__ below
    from . import io, plot, tiktok
    from .access import OffboardingPlan
    from .chain import SOURCES, Digest, Entry, VerifyResult
    from .changes import ChangeKind, Changes, FindingChange, RecordChange
    from .convert import converter
    from .dataframes import frames
    from .diagnose import Diagnosis, Step, StepStatus, Suggestion
    from .errors import (
        DuplicateCodeError,
        ErasedSubjectError,
        ImmutableFieldError,
        InconsistentReferenceError,
        InvalidRecordError,
        IrreversibleChangeError,
        LedgerBusyError,
        LedgerError,
        MissingReferenceError,
        NotALedgerError,
        PayloadError,
        StorageError,
        TikTokAPIError,
    )
    from .findings import CATALOGUE, Finding, FindingKind, Severity
    from .ledger import ImportResult, Ledger, LedgerView, RecordAllResult, SyncResult
    from .notices import (
        Delivery,
        DeliveryError,
        Failure,
        Message,
        NotifyResult,
        Sender,
        Unreached,
    )
    from .notify.email import EmailSender
    from .notify.webhook import WebhookSender
    from .records import (
        AccessReview,
        AdAccount,
        Creator,
        Erasure,
        Notice,
        PendingInvite,
        Person,
        Post,
        PostKind,
        Record,
        RegionRule,
        RegionVerdict,
        Role,
        RoleGrant,
        SparkAd,
        SparkAuthorization,
        SparkBinding,
        SparkCode,
    )
    from .reminders import Reminder
    from .sync import TikTokClient
    from .tiktok_errors import ErrorExplanation, explain_error
else:

    def __getattr__(name: str) -> object:
        """Import a public name from its home on first use, then keep it here."""
        try:
            home = _HOME[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        module = import_module(f".{home}", __name__)
        value = module if home == name else getattr(module, name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The module's names, the ones not imported yet included."""
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "SOURCES",
    "AccessReview",
    "AdAccount",
    "ChangeKind",
    "Changes",
    "Creator",
    "Delivery",
    "DeliveryError",
    "Diagnosis",
    "Digest",
    "DuplicateCodeError",
    "EmailSender",
    "Entry",
    "ErasedSubjectError",
    "Erasure",
    "ErrorExplanation",
    "Failure",
    "Finding",
    "FindingChange",
    "FindingKind",
    "ImmutableFieldError",
    "ImportResult",
    "InconsistentReferenceError",
    "InvalidRecordError",
    "IrreversibleChangeError",
    "Ledger",
    "LedgerBusyError",
    "LedgerError",
    "LedgerView",
    "Message",
    "MissingReferenceError",
    "NotALedgerError",
    "Notice",
    "NotifyResult",
    "OffboardingPlan",
    "PayloadError",
    "PendingInvite",
    "Person",
    "Post",
    "PostKind",
    "Record",
    "RecordAllResult",
    "RecordChange",
    "RegionRule",
    "RegionVerdict",
    "Reminder",
    "Role",
    "RoleGrant",
    "Sender",
    "Severity",
    "SparkAd",
    "SparkAuthorization",
    "SparkBinding",
    "SparkCode",
    "Step",
    "StepStatus",
    "StorageError",
    "Suggestion",
    "SyncResult",
    "TikTokAPIError",
    "TikTokClient",
    "Unreached",
    "VerifyResult",
    "WebhookSender",
    "converter",
    "explain_error",
    "frames",
    "io",
    "plot",
    "tiktok",
]
