"""Use cases shared by the REST API, the web form and the Slack bot.

Everything here is synchronous (it talks to Redis through the sync client); async callers
run it in a thread.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from api.domain.errors import Detail, InvalidRequest
from api.domain.fields import validate_answers
from api.domain.task import UPLOAD_KINDS, CompletedBy, Task, TaskCreate, WebhookSink
from api.domain.validation import parse_task
from api.domain.webhooks import WebhookSecret
from api.netguard import BlockedAddress, resolve_checked
from api.store.directory import Directory, Principal
from api.store.tasks import TaskStore


def body_hash(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


class TaskService:
    def __init__(self, store: TaskStore, directory: Directory, *,
                 allow_private_webhooks: bool = False) -> None:
        self.store = store
        self.directory = directory
        self.allow_private_webhooks = allow_private_webhooks

    def create(self, principal: Principal, raw: Any) -> tuple[dict[str, Any], bool]:
        """Validate and store a task: `(201 body, replayed)`."""
        body = parse_task(raw)
        digest = body_hash(raw)
        if body.task_id:  # a retry replays even if DNS or the directory changed meanwhile
            replayed = self.store.replay(body.task_id, principal.org_id, digest)
            if replayed is not None:
                return replayed, True
        resolved, details = self._resolve_assignee(principal, body)
        details += self._check_sinks(body)
        if details:
            raise InvalidRequest(details)
        secrets_ = [self._secret(s) for s in body.sinks]
        revealed = [secret if isinstance(sink, WebhookSink) and not sink.secret else None
                    for sink, secret in zip(body.sinks, secrets_, strict=True)]
        return self.store.create(body, org_id=principal.org_id,
                                 created_by=principal.member.id, body_hash=digest,
                                 secrets=secrets_, revealed=revealed, **resolved)

    def _resolve_assignee(self, principal: Principal,
                          body: TaskCreate) -> tuple[dict[str, Any], list[Detail]]:
        if body.assignee_member_id:
            member_id = (principal.member.id if body.assignee_member_id == "me"
                         else body.assignee_member_id)
            member = self.directory.find_member(principal.org_id, member_id)
            if member is None:
                return {}, [Detail("assignee_member_id", "no such member in this org",
                                   "not_found")]
            return {"assignee_member_id": member.id, "assignee_email": member.email,
                    "assignee_name": body.assignee_name or member.name}, []
        if body.assignee_email:
            member = self.directory.member_by_email(principal.org_id, body.assignee_email)
            if member is None:
                return {"requires_otp": True}, []
            return {"assignee_member_id": member.id,
                    "assignee_name": body.assignee_name or member.name}, []
        return {}, []

    def _check_sinks(self, body: TaskCreate) -> list[Detail]:
        details = []
        for i, sink in enumerate(body.sinks):
            if not isinstance(sink, WebhookSink):
                continue
            try:
                resolve_checked(sink.url, allow_private=self.allow_private_webhooks)
            except BlockedAddress as error:
                details.append(Detail(f"sinks.{i}.url", str(error), "ssrf_refused"))
        return details

    @staticmethod
    def _secret(sink: Any) -> str | None:
        if not isinstance(sink, WebhookSink):
            return None
        return sink.secret or WebhookSecret.mint().text

    def _unclaimed_files(self, task: Task, clean: dict[str, Any]) -> list[Detail]:
        """File answers must name files uploaded for this very task (storage is shared by
        content, so a sha256 alone would reach other tasks' files)."""
        return [Detail(f"data.{f.name}", "upload the file for this task first "
                       "(POST /api/v1/tasks/{id}/files/{field})", "unknown_file")
                for f in task.fields() if f.kind in UPLOAD_KINDS and f.name in clean
                and not self.store.owns_file(task.ref, clean[f.name]["sha256"])]

    def complete(self, task: Task, data: dict[str, Any], by: CompletedBy) -> Task:
        """Validate every answer of the task like a form submission, then complete it."""
        clean, details = validate_answers(task.fields(), data)
        details += self._unclaimed_files(task, clean)
        if details:
            raise InvalidRequest(details)
        return self.store.complete(task.ref, clean, by)
