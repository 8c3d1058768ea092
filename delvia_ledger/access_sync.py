"""The intake of TikTok's Business Center sweeps (DESIGN §8, §12 "Access"): people found by
TikTok user id, then email; the roles TikTok lists become the *actual* side; PENDING members
become invitations. One transaction; nothing written when nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import attrs

from . import tiktok_access as bc
from .records import ACTUAL, ERASED, AdAccount, PendingInvite, Person, Record, RoleGrant
from .storage import Equals, Storage
from .tiktok import Skipped
from .writing import Writer

if TYPE_CHECKING:  # sync sits below (DESIGN §3): intake only calls a client
    from .sync import TikTokClient
    from .sync_pages import Progress, Sweep

__all__ = ["AccessSyncResult", "sync_access"]


@attrs.frozen(kw_only=True)
class AccessSyncResult:
    """What ``ledger.sync_access`` did for one Business Center.

    ``members``: roles TikTok listed for the Business Center; ``invitations``: PENDING
    members; ``accounts``: the ad accounts swept (the ledger's accounts of that Business
    Center); ``roles``: roles listed on them; ``written`` / ``unchanged``: records; ``ended``:
    roles TikTok stopped listing (ended at the sweep's time); ``people_added``: people the
    ledger did not know; ``incomplete``: listings that did not hold still (nothing ended for
    them), each with the reason; ``skipped``: members that hold no role (UNBOUND, REJECTED).
    """

    business_center_id: str
    members: int
    invitations: int
    accounts: tuple[str, ...]
    roles: int
    written: int
    unchanged: int
    ended: int
    people_added: int
    incomplete: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def __str__(self) -> str:
        text = (
            f"Business Center {self.business_center_id}: {self.members} members, "
            f"{self.invitations} pending invitations, {len(self.accounts)} ad accounts "
            f"({self.roles} roles); {self.written} written, {self.ended} roles ended, "
            f"{self.people_added} people added"
        )
        if self.incomplete:
            text += f"; incomplete (nothing ended there): {'; '.join(self.incomplete)}"
        return text


@attrs.frozen
class _Read:
    """One Business Center's sweeps, read (nothing written yet)."""

    bc_id: str
    members: list[bc.Member]
    invites: list[bc.Invitation]
    skipped: list[Skipped]
    members_complete: bool
    accounts: dict[str, list[bc.RoleDraft]]
    complete_accounts: frozenset[str]
    incomplete: tuple[str, ...]
    users: dict[str, tuple[str | None, str | None]]  # user id -> (name, email)


def _complete(sweep: Sweep) -> str:
    """Why a sweep proves nothing by absence ("" when it does)."""
    if not sweep.stable:
        return f"{sweep.scope}: {sweep.why}"
    partial = [p for p in sweep.pages if p.partial]
    if partial:
        return f"{sweep.scope}: TikTok answered a partial success ({partial[0].message})"
    return ""


def read_business_center(
    client: TikTokClient, store: Storage, bc_id: str, progress: Progress | None
) -> _Read:
    """Sweep one Business Center's members, then each of the ledger's ad accounts in it."""
    incomplete = []
    sweep = client.sweep_bc_members(bc_id, progress=progress)
    members, invites, skipped = bc.members_from_bc_member_get({"list": sweep.items}, bc_id=bc_id)
    if why := _complete(sweep):
        incomplete.append(why)
    users: dict[str, tuple[str | None, str | None]] = {}
    for member in members:
        users[member.user_id] = (member.name, member.email)
    for invited in invites:
        users[invited.user_id] = (invited.name, invited.email)
    accounts: dict[str, list[bc.RoleDraft]] = {}
    complete: set[str] = set()
    rows = store.current_rows(AdAccount, ("id",), where=Equals("business_center_id", bc_id))
    for (account,) in sorted(rows):
        swept = client.sweep_asset_members(bc_id, str(account), progress=progress)
        roles, more = bc.roles_from_bc_asset_member_get(
            {"list": swept.items}, advertiser_id=str(account)
        )
        skipped += more
        accounts[str(account)] = roles
        for item in swept.items:
            user = str(item.get("user_id"))
            name, email = users.get(user, (None, None))
            users[user] = (
                name or _text(item.get("user_name")),
                email or _text(item.get("user_email")),
            )
        if why := _complete(swept):
            incomplete.append(why)
        else:
            complete.add(str(account))
    return _Read(
        bc_id,
        members,
        invites,
        skipped,
        not _complete(sweep),
        accounts,
        frozenset(complete),
        tuple(incomplete),
        users,
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


class _People:
    """The ledger's people, found by TikTok user id, then by email (case aside)."""

    def __init__(self, store: Storage) -> None:
        rows = [cast(Person, e.record) for e in store.current_entries(Person, None)]
        self.people: dict[str, Person] = {p.id: p for p in rows}
        self.by_user = {p.tiktok_user_id: p.id for p in self.people.values() if p.tiktok_user_id}
        self.by_email: dict[str, str] = {}
        for p in sorted(self.people.values(), key=lambda p: p.id):
            if p.email and p.tiktok_user_id is None:
                self.by_email.setdefault(p.email.strip().lower(), p.id)
        self.changed: dict[str, Person] = {}
        self.added = 0

    def person_for(self, user_id: str, name: str | None, email: str | None) -> str:
        """The person id of TikTok user ``user_id``; a person found by email learns the user
        id, one not found at all is added (id ``tiktok-user-<user id>``)."""
        if user_id in self.by_user:
            found = self.people.get(self.by_user[user_id]) or self.changed[self.by_user[user_id]]
            if found.email is None and email and found.name != ERASED:  # never undo an erasure
                self._keep(attrs.evolve(found, email=email))
            return found.id
        key = (email or "").strip().lower()
        person_id = self.by_email.pop(key, None) if key else None
        if person_id is not None:
            self._keep(attrs.evolve(self.people[person_id], tiktok_user_id=user_id))
        else:
            person_id = f"tiktok-user-{user_id}"
            existing = self.people.get(person_id)
            if existing is not None:  # recorded before under that id, without the user id
                self._keep(attrs.evolve(existing, tiktok_user_id=user_id))
            else:
                self.added += 1
                self._keep(
                    Person(
                        id=person_id,
                        name=name or email or f"TikTok user {user_id}",
                        email=email,
                        tiktok_user_id=user_id,
                    )
                )
        self.by_user[user_id] = person_id
        return person_id

    def _keep(self, person: Person) -> None:
        self.changed[person.id] = person
        self.people[person.id] = person


def _fresh_id(base: str, taken: set[str], now: datetime) -> str:
    """``base``, or (when a record already has that id: an ended role back again) ``base``
    with the sweep's time."""
    if base not in taken:
        return base
    return f"{base}@{now.strftime('%Y%m%dT%H%M%S')}"


def changes_for(store: Storage, read: _Read, now: datetime) -> tuple[list[Record], int, int]:
    """The records one Business Center's sweeps imply: (records, roles ended, people added)."""
    people = _People(store)
    scopes = [f"business_center:{read.bc_id}", *(f"ad_account:{a}" for a in read.accounts)]
    held = store.current_records(RoleGrant, "scope", scopes)
    taken = {g.id for g in held}
    active = {
        (g.scope, g.role, g.person_id): g
        for g in held
        if g.source == ACTUAL and (g.ended_at is None or g.ended_at > now)
    }
    complete = set(scopes[1:]) & {f"ad_account:{a}" for a in read.complete_accounts}
    if read.members_complete:
        complete.add(scopes[0])
    drafts = [m.role for m in read.members] + [r for roles in read.accounts.values() for r in roles]
    records: list[Record] = []
    listed = set()
    for draft in drafts:
        name, email = read.users.get(draft.user_id, (None, None))
        person = people.person_for(draft.user_id, name, email)
        key = (draft.scope, draft.role, person)
        listed.add(key)
        if key in active:
            continue
        grant_id = _fresh_id(draft.grant(person, granted_at=now).id, taken, now)
        taken.add(grant_id)
        grant = draft.grant(person, granted_at=now, grant_id=grant_id)
        records.append(grant)
    ended = 0
    for key, grant in sorted(active.items(), key=lambda kv: kv[1].id):
        if key not in listed and grant.scope in complete:
            records.append(attrs.evolve(grant, ended_at=max(now, grant.granted_at)))
            ended += 1
    records += _invitations(store, read, people, now)
    return [*people.changed.values(), *records], ended, people.added


def _invitations(store: Storage, read: _Read, people: _People, now: datetime) -> list[Record]:
    """New PENDING invitations, and (after a complete member sweep) those no longer pending."""
    scope = f"business_center:{read.bc_id}"
    held = store.current_records(PendingInvite, "scope", [scope])
    taken = {i.id for i in held}
    open_ = {i.person_id: i for i in held if i.scope == scope and i.ended_at is None}
    records: list[Record] = []
    pending = set()
    for invite in read.invites:
        person = people.person_for(invite.user_id, invite.name, invite.email)
        pending.add(person)
        if person in open_:
            continue
        invite_id = _fresh_id(f"tiktok-invite:{read.bc_id}:{invite.user_id}", taken, now)
        taken.add(invite_id)
        records.append(
            PendingInvite(
                id=invite_id, person_id=person, scope=scope, seen_at=now, role=invite.role
            )
        )
    if read.members_complete:
        for person, still in sorted(open_.items()):
            if person not in pending:
                records.append(attrs.evolve(still, ended_at=max(now, still.seen_at)))
    return records


def business_center_ids(
    client: TikTokClient, business_center_id: str | Iterable[str] | None, progress: Progress | None
) -> list[str]:
    """The Business Centers to sweep: those named, else every one the token reaches."""
    if business_center_id is None:
        sweep = client.sweep_business_centers(progress=progress)
        return [b.bc_id for b in bc.business_centers_from_bc_get({"list": sweep.items})]
    wanted = (
        [business_center_id] if isinstance(business_center_id, str) else list(business_center_id)
    )
    if not wanted or not all(isinstance(w, str) and w.strip() for w in wanted):
        raise ValueError(
            f"sync_access: business_center_id={business_center_id!r} must name a Business "
            "Center (its id), or be None for every one the token reaches"
        )
    return [w.strip() for w in wanted]


def sync_access(
    store: Storage,
    writer: Writer,
    client: TikTokClient,
    business_center_id: str | Iterable[str] | None,
    progress: Progress | None = None,
) -> list[AccessSyncResult]:
    """Every Business Center's sweeps read first, then all written in one transaction."""
    reads = [
        read_business_center(client, store, b, progress)
        for b in business_center_ids(client, business_center_id, progress)
    ]
    results = []
    with store.transaction():
        now = writer.now()
        for read in reads:
            records, ended, added = changes_for(store, read, now)
            done = writer.record_all(records, source="tiktok", joined=True)
            results.append(
                AccessSyncResult(
                    business_center_id=read.bc_id,
                    members=len(read.members),
                    invitations=len(read.invites),
                    accounts=tuple(read.accounts),
                    roles=sum(len(r) for r in read.accounts.values()),
                    written=done.written,
                    unchanged=done.unchanged,
                    ended=ended,
                    people_added=added,
                    incomplete=read.incomplete,
                    skipped=tuple(read.skipped),
                )
            )
    return results
