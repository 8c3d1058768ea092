"""Benchmark the pure TikTok translators per item: 10,000 ``/ad/get/`` entries (with their ad
groups, then linked to codes) and 10,000 ``/bc/member/get/`` entries, against today's
``/tt_video/list/`` translation of 10,000 posts, alternated in one run (CPU time).

PYTHONPATH=. python benchmarks/bench_translators.py [--items 10000] [--runs 5]   (from the repo root)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from delvia_ledger import tiktok, tiktok_access, tiktok_ads

ADVERTISER = "6900000000000000001"


def posts(n: int) -> dict[str, Any]:
    return {
        "list": [
            {
                "item_info": {
                    "auth_code": f"#bench-code-{i}=",
                    "item_id": str(7301000000000000000 + i),
                    "item_type": "VIDEO",
                    "status": "HESITATE_RECOMMEND",
                },
                "auth_info": {
                    "ad_auth_status": "AUTHORIZED",
                    "auth_start_time": "2026-11-01 00:00:00",
                    "auth_end_time": "2026-12-01 00:00:00",
                },
                "user_info": {"identity_id": str(7000000000000000000 + i % 500)},
            }
            for i in range(n)
        ]
    }


def ads(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    groups = {
        "list": [
            {
                "adgroup_id": str(1700000000000000000 + g),
                "schedule_start_time": "2026-11-01 00:00:00",
                "schedule_end_time": "2027-01-31 00:00:00",
            }
            for g in range(max(1, n // 10))
        ]
    }
    listed = {
        "list": [
            {
                "ad_id": str(1800000000000000000 + i),
                "adgroup_id": str(1700000000000000000 + i % max(1, n // 10)),
                "advertiser_id": ADVERTISER,
                "identity_type": "AUTH_CODE",
                "identity_id": str(7000000000000000000 + i % 500),
                "tiktok_item_id": str(7301000000000000000 + i),
                "operation_status": ("ENABLE", "DISABLE", "DELETE")[i % 3],
                "create_time": "2026-11-02 00:00:00",
                "modify_time": "2026-11-03 00:00:00",
            }
            for i in range(n)
        ]
    }
    return groups, listed


def members(n: int) -> dict[str, Any]:
    return {
        "list": [
            {
                "user_id": str(7100000000000000000 + i),
                "user_name": f"member {i}",
                "user_email": f"m{i}@brand.com",
                "user_role": ("ADMIN", "STANDARD")[i % 2],
                "relation_status": ("BOUND", "BOUND", "PENDING")[i % 3],
            }
            for i in range(n)
        ]
    }


def cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    n = args.items
    video = posts(n)
    groups, listed = ads(n)
    people = members(n)
    bound = {str(7301000000000000000 + i): f"auth_{i:016x}" for i in range(0, n, 2)}

    def translate_ads() -> object:
        schedules = tiktok_ads.schedules_from_adgroup_get(groups)
        drafts, _ = tiktok_ads.ad_drafts(listed, advertiser_id=ADVERTISER, schedules=schedules)
        return tiktok_ads.link_ads(drafts, bound)

    work: dict[str, Callable[[], object]] = {
        "tt_video/list (today)": lambda: tiktok.items_from_tt_video(video),
        "ad/get + adgroup/get + link": translate_ads,
        "bc/member/get": lambda: tiktok_access.members_from_bc_member_get(people, bc_id="7200"),
    }
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(args.runs):  # alternated, so that the machine's load falls on each alike
        for name, run in work.items():
            times[name].append(cpu(run))
    base = statistics.median(times["tt_video/list (today)"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:<30} {median / n * 1e6:7.2f} µs/item  x{median / base:.2f} of tt_video")


if __name__ == "__main__":
    main()
