"""What one evaluation of the rules reads: the compiled rules at one moment and every map of the
ledger at one sequence bound, each read once (DESIGN §3, §6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, cast

from .convert import to_micros
from .errors import StorageError
from .records import (
    ACTUAL,
    AdAccount,
    Creator,
    Person,
    Post,
    Record,
    RegionRule,
    RegionVerdict,
    Role,
    RoleGrant,
    SparkAd,
    SparkAuthorization,
    SparkBinding,
)
from .rules import (
    Ad,
    Auth,
    AuthRow,
    Binding,
    Grant,
    ad_active,
    ad_scheduled,
    bound_at,
    code_expiring,
    code_state,
    grant_in_force,
    newer,
    not_authorized,
    person_counts,
    post_unavailable,
    post_under_review,
    retired_at,
    tiktok_refuses,
    unbound_at,
)
from .storage import AnyOf, Filter, OneOf, Storage, predicate, row_of

__all__ = ["World"]

Row = Callable[[Sequence[Any]], bool]


class World:
    """The ledger seen at sequence bound ``bound`` (None: now) and moment ``now``: the §6 rules
    compiled at ``now`` (``t``, in µs) and the maps every finding producer shares, each read
    from ``store`` on first use and kept (run it inside one storage snapshot)."""

    def __init__(self, store: Storage, bound: int | None, now: datetime) -> None:
        self.store, self.bound, self.now = store, bound, now
        self.t = to_micros(now)
        self._expiring: dict[int, Row] = {}
        self._synced: dict[str, bool] = {}

    # --- the rules at t, compiled once from their filters (the per-row tests in memory) ---

    @cached_property
    def state(self) -> Callable[[Sequence[Any]], int]:
        """A code's state (REVOKED, EXPIRED, NOT_YET_ACTIVE or LIVE) from its Auth row."""
        return code_state(self.t)

    @cached_property
    def active(self) -> Row:
        """Whether an :class:`Ad` runs at ``t``."""
        return predicate(ad_active(self.t), Ad._fields)

    @cached_property
    def scheduled(self) -> Row:
        """Whether an :class:`Ad` is due to start after ``t`` (and not paused by then)."""
        return predicate(ad_scheduled(self.t), Ad._fields)

    @cached_property
    def is_bound(self) -> Row:
        """Whether a :class:`Binding` is bound at ``t``."""
        return predicate(bound_at(self.t), Binding._fields)

    @cached_property
    def counts(self) -> Row:
        """Whether a person counts at ``t``, from the row ``(left_at,)``."""
        return predicate(person_counts(self.t), ("left_at",))

    @cached_property
    def in_force(self) -> Row:
        """Whether a :class:`Grant` is in force at ``t`` (its person aside)."""
        return predicate(grant_in_force(self.t), Grant._fields)

    def expiring_by(self, h: int) -> Row:
        """Whether a code's Auth row is EXPIRING at ``t`` with the horizon ``h``."""
        if (found := self._expiring.get(h)) is None:
            found = self._expiring[h] = predicate(code_expiring(self.t, h), Auth._fields)
        return found

    # --- reads at the bound ---------------------------------------------------------------

    def select(
        self,
        cls: type[Record],
        columns: Sequence[str],
        where: Filter | None = None,
        *,
        distinct: bool = False,
        order_by: Sequence[str] = (),
    ) -> list[tuple[Any, ...]]:
        """The ``columns`` of the versions of ``cls`` visible here that ``where`` keeps."""
        rows = self.store.current_rows(
            cls, columns, bound=self.bound, where=where, distinct=distinct, order_by=order_by
        )
        return list(rows)

    def auth_rows(
        self, where: Filter | None = None, order: Sequence[str] = ()
    ) -> Iterator[AuthRow]:
        """Visible authorizations matching ``where``, streamed (a million need not fit at once),
        in ``order`` (column names; none: any)."""
        rows: Iterator[AuthRow] = self.store.current_rows(
            SparkAuthorization, Auth._fields, bound=self.bound, where=where, order_by=order
        )
        return rows

    def auths(self, where: Filter | None = None, order: Sequence[str] = ()) -> Iterator[Auth]:
        """:meth:`auth_rows` as named tuples."""
        return map(Auth._make, self.auth_rows(where, order))

    def bindings(self, where: Filter | None = None) -> list[Binding]:
        """Visible bindings ``where`` keeps, in seq order (whichever index a backend uses)."""
        rows = self.select(SparkBinding, Binding._fields, where, order_by=("seq",))
        return [Binding(*row) for row in rows]

    # --- the maps, each read once ---------------------------------------------------------

    @cached_property
    def creators(self) -> dict[str, tuple[str, str | None]]:
        """Creator id -> (how people know them: ``@handle``, else nickname, else id; region)."""
        return _creators(self.select(Creator, _CREATOR))

    @cached_property
    def people(self) -> dict[str, tuple[str, int | None]]:
        """Person id -> (name, left_at)."""
        return _people(self.select(Person, _PERSON))

    @cached_property
    def counting(self) -> dict[str, str]:
        """The people who count at ``t`` (recorded, not left): id -> name. They can be owners."""
        counts = self.counts
        return {i: name for i, (name, left) in self.people.items() if counts((left,))}

    def owner(self, *candidates: str | None) -> str | None:
        """The first candidate who counts at ``t`` (DESIGN §6 "who must act"), else None."""
        for person_id in candidates:
            if person_id is not None and person_id in self.counting:
                return person_id
        return None

    @cached_property
    def retired(self) -> frozenset[str]:
        """The codes retired at ``now`` (:func:`~delvia_ledger.rules.retired_at`), by id."""
        try:
            rows = self.select(SparkAuthorization, ("id", "retired_at"), retired_at(self.t))
        except StorageError:  # a read-only file of an older schema, read as it is
            found = self.store.current_with(SparkAuthorization, "retired_at", self.bound)
            keep = predicate(retired_at(self.t), ("retired_at",))  # the same rule, in memory
            return frozenset(
                a.id for a in found if a.retired_at and keep((to_micros(a.retired_at),))
            )
        return frozenset(str(i) for i, _ in rows)

    @cached_property
    def unavailable_posts(self) -> set[str]:
        """Posts TikTok last reported deleted by the creator or removed by moderation."""
        return self._posts_read[0]

    @cached_property
    def posts_under_review(self) -> set[str]:
        """Posts TikTok last reported under review (``REVIEW_PENDING``)."""
        return self._posts_read[1]

    @cached_property
    def _posts_read(self) -> tuple[set[str], set[str]]:
        """The posts whose status raises a finding, read once: (unavailable, under review)."""
        rows = self.select(Post, ("id", "status"), AnyOf(post_unavailable(), post_under_review()))
        gone, review = predicate(post_unavailable(), ("status",)), self.under_review
        return {str(i) for i, s in rows if gone((s,))}, {str(i) for i, s in rows if review((s,))}

    @cached_property
    def under_review(self) -> Row:
        """Whether a post is under review, from the row ``(status,)``."""
        return predicate(post_under_review(), ("status",))

    # --- what syncs record: bindings with their codes, sweeps, codes replaced ---------------

    @cached_property
    def _linked(
        self,
    ) -> tuple[
        set[tuple[str, str]],
        list[tuple[tuple[Any, ...], AuthRow]],
        dict[tuple[str, str], AuthRow],
        dict[str, set[str]],
    ]:
        """Every binding with its code, read once: (authorization, account) pairs; the bindings
        bound at ``t`` with their codes; the newest code bound at ``t`` per (post, account);
        the accounts a code has a binding in besides its own ``ad_account_id``."""
        is_bound = self.is_bound
        pairs: set[tuple[str, str]] = set()
        bound: list[tuple[tuple[Any, ...], AuthRow]] = []
        newest: dict[tuple[str, str], AuthRow] = {}
        elsewhere: dict[str, set[str]] = {}
        for row in self.store.bindings_with_codes(self.bound, Binding._fields, Auth._fields):
            binding, code = row[:5], cast(AuthRow, row[5:])
            auth_id, account = binding[0], binding[1]
            pairs.add((auth_id, account))
            if code[5] != account:
                elsewhere.setdefault(auth_id, set()).add(account)
            if is_bound(binding):
                bound.append((binding, code))
                held = newest.get((code[2], account))
                if held is None or newer(code, held):
                    newest[code[2], account] = code
        return pairs, bound, newest, elsewhere

    @cached_property
    def binding_pairs(self) -> set[tuple[str, str]]:
        """(authorization, account) of every binding ever recorded, whatever its state."""
        return self._linked[0]

    @cached_property
    def bound_now(self) -> list[tuple[tuple[Any, ...], AuthRow]]:
        """The bindings bound at ``t`` (rows in :class:`Binding`'s layout), each with its code."""
        return self._linked[1]

    @cached_property
    def bound_codes(self) -> dict[str, AuthRow]:
        """The codes bound at ``t`` somewhere, by id."""
        return {code[0]: code for _, code in self.bound_now}

    @cached_property
    def ever_used(self) -> set[str]:
        """The codes an ad uses, whatever the ad's state (ended and paused ads included)."""
        return {ad.authorization_id for ad in self.ads}

    @cached_property
    def swept(self) -> dict[str, tuple[int, int]]:
        """Ad account -> (its last complete sweep's time, the seq recording it), for the
        accounts a sync recorded a sweep of (``AdAccount.last_swept_at``)."""
        return self._accounts_read[1]

    @cached_property
    def _accounts_read(
        self,
    ) -> tuple[dict[str, tuple[str, str | None]], dict[str, tuple[int, int]]]:
        """The ad accounts, read once from their records (``last_swept_at`` is no column)."""
        rows, swept = [], {}
        for entry in self.store.current_entries(AdAccount, self.bound):
            account = cast(AdAccount, entry.record)
            rows.append((account.id, account.region, account.business_center_id))
            if account.last_swept_at is not None:
                swept[account.id] = (to_micros(account.last_swept_at), entry.seq)
        return _accounts(rows), swept

    @cached_property
    def replacing(self) -> bool:
        """Whether any code is bound at ``t`` (else none can be replaced)."""
        return bool(self._linked[2])

    def replaced(self, code: Sequence[Any]) -> bool:
        """Whether a code (its row in :class:`Auth`'s layout) is *replaced* at ``t`` (DESIGN §6):
        a newer code for its post (:func:`~delvia_ledger.rules.newer`) is bound at ``t`` in the
        code's ``ad_account_id`` or in an account the code has a binding in."""
        _, _, newest, elsewhere = self._linked
        if not newest:
            return False
        post = code[2]
        held = newest.get((post, code[5]))
        if held is not None and newer(held, code):
            return True
        for account in elsewhere.get(code[0], ()):
            held = newest.get((post, account))
            if held is not None and newer(held, code):
                return True
        return False

    @cached_property
    def is_unbound(self) -> Row:
        """Whether a :class:`Binding` is unbound at ``t``."""
        return predicate(unbound_at(self.t), Binding._fields)

    @cached_property
    def refuses(self) -> Row:
        """Whether TikTok's status, from the row ``(tiktok_status,)``, refuses a code."""
        return predicate(tiktok_refuses(), ("tiktok_status",))

    @cached_property
    def gone(self) -> Row:
        """Whether a post is unavailable, from the row ``(status,)``."""
        return predicate(post_unavailable(), ("status",))

    @cached_property
    def refused(self) -> Row:
        """Whether a :class:`Binding` is bound at ``t`` with a TikTok status not AUTHORIZED."""
        return predicate(not_authorized(self.t), Binding._fields)

    @cached_property
    def unbound(self) -> dict[tuple[str, str], int]:
        """(authorization, account) -> unbound_at, for bindings unbound at ``t``."""
        return {
            (b.authorization_id, b.ad_account_id): int(b.unbound_at)
            for b in self.bindings(unbound_at(self.t))
            if b.unbound_at is not None
        }

    @cached_property
    def accounts(self) -> dict[str, tuple[str, str | None]]:
        """Ad account id -> (region, business center id)."""
        return self._accounts_read[0]

    @cached_property
    def account_names(self) -> dict[str, str]:
        """Ad account id -> its name (the review sheet reads it)."""
        return {str(i): str(n) for i, n in self.select(AdAccount, ("id", "name"))}

    @cached_property
    def emails(self) -> dict[str, str]:
        """Person id -> email, for the people who have one (the review sheet reads it)."""
        return {str(i): str(e) for i, e in self.select(Person, ("id", "email")) if e}

    def knowing(self, found: Iterable[tuple[int, Record]]) -> World:
        """This world with its creators, people, ad accounts and unavailable posts being just
        the (seq, record) pairs ``found`` (read by id, e.g. one code's neighbours): nothing more
        is read for them. Returns itself."""
        held: dict[type[Record], list[tuple[int, Record]]] = {}
        for seq, record in found:
            held.setdefault(type(record), []).append((seq, record))

        def rows(cls: type[Record], columns: Sequence[str]) -> list[tuple[Any, ...]]:
            return [row_of(seq, record, columns) for seq, record in held.get(cls, ())]

        self.__dict__.update(  # what the cached properties would have read
            creators=_creators(rows(Creator, _CREATOR)),
            people=_people(rows(Person, _PERSON)),
            accounts=_accounts(rows(AdAccount, _ACCOUNT)),
            _posts_read=(
                {i for i, s in rows(Post, ("id", "status")) if self.gone((s,))},
                {i for i, s in rows(Post, ("id", "status")) if self.under_review((s,))},
            ),
        )
        return self

    @cached_property
    def ads(self) -> list[Ad]:
        """Every visible ad, in seq order."""
        return [Ad(*row) for row in self.select(SparkAd, Ad._fields, order_by=("seq",))]

    @cached_property
    def using(self) -> dict[str, list[Ad]]:
        """Active and scheduled ads, by the authorization they use."""
        found: dict[str, list[Ad]] = {}
        active, scheduled = self.active, self.scheduled
        for ad in self.ads:
            if active(ad) or scheduled(ad):
                found.setdefault(ad.authorization_id, []).append(ad)
        return found

    @cached_property
    def in_use(self) -> dict[str, Auth]:
        """The codes active or scheduled ads use, by id, in seq order (one read)."""
        ids = list(self.using)
        return {a.id: a for a in self.auths(OneOf("id", ids), ("seq",))} if ids else {}

    def auths_by_id(self, wanted: Iterable[str]) -> dict[str, Auth]:
        """The visible codes among ``wanted``, by id: those in use without a read, the rest in
        one read."""
        ids, in_use = list(wanted), self.in_use
        found = {i: in_use[i] for i in ids if i in in_use}
        if missing := [i for i in ids if i not in found]:
            found.update((a.id, a) for a in self.auths(OneOf("id", missing)))
        return found

    # --- region policy ----------------------------------------------------------------------

    @cached_property
    def region_rules(self) -> dict[tuple[str, str], RegionVerdict]:
        """(creator region, account region) -> the recorded verdict (``*`` for any)."""
        return {
            (str(c), str(a)): RegionVerdict(str(v))
            for c, a, v in self.select(RegionRule, ("creator_region", "account_region", "verdict"))
        }

    def verdict(self, creator_region: str | None, account_region: str | None) -> RegionVerdict:
        """The policy's verdict: exact pair, (creator, *), (*, account), (*, *), then default."""
        if creator_region is None or account_region is None:
            return RegionVerdict.UNKNOWN
        rules = self.region_rules
        for key in (
            (creator_region, account_region),
            (creator_region, "*"),
            ("*", account_region),
            ("*", "*"),
        ):
            if key in rules:
                return rules[key]
        return (
            RegionVerdict.COMPATIBLE if creator_region == account_region else RegionVerdict.UNKNOWN
        )

    def creator_region(self, creator_id: str) -> str | None:
        """A recorded creator's region (None: unknown or not recorded)."""
        return self.creators.get(creator_id, (None, None))[1]

    def account_region(self, account_id: str) -> str | None:
        """A recorded ad account's region (None: not recorded)."""
        return self.accounts.get(account_id, (None, None))[0]

    def pair_verdict(self, creator_id: str, account_id: str) -> RegionVerdict:
        """The policy's verdict for a recorded creator and ad account."""
        return self.verdict(self.creator_region(creator_id), self.account_region(account_id))

    # --- access: grants and who holds them ----------------------------------------------------

    def grant_active(self, grant: Grant) -> bool:
        """In force at ``t`` and held by a person who counts (DESIGN §6, access)."""
        left = self.people.get(grant.person_id)
        return self.in_force(grant) and self.counts((None if left is None else left[1],))

    @cached_property
    def grants(self) -> list[Grant]:
        """Every visible grant, both sides, in no given order (one read)."""
        return [Grant._make(row) for row in self.select(RoleGrant, Grant._fields)]

    @cached_property
    def active_grants(self) -> list[Grant]:
        """The grants active at ``t`` (both sides), in no given order."""
        return [g for g in self.grants if self.grant_active(g)]

    @cached_property
    def synced_business_centers(self) -> set[str]:
        """Business Centers an access sync has swept: those with a role TikTok listed (the
        token's own user is a member of every Business Center it reaches)."""
        return {
            g.scope.partition(":")[2]
            for g in self.grants
            if g.source == ACTUAL and g.scope.startswith("business_center:")
        }

    def synced(self, scope: str) -> bool:
        """Whether an access sync has run for ``scope`` (a Business Center, or an ad account
        recorded in one): its actual side is then what TikTok lists (DESIGN §8)."""
        found = self._synced.get(scope)
        if found is None:
            kind, _, target = scope.partition(":")
            if kind == "ad_account":
                target = self.business_center(target) or ""
            found = kind in ("ad_account", "business_center") and (
                target in self.synced_business_centers
            )
            self._synced[scope] = found
        return found

    def side(self, scope: str) -> str:
        """``"actual"`` where an access sync has run for ``scope``, else ``"intended"``."""
        return "actual" if self.synced(scope) else "intended"

    @cached_property
    def _holders(self) -> dict[tuple[str, str], set[str]]:
        """(role, scope) -> the people holding it through an active grant on the side that
        counts for the scope: the actual side once synced, else the intended side."""
        found: dict[tuple[str, str], set[str]] = {}
        for g in self.active_grants:
            if (g.source == ACTUAL) == self.synced(g.scope):
                found.setdefault((g.role, g.scope), set()).add(g.person_id)
        return found

    def administrators(self, account_id: str) -> set[str]:
        """Active ADMIN grants on the account itself (the actual side once synced). A
        Business Center admin is not one by virtue of the BC: TikTok's BC admins manage only
        the assets assigned to them."""
        return set(self._holders.get((Role.ADMIN, f"ad_account:{account_id}"), ()))

    def operators(self, account_id: str) -> set[str]:
        """The account's administrators and its active OPERATOR grants."""
        extra = self._holders.get((Role.OPERATOR, f"ad_account:{account_id}"), set())
        return self.administrators(account_id) | extra

    def business_center(self, account_id: str) -> str | None:
        """The Business Center a recorded ad account belongs to (None: none recorded)."""
        return self.accounts.get(account_id, (None, None))[1]

    def bc_admins(self, account_id: str) -> set[str]:
        """Active BC_ADMIN grants on the account's Business Center: who can assign roles on it."""
        bc = self.business_center(account_id)
        return set() if bc is None else self.bc_admins_of(bc)

    def bc_admins_of(self, bc_id: str) -> set[str]:
        """Active BC_ADMIN grants on Business Center ``bc_id`` (the actual side once synced)."""
        return set(self._holders.get((Role.BC_ADMIN, f"business_center:{bc_id}"), ()))

    @cached_property
    def with_grants(self) -> set[str]:
        """People holding at least one active grant."""
        return {g.person_id for g in self.active_grants}


# The columns each map is made of, and how, whether read from the tables or from records.
_CREATOR = ("id", "handle", "display_name", "region")
_PERSON = ("id", "name", "left_at")
_ACCOUNT = ("id", "region", "business_center_id")


def _creators(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[str, str | None]]:
    return {str(i): (f"@{h}" if h else str(name or i), r) for i, h, name, r in rows}


def _people(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[str, int | None]]:
    return {str(i): (str(n), left) for i, n, left in rows}


def _accounts(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[str, str | None]]:
    return {str(i): (str(r), bc) for i, r, bc in rows}
