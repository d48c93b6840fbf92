"""A task's audit trail: the entries its transitions wrote (api.store.tasks.note), the
messages that delivered it and each sink's outcome, merged in time order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.domain.approval import HistoryEntry
from api.domain.task import Task
from api.store import keys
from api.store.deliveries import DeliveryLog
from api.store.tasks import TaskStore
from api.store.trail import note


class HistoryLog:
    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.redis = store.redis

    def add(self, ref: str, entry: HistoryEntry) -> None:
        """An entry outside a transition (a worker mailed the task's link)."""
        with self.redis.pipeline() as pipe:
            note(pipe, ref, entry)
            pipe.execute()

    def entries(self, task: Task) -> list[HistoryEntry]:
        raw: list[bytes] = self.redis.lrange(keys.task_history(task.ref), 0, -1)  # type: ignore[assignment]
        stored = [HistoryEntry.model_validate_json(r) for r in raw]
        merged = stored + _delivered(task) + self._sinks(task)
        return sorted(merged, key=lambda entry: entry.at)  # stable: ties keep their order

    def _sinks(self, task: Task) -> list[HistoryEntry]:
        return [_sink_entry(task, d) for d in DeliveryLog(self.store).for_task(task)]


def _delivered(task: Task) -> list[HistoryEntry]:
    """A Slack message per target (its ts is when Slack posted it)."""
    return [HistoryEntry(at=datetime.fromtimestamp(float(m.ts), UTC), kind="delivered",
                         detail={"channel": "slack", "to": m.channel})
            for m in task.external_message_ids]


def _sink_entry(task: Task, delivery: dict[str, Any]) -> HistoryEntry:
    attempts = delivery["attempts"]
    at = attempts[-1]["at"] if attempts else task.ended_at or task.updated_at
    return HistoryEntry(at=at, kind="sink", detail={
        "sink_type": delivery["sink_type"], "target": delivery["target"],
        "event": delivery["event"], "status": delivery["status"],
        "attempts": delivery["attempt_count"]})
