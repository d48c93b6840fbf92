"""Use cases shared by the REST API, the web form and the Slack bot.

Everything here is synchronous (it talks to Redis through the blocking client); async
callers run it in a thread, except creation, which the REST API runs on its event loop
(`TaskService.acreate`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from redis.asyncio import Redis as AsyncRedis

from api.assignees import Resolver
from api.domain.approval import Assignee
from api.domain.errors import BlockedAddress, Detail, InvalidRequest, NotFound, TooManyFiles
from api.domain.events import Attempt
from api.domain.fields import UPLOAD_KINDS, FileRef, validate_answers
from api.domain.ids import random_uuid
from api.domain.task import CompletedBy, Task, TaskCreate, WebhookSink
from api.domain.teams import email_only
from api.domain.uploads import MAX_FILES_PER_TASK
from api.domain.validation import parse_task
from api.domain.webhooks import WebhookSecret
from api.netguard import aresolve_checked, resolve_checked
from api.store.deliveries import DeliveryLog, delivery_id
from api.store.directory import Directory, Principal
from api.store.drafts import Drafts
from api.store.files import FileClaims, FileStorage
from api.store.tasks import TaskStore


def body_hash(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


def validated(raw: Any) -> tuple[TaskCreate, str]:
    """A create body validated (400 with every violation), and its hash for idempotency:
    only a body with a `task_id` can be retried, so only its hash is ever compared (and
    computed: hashing costs a create about 3% of its time)."""
    body = parse_task(raw)
    return body, body_hash(raw) if body.task_id else ""


def reads_directory(body: TaskCreate) -> bool:
    """Whether resolving `body`'s people reads Redis (the directory, or the parent task):
    an assignee named by member id or email, a team, an escalation, a parent."""
    return bool(body.assignee_member_id or body.assignee_email or body.assignees is not None
                or body.escalate is not None or body.parent_task_id is not None)


def _webhook_urls(body: TaskCreate) -> list[tuple[int, str]]:
    return [(i, sink.url) for i, sink in enumerate(body.sinks) if isinstance(sink, WebhookSink)]


def _refused(index: int, error: BlockedAddress) -> Detail:
    return Detail(f"sinks.{index}.url", str(error), "ssrf_refused")


class TaskService:
    def __init__(self, store: TaskStore, directory: Directory, files: FileClaims, *,
                 base_url: str, slack_enabled: bool = False,
                 allow_private_webhooks: bool = False, mail_enabled: bool = False,
                 min_schedule_s: int = 60) -> None:
        self.store = store
        self.directory = directory
        self.files = files
        self.base_url = base_url.rstrip("/")
        self.slack_enabled = slack_enabled
        self.allow_private_webhooks = allow_private_webhooks
        self.mail_enabled = mail_enabled  # SMTP is configured: email-only assignees get mail
        self.resolver = Resolver(directory, store, min_schedule_s=min_schedule_s)

    def create(self, principal: Principal, raw: Any) -> tuple[dict[str, Any], bool]:
        """Validate and store a task: `(201 body, replayed)`."""
        body, digest = validated(raw)
        if body.task_id:  # a retry replays even if DNS or the directory changed meanwhile
            replayed = self.store.replay(body.task_id, principal.org_id, digest)
            if replayed is not None:
                return replayed, True
        fields, details = self._resolve(principal, body)
        details += self._check_sinks(body)
        return self.store.create(body, **self._new(principal, body, digest, fields, details))

    async def acreate(self, aredis: AsyncRedis, principal: Principal, body: TaskCreate,
                      digest: str) -> tuple[dict[str, Any], bool]:
        """`create` on the event loop, for a body already `validated`: Redis through the
        asyncio client, DNS through the loop's resolver."""
        if body.task_id:
            replayed = await self.store.areplay(aredis, body.task_id, principal.org_id, digest)
            if replayed is not None:
                return replayed, True
        if reads_directory(body):  # the directory's reads are blocking: one thread hop,
            # only for the tasks that name people or a parent (most name nobody)
            fields, details = await asyncio.to_thread(self._resolve, principal, body)
        else:
            fields, details = self._resolve(principal, body)  # pure: reads nothing
        details += await self._acheck_sinks(body)
        return await self.store.acreate(aredis, body,
                                        **self._new(principal, body, digest, fields, details))

    def _resolve(self, principal: Principal,
                 body: TaskCreate) -> tuple[dict[str, Any], list[Detail]]:
        """The record fields the service decides about people (assignee_*, the team) and
        the request's violations among them."""
        resolved, details = self._resolve_assignee(principal, body)
        team, more = self.resolver.team(principal.org_id, principal.member.id, body, resolved)
        return {**resolved, **team}, details + more

    def _new(self, principal: Principal, body: TaskCreate, digest: str,
             fields: dict[str, Any], details: list[Detail]) -> dict[str, Any]:
        """`TaskStore.create`'s arguments for a valid request; 400 with `details`."""
        if details:
            raise InvalidRequest(details)
        secrets_ = [self._secret(s) for s in body.sinks]
        revealed = [secret if isinstance(sink, WebhookSink) and not sink.secret else None
                    for sink, secret in zip(body.sinks, secrets_, strict=True)]
        return {"org_id": principal.org_id, "created_by": principal.member.id,
                "body_hash": digest, "secrets": secrets_, "revealed": revealed,
                "slack": self._to_slack(body, fields["assignees"]), "mail": self._mail(fields),
                **self.new_link(), **fields}

    def new_link(self) -> dict[str, str]:
        """A new task's web link: its id and the URL the assignee opens."""
        link_id = random_uuid()
        return {"link_id": link_id, "url": f"{self.base_url}/t/{link_id}"}

    def _to_slack(self, body: TaskCreate, assignees: list[Assignee]) -> bool:
        """Whether the new task is posted in Slack: delivery is on and it has an assignee
        (a member's email finds their Slack user) or a channel."""
        return self.slack_enabled and bool(any(a.email for a in assignees)
                                           or body.slack_channel)

    def _mail(self, team: dict[str, Any]) -> list[str]:
        """Who gets a new team task's link by email: its email-only assignees (HPI tasks
        are unchanged: their integrator hands the link over)."""
        if not (self.mail_enabled and team["team"]):
            return []
        return email_only(team["assignees"], mail_members=not self.slack_enabled)

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
        for i, url in _webhook_urls(body):
            try:
                resolve_checked(url, allow_private=self.allow_private_webhooks)
            except BlockedAddress as error:
                details.append(_refused(i, error))
        return details

    async def _acheck_sinks(self, body: TaskCreate) -> list[Detail]:
        details = []
        for i, url in _webhook_urls(body):
            try:
                await aresolve_checked(url, allow_private=self.allow_private_webhooks)
            except BlockedAddress as error:
                details.append(_refused(i, error))
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
                and not self.files.owns(task.ref, clean[f.name]["sha256"])]

    def reconcile(self) -> list[str]:
        """Enqueue again every delivery whose job Redis lost (an AOF `everysec` crash can
        drop the last second) and record as gave up those RQ gave up on unrecorded, so
        they are listed and can be retried; the delivery ids enqueued again. Receivers
        dedupe on the event id: a redundant re-enqueue costs a duplicate at worst."""
        log, requeued = DeliveryLog(self.store), []
        for ref in self.store.ended_refs():
            task = self.store.load(ref)
            for index, why in log.stranded(task):
                if why is None:
                    log.requeue(task, index)
                    requeued.append(delivery_id(ref, task.status, index))
                else:
                    log.record(task, task.status, index, Attempt(False, 0, error=why),
                               "gave_up")
        return requeued

    def complete(self, task: Task, data: dict[str, Any], by: CompletedBy) -> Task:
        """Validate every answer of the task like a form submission, then complete it."""
        return self.store.complete(task.ref, self.checked_answers(task, data), by)

    def checked_answers(self, task: Task, data: dict[str, Any]) -> dict[str, Any]:
        """The answers as the form's rules clean them; 400 with every violation."""
        clean, details = validate_answers(task.fields(), data)
        details += self._unclaimed_files(task, clean)
        if details:
            raise InvalidRequest(details)
        return clean


class FileAnswers:
    """File answers, for the REST API, the web form and the dashboard alike: a file is
    claimed by its task before it reaches the disk, and read back only by a task that
    claimed it (storage is shared by content)."""

    def __init__(self, claims: FileClaims, drafts: Drafts, storage: FileStorage, *,
                 base_url: str) -> None:
        self.claims = claims
        self.drafts = drafts
        self.storage = storage
        self.base_url = base_url.rstrip("/")

    def ref(self, task: Task, field: str, *, name: str, size: int, content_type: str,
            sha256: str) -> FileRef:
        """The answer naming a stored file: its REST download URL is the one place files
        are read from outside the form."""
        url = f"{self.base_url}/api/v1/tasks/{task.task_id}/files/{field}"
        return FileRef(name=name, size=size, content_type=content_type, sha256=sha256, url=url)

    def store(self, ref: str, data: bytes) -> str:
        """Claim and store `data` for the task; its sha256. TooManyFiles once the task is
        full, Conflict once it has ended (neither writes the file)."""
        digest = hashlib.sha256(data).hexdigest()
        self._claim(ref, digest)
        self.storage.put(data)
        return digest

    def adopt(self, ref: str, path: Path, digest: str) -> None:
        """Claim a file already written to `path` (a streamed upload) and move it in."""
        self._claim(ref, digest)
        self.storage.adopt(path, digest)

    def _claim(self, ref: str, digest: str) -> None:
        if not self.claims.claim(ref, digest, MAX_FILES_PER_TASK):
            raise TooManyFiles(MAX_FILES_PER_TASK)

    def answer(self, task: Task, field: str, person: str | None = None) -> FileRef:
        """The file answer to `field`: the completed data, else an open task's draft
        (`person`'s own, on a team task's web form)."""
        if not any(f.name == field and f.kind in UPLOAD_KINDS for f in task.fields()):
            raise NotFound("no such file field")
        value: Any = task.data.get(field)
        if value is None and task.open:
            value = self.drafts.load(task.ref, person).get(field)
        if not isinstance(value, dict):
            raise NotFound("no file was uploaded for this field")
        return FileRef.model_validate(value)

    def read(self, task: Task, field: str,
             person: str | None = None) -> tuple[FileRef, bytes]:
        """The file answer to `field` and its bytes; NotFound unless the task claimed it."""
        ref = self.answer(task, field, person)
        if not self.claims.owns(task.ref, ref.sha256):
            raise NotFound("no file was uploaded for this field")
        try:
            return ref, self.storage.read(ref.sha256)
        except FileNotFoundError:
            raise NotFound("the file is no longer stored") from None
