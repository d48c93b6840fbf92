"""Writing a task's history entries (api.store.history reads and merges them)."""

from __future__ import annotations

from api.domain.approval import HistoryEntry
from api.store import keys
from api.store.jobs import AnyPipeline


def note(pipe: AnyPipeline, ref: str, entry: HistoryEntry) -> None:
    """Append a history entry in `pipe`'s MULTI, with the transition that it tells."""
    pipe.rpush(keys.task_history(ref), entry.model_dump_json(exclude_none=True))
