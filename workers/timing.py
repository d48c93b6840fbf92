"""Latency of one delivery attempt, as the delivery records show it."""

from __future__ import annotations

import time


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.monotonic()` reading), to 0.1 ms."""
    return round((time.monotonic() - started) * 1000, 1)
