"""Expire a task that nobody answered in time (scheduled at creation for `expires_at`)."""

from __future__ import annotations

from workers.context import services


def expire(task_id: str) -> str:
    task = services().store.expire(task_id)
    return "expired" if task is not None else "not due or already ended"
