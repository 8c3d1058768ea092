"""delvia_ledger: the access record behind TikTok Spark Ads, in a tamper-evident SQLite ledger.

>>> import delvia_ledger as dl
>>> dl.SparkCode("#example-code=")
SparkCode(hint='…ode=')
"""

from . import io, plot, tiktok
from .access import OffboardingPlan
from .chain import SOURCES, Digest, Entry, VerifyResult
from .convert import converter
from .dataframes import frames
from .diagnose import Diagnosis, Step, StepStatus
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
from .findings import CATALOGUE, ErrorExplanation, Finding, FindingKind, Severity, explain_error
from .ledger import ImportResult, Ledger, LedgerView, RecordAllResult, SyncResult
from .notify import EmailSender, WebhookSender
from .records import (
    AdAccount,
    Creator,
    Erasure,
    Notice,
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
from .reminders import (
    ChangeKind,
    Changes,
    Delivery,
    DeliveryError,
    Failure,
    FindingChange,
    Message,
    NotifyResult,
    RecordChange,
    Reminder,
    Sender,
    Unreached,
)
from .sync import TikTokClient

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "SOURCES",
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
