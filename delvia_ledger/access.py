"""Roles and owners: who has access now, and what happens when someone leaves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from .convert import readable_time
from .errors import LedgerError
from .records import ACTUAL, Person, Record, RoleGrant, SparkAd, SparkAuthorization
from .rules import Grant
from .storage import Equals
from .world import World

__all__ = ["OffboardingPlan", "active_grants", "offboarding_plan"]


def active_grants(world: World, keep: Callable[[Grant], bool]) -> list[RoleGrant]:
    """The grants active at ``world.now`` that ``keep`` selects, as records (one read)."""
    ids = [g.id for g in world.active_grants if keep(g)]
    found = {g.id: g for g in world.store.current_records(RoleGrant, "id", ids, bound=world.bound)}
    return [found[i] for i in ids if i in found]


@attrs.frozen
class OffboardingPlan:
    """What offboarding a person would change; nothing is written until :meth:`apply`."""

    person: Person
    at: datetime
    grants_ending: tuple[RoleGrant, ...]
    authorizations_owned: tuple[str, ...]
    ads_owned: tuple[str, ...]
    creators_owned: tuple[str, ...]
    accounts_left_without_admin: tuple[str, ...]
    _apply: Callable[[OffboardingPlan], object] = attrs.field(
        repr=False, eq=False, alias="apply_fn"
    )
    tiktok_roles: tuple[RoleGrant, ...] = ()  #: roles TikTok lists: removed there, not here
    side: str = "intended"  #: which side the accounts left without an admin were read from

    @property
    def changes(self) -> list[Record]:
        """The records :meth:`apply` will record: the person's ``left_at``, each grant ended."""
        ended = [attrs.evolve(grant, ended_at=self.at) for grant in self.grants_ending]
        return [attrs.evolve(self.person, left_at=self.at), *ended]

    def apply(self) -> None:
        """Record the departure and end every active grant, in one transaction.

        Refused with a :class:`LedgerError` (nothing written) when the person or their grants
        changed since this preview was made: applying it would silently undo those edits.
        """
        self._apply(self)

    def check_current(self, now: OffboardingPlan) -> None:
        """Refuse this plan unless ``now`` (the same preview made again) rests on the same
        versions of the person and of every grant it ends."""
        before = {g.id: g for g in self.grants_ending}
        after = {g.id: g for g in now.grants_ending}
        changed = [f"person {self.person.id!r}"] if now.person != self.person else []
        changed += [
            f"grant {id_!r} ({'changed' if id_ in after else 'no longer active'})"
            for id_ in before
            if before[id_] != after.get(id_)
        ]
        changed += [f"grant {id_!r} (new)" for id_ in after if id_ not in before]
        if changed:
            raise LedgerError(
                f"offboard {self.person.id!r}: the plan is out of date, the ledger changed "
                f"since the preview: {', '.join(changed)}; preview again with "
                f"ledger.offboard({self.person.id!r}, at=...) and apply that plan"
            )

    def __str__(self) -> str:
        lines = [f"Offboarding {self.person.name} ({self.person.id}) at {readable_time(self.at)}"]
        lines += [f"  ends {g.role} on {g.scope}" for g in self.grants_ending]
        for label, ids in (
            ("codes to hand over", self.authorizations_owned),
            ("ads to hand over", self.ads_owned),
            ("creators to hand over", self.creators_owned),
            ("accounts left without an admin", self.accounts_left_without_admin),
        ):
            if ids:
                lines.append(f"  {label}: {', '.join(ids)}")
        lines += [
            f"  still listed by TikTok: {g.role} on {g.scope} (a Business Center admin removes "
            "it; the next sync --access ends it here)"
            for g in self.tiktok_roles
        ]
        lines.append(f"  (roles read from the {self.side} side)")
        return "\n".join(lines)


def offboarding_plan(
    world: World,
    person: Person,
    at: datetime,
    apply_fn: Callable[[OffboardingPlan], object],
) -> OffboardingPlan:
    """Preview offboarding ``person`` at ``at`` (``world`` is taken at ``at``)."""
    grants = tuple(active_grants(world, lambda g: g.person_id == person.id and g.source != ACTUAL))
    listed = [
        g.id
        for g in world.grants
        if g.person_id == person.id and g.source == ACTUAL and world.in_force(g)
    ]
    tiktok = tuple(world.store.current_records(RoleGrant, "id", listed, bound=world.bound))
    synced = any(world.synced(f"ad_account:{a}") for a in world.accounts)
    without = []
    for account in sorted(world.accounts):
        admins = world.administrators(account)
        if person.id in admins and admins == {person.id}:
            without.append(account)
    owned_codes = [
        str(i) for (i,) in world.select(SparkAuthorization, ("id",), Equals("owner_id", person.id))
    ]
    owned_ads = [str(i) for (i,) in world.select(SparkAd, ("id",), Equals("owner_id", person.id))]
    creators = tuple(g.scope_id for g in grants if g.role == "OWNER" and g.scope_kind == "creator")
    return OffboardingPlan(
        person,
        at,
        grants,
        tuple(owned_codes),
        tuple(owned_ads),
        creators,
        tuple(without),
        apply_fn,
        tiktok_roles=tiktok,
        side="actual" if synced else "intended",
    )
