"""Retention: ended tasks leave Redis some time after they end, with every key that is
theirs, and their stored files once no other task claims the same bytes.

Candidates come from the ended-status indexes (scored by creation time: a task created
after the cutoff cannot have ended before it), a batch at a time; each batch is archived
first when an archive dir is set (JSON Lines, fsynced), then deleted in one MULTI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from redis.client import Pipeline

from api.domain.events import EVENT_TYPES
from api.domain.task import Task
from api.store import keys
from api.store.codec import text
from api.store.deliveries import DeliveryLog, delivery_id, events_of
from api.store.files import FileClaims, FileStorage
from api.store.listing import index_keys
from api.store.tasks import TaskStore

BATCH = 500


@dataclass
class Removed:
    task: Task
    slack_user: str | None
    files: list[str]
    slack_users: list[str]  # the assignee and channel members granted it: their drafts


class Retention:
    def __init__(self, store: TaskStore, claims: FileClaims, storage: FileStorage,
                 archive_dir: Path | None = None, batch: int = BATCH) -> None:
        self.store, self.redis, self.claims, self.storage = store, store.redis, claims, storage
        self.archive_dir, self.batch = archive_dir, batch

    def run(self, days: float) -> int:
        """Remove the tasks that ended more than `days` ago; how many went."""
        cutoff = self.store.clock() - timedelta(days=days)
        self.claims.index_older_claims()
        removed = 0
        for key in self._status_keys():
            removed += self._sweep(key, cutoff)
        return removed

    def _status_keys(self) -> Iterator[str]:
        for status in EVENT_TYPES:  # the ended statuses
            pattern = keys.org_index("*", "status", status)
            yield from (text(k) for k in self.redis.scan_iter(match=pattern, count=500))

    def _sweep(self, key: str, cutoff: datetime) -> int:
        """Walk the index a batch at a time; kept tasks stay in it, so the offset is them."""
        kept = removed = 0
        bound = int(cutoff.timestamp() * 1_000_000)
        while True:
            found: list[bytes] = self.redis.zrangebyscore(  # type: ignore[assignment]
                key, "-inf", bound, start=kept, num=self.batch)
            refs = [text(r) for r in found]
            if not refs:
                return removed
            gone = self._batch(refs, cutoff)
            kept, removed = kept + len(refs) - len(gone), removed + len(gone)

    def _batch(self, refs: list[str], cutoff: datetime) -> list[Removed]:
        found = self._load(refs, cutoff)
        if self.archive_dir is not None:
            self._archive(found)
        with self.redis.pipeline() as pipe:
            for item in found:
                _delete(pipe, item)
            pipe.execute()
        for item in found:
            self._release_files(item)
        return found

    def _load(self, refs: list[str], cutoff: datetime) -> list[Removed]:
        with self.redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.get(keys.task(ref))
                pipe.get(keys.task_slack_user(ref))
                pipe.smembers(keys.task_files(ref))
                pipe.zrange(keys.task_slack_grants(ref), 0, -1)
            raw = pipe.execute()
        found = []
        for i in range(0, len(raw), 4):
            task_raw, user, files, granted = raw[i:i + 4]
            task = Task.read(task_raw) if task_raw is not None else None
            if task is not None and _ended(task) < cutoff:
                found.append(Removed(task, text(user) if user else None,
                                     sorted(text(f) for f in files),
                                     sorted({text(u) for u in [*granted, user] if u})))
        return found

    def _archive(self, found: list[Removed]) -> None:
        """Append each task (public JSON and delivery records) to today's file, on disk
        before anything is deleted."""
        if not found or self.archive_dir is None:
            return
        now = self.store.clock()
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        path = self.archive_dir / f"tasks-{now:%Y-%m-%d}.jsonl"
        log = DeliveryLog(self.store)
        lines = [json.dumps(_archived(item.task, log, now), separators=(",", ":")) + "\n"
                 for item in found]
        with path.open("a", encoding="utf-8") as out:
            out.writelines(lines)
            out.flush()
            os.fsync(out.fileno())

    def _release_files(self, item: Removed) -> None:
        for sha in item.files:
            if self.claims.release(item.task.ref, sha):
                self.storage.discard(sha, partial(self.claims.claimed, sha))


def _ended(task: Task) -> datetime:
    """When the task ended; records older than `ended_at` last changed when they ended,
    give or take later bookkeeping (messages updated), so `updated_at` stands in."""
    return task.ended_at or task.updated_at


def _archived(task: Task, log: DeliveryLog, now: datetime) -> dict[str, Any]:
    return {"archived_at": now.isoformat(), "task": task.public(),
            "deliveries": log.for_task(task)}


def _delete(pipe: Pipeline, item: Removed) -> None:
    """Every key of the task, and its entries in shared sets."""
    task, ref = item.task, item.task.ref
    pipe.delete(keys.task(ref), keys.task_secrets(ref), keys.task_draft(ref),
                keys.task_idempotency(ref), keys.task_files(ref), keys.link(task.link_id),
                keys.task_slack_user(ref), keys.task_history(ref),
                keys.task_slack_sent(ref), keys.task_slack_grants(ref),
                *(keys.task_event(ref, event) for event in events_of(task)))
    pipe.zrem(keys.org_tasks(task.org_id), ref)
    for key in index_keys(task):
        pipe.zrem(key, ref)
    for user in item.slack_users:
        pipe.delete(keys.task_slack_draft(ref, user))
    if item.slack_user:
        pipe.zrem(keys.slack_user_tasks(item.slack_user), ref)
    for index in range(len(task.sinks)):
        for event in events_of(task):
            did = delivery_id(ref, event, index)
            pipe.delete(keys.delivery(did), keys.delivery_attempts(did))
            pipe.zrem(keys.DELIVERIES_GAVE_UP, did)
