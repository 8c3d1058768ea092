"""What TikTok reports, merged with what the ledger knows (DESIGN §9, §12): the rules, in one place.

Pure over what it is handed: the translated items, the current records the ledger holds for
them (read in one batched lookup per type), and the ledger's ``now``. It returns the records to
write; nothing a payload lacks overwrites what the ledger knows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple, TypeVar, cast

import attrs

from .convert import to_micros
from .records import (
    AdAccount,
    Creator,
    Post,
    Record,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
    binding_id,
)
from .rules import code_ended
from .storage import After, All, Equals, Missing, Not, OneOf, Storage
from .tiktok import Item, Skipped
from .tiktok_ads import AdDraft, link_ads
from .writing import Held

__all__ = [
    "TIKTOK_FIELDS",
    "Conflict",
    "ImportResult",
    "Reconciled",
    "Skipped",
    "SyncResult",
    "keep_known",
    "keep_tiktoks",
    "kept_known",
    "mass_unbind",
    "reconcile",
    "reconcile_ads",
    "sweep_mark",
    "sweep_would_unbind",
]

R = TypeVar("R", bound=Record)

#: What a TikTok answer covers: one code, one page of a list, or every page (a sweep).
Listing = Literal["code", "page", "sweep"]


@attrs.frozen
class ImportResult:
    """What :meth:`Ledger.import_tiktok` did.

    ``written`` entries appended, ``unchanged`` records already current, ``unbound`` bindings
    ended because TikTok no longer lists the code there, ``skipped`` items that hold no code
    authorization (with the reason).
    """

    written: int
    unchanged: int
    skipped: tuple[Skipped, ...] = ()
    unbound: int = 0
    last_seq: int = 0


@attrs.frozen
class SyncResult:
    """What :meth:`Ledger.sync_tiktok` did for one advertiser's complete sweep."""

    advertiser_id: str
    pages: int
    items: int
    written: int
    unchanged: int
    unbound: int
    skipped: tuple[Skipped, ...] = ()
    partial: bool = False
    #: Why nothing was unbound though the sweep was complete (a mass unbind held), or "".
    held: str = ""
    #: The exact ``keyword=<item_id>`` lookups made to confirm would-be-unbound posts.
    confirmations: int = 0
    #: With ``ads=True``: Spark Ads made with a code that TikTok listed (None: ads not swept),
    #: those that ended because TikTok stopped listing them, and those on a post with no code
    #: bound in the account (``AD_WITHOUT_CODE``).
    ads: int | None = None
    ads_ended: int = 0
    ads_without_code: int = 0

    def __str__(self) -> str:
        note = " (partial: nothing unbound)" if self.partial else ""
        note += " (held: nothing unbound)" if self.held else ""
        if self.ads is not None:
            note += (
                f"; {self.ads} Spark Ad{'s' * (self.ads != 1)}, {self.ads_ended} ended, "
                f"{self.ads_without_code} without a code"
            )
        return (
            f"advertiser {self.advertiser_id}: {self.pages} page{'s' * (self.pages != 1)}, "
            f"{self.items} item{'s' * (self.items != 1)}, "
            f"{self.written} written, {self.unchanged} unchanged, {self.unbound} unbound, "
            f"{len(self.skipped)} skipped" + note
        )


class Reconciled(NamedTuple):
    """What :func:`reconcile` decided: the records to write, and what needs no write."""

    records: list[Record]  #: the new versions, in an order the ledger accepts
    unchanged: int  #: records TikTok reports exactly as the ledger holds them
    unbound: int  #: bindings among ``records`` ended because TikTok no longer lists them
    #: what was read to decide: the current records by (type, id), for the writer to reuse
    held: Mapping[tuple[type[Record], str], Record]
    #: the same with each version's seq, the ids found absent, and the codes held: what the
    #: writer need not read again
    read: Held = Held({}, {})


def _by_id(records: Iterable[R]) -> dict[str, R]:
    return {record.id: record for record in records}


#: What a reconcile read: (type, id) -> (seq, record), or None for an id looked up and absent.
Read = dict[tuple[type[Record], str], tuple[int, Record] | None]


def _read(
    store: Storage, cls: type[R], by: str, values: Collection[str], read: Read
) -> dict[str, R]:
    """The current ``cls`` records whose ``by`` is one of ``values``, by id, each noted in
    ``read`` with its seq; read by id, the ids not found are noted absent."""
    found: dict[str, R] = {}
    kind = cast(type[Record], cls)
    for seq, record in store.current_versions(cls, by, values):
        found[record.id] = record
        read[kind, record.id] = (seq, record)
    if by == "id":
        for id_ in values:
            if id_ not in found:
                read.setdefault((kind, id_), None)
    return found


def _keep(current: R | None, new: R, **rules: Callable[[Any, Any], Any]) -> R:
    """``new`` with each field it leaves empty filled from ``current``; ``rules`` decide others.

    A rule gets (current value, new value) and returns the value to keep.
    """
    return _merge(type(new), current, _values(new), rules, new)


def _merge(
    cls: type[R],
    current: R | None,
    values: dict[str, Any],
    rules: Mapping[str, Callable[[Any, Any], Any]],
    new: R | None = None,
) -> R:
    """The ``cls`` record of ``values`` (every field) merged with ``current`` as :func:`_keep` says.

    Built at most once: ``current`` itself when the merge leaves it as it is (an unchanged
    re-import builds nothing), ``new`` when the merge is exactly it.
    """
    if current is not None:
        same = True  # whether every merged value equals current's, found in the same pass
        for name, after in values.items():
            before = getattr(current, name)
            rule = rules.get(name)
            kept = rule(before, after) if rule else (before if after is None else after)
            values[name] = kept
            if same and kept is not before and kept != before:
                same = False
        if same:
            return current
    if new is not None and _is(new, values):
        return new
    return cls(**values)


def _merge_changed(
    current: R | None,
    new: R,
    changes: Mapping[str, Any],
    rules: Mapping[str, Callable[[Any, Any], Any]],
) -> R:
    """:func:`_merge` of ``new`` with ``changes`` made to it. A record the ledger lacks is
    ``new`` itself when the changes change nothing (found without listing its fields), and
    built once otherwise."""
    if current is None or current is new:  # new, or merged with itself (a creator of many
        for name, value in changes.items():  # posts, built once): each rule keeps it as it is
            if getattr(new, name) != value:
                if current is None:
                    return attrs.evolve(new, **changes)
                break
        else:
            return new
    values = _values(new)
    values.update(changes)
    return _merge(type(new), current, values, rules, new)


_NAMES: dict[type[Any], tuple[str, ...]] = {}  # each record type's field names, in order


def _values(record: Record) -> dict[str, Any]:
    cls = type(record)
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(field.name for field in attrs.fields(cls))
    return {name: getattr(record, name) for name in names}


def _is(record: Record, values: dict[str, Any]) -> bool:
    return all(getattr(record, name) == value for name, value in values.items())


def keep_known(current: R | None, new: R) -> R:
    """``new`` with every field it leaves empty filled from ``current``; a one-way time that
    is already set (a revocation, a departure) keeps its first value, and a code's first ad
    account stays its account (DESIGN §4)."""
    return (
        _keep(current, new, revoked_at=_first, ad_account_id=_first)
        if isinstance(new, SparkAuthorization)
        else _keep(current, new)
    )


def kept_known(store: Storage, records: Iterable[Record]) -> list[Record]:
    """Each record as :func:`keep_known` merges it with its current version, all read in one
    batched lookup per record type."""
    records = list(records)
    wanted: dict[type[Any], set[str]] = {}
    for record in records:
        wanted.setdefault(type(record), set()).add(record.id)
    current: dict[tuple[type[Any], str], Record] = {
        (cls, found.id): found
        for cls, ids in wanted.items()
        for found in store.current_records(cls, "id", ids)
    }
    return [keep_known(current.get((type(record), record.id)), record) for record in records]


def _newer(before: Any, after: Any) -> Any:
    """What TikTok reports now wins, even an empty value."""
    return after


def _first(before: Any, after: Any) -> Any:
    """Set only when empty: what the ledger already holds wins."""
    return after if before is None else before


def _before(before: Any, after: Any) -> Any:
    """What the ledger holds wins, even an empty value (TikTok never sends this field)."""
    return before


# How each TikTok field merges with what the ledger knows (DESIGN §9).
_CREATOR_RULES = {
    "handle": _before,  # TikTok sends no handle: never touch it
    "region": _before,  # nor a region
    "tiktok_identity_id": _first,
}
_POST_RULES = {"kind": _before}  # TikTok said nothing of the kind: the guess changes nothing
_REPORTED_POST_RULES = {"kind": _newer}  # TikTok said it (item_type, images): it corrects a guess
_AUTHORIZATION_RULES = {
    "ad_account_id": _first,  # the account it was first bound to stays
    "starts_at": _newer,
    "expires_at": _newer,  # an extended or shortened window is news
    "revoked_at": _first,  # a revocation stands
}
# still bound: keep the date it was bound; unbound before: re-bound now
_BINDING_RULES = {"bound_at": _first, "unbound_at": _newer}
_REBOUND_RULES = {"bound_at": _newer, "unbound_at": _newer}


def reconcile(
    store: Storage,
    items: list[Item],
    advertiser_id: str,
    now: datetime,
    *,
    listed: Listing = "code",
    spare: Collection[str] = (),
) -> Reconciled:
    """The records that bring the ledger in line with ``items`` reported for ``advertiser_id``.

    Returns the records that change the ledger (in an order it accepts), how many records are
    already as the ledger holds them (left out, so nothing reads them a second time), and how
    many bindings the records unbind.
    ``listed`` says what the items are, and so what their absence proves: ``"code"`` (one
    code's ``/tt_video/info/``: nothing), ``"page"`` (a page of ``/tt_video/list/``: a listed
    post no longer carries another code in that account), ``"sweep"`` (every page: each
    bound binding of the advertiser not listed is unbound, ``unbound_at`` = ``now``), except
    the bindings whose ids are in ``spare`` (their absence is not proven).
    """
    read: Read = {}  # every version read, with its seq, for the writer (one lookup per type)
    identities = {item.creator.id for item in items}
    posts = _read(store, Post, "id", {item.post.id for item in items}, read)
    linked = {
        c.tiktok_identity_id: c
        for c in _read(store, Creator, "tiktok_identity_id", identities, read).values()
    }
    creators = _read(
        store, Creator, "id", identities | {p.creator_id for p in posts.values()}, read
    )
    # a creator read both ways is one object, so that an unchanged merge of it is seen as one
    linked = {identity: creators.setdefault(c.id, c) for identity, c in linked.items()}
    fingerprints = {item.authorization.code.fingerprint for item in items}
    held_codes = store.authorizations_by_fingerprint(fingerprints)
    auths = {fingerprint: auth for fingerprint, (_, auth) in held_codes.items()}
    read.update(((SparkAuthorization, a.id), (seq, a)) for seq, a in held_codes.values())
    codes = {fp: (got[1].id if (got := held_codes.get(fp)) else None) for fp in fingerprints}
    listed_auths = {auths.get(i.authorization.code.fingerprint, i.authorization).id for i in items}
    wanted = {binding_id(a, advertiser_id) for a in listed_auths}
    bindings = _read(store, SparkBinding, "id", wanted, read)
    # what the ledger holds now: a merge that changes nothing returns one of these as it is
    held: dict[tuple[type[Record], str], Record] = {
        (type(record), record.id): record
        for found in (posts, creators, auths, bindings)  # creators holds the linked ones too
        for record in found.values()
    }
    # one version per record, at the place it first appears (the creator of many posts once)
    out: dict[tuple[type[Record], str], Record] = {}
    unbound = 0
    for item in items:
        post = posts.get(item.post.id)
        # a post's creator never changes, so a known post decides; else the linked identity
        creator = (
            (creators.get(post.creator_id) if post else None)
            or linked.get(item.creator.id)
            or creators.get(item.creator.id)
        )
        creator_id = creator.id if creator else item.creator.id
        new_creator = _merge_changed(creator, item.creator, {"id": creator_id}, _CREATOR_RULES)
        rules = _REPORTED_POST_RULES if item.kind_reported else _POST_RULES
        new_post = _merge_changed(post, item.post, {"creator_id": creator_id}, rules)
        code = item.authorization.code.fingerprint
        current_auth = auths.get(code)
        changes: dict[str, Any] = {"creator_id": creator_id, "ad_account_id": advertiser_id}
        if current_auth:
            changes["id"] = current_auth.id
        new_auth = _merge_changed(current_auth, item.authorization, changes, _AUTHORIZATION_RULES)
        the_binding = binding_id(new_auth.id, advertiser_id)
        binding = bindings.get(the_binding)
        values: dict[str, Any] = {
            "authorization_id": new_auth.id,
            "ad_account_id": advertiser_id,
            "bound_at": now,
            "unbound_at": None,
            "tiktok_status": item.tiktok_status,
            "id": the_binding,
        }
        if binding is None:  # a new binding: built once, as it is
            new_binding = SparkBinding(**values)
        else:
            rebound = binding.unbound_at is not None
            new_binding = _merge(
                SparkBinding, binding, values, _REBOUND_RULES if rebound else _BINDING_RULES
            )
        for record in (new_creator, new_post, new_auth, new_binding):
            out[type(record), record.id] = record
        # later items of the same creator, post or code build on these versions
        creators[creator_id] = linked[item.creator.id] = new_creator
        posts[new_post.id] = new_post
        auths[code] = new_auth
    gone = _no_longer_listed(store, listed_auths, auths, advertiser_id, listed)
    for binding in (b for b in gone if b.id not in spare):
        out[SparkBinding, binding.id] = attrs.evolve(binding, unbound_at=now)
        unbound += 1
    # what the ledger already holds is left out: the very version read, or one equal to it
    # (a page that lists a creator twice, with two nicknames, may end where it began)
    changed = [r for key, r in out.items() if (was := held.get(key)) is not r and was != r]
    return Reconciled(changed, len(out) - len(changed), unbound, held, Held(read, codes))


#: A sweep that would unbind more than this many bindings *and* more than this share of the
#: advertiser's bound ones is held (DESIGN §12): a person accepts it or it unbinds nothing.
MASS_UNBIND_COUNT: Final = 5
MASS_UNBIND_SHARE: Final = 0.20


def sweep_would_unbind(
    store: Storage, items: list[Item], advertiser_id: str
) -> tuple[list[tuple[SparkBinding, str | None]], int]:
    """What a complete sweep listing ``items`` would unbind, before anything is written: each
    binding with its authorization's post id, and how many bindings of the advertiser are bound.

    When every bound binding is one of a listed code under its derived id (a first sync, an
    unchanged one), nothing would unbind, and the listed codes are not read: the write that
    follows reads them once.
    """
    bound = [
        b
        for (b,) in store.current_rows(
            SparkBinding,
            ("id",),
            where=All(Equals("ad_account_id", advertiser_id), Missing("unbound_at")),
        )
    ]
    listed_here = {binding_id(i.authorization.id, advertiser_id) for i in items}
    if all(b in listed_here for b in bound):
        return [], len(bound)
    held_codes = store.authorizations_by_fingerprint(
        item.authorization.code.fingerprint for item in items
    )
    auths = {fingerprint: auth for fingerprint, (_, auth) in held_codes.items()}
    listed = {auths.get(i.authorization.code.fingerprint, i.authorization).id for i in items}
    gone = _no_longer_listed(store, listed, auths, advertiser_id, "sweep")
    posts = {
        a.id: a.post_id
        for a in store.current_records(SparkAuthorization, "id", {b.authorization_id for b in gone})
    }
    return [(b, posts.get(b.authorization_id)) for b in gone], len(bound)


def mass_unbind(unbinding: int, bound: int) -> str:
    """Why a sweep that would unbind ``unbinding`` of ``bound`` bindings is held ("" if not)."""
    if unbinding <= MASS_UNBIND_COUNT or unbinding <= MASS_UNBIND_SHARE * bound:
        return ""
    return (
        f"the sweep would unbind {unbinding} of the {bound} bound codes (more than "
        f"{MASS_UNBIND_COUNT} and more than {MASS_UNBIND_SHARE:.0%}): held, nothing unbound; "
        "if TikTok really lists that few, accept it with allow_mass_unbind=True "
        "(--allow-mass-unbind)"
    )


class ReconciledAds(NamedTuple):
    """What :func:`reconcile_ads` decided: the records to write (unchanged ones included: the
    writer counts them), how many ads end because TikTok stopped listing them, and how many
    run a post with no code bound in their account."""

    records: list[Record]
    ended: int
    without_code: int
    #: what was read to decide, for the writer: the ads' current versions (:class:`Held`),
    #: and the posts and codes the ads refer to (as ``Writer.record_all(known=...)`` takes them)
    read: Held = Held({}, {})
    known: Mapping[tuple[type[Record], str], Any] = {}


def reconcile_ads(
    store: Storage,
    drafts: list[AdDraft],
    listed: Collection[str],
    advertiser_id: str,
    now: datetime,
    *,
    complete: bool,
) -> ReconciledAds:
    """The ``SparkAd`` records that bring the ledger in line with an ``/ad/get/`` sweep of
    ``advertiser_id`` (DESIGN §12 "Ads"), read after the same sync's codes are merged.

    Each draft is linked to the code bound in the account for its post (``AD_WITHOUT_CODE``
    when none; the post and its creator are recorded first when the ledger lacks them); an
    ad keeps its ``owner_id``, and the code it ran with after that code is unbound. When the
    sweep is ``complete`` (stable), an ad of the account that TikTok no longer lists
    (``listed``: every ad id it listed) ends now: ``runs_until``, or ``paused_at`` for one that
    had not started.
    """
    bound_ids = [
        a
        for (a,) in store.current_rows(
            SparkBinding,
            ("authorization_id",),
            where=All(Equals("ad_account_id", advertiser_id), Missing("unbound_at")),
        )
    ]
    # ids and columns only: nothing here needs a whole code or post read back
    refs: dict[tuple[type[Record], str], Any] = {}
    bound: dict[str, str] = {}
    for seq, auth_id, post_id in store.current_rows(
        SparkAuthorization, ("seq", "id", "post_id"), where=OneOf("id", bound_ids)
    ):
        bound[post_id] = auth_id
        refs[SparkAuthorization, auth_id] = (seq,)
    wanted = list({d.post_id for d in drafts})
    for post_id, creator_id in store.current_rows(
        Post, ("id", "creator_id"), where=OneOf("id", wanted)
    ):
        refs[Post, post_id] = (creator_id,)  # as the writer keeps a post it refers to
    known = {id_ for cls, id_ in refs if cls is Post}
    linked = link_ads(drafts, bound, known_posts=known)
    records: list[Record] = []
    made: list[tuple[Creator, Post]] = []
    for draft in linked.unknown_posts:
        pair = draft.creator_and_post()
        if pair is None or pair[1].id in known:
            continue
        made.append(pair)
        known.add(pair[1].id)
    # the creators of posts the ledger lacks, in one read each way
    identities = [c.tiktok_identity_id for c, _ in made if c.tiktok_identity_id is not None]
    by_identity: dict[str | None, Creator] = {}
    for found in store.current_records(Creator, "tiktok_identity_id", identities):
        by_identity.setdefault(found.tiktok_identity_id, found)
    creator_ids = (
        {
            i
            for (i,) in store.current_rows(
                Creator, ("id",), where=OneOf("id", [c.id for c, _ in made])
            )
        }
        if made
        else set()
    )
    for creator, post in made:
        held = by_identity.get(creator.tiktok_identity_id)
        if held is not None:
            post = attrs.evolve(post, creator_id=held.id)
        elif creator.id not in creator_ids:
            records.append(creator)
        records.append(post)
    read: Read = {}
    ads = _read(store, SparkAd, "id", [ad.id for ad in linked.ads], read)
    without_code = 0
    for ad in linked.ads:
        current = ads.get(ad.id)
        if current is not None:
            # a code unbound under a running ad stays its code (UNBOUND reports it) until
            # another code is bound for the post
            kept = current.has_code and current.intended_post_id == ad.intended_post_id
            code = current.authorization_id if kept and not ad.has_code else ad.authorization_id
            ad = attrs.evolve(ad, owner_id=current.owner_id, authorization_id=code)
        without_code += not ad.has_code
        records.append(ad)
    ended = 0
    if complete:
        held_ids = [
            i
            for (i,) in store.current_rows(
                SparkAd, ("id",), where=Equals("ad_account_id", advertiser_id)
            )
        ]
        gone = [i for i in held_ids if i not in listed]
        for ad in store.current_records(SparkAd, "id", gone):
            if ad.runs_until is not None and ad.runs_until <= now:
                continue  # already over
            if ad.runs_from is not None and ad.runs_from >= now:
                if ad.paused_at is None:
                    records.append(attrs.evolve(ad, paused_at=now))
                    ended += 1
                continue
            records.append(attrs.evolve(ad, runs_until=now))
            ended += 1
    return ReconciledAds(records, ended, without_code, Held(read, {}), refs)


def _no_longer_listed(
    store: Storage,
    listed: set[str],
    auths: dict[str, SparkAuthorization],
    advertiser_id: str,
    listing: Listing,
) -> list[SparkBinding]:
    """Bound bindings of ``advertiser_id`` that TikTok's answer shows are gone.

    After a sweep, every binding not listed. After one page, only the bindings of other
    codes for a listed post: a post carries one code at a time, so a post listed with a new
    code no longer carries the old one there.
    """
    if listing == "code":
        return []
    # the ids first: only the records that may be gone are read whole
    if listing == "sweep":
        kept = {binding_id(a, advertiser_id) for a in listed}
        bound = store.current_rows(
            SparkBinding,
            ("id",),
            where=All(Equals("ad_account_id", advertiser_id), Missing("unbound_at")),
        )
        candidates = store.current_records(
            SparkBinding, "id", [b for (b,) in bound if b not in kept]
        )
    else:
        posts = {auth.post_id for auth in auths.values()}
        others = {
            a
            for (a,) in store.current_rows(
                SparkAuthorization, ("id",), where=OneOf("post_id", posts)
            )
            if a not in listed
        }
        candidates = store.current_records(
            SparkBinding, "id", {binding_id(a, advertiser_id) for a in others}
        )
    return [
        b
        for b in candidates
        if b.unbound_at is None
        and b.ad_account_id == advertiser_id
        and b.authorization_id not in listed
    ]


# --- sources: what TikTok said is never rolled back by a sheet or a CSV (DESIGN §9) -------------

#: The fields TikTok reports, per record type: a sheet or CSV import never changes them once
#: TikTok has said something about the record (its value, or a person's later change, stays).
TIKTOK_FIELDS: dict[type[Any], tuple[str, ...]] = {
    SparkAuthorization: ("starts_at", "expires_at", "revoked_at"),
    Post: ("status",),
    Creator: ("tiktok_identity_id", "display_name"),
}


@attrs.frozen
class Conflict:
    """A field a sheet or CSV gave otherwise than TikTok last said: TikTok's value was kept."""

    record_type: str
    record_id: str
    field: str
    given: Any  #: what the import said
    kept: Any  #: what the ledger keeps (TikTok's value, or a person's later change)
    tiktok_said: Any  #: TikTok's last value
    said_at: datetime  #: when the ledger recorded it

    def __str__(self) -> str:
        return self.in_words(f"{self.record_type} {self.record_id}: the import")

    def in_words(self, who: str) -> str:
        """The conflict as one line, ``who`` naming the import (e.g. ``row 14: the sheet``)."""

        def show(value: Any) -> str:
            return f"{value:%Y-%m-%d}" if isinstance(value, datetime) else str(value or "(none)")

        words = self.field.replace("_at", "").replace("_", " ")
        return (
            f"{who} says {words} {show(self.given)}, TikTok said "
            f"{show(self.tiktok_said)} on {self.said_at:%Y-%m-%d}: kept "
            + (
                "TikTok's"
                if self.kept == self.tiktok_said
                else f"{show(self.kept)} (a later change)"
            )
        )


def keep_tiktoks(
    given: R, current: R | None, tiktok: tuple[R, datetime] | None
) -> tuple[R, list[Conflict]]:
    """``given`` (from a sheet or CSV, already merged with ``current``) with every field TikTok
    reports kept as the ledger holds it, when TikTok has said anything of the record
    (``tiktok``: its last version from TikTok and when). Each field given otherwise is a
    :class:`Conflict`. Without a word from TikTok, ``given`` stands as it is."""
    fields = TIKTOK_FIELDS.get(type(given), ())
    if tiktok is None or current is None or not fields:
        return given, []
    said, said_at = tiktok
    conflicts = []
    kept = {}
    for name in fields:
        value, held = getattr(given, name), getattr(current, name)
        if value != held:
            kept[name] = held
            conflicts.append(
                Conflict(
                    type(given).__name__, given.id, name, value, held, getattr(said, name), said_at
                )
            )
    return (attrs.evolve(given, **kept) if kept else given), conflicts


def sweep_mark(store: Storage, advertiser_id: str, now: datetime) -> AdAccount | None:
    """The ad account with ``last_swept_at`` = ``now`` when a complete sweep of it, just
    reconciled, tells something its last recorded sweep could not: a code of the account, not
    ended, recorded after that sweep, with no binding there (``NOT_LISTED`` judges codes by
    the sweep). None otherwise, so an unchanged sync still writes nothing."""
    entry = store.latest(AdAccount, advertiser_id, None)
    if entry is None:
        return None
    account = cast(AdAccount, entry.record)
    after = entry.seq if account.last_swept_at is not None else 0
    t = to_micros(now)
    mine = Equals("ad_account_id", advertiser_id)
    ids = [
        i
        for (i,) in store.current_rows(
            SparkAuthorization, ("id",), where=All(mine, Not(code_ended(t)), After("seq", after))
        )
    ]
    if not ids:
        return None
    bound = {
        i
        for (i,) in store.current_rows(
            SparkBinding, ("authorization_id",), where=All(mine, OneOf("authorization_id", ids))
        )
    }
    if bound.issuperset(ids):
        return None
    return attrs.evolve(account, last_swept_at=now)
