"""The choices records take: ``Role`` (and the scopes each may be granted on),
``RegionVerdict`` and ``PostKind``, each read in any case."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .fields import _as_member

__all__ = ["ROLE_SCOPES", "PostKind", "RegionVerdict", "Role"]


class Role(StrEnum):
    """A person's role on a scope. Only ADMIN and OPERATOR on an ad account create Spark Ads."""

    ADMIN = "ADMIN"  # ad account
    OPERATOR = "OPERATOR"  # ad account
    ANALYST = "ANALYST"  # ad account, read-only
    BC_ADMIN = "BC_ADMIN"  # Business Center
    BC_STANDARD = "BC_STANDARD"  # Business Center
    OWNER = "OWNER"  # responsible person for a creator relationship or a code


class RegionVerdict(StrEnum):
    """Whether a creator region and an ad account region work together for Spark Ads."""

    COMPATIBLE = "COMPATIBLE"
    INCOMPATIBLE = "INCOMPATIBLE"
    UNKNOWN = "UNKNOWN"


class PostKind(StrEnum):
    """TikTok's ``item_type``."""

    VIDEO = "VIDEO"
    CAROUSEL = "CAROUSEL"


# Which scopes each role may be granted on ("ad_account:<id>", "business_center:<id>", ...).
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"ad_account"}),
    Role.OPERATOR: frozenset({"ad_account"}),
    Role.ANALYST: frozenset({"ad_account"}),
    Role.BC_ADMIN: frozenset({"business_center"}),
    Role.BC_STANDARD: frozenset({"business_center"}),
    Role.OWNER: frozenset({"creator", "authorization"}),
}


def to_role(value: Role | str) -> Any:
    """``"admin"`` -> ``Role.ADMIN``."""
    return _as_member(Role, value)


def to_verdict(value: RegionVerdict | str) -> Any:
    """``"compatible"`` -> ``RegionVerdict.COMPATIBLE``."""
    return _as_member(RegionVerdict, value)


def to_post_kind(value: PostKind | str) -> Any:
    """``"video"`` -> ``PostKind.VIDEO``."""
    return _as_member(PostKind, value)
