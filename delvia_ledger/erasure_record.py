"""The ``Erasure`` record (DESIGN §16): what was redacted, why, at whose request and when."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import attrs

from .errors import InvalidRecordError
from .fields import SURROGATE, _check_id, _check_text, _check_time, _fail, _to_tuple, to_utc

__all__ = ["ERASABLE", "Erasure"]


#: Who may be erased (DESIGN §16): the record types that are a person.
ERASABLE = ("Creator", "Person")

_SEQ = re.compile(r"[1-9][0-9]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _matching(pattern: re.Pattern[str], what: str) -> Any:
    def check(instance: object, field: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple) or not all(
            isinstance(item, str) and pattern.fullmatch(item) for item in value
        ):
            raise _fail(instance, field, value, f"must be a tuple of {what}")

    return check


def _check_subject_type(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value not in ERASABLE:
        raise _fail(instance, field, value, f"must be one of {', '.join(ERASABLE)}")


def _erasure_id(instance: Erasure) -> str:
    if not (
        isinstance(instance.subject_type, str)
        and isinstance(instance.subject_id, str)
        and isinstance(instance.erased_at, datetime)
        and not SURROGATE.search(instance.subject_id)
    ):
        return ""  # the fields' own validators (which run first) say what is wrong
    text = f"{instance.subject_type}\n{instance.subject_id}\n{instance.erased_at.isoformat()}"
    return "erasure_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@attrs.frozen(kw_only=True)
class Erasure:
    """A recorded erasure (DESIGN §16): the personal data of ``subject_type`` ``subject_id``
    was redacted from the entries ``seqs`` (decimal text), whose redacted payloads hash to
    ``hashes`` (hex SHA-256, in the same order), because of ``reason``, as ``requested_by``
    asked, at ``erased_at``.

    Only ``Ledger.erase`` and ``Ledger.retention`` record one.
    """

    subject_type: str = attrs.field(validator=_check_subject_type)
    subject_id: str = attrs.field(validator=_check_id)
    seqs: tuple[str, ...] = attrs.field(
        converter=_to_tuple, validator=_matching(_SEQ, "seqs (decimal text)")
    )
    hashes: tuple[str, ...] = attrs.field(
        converter=_to_tuple, validator=_matching(_SHA256, "hex SHA-256 digests")
    )
    reason: str = attrs.field(validator=_check_text)
    requested_by: str = attrs.field(validator=_check_id)
    erased_at: datetime = attrs.field(converter=to_utc, validator=_check_time)
    id: str = attrs.field(default=attrs.Factory(_erasure_id, takes_self=True), validator=_check_id)

    def __attrs_post_init__(self) -> None:
        if len(self.seqs) != len(self.hashes):
            raise InvalidRecordError(
                f"Erasure: {len(self.seqs)} seqs but {len(self.hashes)} hashes; each redacted "
                "seq has the SHA-256 of its redacted payload"
            )

    @property
    def redacted(self) -> dict[int, str]:
        """The seqs redacted, each with the SHA-256 of its redacted payload."""
        return {int(seq): digest for seq, digest in zip(self.seqs, self.hashes, strict=True)}
