"""Benchmark the access side (issue 24; on demand, not in CI).

    python benchmarks/bench_access.py --people 2000 --accounts 20

Builds a ledger with ``--accounts`` ad accounts in one Business Center, ``--people`` people
each approved as OPERATOR on one account, and the same roles recorded as a sync would (the
actual side, through ``changes_for`` from the sweeps' drafts, so no HTTP is timed). Times, best
of ``--rounds``: the intake's decision (``changes_for``) against a ledger that already holds
every role (what an unchanged re-sync computes), ``findings()`` with the access kinds, and the
same ``findings()`` on a ledger with only the intended side (no sync), for the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BC = "7100000000000000001"


def build(path: Path, people: int, accounts: int, synced: bool) -> None:
    import delvia_ledger as dl
    from delvia_ledger.access_sync import changes_for
    from delvia_ledger.tiktok_access import Member, RoleDraft

    with dl.Ledger.open(path, clock=lambda: T0) as ledger:
        ids = [f"70{i:017d}" for i in range(accounts)]
        records: list[dl.Record] = [
            dl.AdAccount(id=a, name=f"account {a}", region="US", business_center_id=BC) for a in ids
        ]
        for n in range(people):
            user = f"69{n:017d}"
            records.append(dl.Person(id=f"p{n}", name=f"person {n}", tiktok_user_id=user))
            records.append(
                dl.RoleGrant(
                    id=f"g{n}",
                    person_id=f"p{n}",
                    scope=f"ad_account:{ids[n % accounts]}",
                    role="OPERATOR",
                    granted_at=T0,
                )
            )
        ledger.record_all(records)
        if synced:
            drafts = read(people, ids, Member, RoleDraft)
            ledger.record_all(changes_for(ledger._store, drafts, T0)[0])


def read(people: int, ids: list[str], member: type, draft: type) -> Any:
    from delvia_ledger.access_sync import _Read
    from delvia_ledger.records import Role
    from delvia_ledger.tiktok_access import RoleDraft

    members = [
        member(
            index=n,
            user_id=f"69{n:017d}",
            name=None,
            email=None,
            role=draft(user_id=f"69{n:017d}", role=Role.BC_STANDARD, scope=f"business_center:{BC}"),
        )
        for n in range(people)
    ]
    roles: dict[str, list[RoleDraft]] = {a: [] for a in ids}
    for n in range(people):
        account = ids[n % len(ids)]
        roles[account].append(
            draft(user_id=f"69{n:017d}", role=Role.OPERATOR, scope=f"ad_account:{account}")
        )
    users: dict[str, tuple[str | None, str | None]] = {
        f"69{n:017d}": (None, None) for n in range(people)
    }
    return _Read(BC, members, [], [], True, roles, frozenset(ids), (), users)


def best(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import delvia_ledger as dl
    from delvia_ledger.access_sync import changes_for
    from delvia_ledger.tiktok_access import Member, RoleDraft

    folder = Path(tempfile.mkdtemp())
    plain, synced = folder / "plain.db", folder / "synced.db"
    build(plain, args.people, args.accounts, synced=False)
    build(synced, args.people, args.accounts, synced=True)
    ids = [f"70{i:017d}" for i in range(args.accounts)]
    with dl.Ledger.open(plain, clock=lambda: T0) as before, dl.Ledger.open(synced) as after:
        again = read(args.people, ids, Member, RoleDraft)
        decide = best(lambda: changes_for(after._store, again, T0), args.rounds)
        unchanged = changes_for(after._store, again, T0)[0]
        intended = best(lambda: before.findings(now=T0), args.rounds)
        both = best(lambda: after.findings(now=T0), args.rounds)
    print(f"{args.people} people, {args.accounts} accounts; best of {args.rounds}")
    print(f"re-sync decision (unchanged: {len(unchanged)} records to write): {decide:.3f} s")
    print(f"findings, intended side only: {intended:.3f} s")
    print(f"findings, after a sync (access kinds): {both:.3f} s ({both / intended:.2f}x)")


if __name__ == "__main__":
    main()
