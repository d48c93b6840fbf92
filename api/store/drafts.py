"""A pending task's draft: the answers saved between steps (the web form and the
assignee's Slack modal share it), deleted when the task ends."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis
from redis.client import Pipeline

from api.store import keys
from api.store.tasks import atomic, pending


class Drafts:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def load(self, ref: str) -> dict[str, Any]:
        raw = self.redis.get(keys.task_draft(ref))
        return json.loads(raw) if raw else {}

    def save(self, ref: str, answers: dict[str, Any]) -> dict[str, Any]:
        """Merge `answers` into the draft of a pending task; returns the whole draft."""

        def write(pipe: Pipeline) -> dict[str, Any]:
            pending(pipe, ref)
            raw = pipe.get(keys.task_draft(ref))
            draft = {**(json.loads(raw) if raw else {}), **answers}
            pipe.multi()
            pipe.set(keys.task_draft(ref), json.dumps(draft))
            pipe.execute()
            return draft

        return atomic(self.redis, write, keys.task(ref), keys.task_draft(ref))
