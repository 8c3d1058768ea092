"""The cyclic garbage collector, paused around hot loops that make many objects and no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block and restore it after, even on an error; a collector
    the caller had turned off stays off.

    Records, rows and findings hold no reference cycles, so reference counting frees them all
    the same; with a million of them alive the collector would walk every one again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
