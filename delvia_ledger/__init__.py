"""delvia_ledger: the access record behind TikTok Spark Ads, in a tamper-evident SQLite ledger.

>>> import delvia_ledger as dl
>>> dl.SparkCode("#example-code=")
SparkCode(hint='…ode=')
"""

from . import io, plot, tiktok
from .access import OffboardingPlan
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
from .store import Digest, Entry, VerifyResult

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "AdAccount",
    "Creator",
    "Diagnosis",
    "Digest",
    "DuplicateCodeError",
    "Entry",
    "ErrorExplanation",
    "Finding",
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
    "MissingReferenceError",
    "NotALedgerError",
    "Notice",
    "OffboardingPlan",
    "PayloadError",
    "Person",
    "Post",
    "PostKind",
    "Record",
    "RecordAllResult",
    "RegionRule",
    "RegionVerdict",
    "Role",
    "RoleGrant",
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
    "VerifyResult",
    "converter",
    "explain_error",
    "frames",
    "io",
    "plot",
    "tiktok",
]
