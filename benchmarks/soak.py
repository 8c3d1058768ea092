"""Soak test (run on demand, not in CI): writers, readers, syncs, notifies and SIGKILLs on one file.

    python benchmarks/soak.py --writers 3 --readers 1 --syncers 1 --notifiers 2 --minutes 2

(from the repository's root: it serves TikTok with tests/fake_tiktok.py and takes mail with a
real aiosmtpd server, both on 127.0.0.1).

N writer processes append transactions (1-20 new creators, sometimes a new version of one of
their earlier creators) and report each one only after it committed; M reader processes query
and verify the chain on snapshots while the writers run; every few seconds one writer is
killed with SIGKILL (often mid-transaction) and started again. K syncer processes sync an
advertiser from a fake TikTok server in a loop, and L notifier processes run ``notify`` in a
loop at the same time (overlapping runs: cron and a manual run) into a real SMTP server; the
syncers are killed like the writers (``--kill-notifiers`` kills notifiers too: a kill between a
send and its Notice can only be a resend). At the end the file must hold every reported commit
and every post TikTok listed, its seqs must be gap-free, and verify(deep=True) must pass;
readers must never have seen a broken chain; and no reminder may arrive twice (each person's
findings do not change during the run, so one mail each is right). Prints the figures and
exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import warnings
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from pathlib import Path

import delvia_ledger as dl

#: The notifiers' people: each owns codes expiring within days of the run (on account 6900),
#: so each is due one reminder; the syncers sweep another advertiser's posts.
PEOPLE = 8
NOTIFY_ACCOUNT = "6900"


def seed(path: str, advertiser: str) -> None:
    """The world the syncers and notifiers work on: an account to sync, people with codes."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    with dl.Ledger.open(path) as ledger:
        records: list[dl.Record] = [
            dl.AdAccount(id=advertiser, name="Synced", region="US"),
            dl.AdAccount(id=NOTIFY_ACCOUNT, name="Brand", region="US"),
            dl.Creator(id="maya", handle="@maya", region="US"),
            dl.Post(id="7301", creator_id="maya", kind="VIDEO"),
        ]
        for n in range(PEOPLE):
            records.append(dl.Person(id=f"p{n}", name=f"Person {n}", email=f"p{n}@brand.example"))
            records.append(
                dl.SparkAuthorization.from_code(
                    f"#soak-code-{n:03d}=",
                    creator_id="maya",
                    post_id="7301",
                    starts_at=now - timedelta(days=20),
                    expires_at=now + timedelta(days=2, hours=n),
                    ad_account_id=NOTIFY_ACCOUNT,
                    owner_id=f"p{n}",
                )
            )
        ledger.record_all(records)


def syncer(path: str, report: str, url: str, token: str, advertiser: str) -> None:
    """Sync the advertiser for ever; report each sync after it committed."""
    from delvia_ledger.sync import TikTokClient

    ledger = dl.Ledger.open(path)
    with open(report, "a", encoding="utf-8") as log, TikTokClient(token, base_url=url) as client:
        for _ in range(10**9):
            try:
                result = ledger.sync_tiktok(client, advertiser)
                log.write(json.dumps({"written": result.written}) + "\n")
            except dl.LedgerError as error:  # e.g. busy: counted, not fatal
                log.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
            log.flush()
            time.sleep(0.2)


def notifier(path: str, report: str, port: int, password: str) -> None:
    """Run notify for ever (as cron would, every fraction of a second); report each run."""
    sender = dl.EmailSender(
        "127.0.0.1", port, "ledger@brand.example", username="ops", password=password
    )
    ledger = dl.Ledger.open(path)
    with open(report, "a", encoding="utf-8") as log:
        for _ in range(10**9):
            try:
                result = ledger.notify([sender])
                log.write(json.dumps({"sent": [n.person_id for n in result.sent]}) + "\n")
            except dl.LedgerError as error:
                log.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
            log.flush()
            time.sleep(0.1)


def writer(path: str, report: str, name: str, seed: int) -> None:
    """Append transactions for ever; report each one after it has committed."""
    rng = random.Random(seed)
    ledger = dl.Ledger.open(path)
    mine: list[str] = []
    with open(report, "a", encoding="utf-8") as log:
        for n in range(10**9):
            new = [f"{name}-{n}-{i}" for i in range(rng.randint(1, 20))]
            records = [dl.Creator(id=id_, handle=f"@{id_}", region="US") for id_ in new]
            updated = []
            if mine and rng.random() < 0.3:  # a new version: exercises the supersede path
                old = rng.choice(mine)
                records.append(dl.Creator(id=old, handle=f"@{old}.v{n}", region="GB"))
                updated = [[old, f"{old}.v{n}"]]
            if rng.random() < 0.5:
                result = ledger.record_all(records, batch_size=rng.choice([1, 7, 1000]))
                last = result.last_seq
            else:
                with ledger.transaction():
                    for record in records:
                        last = ledger.record(record).seq
            # Committed: only now is it reported. A kill before this line loses the report,
            # never the entries (the file may hold more than was reported, never less).
            log.write(json.dumps({"new": new, "updated": updated, "last_seq": last}) + "\n")
            log.flush()
            mine += new


def reader(path: str, report: str, seed: int, stop_at: float) -> None:
    """Query and verify snapshots while the writers write; report what was seen."""
    rng = random.Random(seed)
    reads = verified = failures = 0
    errors: list[str] = []
    with dl.Ledger.open(path) as ledger:
        while time.time() < stop_at:
            try:
                ledger.findings(now="2026-11-24T09:00:00Z")
                ledger.get(dl.Creator, f"w0-{rng.randint(0, 500)}-0")
                reads += 1
                if reads % 5 == 0:
                    result = ledger.verify()
                    verified += 1
                    if not result.ok:
                        failures += 1
                        errors.append(str(result.reason))
            except dl.LedgerError as error:  # e.g. LedgerBusyError: counted, not fatal
                errors.append(f"{type(error).__name__}: {error}")
    Path(report).write_text(
        json.dumps({"reads": reads, "verified": verified, "failures": failures, "errors": errors})
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--readers", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--kill-every", type=float, default=4.0, help="mean seconds between kills")
    parser.add_argument("--db", help="ledger file (default: a new file in a temporary folder)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--syncers", type=int, default=1)
    parser.add_argument("--notifiers", type=int, default=2)
    parser.add_argument("--kill-notifiers", action="store_true", help="SIGKILL notifiers too")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Session.login_data")  # aiosmtpd's own notice
    from tests.builders import PASSWORD, running_smtp
    from tests.fake_tiktok import ADVERTISER, TOKEN, FakeTikTok, make_items

    fake = FakeTikTok(items={ADVERTISER: make_items(120)}).start()
    smtp = running_smtp()
    mailbox, port = smtp.__enter__()
    folder = Path(tempfile.mkdtemp(prefix="delvia-soak-"))
    path = args.db or str(folder / "soak.db")
    seed(path, ADVERTISER)
    rng = random.Random(args.seed)
    context = get_context("spawn")
    started = time.time()
    stop_at = started + args.minutes * 60

    def start_writer(i: int, generation: int) -> BaseProcess:
        process = context.Process(
            target=writer,
            args=(path, str(folder / f"w{i}.log"), f"w{i}g{generation}", rng.random()),
        )
        process.start()
        return process

    def start_syncer(i: int) -> BaseProcess:
        process = context.Process(
            target=syncer, args=(path, str(folder / f"s{i}.log"), fake.url, TOKEN, ADVERTISER)
        )
        process.start()
        return process

    def start_notifier(i: int) -> BaseProcess:
        process = context.Process(
            target=notifier, args=(path, str(folder / f"n{i}.log"), port, PASSWORD)
        )
        process.start()
        return process

    writers = [start_writer(i, 0) for i in range(args.writers)]
    generations = [0] * args.writers
    syncers = [start_syncer(i) for i in range(args.syncers)]
    notifiers = [start_notifier(i) for i in range(args.notifiers)]
    sync_kills = notify_kills = 0
    readers = [
        context.Process(
            target=reader, args=(path, str(folder / f"r{i}.json"), rng.random(), stop_at)
        )
        for i in range(args.readers)
    ]
    for process in readers:
        process.start()
    kills = 0
    while time.time() < stop_at:
        time.sleep(min(rng.expovariate(1 / args.kill_every), max(0.0, stop_at - time.time())))
        if time.time() >= stop_at:
            break
        victim = rng.random()
        if syncers and victim < 0.2:
            i = rng.randrange(len(syncers))
            os.kill(syncers[i].pid or 0, signal.SIGKILL)
            syncers[i].join()
            sync_kills += 1
            syncers[i] = start_syncer(i)
            continue
        if notifiers and args.kill_notifiers and victim < 0.35:
            i = rng.randrange(len(notifiers))
            os.kill(notifiers[i].pid or 0, signal.SIGKILL)
            notifiers[i].join()
            notify_kills += 1
            notifiers[i] = start_notifier(i)
            continue
        i = rng.randrange(args.writers)
        os.kill(writers[i].pid or 0, signal.SIGKILL)
        writers[i].join()
        kills += 1
        generations[i] += 1
        writers[i] = start_writer(i, generations[i])
    for ending in [*writers, *syncers, *notifiers]:  # the end: killed too, wherever they are
        os.kill(ending.pid or 0, signal.SIGKILL)
        ending.join()
    for process in readers:
        process.join()
    elapsed = time.time() - started

    reported_new: set[str] = set()
    reported_updates: list[tuple[str, str]] = []
    transactions = 0
    for log in folder.glob("w*.log"):
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: its transaction may still be in the file
            transactions += 1
            reported_new.update(item["new"])
            reported_updates += [tuple(pair) for pair in item["updated"]]

    start = time.perf_counter()
    with dl.Ledger.open(path) as ledger:
        result = ledger.verify(deep=True)
        verify_seconds = time.perf_counter() - start
        entries = list(ledger.entries())
        seqs = [e.seq for e in entries]
        ids = {e.record.id for e in entries}
        handles = {(e.record.id, getattr(e.record, "handle", None)) for e in entries}
        listed = [item["item_info"]["auth_code"] for item in fake.items[ADVERTISER]]
        synced_missing = sum(ledger.authorization_for(c) is None for c in listed)
        notices = [n for n in ledger.records(dl.Notice) if n.channel.startswith("email")]
    fake.stop()
    smtp.__exit__(None, None, None)
    syncs = sync_errors = runs = 0
    for log in [*folder.glob("s*.log"), *folder.glob("n*.log")]:
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if log.name.startswith("s"):
                syncs += "written" in item
            else:
                runs += "sent" in item
            sync_errors += "error" in item
    mails: dict[str, int] = {}
    for recipients, _ in mailbox.messages:
        for address in recipients:
            mails[address] = mails.get(address, 0) + 1
    told = {n.person_id for n in notices}
    twice = sum(count - 1 for count in mails.values() if count > 1)
    missing = reported_new - ids
    lost_updates = [pair for pair in reported_updates if pair not in handles]
    gap_free = seqs == list(range(1, len(seqs) + 1))
    seen = [json.loads((folder / f"r{i}.json").read_text()) for i in range(args.readers)]

    print(f"ledger file:                    {path}")
    print(f"ran:                            {elapsed:.0f} s, {args.writers} writers, "
          f"{args.readers} readers, {kills} SIGKILLs of writers")  # fmt: skip
    print(f"transactions reported:          {transactions:,}")
    print(f"new records reported:           {len(reported_new):,}")
    print(f"new versions reported:          {len(reported_updates):,}")
    print(f"entries in the file:            {len(entries):,} "
          f"({len(entries) / elapsed:,.0f} per second)")  # fmt: skip
    unreported = len(entries) - len(reported_new) - len(reported_updates)
    print(f"committed but not reported:     {unreported:,} (killed between commit and report)")
    print(f"reported but missing:           {len(missing) + len(lost_updates)}")
    print(f"seqs gap-free:                  {gap_free}")
    print(f"verify(deep=True):              {result} in {verify_seconds:.1f} s")
    for i, item in enumerate(seen):
        print(f"reader {i}:                       {item['reads']:,} queries, "
              f"{item['verified']:,} chain verifications, {item['failures']} failed, "
              f"{len(item['errors'])} errors")  # fmt: skip
        for error in item["errors"][:5]:
            print(f"    {error}")
    print(f"syncs committed:                {syncs:,} ({sync_kills} SIGKILLs of syncers); "
          f"posts TikTok listed but missing: {synced_missing}")  # fmt: skip
    print(f"notify runs:                    {runs:,} by {args.notifiers} overlapping notifiers "
          f"({notify_kills} SIGKILLs); errors in sync/notify: {sync_errors}")  # fmt: skip
    print(f"mails received:                 {sum(mails.values())} for {len(mails)} of "
          f"{PEOPLE} people; Notices recorded: {len(notices)} for {len(told)} people")  # fmt: skip
    print(f"reminders sent twice:           {twice}")
    ok = (
        not twice
        and len(mails) == len(told) == PEOPLE
        and len(notices) == sum(mails.values())
        and not synced_missing
        and syncs > 0
        and not missing
        and not lost_updates
        and gap_free
        and result.ok
        and all(not item["failures"] and not item["errors"] for item in seen)
    )
    print("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
