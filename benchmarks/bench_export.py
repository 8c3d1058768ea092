"""Benchmark the JSON export of a ledger file (run on demand, not in CI).

cd benchmarks && python bench_export.py LEDGER.db [--runs 3]

Times ``ledger.export_json`` of the whole file, then, on the entries already read, the
export's encoding alone against the encoding it replaced (encode, parse, encode again) and a
bare ``json.dumps`` of each entry's parts, in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import delvia_ledger as dl
from delvia_ledger.convert import canonical_json, format_time, record_to_dict
from delvia_ledger.exports import _export_json


def replaced(entries: list[dl.Entry], out: io.StringIO) -> None:
    """The encoding before 2026-12-03: each record encoded, parsed and encoded again."""
    out.write('{"entries": [\n')
    for count, entry in enumerate(entries):
        item = {
            "seq": entry.seq,
            "recorded_at": format_time(entry.recorded_at),
            "type": type(entry.record).__name__,
            "id": entry.record.id,
            "record": json.loads(canonical_json(record_to_dict(entry.record))),
            "hash": entry.hash,
        }
        out.write(("" if count == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
    out.write("\n]}\n")


def timed(fn, entries: list[dl.Entry]) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    started = time.process_time()
    fn(entries, out)
    return time.process_time() - started, out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("ledger")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with dl.Ledger.open(args.ledger) as ledger:
        for run in range(1, args.runs + 1):
            target = Path(tempfile.mkdtemp()) / "export.json"
            wall, cpu = time.perf_counter(), time.process_time()
            count = ledger.export_json(target)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"run {run}: export_json of {count:,} entries: {wall:.1f} s wall, {cpu:.1f} s "
                f"CPU = {cpu / count * 1e6:.1f} us/entry ({target.stat().st_size / 2**20:.0f} MiB)"
            )
            target.unlink()
        started = time.process_time()
        entries = list(ledger.entries())
        reading = time.process_time() - started
    for run in range(1, args.runs + 1):
        new, ours = timed(_export_json, entries)
        old, theirs = timed(replaced, entries)
        assert ours == theirs
        print(
            f"run {run}: reading the entries {reading / len(entries) * 1e6:.1f} us/entry | "
            f"encoding them: {new / len(entries) * 1e6:.1f} us/entry, the replaced encoding "
            f"{old / len(entries) * 1e6:.1f} us/entry -> {old / new:.2f}x faster, same bytes"
        )


if __name__ == "__main__":
    main()
