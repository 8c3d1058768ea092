"""What a read sheet implies (DESIGN §9): the creators, posts, accounts, people and codes its
rows name, planned against what the ledger already knows, and the summary of an import."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from .fields import email_problem
from .records import (
    AdAccount,
    Creator,
    Person,
    Post,
    PostKind,
    Record,
    SparkAuthorization,
    derived_authorization_id,
    shown,
)
from .sheet import POST_ID, SheetError, SheetRow, header_key

__all__ = [
    "Known",
    "SheetPlan",
    "SheetResult",
    "derived_creator_id",
    "derived_person_id",
    "plan",
]


# --- records -------------------------------------------------------------------------------------


def derived_creator_id(post_ids: Iterable[str]) -> str:
    """A creator id made from no personal data (DESIGN §16): ``cr_`` and 12 hex digits of the
    SHA-256 of the smallest TikTok post id the sheet gives the creator (post ids are TikTok's,
    not the person's), so the same sheet gives the same id in every ledger.

    >>> derived_creator_id(["7301234567890123456", "7301234567890123999"])
    'cr_452214c68c25'
    """
    first = min(post_ids, key=lambda p: (len(p), p))
    return "cr_" + hashlib.sha256(f"creator\n{first}".encode()).hexdigest()[:12]


def derived_person_id(fingerprints: Iterable[str]) -> str:
    """A person id made from no personal data: ``p_`` and 12 hex digits of the SHA-256 of the
    smallest fingerprint among the codes the sheet gives the person to renew."""
    return "p_" + hashlib.sha256(f"person\n{min(fingerprints)}".encode()).hexdigest()[:12]


@attrs.frozen(kw_only=True)
class Known:
    """What the ledger holds that a sheet's rows are matched against."""

    accounts: Mapping[str, AdAccount] = attrs.field(factory=dict)  #: by id
    people: Sequence[Person] = ()
    creators: Sequence[Creator] = ()
    posts: Mapping[str, Post] = attrs.field(factory=dict)  #: the sheet's posts, by id
    codes: Mapping[str, SparkAuthorization] = attrs.field(factory=dict)  #: by derived id


@attrs.frozen(kw_only=True)
class SheetPlan:
    """The records a sheet implies, in dependency order, and what the summary says of them."""

    records: list[Record]
    created: dict[str, list[str]]  #: "creators"/"accounts"/"people" -> ids made here
    kinds_defaulted: int  #: posts given kind VIDEO because the sheet does not say
    notes: list[str]  #: things the user should know (not errors)
    rows: dict[tuple[str, str], int]  #: (type name, id) -> the first row that gives it


def plan(
    rows: Sequence[SheetRow],
    known: Known,
    *,
    now: datetime,
    create_accounts: bool = False,
    account_region: str | None = None,
    create_people: bool = False,
    columns: Mapping[str, str] | None = None,
) -> SheetPlan:
    """The records ``rows`` imply, matched against ``known``; unknown accounts or owners are
    refused (listing the known ones) unless ``create_accounts`` / ``create_people``.

    ``columns`` (field -> header) words errors in the sheet's own column names.
    """
    words = {field: shown(name) for field, name in (columns or {}).items()}
    created: dict[str, list[str]] = {"creators": [], "accounts": [], "people": []}
    creators = _creators(rows, known, now, created)
    accounts = _accounts(rows, known, words, create_accounts, account_region, created)
    owners = _owners(rows, known, words, create_people, created)
    notes: list[str] = []
    reached = _chat_handles(rows, owners, words, notes)
    records: list[Record] = []
    made: set[str] = set()
    for row in rows:
        creator = creators[row.row]
        if creator.id not in made:
            made.add(creator.id)
            records.append(creator)
    posts: dict[str, Post] = {}
    defaulted = 0
    for row in rows:
        creator_id = creators[row.row].id
        held = known.posts.get(row.post_id)
        if held is not None and held.creator_id != creator_id:
            raise SheetError(
                f"row {row.row}, column {words.get('video', 'video')}: post {row.post_id} is "
                f"recorded for creator {held.creator_id}, not for this row's creator"
            )
        earlier = posts.get(row.post_id)
        if earlier is not None:
            if earlier.creator_id != creator_id:
                raise SheetError(
                    f"row {row.row}, column {words.get('video', 'video')}: post {row.post_id} "
                    "appears under two creators"
                )
            continue
        kind = row.kind or (held.kind if held is not None else None)
        if kind is None:
            defaulted += 1
        posts[row.post_id] = Post(
            id=row.post_id, creator_id=creator_id, kind=kind or PostKind.VIDEO
        )
    records += posts.values()
    records += (a for a in accounts.values() if a.id in created["accounts"])
    records += (p for p in owners.values() if p.id in created["people"] or p.id in reached)
    for row in rows:
        account = accounts.get(row.account) if row.account else None
        held_code = known.codes.get(derived_authorization_id(row.code.fingerprint))
        if held_code is not None and held_code.post_id != row.post_id:
            raise SheetError(
                f"row {row.row}, column {words.get('code', 'code')}: the code is recorded for "
                f"post {held_code.post_id}, not {row.post_id}"
            )
        revoked = None
        if row.status == "revoked":
            revoked = held_code.revoked_at if held_code and held_code.revoked_at else now
        elif held_code is not None and held_code.revoked_at is not None:
            notes.append(
                f"row {row.row}: the ledger records this code as revoked on "
                f"{held_code.revoked_at:%Y-%m-%d}; a revocation stands"
            )
        records.append(
            SparkAuthorization(
                code=row.code,
                creator_id=creators[row.row].id,
                post_id=row.post_id,
                starts_at=row.starts_at,
                expires_at=row.expires_at,
                ad_account_id=account.id if account else None,
                owner_id=owners[row.owner].id if row.owner else None,
                revoked_at=revoked,
            )
        )
    first_row: dict[tuple[str, str], int] = {}
    for row in rows:
        creator = creators[row.row]
        for key in (
            ("Creator", creator.id),
            ("Post", row.post_id),
            ("SparkAuthorization", derived_authorization_id(row.code.fingerprint)),
            *((("Person", owners[row.owner].id),) if row.owner else ()),
        ):
            first_row.setdefault(key, row.row)
    return SheetPlan(
        records=records, created=created, kinds_defaulted=defaulted, notes=notes, rows=first_row
    )


def _creators(
    rows: Sequence[SheetRow], known: Known, now: datetime, created: dict[str, list[str]]
) -> dict[int, Creator]:
    """Each row's creator: found by identity id, else by handle, else made (derived id)."""
    by_identity = {c.tiktok_identity_id: c for c in known.creators if c.tiktok_identity_id}
    by_id = {c.id: c for c in known.creators}
    by_handle: dict[str, Creator] = {}
    for creator in known.creators:
        if creator.handle:
            by_handle.setdefault(creator.handle.lower(), creator)
    posts_of: dict[str, list[str]] = {}
    regions: dict[str, str] = {}  # a creator's first region the sheet gives, on any row
    for row in rows:
        if row.handle:
            posts_of.setdefault(row.handle.lower(), []).append(row.post_id)
            if row.region:
                regions.setdefault(row.handle.lower(), row.region)
    found: dict[int, Creator] = {}
    made: dict[str, Creator] = {}
    for row in rows:
        key = row.handle.lower() if row.handle else None
        held = (
            by_identity.get(row.identity) or by_id.get(row.identity) if row.identity else None
        ) or (by_handle.get(key) if key else None)
        region = row.region or (regions.get(key) if key else None)
        if held is not None:
            creator = Creator(
                id=held.id,
                handle=row.handle or held.handle,
                region=region or held.region,
                display_name=row.display_name or held.display_name,
                contact=held.contact,
                tiktok_identity_id=held.tiktok_identity_id or row.identity,
            )
        else:
            new_id = row.identity or derived_creator_id(posts_of[key] if key else [row.post_id])
            creator = made.get(new_id) or Creator(
                id=new_id,
                handle=row.handle,
                region=region,
                display_name=row.display_name,
                tiktok_identity_id=row.identity,
            )
            if new_id not in made:
                made[new_id] = creator
                created["creators"].append(new_id)
        found[row.row] = creator
    return found


def _accounts(
    rows: Sequence[SheetRow],
    known: Known,
    words: Mapping[str, str],
    create: bool,
    region: str | None,
    created: dict[str, list[str]],
) -> dict[str, AdAccount]:
    """Each account cell's account: by id, else by name (case and spaces ignored)."""
    by_name: dict[str, list[AdAccount]] = {}
    for account in known.accounts.values():
        by_name.setdefault(header_key(account.name), []).append(account)
    found: dict[str, AdAccount] = {}
    unknown: dict[str, int] = {}
    for row in rows:
        cell = row.account
        if cell is None or cell in found:
            continue
        held = known.accounts.get(cell)
        named = by_name.get(header_key(cell), [])
        if held is not None:
            found[cell] = held
        elif len(named) == 1:
            found[cell] = named[0]
        elif len(named) > 1:
            raise SheetError(
                f"row {row.row}, column {words.get('account', 'account')}: {shown(cell)} names "
                f"{len(named)} ad accounts ({', '.join(a.id for a in named)}); use the id"
            )
        elif POST_ID.fullmatch(cell) and create:
            if region is None:
                raise SheetError(
                    f"row {row.row}, column {words.get('account', 'account')}: creating ad "
                    f"account {cell} needs its registration country: add --account-region XX"
                )
            found[cell] = AdAccount(id=cell, name=cell, region=region)
            created["accounts"].append(cell)
        else:
            unknown.setdefault(cell, row.row)
    if unknown:
        listed = "; ".join(f"{shown(c)} (row {n})" for c, n in unknown.items())
        names = ", ".join(f"{a.name} ({a.id})" for a in known.accounts.values()) or "none yet"
        ids_only = all(POST_ID.fullmatch(c) for c in unknown)
        hint = (
            "; to record new accounts by id, add --create-accounts --account-region XX"
            if ids_only
            else "; use a known name or id, or record the account first (delvia-ledger add "
            "AdAccount --id ... --name ... --region ...)"
        )
        raise SheetError(
            f"column {words.get('account', 'account')}: unknown ad account(s) {listed}; the "
            f"ledger knows {names}{hint}"
        )
    return found


def _owners(
    rows: Sequence[SheetRow],
    known: Known,
    words: Mapping[str, str],
    create: bool,
    created: dict[str, list[str]],
) -> dict[str, Person]:
    """Each owner cell's person: by id, else email, else exact name (case ignored)."""
    by_id = {p.id: p for p in known.people}
    by_email: dict[str, list[Person]] = {}
    by_name: dict[str, list[Person]] = {}
    for person in known.people:
        if person.email:
            by_email.setdefault(person.email.strip().lower(), []).append(person)
        by_name.setdefault(" ".join(person.name.lower().split()), []).append(person)
    found: dict[str, Person] = {}
    unknown: dict[str, list[SheetRow]] = {}
    for row in rows:
        cell = row.owner
        if cell is None or cell in found:
            continue
        key = " ".join(cell.lower().split())
        matches = [by_id[cell]] if cell in by_id else by_email.get(key) or by_name.get(key, [])
        if len(matches) == 1:
            found[cell] = matches[0]
        elif matches:
            raise SheetError(
                f"row {row.row}, column {words.get('owner', 'owner')}: {shown(cell)} names "
                f"{len(matches)} people ({', '.join(p.id for p in matches)}); use the id"
            )
        else:
            unknown.setdefault(cell, []).append(row)
    if unknown and not create:
        listed = "; ".join(f"{shown(c)} (row {rs[0].row})" for c, rs in unknown.items())
        raise SheetError(
            f"column {words.get('owner', 'owner')}: unknown owner(s) {listed}; record them "
            "first (delvia-ledger add Person --id ... --name ...), or add --create-people"
        )
    for cell, owned in unknown.items():
        person_id = derived_person_id(r.code.fingerprint for r in owned)
        is_email = email_problem(cell) is None
        found[cell] = Person(id=person_id, name=cell, email=cell if is_email else None)
        created["people"].append(person_id)
    return found


def _chat_handles(
    rows: Sequence[SheetRow], owners: dict[str, Person], words: Mapping[str, str], notes: list[str]
) -> set[str]:
    """Each owner's chat handle from the sheet (``Person.chat_id``), set on ``owners`` where
    the person has none yet; a handle the ledger holds is kept (a note says so). Returns the
    ids of the people given one. Two handles for one owner are refused."""
    given: dict[str, SheetRow] = {}
    for row in rows:
        if row.chat is None or row.owner is None:
            continue
        first = given.setdefault(row.owner, row)
        if first.chat != row.chat:
            raise SheetError(
                f"row {row.row}, column {words.get('chat', 'chat')}: {shown(row.chat)} differs "
                f"from row {first.row}'s {shown(first.chat)} for the same owner; keep one"
            )
    reached: set[str] = set()
    for cell, row in given.items():
        person = owners[cell]
        if person.chat_id is None:
            owners[cell] = attrs.evolve(person, chat_id=row.chat)
            reached.add(person.id)
        elif person.chat_id != row.chat:
            notes.append(
                f"row {row.row}: the sheet gives {person.id} the chat handle {row.chat}, the "
                f"ledger holds {person.chat_id}: kept the ledger's (change it with "
                f"delvia-ledger add Person --id {person.id} … --chat-id …)"
            )
    return reached


#: The order a summary lists record types in, with the words it uses for each.
SUMMARY_TYPES = (
    ("Creator", "creators"),
    ("Post", "posts"),
    ("AdAccount", "ad accounts"),
    ("Person", "people"),
    ("SparkAuthorization", "codes"),
)


@attrs.frozen(kw_only=True)
class SheetResult:
    """What :meth:`Ledger.import_sheet` wrote (or, with ``dry_run``, would write).

    ``new`` and ``changed`` count records per type name (``"Creator"``, ``"Post"``, ...);
    ``created`` lists the ids made for creators, accounts and people the ledger did not know;
    ``ignored`` the headers no field takes; ``kinds_defaulted`` the posts given kind VIDEO.
    """

    rows: int
    new: dict[str, int]
    changed: dict[str, int]
    unchanged: int
    created: dict[str, list[str]]
    kinds_defaulted: int
    ignored: tuple[str, ...]
    notes: tuple[str, ...]
    dry_run: bool
    last_seq: int
    #: Fields the sheet gives otherwise than TikTok last said, each kept as TikTok said it:
    #: ``row 14: the sheet says expires 2026-12-09, TikTok said 2027-01-09 on 2026-12-05: ...``
    conflicts: tuple[str, ...] = ()

    @property
    def written(self) -> int:
        """Entries appended (or, with ``dry_run``, that would be)."""
        return sum(self.new.values()) + sum(self.changed.values())

    def lines(self) -> list[str]:
        """The summary as a person reads it, one line per record type that has news."""
        verb = "would write" if self.dry_run else "wrote"
        if not self.written:
            done = [f"{_count(self.rows, 'row')}: nothing new ({self.unchanged} records current)"]
            if self.conflicts:
                done.append(
                    f"  {_count(len(self.conflicts), 'field')} kept as TikTok said (the sheet "
                    "differs):"
                )
                done += [f"    {line}" for line in self.conflicts]
            return done
        out = [f"{_count(self.rows, 'row')}: {verb} {_count(self.written, 'entry', 'entries')}"]
        for name, words in SUMMARY_TYPES:
            new, changed = self.new.get(name, 0), self.changed.get(name, 0)
            if new or changed:
                parts = [f"{new} new"] * bool(new) + [f"{changed} changed"] * bool(changed)
                out.append(f"  {words}: {', '.join(parts)}")
        if self.conflicts:
            out.append(
                f"  {_count(len(self.conflicts), 'field')} kept as TikTok said (the sheet differs):"
            )
            out += [f"    {line}" for line in self.conflicts]
        if self.kinds_defaulted:
            out.append(
                f"  {_count(self.kinds_defaulted, 'post')} recorded as VIDEO (the sheet has no "
                "kind column; add one to say CAROUSEL)"
            )
        return out


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``: a count with its noun in the right number."""
    return f"{n} {one if n == 1 else many or one + 's'}"
