"""Benchmark ``import-sheet`` of a one-tab sheet against the CSV import of the same records.

cd benchmarks && python bench_sheet.py [--rows 10000] [--rounds 3]

The sheet has one row per code (handle, video link, code, US dates, account by name, owner by
name, status, region, notes); the CSV side is the three files a team would otherwise write
(creators, posts, authorizations, with ids and ISO times) imported with ``Ledger.import_csv``.
Each round imports both into fresh ledgers (holding the two accounts and the owners),
alternated; the best wall-clock time of each is compared (issue 23: within 1.5x).
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import delvia_ledger as dl
from delvia_ledger.sheet_plan import derived_creator_id

T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)
ACCOUNTS = {"Brand US": "6900000000000000001", "Brand UK": "6900000000000000002"}
OWNERS = {"Ana Lima": "p_ana", "Ben Okafor": "p_ben", "Chloe Park": "p_chloe"}


def write_inputs(folder: Path, rows: int) -> None:
    """The sheet and the three CSVs of the same records."""
    rnd = random.Random(23)
    creators = max(1, rows // 5)
    sheet_rows, creator_rows, post_rows, auth_rows = [], {}, [], []
    handles = [f"creator.{i:05d}" for i in range(creators)]
    posts_of: dict[str, list[str]] = {}
    for i in range(rows):
        posts_of.setdefault(handles[i % creators], []).append(str(7301000000000000000 + i))
    for i in range(rows):
        handle, post = handles[i % creators], str(7301000000000000000 + i)
        sent = date(2026, 10, 1) + timedelta(days=rnd.randrange(60))
        expires = sent + timedelta(days=rnd.choice([30, 60, 90]))
        account, owner = list(ACCOUNTS)[i % 2], list(OWNERS)[i % 3]
        code = f"#sheet-code-{i:08d}-{rnd.randrange(10**9):09d}="
        region = ["US", "GB", "CA"][i % 3]
        sheet_rows.append([f"@{handle}", f"https://www.tiktok.com/@{handle}/video/{post}", code,
                           f"{sent.month}/{sent.day}/{sent.year}",
                           f"{expires.month}/{expires.day}/{expires.year}", account, owner,
                           "Active", region, "note" if i % 7 == 0 else ""])  # fmt: skip
        creator_id = derived_creator_id(posts_of[handle])
        creator_rows.setdefault(
            creator_id, [creator_id, handle, ["US", "GB", "CA"][(i % creators) % 3]]
        )
        post_rows.append([post, creator_id, "VIDEO"])
        auth_rows.append([code, creator_id, post, sent.isoformat(), expires.isoformat(),
                          ACCOUNTS[account], OWNERS[owner]])  # fmt: skip
    files = {
        "sheet.csv": (["Creator Handle", "Video Link", "Spark Code", "Sent On", "Expires",
                       "Ad Account", "Owner", "Status", "Region", "Notes"], sheet_rows),
        "creators.csv": (["id", "handle", "region"], list(creator_rows.values())),
        "posts.csv": (["id", "creator_id", "kind"], post_rows),
        "authorizations.csv": (["code", "creator_id", "post_id", "starts_at", "expires_at",
                                "ad_account_id", "owner_id"], auth_rows),
    }  # fmt: skip
    for name, (header, body) in files.items():
        with (folder / name).open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(body)


def fresh(path: Path) -> dl.Ledger:
    ledger = dl.Ledger.open(path, clock=lambda: T0)
    ledger.record_all(
        [
            dl.AdAccount(id=i, name=n, region="US" if "US" in n else "GB")
            for n, i in ACCOUNTS.items()
        ]
        + [dl.Person(id=i, name=n) for n, i in OWNERS.items()]
    )
    return ledger


def time_sheet(folder: Path, n: int) -> tuple[float, int]:
    with fresh(folder / f"sheet-{n}.db") as ledger:
        started = time.perf_counter()
        result = ledger.import_sheet(folder / "sheet.csv", date_order="MDY")
        return time.perf_counter() - started, result.written


def time_csv(folder: Path, n: int) -> tuple[float, int]:
    with fresh(folder / f"csv-{n}.db") as ledger:
        started = time.perf_counter()
        written = 0
        for cls, name in ((dl.Creator, "creators.csv"), (dl.Post, "posts.csv"),
                          (dl.SparkAuthorization, "authorizations.csv")):  # fmt: skip
            written += ledger.import_csv(cls, folder / name).written
        return time.perf_counter() - started, written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    write_inputs(folder, args.rows)
    sheet_times, csv_times = [], []
    for n in range(args.rounds):  # alternated, so both see the same machine
        order = (time_sheet, time_csv) if n % 2 == 0 else (time_csv, time_sheet)
        for run in order:
            seconds, written = run(folder, n)
            (sheet_times if run is time_sheet else csv_times).append((seconds, written))
    (best_sheet, w_sheet), (best_csv, w_csv) = min(sheet_times), min(csv_times)
    assert w_sheet == w_csv, (w_sheet, w_csv)  # the same records, written either way
    print(f"{args.rows:,} rows, {w_sheet:,} entries written either way")
    print(f"import-sheet: best {best_sheet:.3f} s  ({best_sheet / args.rows * 1e6:.0f} µs/row)")
    print(f"import_csv x3: best {best_csv:.3f} s  ({best_csv / args.rows * 1e6:.0f} µs/row)")
    print(f"ratio sheet/csv: {best_sheet / best_csv:.2f}x (goal: within 1.5x)")


if __name__ == "__main__":
    main()
