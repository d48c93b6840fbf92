"""What every sink transport shares: the call it is given, the protocol it keeps, and how
its latency is measured. The registry of transports by sink type is in deliver.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from api.domain.events import Attempt
from api.domain.task import Sink, Task
from api.settings import Settings


@dataclass(frozen=True)
class SinkCall:
    """Everything a transport may need for one attempt, built by deliver.py."""

    task: Task
    event: str
    sink: Sink
    body: bytes  # the pinned event body: every retry and every sink sends the same bytes
    event_id: str
    secret: str | None = field(repr=False)  # the sink's stored secret (webhooks only)


class Transport(Protocol):
    """Sends one event to one sink kind. Built once from settings with its I/O seam (a
    sender, a client), so one instance can serve many calls."""

    def send(self, call: SinkCall) -> Attempt: ...


Factory = Callable[[Settings], Transport]


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.monotonic()` reading), to 0.1 ms: the latency
    a delivery record shows."""
    return round((time.monotonic() - started) * 1000, 1)
