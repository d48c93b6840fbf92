"""Secondary indexes and cursor-paginated listing of an org's tasks, newest first.

Each filter has its own sorted set (score = creation time in µs). A query walks the
smallest matching set from the cursor down and checks membership in the others, so a page
costs a few round trips whatever the org's size. The cursor is `score:ref` of the last
task returned; equal scores are ordered by id, so ties never repeat or vanish.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from redis import Redis

from api.domain.approval import Assignee
from api.domain.errors import Detail, InvalidRequest
from api.domain.task import Task
from api.store import keys

if TYPE_CHECKING:  # tasks.py imports index_keys from here
    from api.store.tasks import TaskStore


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    assignee: str | None = None
    tag: str | None = None
    process_id: str | None = None
    corr_id: str | None = None
    parent: str | None = None


def assignee_index(assignee: Assignee) -> str:
    """The assignee index's value: the member id, or `email:` and the address."""
    return assignee.member_id or f"email:{(assignee.email or '').lower()}"


def assignee_keys(task: Task) -> list[str]:
    """The assignee indexes of a task: each of its assignees (the HPI fields resolve to
    one), or the HPI fields of a record stored before teams."""
    org = task.org_id
    if task.assignees:
        return [keys.org_index(org, "assignee", assignee_index(a)) for a in task.assignees]
    if task.assignee_member_id or task.assignee_email:
        return [keys.org_index(org, "assignee", assignee_index(Assignee(
            member_id=task.assignee_member_id, email=task.assignee_email)))]
    return []


def score(moment: datetime) -> int:
    """A moment as an index score and a stable token: microseconds since the epoch."""
    return int(moment.timestamp() * 1_000_000)


def index_keys(task: Task) -> list[str]:
    """The index sets a new (pending) task belongs to."""
    org = task.org_id
    found = [keys.org_index(org, "status", task.status), *assignee_keys(task)]
    found += [keys.org_index(org, "tag", tag) for tag in set(task.tags)]
    if task.process_id:
        found.append(keys.org_index(org, "process", task.process_id))
    if task.corr_id:
        found.append(keys.org_index(org, "corr", task.corr_id))
    if task.parent_task_id:
        found.append(keys.org_index(org, "parent", task.parent_task_id))
    return found


def _filter_keys(org_id: str, f: Filters) -> list[str]:
    pairs = [("status", f.status), ("assignee", f.assignee), ("tag", f.tag),
             ("process", f.process_id), ("corr", f.corr_id), ("parent", f.parent)]
    return [keys.org_index(org_id, kind, value) for kind, value in pairs if value]


def encode_cursor(score: int, ref: str) -> str:
    return base64.urlsafe_b64encode(f"{score}:{ref}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        score, ref = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        return int(score), ref
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest([Detail("cursor", "invalid cursor", "value_error")]) from None


Entry = tuple[str, int]  # task id, score


def cursor_after(entry: Entry) -> str:
    """The cursor of the page that starts after `entry`."""
    return encode_cursor(entry[1], entry[0])


def query_page(redis: Redis, org_id: str, filters: Filters, *, limit: int,
               cursor: str | None) -> tuple[list[Entry], bool]:
    """The entries of one page, newest first, and whether more follow."""
    sets = _filter_keys(org_id, filters) or [keys.org_tasks(org_id)]
    sizes = [redis.zcard(k) for k in sets]
    driver = sets[sizes.index(min(sizes))]
    others = [k for k in sets if k != driver]
    position = decode_cursor(cursor) if cursor else None
    found: list[tuple[str, int]] = []
    while len(found) <= limit:
        batch = _batch(redis, driver, position, size=max(2 * limit, 50))
        if not batch:
            break
        found += _members_of_all(redis, batch, others)
        position = (batch[-1][1], batch[-1][0])
    return found[:limit], len(found) > limit


def _batch(redis: Redis, key: str, position: tuple[int, str] | None,
           size: int) -> list[tuple[str, int]]:
    top: int | str = position[0] if position else "+inf"
    rows: list[tuple[bytes, float]] = redis.zrevrangebyscore(  # type: ignore[assignment]
        key, top, "-inf", start=0, num=size + 1, withscores=True)
    entries = [(m.decode(), int(s)) for m, s in rows]
    if position:
        entries = [(m, s) for m, s in entries if s < position[0] or m < position[1]]
    return entries


def _members_of_all(redis: Redis, batch: list[tuple[str, int]],
                    others: list[str]) -> list[tuple[str, int]]:
    if not others:
        return batch
    ids = [m for m, _ in batch]
    pipe = redis.pipeline(transaction=False)
    for key in others:
        pipe.zmscore(key, ids)
    scores = pipe.execute()
    return [entry for i, entry in enumerate(batch) if all(s[i] is not None for s in scores)]


class Listing:
    """Pages of an org's tasks. A page ends early once its tasks hold `max_page_bytes`
    (but always holds one), so large tasks are never all read into memory at once."""

    def __init__(self, store: TaskStore, max_page_bytes: int = 2 * 1024 * 1024) -> None:
        self.store = store
        self.redis = store.redis
        self.max_page_bytes = max_page_bytes

    def page(self, org_id: str, filters: Filters, *, limit: int = 50,
             cursor: str | None = None) -> tuple[list[Task], str | None]:
        """Newest first, with an opaque cursor for the next page."""
        entries, more = query_page(self.redis, org_id, filters, limit=limit, cursor=cursor)
        kept = self._fitting(entries)
        more, entries = more or kept < len(entries), entries[:kept]
        raws = self.redis.mget([keys.task(i) for i, _ in entries]) if entries else []
        tasks = [Task.read(r) for r in raws if r is not None]
        # Overdue tasks expire as they are listed, like any read: nobody sees them pending.
        tasks = [self.store.fresh(t) for t in tasks]
        next_cursor = cursor_after(entries[-1]) if more and entries else None
        return [t for t in tasks if filters.status in (None, t.status)], next_cursor

    def counts(self, org_id: str, statuses: list[str], *,
               assignee: str | None = None) -> dict[str, int]:
        """How many of the org's tasks are in each status (of those assigned to
        `assignee`, when given): one round trip, whatever the org's size."""
        pipe = self.redis.pipeline(transaction=False)
        for status in statuses:
            key = keys.org_index(org_id, "status", status)
            if assignee:
                pipe.zintercard(2, [key, keys.org_index(org_id, "assignee", assignee)])
            else:
                pipe.zcard(key)
        return dict(zip(statuses, pipe.execute(), strict=True))

    def _fitting(self, entries: list[Entry]) -> int:
        """How many of `entries` (at least one) fit in `max_page_bytes`, by stored size."""
        pipe = self.redis.pipeline(transaction=False)
        for ref, _ in entries:
            pipe.strlen(keys.task(ref))
        total = 0
        for kept, size in enumerate(pipe.execute()):
            total += size
            if total > self.max_page_bytes:
                return max(kept, 1)
        return len(entries)
