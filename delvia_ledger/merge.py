"""Sorted streams of keyed findings merged into one order, batch by batch, in C where it
counts (the checks make a million findings at a time).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from .collector import pause, resume
from .convert import to_micros
from .findings import Finding, Severity

__all__ = ["KEY", "NEVER", "RANK", "Batch", "Key", "flattened", "key_of", "merged"]

#: A finding's place in the merged stream: severity rank, deadline in µs (none: after all),
#: kind, then a tie-breaker (a code's seq, or the position in a sorted list).
Key = tuple[int, int, str, int]
NEVER = to_micros(datetime.max.replace(tzinfo=UTC)) + 1
RANK = {severity: severity.rank for severity in Severity}
KEY = itemgetter(0)  # of a (key, finding) pair: in C, where bisect and sort call it per item


#: Findings with their keys, in key order.
Batch = list[tuple[Key, Finding]]


def merged(streams: list[Iterator[Batch]]) -> Iterator[list[Finding]]:
    """The findings of sorted streams of sorted batches, in key order (keys are unique), in
    batches, for the caller to flatten in C.

    Batch by batch rather than item by item (``heapq.merge`` runs Python per item): what every
    stream holds up to the smallest of their last keys comes next, sorted in one call (runs
    already sorted: a merge in C). A stream whose batch is spent gives its next only when the
    next round needs it, after the caller has had this one. Closing this closes the streams.
    """
    held: list[list[Any]] = [[None, 0, stream] for stream in streams]  # batch, next item, stream
    try:
        while True:
            enabled = pause()  # before anything is made: see collector.pause
            try:
                live = []
                for batch, start, stream in held:
                    if batch is None or start == len(batch):
                        batch, start = _filled(stream), 0
                        if batch is None:  # the stream has ended
                            continue
                    live.append([batch, start, stream])
                if not live:
                    return
                held = live
                frontier = min(batch[-1][0] for batch, _, _ in held)
                ready: Batch = []
                for place in held:
                    batch, start, _ = place
                    place[1] = end = bisect_right(batch, frontier, lo=start, key=KEY)
                    ready += batch[start:end]
                ready.sort(key=KEY)
                findings = [finding for _, finding in ready]
            finally:
                resume(enabled)
            yield findings
    finally:
        for stream in streams:
            if isinstance(stream, Generator):
                stream.close()


def flattened(batches: Generator[list[Finding], None, None]) -> Iterator[Finding]:
    """The findings of ``batches``, one by one; closing this (or ending it) closes them."""
    try:
        for batch in batches:
            yield from batch
    finally:
        batches.close()


def _filled(stream: Iterator[Batch]) -> Batch | None:
    """The next batch of ``stream`` that is not empty (a batch of codes can make no finding);
    None once it ends."""
    for batch in stream:
        if batch:
            return batch
    return None


def key_of(finding: Finding, tie: int) -> Key:
    """A finding's place among others sorted by :meth:`Finding.sort_key`; ``tie`` is its position
    there."""
    deadline = finding.deadline
    when = NEVER if deadline is None else to_micros(deadline)
    return RANK[finding.severity], when, finding.kind._value_, tie
