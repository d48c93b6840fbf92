"""The REST contract: pydantic models for requests, stored tasks and responses.

Pure: no I/O, no settings. Every package may import it. The request shapes follow the
HPI task API; `priority`, `due_at`, `tags` and `slack_channel` are inloop extensions.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)

FieldKind = Literal[
    "text", "textarea", "select", "radio", "checkbox", "date", "range", "rating", "file",
    "signature",
]
CHOICE_KINDS = frozenset({"select", "radio"})
UPLOAD_KINDS = frozenset({"file", "signature"})
Status = Literal["pending", "completed", "cancelled", "failed"]
SinkEvent = Literal["completed", "cancelled", "failed"]
Priority = Literal["low", "medium", "high", "urgent"]
Severity = Literal["info", "success", "warning", "error"]
Channel = Literal["slack", "web", "api"]
Scope = Literal["tasks:create", "tasks:read", "tasks:complete", "tasks:cancel", "admin"]
ALL_SCOPES: tuple[str, ...] = ("tasks:create", "tasks:read", "tasks:complete", "tasks:cancel",
                               "admin")
ALL_EVENTS: list[SinkEvent] = ["completed", "cancelled", "failed"]

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_MARKDOWN = 20_000
MAX_TASK_MARKDOWN = 200_000  # all of a task's markdown together (api.domain.validation checks it)
MAX_PAYLOAD_DEPTH = 32
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
# Bounds every surface (web form, Slack, PDF, email, dashboard) can show. Years keep four
# digits with a day to spare, so no UTC offset carries a moment out of datetime's range.
MIN_YEAR, MAX_YEAR = 1000, 9998
MAX_RANGE_BOUND = 1e15  # |min|, |max| and numeric answers: integers stay exact in float64
MIN_RANGE_STEP = 1e-9
MAX_RANGE_STEPS = 1e9  # (max - min) / step: the multiple-of-step check stays exact


TASK_REF_NAMESPACE = uuid.UUID("0c6d4e3a-8f0b-4d6e-9a51-2b7c1f4e8d90")


def task_ref(org_id: str, task_id: str) -> str:
    """The task's storage identity, derived from (org, task_id): two orgs may use one
    task_id. Every internal reference (Redis keys, link records, jobs, Slack values,
    pub/sub) names a task by it; the API shows only the org's own `task_id`."""
    return str(uuid.uuid5(TASK_REF_NAMESPACE, f"{org_id}:{task_id}"))


def within_years(moment: date | datetime) -> bool:
    """Whether `moment` (and, when aware, its UTC form) lies in MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return False
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return MIN_YEAR <= moment.astimezone(UTC).year <= MAX_YEAR
    return True


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


class _In(BaseModel):
    """Request models ignore unknown keys: integrations send extra fields."""

    model_config = ConfigDict(extra="ignore")


class FormField(_In):
    name: str = Field(max_length=64, pattern=FIELD_NAME.pattern)
    label: str = Field(min_length=1, max_length=2000)
    kind: FieldKind
    required: bool = False
    placeholder: str | None = Field(default=None, max_length=150)
    options: list[str] | None = Field(default=None, validate_default=True)
    include_time: bool = False
    min: float | None = Field(default=None, validate_default=True, allow_inf_nan=False)
    max: float | None = Field(default=None, validate_default=True, allow_inf_nan=False)
    step: float | None = Field(default=None, validate_default=True, allow_inf_nan=False)
    max_rating: int | None = Field(default=None, validate_default=True)

    @field_validator("options")
    @classmethod
    def _options(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        kind = info.data.get("kind")
        if kind not in CHOICE_KINDS:
            if value is not None:
                raise ValueError(f"options apply only to select and radio, not {kind}")
            return None
        if not value:
            raise ValueError(f"a {kind} field needs 1 to 100 options")
        if len(value) > 100:
            raise ValueError("at most 100 options")
        if any(not o.strip() for o in value):
            raise ValueError("options must be non-empty strings")
        if any(len(o) > 500 for o in value):
            raise ValueError("an option is at most 500 characters")
        if len(set(value)) != len(value):
            raise ValueError("options must be unique")
        return value

    @field_validator("min", "max", "step")
    @classmethod
    def _range_numbers(cls, value: float | None, info: ValidationInfo) -> float | None:
        if info.data.get("kind") != "range":
            if value is not None:
                raise ValueError(f"{info.field_name} applies only to range fields")
            return None
        default = {"min": 0.0, "max": 100.0, "step": 1.0}[str(info.field_name)]
        value = default if value is None else value
        problem = (_range_step(value, info.data) if info.field_name == "step"
                   else _range_bound(str(info.field_name), value, info.data))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("max_rating")
    @classmethod
    def _max_rating(cls, value: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("kind") != "rating":
            if value is not None:
                raise ValueError("max_rating applies only to rating fields")
            return None
        value = 5 if value is None else value
        if not 1 <= value <= 10:
            raise ValueError("max_rating must be between 1 and 10")
        return value


def _range_bound(name: str, value: float, data: dict[str, Any]) -> str | None:
    if abs(value) > MAX_RANGE_BOUND:
        return f"{name} must be between -{MAX_RANGE_BOUND:g} and {MAX_RANGE_BOUND:g}"
    if name == "max" and "min" in data and value <= data["min"]:
        return "max must be greater than min"
    return None


def _range_step(step: float, data: dict[str, Any]) -> str | None:
    if step < MIN_RANGE_STEP:
        return f"step must be at least {MIN_RANGE_STEP:g}"
    if "min" in data and "max" in data and (data["max"] - data["min"]) / step > MAX_RANGE_STEPS:
        return f"step is too small: (max - min) / step must be at most {MAX_RANGE_STEPS:g}"
    return None


class MdsvexBlock(_In):
    type: Literal["mdsvex"]
    content: str = Field(max_length=MAX_MARKDOWN)


class CalloutBlock(_In):
    type: Literal["callout"]
    severity: Severity = "info"
    content: str = Field(min_length=1, max_length=MAX_MARKDOWN)


class InputBlock(_In):
    type: Literal["input"]
    field: FormField


Block = Annotated[MdsvexBlock | CalloutBlock | InputBlock, Field(discriminator="type")]


class Step(_In):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    title: ShortText
    description_mdsvex: str | None = Field(default=None, max_length=MAX_MARKDOWN)
    blocks: list[Block] = Field(min_length=1, max_length=50)

    def fields(self) -> list[FormField]:
        return [b.field for b in self.blocks if isinstance(b, InputBlock)]


class WebhookSink(_In):
    type: Literal["webhook"]
    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, min_length=16, max_length=256,
                               json_schema_extra={"writeOnly": True})  # never returned
    events: list[SinkEvent] = Field(default_factory=lambda: list(ALL_EVENTS), min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
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
    def _secret(cls, value: str | None) -> str | None:
        from api.domain.webhooks import WebhookSecret

        if value is not None:
            WebhookSecret.parse(value)  # raises BadSecret (a ValueError) naming what is wrong
        return value  # other text (HPI's examples) signs with its UTF-8 bytes

    @property
    def target(self) -> str:
        """Where it delivers, safe to show: the URL without its query and credentials."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class NatsSink(_In):
    type: Literal["nats"]
    subject: str = Field(min_length=1, max_length=255,
                         pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
    events: list[SinkEvent] = Field(default_factory=lambda: list(ALL_EVENTS), min_length=1)

    @property
    def target(self) -> str:
        return self.subject


class EmailSink(_In):
    type: Literal["email"]
    to: EmailStr
    events: list[SinkEvent] = Field(default_factory=lambda: list(ALL_EVENTS), min_length=1)

    @property
    def target(self) -> str:
        return str(self.to)


Sink = Annotated[WebhookSink | NatsSink | EmailSink, Field(discriminator="type")]


class TaskCreate(_In):
    """`POST /api/v1/tasks` body."""

    title: str = Field(min_length=1, max_length=200)
    steps: list[Step] = Field(min_length=1, max_length=20)
    task_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    )
    instructions_mdsvex: str | None = Field(default=None, max_length=MAX_MARKDOWN)
    assignee_member_id: str | None = Field(default=None, min_length=1, max_length=64)
    assignee_email: EmailStr | None = None
    assignee_name: str | None = Field(default=None, max_length=200)
    assignee_phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-.]{4,32}$")
    expires_in: int | None = Field(default=None, ge=60, le=2_592_000)
    corr_id: str | None = Field(default=None, max_length=200)
    process_id: str | None = Field(default=None, max_length=200)
    process_step: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] | None = None
    sinks: list[Sink] = Field(default_factory=list, max_length=10)
    priority: Priority = "medium"
    due_at: AwareDatetime | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    slack_channel: str | None = Field(default=None, min_length=1, max_length=80)

    @field_validator("payload")
    @classmethod
    def _shallow(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and _depth(value) > MAX_PAYLOAD_DEPTH:
            raise ValueError(f"payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
        return value

    @field_validator("due_at")
    @classmethod
    def _displayable(cls, value: datetime | None) -> datetime | None:
        if value is not None and not within_years(value):
            raise ValueError(f"due_at must lie in the years {MIN_YEAR} to {MAX_YEAR} (UTC too)")
        return value

    @field_validator("assignee_email")
    @classmethod
    def _one_assignee(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("assignee_member_id"):
            raise ValueError("give assignee_member_id or assignee_email, not both")
        return value

    def fields(self) -> list[FormField]:
        return [f for step in self.steps for f in step.fields()]


class CompletedBy(BaseModel):
    channel: Channel
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


class Task(TaskCreate):
    """A stored task: the request plus its lifecycle. Sink secrets live elsewhere."""

    model_config = ConfigDict(extra="ignore")

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

    @classmethod
    def _one_assignee(cls, value: str | None, info: ValidationInfo) -> str | None:
        return value  # a member's email is kept beside the resolved member id

    @property
    def ref(self) -> str:
        """See `task_ref`."""
        return task_ref(self.org_id, self.task_id)

    def step_fields(self, index: int) -> list[FormField]:
        return self.steps[index].fields()

    def public(self, with_link: bool = True) -> dict[str, Any]:
        """The JSON returned by `GET /api/v1/tasks/{id}` (no sink secrets; without the
        answering link unless `with_link`)."""
        body = self.model_dump(mode="json", exclude=None if with_link else {"url", "link_id"})
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


class CompleteRequest(_In):
    data: dict[str, Any]


class CancelRequest(_In):
    reason: str | None = Field(default=None, max_length=2000)


class WaitResult(BaseModel):
    task_id: str
    status: Status
    data: dict[str, Any]
    completed_at: datetime | None


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


class FileRef(BaseModel):
    """An uploaded file or signature as it appears in `data`."""

    name: str
    size: int
    content_type: str
    sha256: str
    url: str
