"""The cyclic garbage collector, paused around hot loops that make many objects and no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "pause", "resume"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block and restore it after, even on an error; a collector
    the caller had turned off stays off.

    Records, rows and findings hold no reference cycles, so reference counting frees them all
    the same; with a million of them alive the collector would walk every one again and again.
    """
    enabled = pause()
    try:
        yield
    finally:
        resume(enabled)


def pause() -> bool:
    """Pause the collector at once; whether it was on, for :func:`resume`.

    For a loop that hands out objects between pauses: a ``with collector_paused()`` makes a
    context manager first, with the collector on, and that allocation can start a collection
    over everything the previous round made and the caller still holds.
    """
    enabled = gc.isenabled()
    gc.disable()
    return enabled


def resume(enabled: bool) -> None:
    """Turn the collector back on if :func:`pause` found it on."""
    if enabled:
        gc.enable()
