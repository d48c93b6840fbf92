"""The REST contract: pydantic models for requests, stored tasks and responses.

Pure: no I/O, no settings. Every package may import it. The request shapes follow the
HPI task API; `priority`, `due_at`, `tags` and `slack_channel` are inloop extensions.
The request (`TaskCreate`) and the stored record (`Task`) share their shapes through
`TaskFields`; request limits are `Limit`s (api.domain.limits), which a record read with
`Task.read` does not re-apply.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from api.domain.approval import Outcome, Response, TeamFields, TeamRecord
from api.domain.fields import MAX_YEAR, MIN_YEAR, FormField, within_years
from api.domain.ids import name_uuid
from api.domain.limits import RECORD, Email, Limit, Shape, in_request

# in_progress: claimed by one person (api.domain.approval.Claim); still open, like pending.
Status = Literal["pending", "in_progress", "completed", "cancelled", "failed"]
OPEN_STATUSES = ("pending", "in_progress")
# `responded` (opt-in) fires for each response of a multi-response task.
SinkEvent = Literal["completed", "cancelled", "failed", "responded"]
Priority = Literal["low", "medium", "high", "urgent"]
Severity = Literal["info", "success", "warning", "error"]
Channel = Literal["slack", "web", "api"]
Scope = Literal["tasks:create", "tasks:read", "tasks:complete", "tasks:cancel", "admin"]
ALL_SCOPES: tuple[Scope, ...] = get_args(Scope)
ALL_EVENTS: list[SinkEvent] = ["completed", "cancelled", "failed"]

MAX_MARKDOWN = 20_000
MAX_TASK_MARKDOWN = 200_000  # all of a task's markdown together (api.domain.validation checks it)
MAX_PAYLOAD_DEPTH = 32
ShortText = Annotated[str, Limit(min_length=1, max_length=200)]
Markdown = Annotated[str, Limit(max_length=MAX_MARKDOWN)]
Events = Annotated[list[SinkEvent], Limit(min_length=1)]


TASK_REF_NAMESPACE = uuid.UUID("0c6d4e3a-8f0b-4d6e-9a51-2b7c1f4e8d90")


@lru_cache(maxsize=4096)
def task_ref(org_id: str, task_id: str) -> str:
    """The task's storage identity, derived from (org, task_id): two orgs may use one
    task_id. Every internal reference (Redis keys, link records, jobs, Slack values,
    pub/sub) names a task by it; the API shows only the org's own `task_id`. Cached: a
    delivery asks for it about six times, each a UUIDv5 (SHA-1)."""
    return name_uuid(TASK_REF_NAMESPACE, f"{org_id}:{task_id}")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


class MdsvexBlock(Shape):
    type: Literal["mdsvex"]
    content: Markdown


class CalloutBlock(Shape):
    type: Literal["callout"]
    severity: Severity = "info"
    content: Annotated[str, Limit(min_length=1, max_length=MAX_MARKDOWN)]


class InputBlock(Shape):
    type: Literal["input"]
    field: FormField


Block = Annotated[MdsvexBlock | CalloutBlock | InputBlock, Field(discriminator="type")]


class Step(Shape):
    id: Annotated[str, Limit(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    title: ShortText
    description_mdsvex: Markdown | None = None
    blocks: Annotated[list[Block], Limit(min_length=1, max_length=50)]

    def fields(self) -> list[FormField]:
        return [b.field for b in self.blocks if isinstance(b, InputBlock)]


class WebhookSink(Shape):
    type: Literal["webhook"]
    url: Annotated[str, Limit(min_length=1, max_length=2048)]
    secret: Annotated[str, Limit(min_length=16, max_length=256)] | None = Field(
        default=None, json_schema_extra={"writeOnly": True})  # never returned
    events: Events = Field(default_factory=lambda: list(ALL_EVENTS))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        if not in_request(info):
            return value
        if not re.match(r"^https?://[^\s/?#]+([/?#]\S*)?$", value):
            raise ValueError("url must be an absolute http(s) URL")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as error:
            raise ValueError(f"url is malformed: {error}") from None
        if not parts.hostname:
            raise ValueError("url needs a host")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        from api.domain.webhooks import WebhookSecret

        if value is not None and in_request(info):
            WebhookSecret.parse(value)  # raises BadSecret (a ValueError) naming what is wrong
        return value  # other text (HPI's examples) signs with its UTF-8 bytes

    @property
    def target(self) -> str:
        """Where it delivers, safe to show: the URL without its query and credentials."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class NatsSink(Shape):
    type: Literal["nats"]
    subject: Annotated[str, Limit(min_length=1, max_length=255,
                                  pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")]
    events: Events = Field(default_factory=lambda: list(ALL_EVENTS))

    @property
    def target(self) -> str:
        return self.subject


class EmailSink(Shape):
    type: Literal["email"]
    to: Annotated[str, Email]
    events: Events = Field(default_factory=lambda: list(ALL_EVENTS))

    @property
    def target(self) -> str:
        return str(self.to)


Sink = Annotated[WebhookSink | NatsSink | EmailSink, Field(discriminator="type")]


class TaskFields(Shape):
    """What a request and a stored task have in common."""

    title: ShortText
    steps: Annotated[list[Step], Limit(min_length=1, max_length=20)]
    task_id: str | None = None
    instructions_mdsvex: Markdown | None = None
    assignee_member_id: Annotated[str, Limit(min_length=1, max_length=64)] | None = None
    assignee_email: Annotated[str, Email] | None = None
    assignee_name: Annotated[str, Limit(max_length=200)] | None = None
    assignee_phone: Annotated[str, Limit(pattern=r"^\+?[0-9 ()\-.]{4,32}$")] | None = None
    # At least INLOOP_MIN_SCHEDULE_S (default 60): api.domain.approval.check_schedules
    expires_in: Annotated[int, Limit(ge=1, le=2_592_000)] | None = None
    corr_id: Annotated[str, Limit(max_length=200)] | None = None
    process_id: Annotated[str, Limit(max_length=200)] | None = None
    process_step: Annotated[str, Limit(max_length=200)] | None = None
    payload: dict[str, Any] | None = None
    sinks: Annotated[list[Sink], Limit(max_length=10)] = Field(default_factory=list)
    priority: Priority = "medium"
    due_at: AwareDatetime | None = None
    tags: Annotated[list[Annotated[str, Limit(min_length=1, max_length=64)]],
                    Limit(max_length=20)] = Field(default_factory=list)
    slack_channel: Annotated[str, Limit(min_length=1, max_length=80)] | None = None

    @field_validator("payload")
    @classmethod
    def _shallow(cls, value: dict[str, Any] | None,
                 info: ValidationInfo) -> dict[str, Any] | None:
        if value is not None and in_request(info) and _depth(value) > MAX_PAYLOAD_DEPTH:
            raise ValueError(f"payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
        return value

    @field_validator("due_at")
    @classmethod
    def _displayable(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is not None and in_request(info) and not within_years(value):
            raise ValueError(f"due_at must lie in the years {MIN_YEAR} to {MAX_YEAR} (UTC too)")
        return value

    def fields(self) -> list[FormField]:
        return [f for step in self.steps for f in step.fields()]


class TaskCreate(TeamFields, TaskFields):
    """`POST /api/v1/tasks` body: HPI's fields and a team's (api.domain.approval)."""

    task_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    )

    @field_validator("assignee_email")
    @classmethod
    def _one_assignee(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("assignee_member_id"):
            raise ValueError("give assignee_member_id or assignee_email, not both")
        return value

    @field_validator("assignees")
    @classmethod
    def _one_form(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        hpi = ("assignee_member_id", "assignee_email", "assignee_name", "assignee_phone")
        if value is not None and any(info.data.get(name) for name in hpi):
            raise ValueError("give assignees or the assignee_* fields, not both")
        return value


class CompletedBy(BaseModel):
    channel: Channel | Literal["system"]  # system: the default answer on expiry
    id: str
    name: str


class TaskError(BaseModel):
    code: str
    message: str


class ExternalMessage(BaseModel):
    provider: Literal["slack"] = "slack"
    channel: str
    ts: str


class DeliveryProblem(BaseModel):
    channel: Literal["slack"] = "slack"
    code: str
    message: str
    at: datetime


SCHEMA_VERSION = 1  # of stored records; a record without one is version 1
# Upgrades of stored records, by the version each one upgrades from (none yet).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record brought to SCHEMA_VERSION, one migration at a time."""
    version = int(record.get("schema_version", 1))
    for step in range(version, SCHEMA_VERSION):
        record = MIGRATIONS[step](record)
    return {**record, "schema_version": max(version, SCHEMA_VERSION)}


# The docstring is the OpenAPI description; stored tasks are read with `Task.read`.
class Task(TeamRecord, TaskFields):
    """A stored task: the request plus its lifecycle. Sink secrets live elsewhere."""

    task_id: str
    org_id: str
    link_id: str
    url: str
    requires_otp: bool = False
    created_by: str
    status: Status = "pending"
    data: dict[str, Any] = Field(default_factory=dict)
    completed_at: datetime | None = None
    completed_by: CompletedBy | None = None
    errors: list[TaskError] = Field(default_factory=list)
    cancel_reason: str | None = None
    ended_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    external_message_ids: list[ExternalMessage] = Field(default_factory=list)
    delivery_problems: list[DeliveryProblem] = Field(default_factory=list)
    schema_version: SkipJsonSchema[int] = SCHEMA_VERSION  # never in public output

    @classmethod
    def read(cls, raw: bytes | str) -> Task:
        """A stored record (JSON), upgraded to SCHEMA_VERSION and read without request
        limits: a record stays readable after a limit is tightened."""
        return cls.model_validate(upgrade(json.loads(raw)), context=RECORD)

    @property
    def open(self) -> bool:
        """Still accepting answers: pending or claimed (in_progress)."""
        return self.status in OPEN_STATUSES

    @cached_property
    def ref(self) -> str:
        """See `task_ref` (kept: a task's org and task_id never change)."""
        return task_ref(self.org_id, self.task_id)

    def step_fields(self, index: int) -> list[FormField]:
        return self.steps[index].fields()

    def public(self, with_link: bool = True) -> dict[str, Any]:
        """The JSON returned by `GET /api/v1/tasks/{id}` (no sink secrets; without the
        answering link unless `with_link`)."""
        hidden = {"schema_version", "team"} | (set() if with_link else {"url", "link_id"})
        body = self.model_dump(mode="json", exclude=hidden)
        for sink in body["sinks"]:
            sink.pop("secret", None)
        return body


class TaskCreated(BaseModel):
    """`201` body of `POST /api/v1/tasks`."""

    task_id: str
    link_id: str
    url: str
    requires_otp: bool
    sinks: list[dict[str, Any]]
    created_at: datetime


class CompleteRequest(Shape):
    data: dict[str, Any]


class CancelRequest(Shape):
    reason: str | None = Field(default=None, max_length=2000)


class WaitResult(BaseModel):
    """HPI's shape; `outcome` and `responses` only for a multi-response task."""

    task_id: str
    status: Status
    data: dict[str, Any]
    completed_at: datetime | None
    outcome: Outcome | None = None
    responses: list[Response] | None = None

    @classmethod
    def of(cls, task: Task) -> dict[str, Any]:
        result = cls(task_id=task.task_id, status=task.status, data=task.data,
                     completed_at=task.completed_at)
        if task.multi_response:
            result.outcome, result.responses = task.outcome, task.responses
        return result.model_dump(mode="json", exclude=None if task.multi_response
                                 else {"outcome", "responses"})


class TaskPage(BaseModel):
    tasks: list[dict[str, Any]]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    loc: str
    msg: str
    type: str


class ErrorBody(BaseModel):
    error: str
    message: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)
