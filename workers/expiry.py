"""Expire a task that nobody answered in time (scheduled at creation for `expires_at`)."""

from __future__ import annotations

import time

from workers.context import services

# The job is scheduled for the second after `expires_at`; a worker host whose clock runs a
# little behind the API's may still start it early, so it waits out a short gap itself.
EARLY_WAIT_MAX_S = 5.0


def expire(ref: str) -> str:
    store = services().store
    early = store.due_in(ref)
    if early is not None and 0 < early <= EARLY_WAIT_MAX_S:
        time.sleep(early)
    task = store.expire(ref)
    return "expired" if task is not None else "not due or already ended"
