"""An open task's draft: the answers saved between steps (the web form and the
assignee's Slack modal share it), deleted when the task ends. On a team task each web
respondent (`person`: a member id or a verified address) keeps a draft of their own, so
nobody's form opens with another's answers."""

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

    def load(self, ref: str, person: str | None = None) -> dict[str, Any]:
        raw = (self.redis.get(keys.task_draft(ref)) if person is None
               else self.redis.hget(keys.task_drafts(ref), person))
        return json.loads(raw) if raw else {}

    def save(self, ref: str, answers: dict[str, Any],
             person: str | None = None) -> dict[str, Any]:
        """Merge `answers` into the draft of an open task (`person`'s own, when given);
        returns the whole draft."""
        key = keys.task_draft(ref) if person is None else keys.task_drafts(ref)

        def write(pipe: Pipeline) -> dict[str, Any]:
            pending(pipe, ref)
            raw = pipe.get(key) if person is None else pipe.hget(key, person)
            draft = {**(json.loads(raw) if raw else {}), **answers}
            pipe.multi()
            if person is None:
                pipe.set(key, json.dumps(draft))
            else:
                pipe.hset(key, person, json.dumps(draft))
            pipe.execute()
            return draft

        return atomic(self.redis, write, keys.task(ref), key)
