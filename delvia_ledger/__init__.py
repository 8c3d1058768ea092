"""delvia_ledger: the access record behind TikTok Spark Ads, in a tamper-evident SQLite ledger.

>>> import delvia_ledger as dl
>>> dl.SparkCode("#example-code=")
SparkCode(hint='…ode=')
"""

from . import io, plot, tiktok
from .access import OffboardingPlan
from .chain import Digest, Entry, VerifyResult
from .changes import ChangeKind, Changes, FindingChange, RecordChange
from .convert import converter
from .dataframes import frames
from .diagnose import Diagnosis, Step, StepStatus
from .errors import (
    DuplicateCodeError,
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
from .notices import (
    Delivery,
    DeliveryError,
    Failure,
    Message,
    NotifyResult,
    Sender,
    Unreached,
)
from .notify import EmailSender, WebhookSender
from .records import (
    AdAccount,
    Creator,
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
from .reminders import Reminder
from .sync import TikTokClient

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
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
