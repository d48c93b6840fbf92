"""What the bot remembers in Redis beside the task: who each assignee is in Slack, every
message of the task (whose DM, or a channel's), which deliveries were made, who opened a
channel task, each Slack user's tasks, seen events and requests."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, cast

from redis import Redis
from redis.client import Pipeline

from api.domain.task import Task
from api.store import keys
from api.store.codec import text

EVENT_TTL_S = 3600
# Slack accepts a request whose timestamp is within 5 minutes of now either way, so one
# signed request stays valid for up to 10 minutes after it is first seen (plus a margin).
REQUEST_TTL_S = 11 * 60
# A grant carries a membership checked at the click to that person's modal submissions
# (which say nothing about the channel). A working day covers a modal left open; someone
# who leaves the channel loses it by the next day, or at once on their next click.
GRANT_TTL_S = 12 * 3600
MEMBERS_TTL_S = 60  # a channel's member list: people who join can answer within a minute
DRAFT_TTL_S = 30 * 24 * 3600  # from the last step saved; the task's own draft has none
_LISTED = "-"  # in every cached member set, so that an empty channel is cached too


LEGACY_ASSIGNEE = "slack-user"  # the key of the one assignee of a task posted before teams


@dataclass(frozen=True)
class SlackMessage:
    """One Slack message of a task: an assignee's DM (their Assignee.key and Slack user
    id) or a channel's (`assignee` None); `moved` once that assignee's place went to
    someone else (the note the message shows from then on)."""

    channel: str
    ts: str
    assignee: str | None = None
    user: str | None = None
    moved: str | None = None

    @property
    def field(self) -> str:
        return f"{self.channel} {self.ts}"


class SlackState:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def record_assignee(self, task: Task, user_id: str, assignee: str) -> None:
        """Remember that Slack user `user_id` answers for `assignee` (an Assignee.key):
        for authorization and the App Home."""
        pipe = self.redis.pipeline()
        pipe.hset(keys.task_slack_assignees(task.ref), user_id, assignee)
        pipe.zadd(keys.slack_user_tasks(user_id),
                  {task.ref: int(task.created_at.timestamp() * 1_000_000)})
        pipe.execute()

    def assignee(self, ref: str, user_id: str) -> str | None:
        """The Assignee.key Slack user `user_id` answers for, if any."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(keys.task_slack_assignees(ref), user_id)
        pipe.get(keys.task_slack_user(ref))
        found, legacy = pipe.execute()
        if found:
            return text(found)
        return LEGACY_ASSIGNEE if legacy and text(legacy) == user_id else None

    def slack_users(self, ref: str) -> dict[str, str]:
        """Assignee.key -> Slack user id, for every assignee known in Slack."""
        found = cast(dict[bytes, bytes], self.redis.hgetall(keys.task_slack_assignees(ref)))
        return {text(key): text(user) for user, key in found.items()}

    def record_message(self, ref: str, message: SlackMessage) -> None:
        self.redis.hset(keys.task_slack_messages(ref), message.field,
                        json.dumps(asdict(message)))

    def messages(self, ref: str) -> list[SlackMessage]:
        """Every recorded message of the task, in no particular order."""
        found = cast(dict[bytes, bytes], self.redis.hgetall(keys.task_slack_messages(ref)))
        return [SlackMessage(**json.loads(raw)) for raw in found.values()]

    def mark_moved(self, ref: str, assignee: str, note: str) -> None:
        """`assignee`'s messages show `note` from now on: their place went to someone else."""
        for message in self.messages(ref):
            if message.assignee == assignee and message.moved is None:
                self.record_message(ref, SlackMessage(**{**asdict(message), "moved": note}))

    # "Sent" means settled: posted, or a lasting problem recorded for the target.
    def was_sent(self, ref: str, target: str) -> bool:
        return bool(self.redis.sismember(keys.task_slack_sent(ref), target))

    def delivered(self, ref: str) -> bool:
        """Whether the task went to Slack at all (some target settled)."""
        return bool(self.redis.scard(keys.task_slack_sent(ref)))

    def mark_sent(self, ref: str, target: str) -> None:
        self.redis.sadd(keys.task_slack_sent(ref), target)

    def grant(self, ref: str, user_id: str) -> None:
        """`user_id` clicked the task in its channel: they may submit its modal for
        GRANT_TTL_S (each user's grant ends on its own; another's click never extends it)."""
        key = keys.task_slack_grants(ref)
        pipe = self.redis.pipeline()
        pipe.zadd(key, {user_id: time.time() + GRANT_TTL_S})
        pipe.expire(key, GRANT_TTL_S)
        pipe.execute()

    def granted(self, ref: str, user_id: str) -> bool:
        until = self.redis.zscore(keys.task_slack_grants(ref), user_id)
        return until is not None and float(until) > time.time()

    def revoke(self, ref: str, user_id: str) -> None:
        self.redis.zrem(keys.task_slack_grants(ref), user_id)

    def is_member(self, channel_id: str, user_id: str) -> bool | None:
        """Whether the user is in the channel by the cached list; None when not cached."""
        key = keys.slack_channel_members(channel_id)
        pipe = self.redis.pipeline()
        pipe.sismember(key, _LISTED)
        pipe.sismember(key, user_id)
        listed, member = pipe.execute()
        return bool(member) if listed else None

    def cache_members(self, channel_id: str, members: list[str]) -> None:
        key = keys.slack_channel_members(channel_id)
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.sadd(key, _LISTED, *members)
        pipe.expire(key, MEMBERS_TTL_S)
        pipe.execute()

    def load_draft(self, ref: str, user_id: str) -> dict[str, Any]:
        """One channel member's answers so far (each person answers for themselves)."""
        raw = self.redis.get(keys.task_slack_draft(ref, user_id))
        found: dict[str, Any] = json.loads(raw) if raw else {}
        return found

    def save_draft(self, ref: str, user_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        """Merge `answers` into the member's draft; returns the whole draft."""
        key = keys.task_slack_draft(ref, user_id)
        draft: dict[str, Any] = {}

        def write(pipe: Pipeline) -> None:  # redis-py runs it again if the key changed
            raw = pipe.get(key)
            draft.clear()
            draft.update({**(json.loads(raw) if raw else {}), **answers})
            pipe.multi()
            pipe.set(key, json.dumps(draft), ex=DRAFT_TTL_S)

        self.redis.transaction(write, key)
        return draft

    def user_task_refs(self, user_id: str, limit: int = 100) -> list[str]:
        """The Slack user's task refs, newest first."""
        found = cast(list[bytes], self.redis.zrevrange(keys.slack_user_tasks(user_id), 0,
                                                        limit - 1))
        return [text(i) for i in found]

    def forget_tasks(self, user_id: str, refs: list[str]) -> None:
        if refs:
            self.redis.zrem(keys.slack_user_tasks(user_id), *refs)

    def first_time(self, event_id: str) -> bool:
        """True the first time an event id is seen (Slack retries unacked events)."""
        return bool(self.redis.set(keys.slack_event(event_id), "1", nx=True, ex=EVENT_TTL_S))

    def first_request(self, signature: str) -> bool:
        """True the first time a signed HTTP request is seen: the same signature again
        is a replay of it (Slack signs every request and every retry anew)."""
        key = keys.slack_request(signature)
        return bool(self.redis.set(key, "1", nx=True, ex=REQUEST_TTL_S))

    def forget_event(self, event_id: str) -> None:
        """Handling the event failed: let Slack's retry of it through."""
        self.redis.delete(keys.slack_event(event_id))
