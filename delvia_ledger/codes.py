"""The Spark code: kept only as a SHA-256 fingerprint and a short hint, never raw; and the
variants a code mangled in transit may have been ("did you mean").
"""

from __future__ import annotations

import hashlib
import re

import attrs

from .errors import InvalidRecordError
from .fields import NOT_IN_IDS

__all__ = ["CodeRepair", "SparkCode", "fingerprint_of", "is_hint", "repairs_of", "to_code"]


# --- the Spark code ------------------------------------------------------------------------------


@attrs.frozen(init=False)
class SparkCode:
    """A Spark Ads authorization code, kept only as a SHA-256 fingerprint and a short hint.

    The raw code is never stored and never printed:

    >>> code = SparkCode("#mX1nZq+example/code=")
    >>> code
    SparkCode(hint='…ode=')
    >>> code.matches("  #mX1nZq+example/code=\\n")
    True
    """

    fingerprint: str = attrs.field(repr=False)
    hint: str

    def __init__(self, raw: str) -> None:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidRecordError("SparkCode: the code must be a non-empty string")
        code = raw.strip()
        if code.isprintable():  # the common path: no controls, bidi or surrogates
            fingerprint = hashlib.sha256(code.encode("utf-8")).hexdigest()
        else:
            fingerprint = fingerprint_of(code)  # refuses lone surrogates
            if NOT_IN_IDS.search(code):
                raise InvalidRecordError(
                    "SparkCode: the code holds a control character (e.g. a line break inside "
                    "it) or a bidi control; a Spark code is printable text, so copy it again "
                    "from TikTok (the code is not shown)"
                )
        shown = min(4, len(code) // 3)
        self.__attrs_init__(fingerprint=fingerprint, hint="…" + (code[-shown:] if shown else ""))

    @classmethod
    def from_fingerprint(cls, fingerprint: str, hint: str) -> SparkCode:
        """Rebuild a code from its fingerprint and hint (the raw code is not needed).

        Both are checked, and neither is ever echoed in the error: a raw code pasted into
        either must not travel on into a message. The hint must look like one
        :class:`SparkCode` makes: ``…`` and at most the last 4 characters of the code.
        """
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise InvalidRecordError(
                "SparkCode.fingerprint: must be 64 lowercase hex digits, as exported in "
                "code_fingerprint (the value is not shown: it may be a raw code)"
            )
        if not is_hint(hint):
            raise InvalidRecordError(
                "SparkCode.hint: must be '…' followed by at most the last 4 characters of "
                "the code, as exported in code_hint (the value is not shown: it may be a raw "
                "code)"
            )
        return cls.from_ledger(fingerprint, hint)

    @classmethod
    def from_ledger(cls, fingerprint: str, hint: str) -> SparkCode:
        """Rebuild a code the ledger itself stored (trusted: not checked again).

        Use :meth:`from_fingerprint` for anything that comes from outside the ledger.
        """
        code = cls.__new__(cls)
        code.__attrs_init__(fingerprint=fingerprint, hint=hint)
        return code

    def matches(self, raw: str) -> bool:
        """True if ``raw`` (surrounding whitespace ignored) is this code."""
        return fingerprint_of(raw) == self.fingerprint

    def __str__(self) -> str:
        return self.hint


_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def is_hint(hint: object) -> bool:
    """True for a hint of the shape :class:`SparkCode` makes: ``…`` and 0 to 4 characters.

    Those characters end a stripped code, which holds no control or bidi characters: so
    neither does a hint, nor does it end in a space.

    >>> is_hint("…ode="), is_hint("#mX1nZq+example/code=")
    (True, False)
    """
    return (
        isinstance(hint, str)
        and 1 <= len(hint) <= 5
        and hint[0] == "…"
        and not NOT_IN_IDS.search(hint)
        and hint == hint.rstrip()
    )


def fingerprint_of(code: str) -> str:
    """The hex SHA-256 of a whitespace-stripped raw code.

    A code that is not text (not a string, or holding a lone surrogate, which UTF-8 cannot
    encode) is refused with an error that never carries the code.
    """
    if not isinstance(code, str):
        raise InvalidRecordError(
            f"SparkCode: a code must be text (a string), got {type(code).__name__}"
        )
    try:
        data = code.strip().encode("utf-8")
    except UnicodeEncodeError:
        data = None  # raised below, outside the handler: the error must not chain to this one
    if data is None:
        raise InvalidRecordError(
            "SparkCode: the code holds a lone surrogate (U+D800-U+DFFF), which is not text; "
            "copy the code again from TikTok (the code is not shown)"
        )
    return hashlib.sha256(data).hexdigest()


def to_code(value: SparkCode | str) -> SparkCode:
    """A raw code string becomes a :class:`SparkCode` (fingerprint and hint only)."""
    if isinstance(value, SparkCode):
        return value
    if isinstance(value, str) and value.strip():
        return SparkCode(value)
    # Refused here rather than by a validator, because the default id is derived from it.
    # Never echo the value: it may be a raw code.
    raise InvalidRecordError(
        "SparkAuthorization.code: must be a SparkCode or a non-empty raw code string"
    )


# --- codes mangled in transit ("did you mean") ---------------------------------------------------


@attrs.frozen
class CodeRepair:
    """A code as it probably was before a form or a URL mangled it: only its fingerprint, and
    what was repaired in words (never a character of the code)."""

    fingerprint: str
    note: str


def repairs_of(raw: str) -> list[CodeRepair]:
    """The fingerprints of ``raw``'s repaired variants, for a "did you mean" (issue 21.5).

    Form decoding turns a code's ``+`` into a space; a code sent in a URL may arrive
    percent-encoded (``%2B``, ``%2F``, ``%3D``; every ``%XX`` is decoded). Each repair
    (spaces back to ``+``, the encodings decoded, both) that changes the code gives one
    variant, in that order, none twice and none equal to ``raw`` itself. Nothing raw is kept
    or shown:

    >>> [r.note for r in repairs_of("#ab cd%3D")]
    ["'+' read as a space, 1 place", 'percent-encoding decoded, 1 place', \
"'+' read as a space, 1 place; percent-encoding decoded, 1 place"]
    >>> repairs_of("#ab+cd=")
    []
    """
    code = raw.strip() if isinstance(raw, str) else raw
    own = fingerprint_of(code)  # refuses what is not text, without echoing it
    spaces = sum(1 for c in code if c.isspace())
    escapes = len(_PERCENT.findall(code))
    spaced = _SPACES.sub("+", code) if spaces else None
    steps = [
        (spaced, f"'+' read as a space, {_places(spaces)}"),
        (_unquote(code) if escapes else None, f"percent-encoding decoded, {_places(escapes)}"),
    ]
    if spaced is not None and escapes:
        steps.append((_unquote(spaced), f"{steps[0][1]}; {steps[1][1]}"))
    seen = {own}
    found = []
    for variant, note in steps:
        if variant is None or not variant.strip():
            continue
        fingerprint = fingerprint_of(variant)
        if fingerprint not in seen:
            seen.add(fingerprint)
            found.append(CodeRepair(fingerprint, note))
    return found


_PERCENT = re.compile("%[0-9A-Fa-f]{2}")
_SPACES = re.compile(r"\s")


def _unquote(text: str) -> str:
    from urllib.parse import unquote  # only a "did you mean" needs it

    return unquote(text)


def _places(n: int) -> str:
    return f"{n} place" if n == 1 else f"{n} places"
