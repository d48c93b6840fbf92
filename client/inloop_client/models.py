"""The REST contract as the client sees it: typed requests and responses.

Requests carry only what the caller set (`None` is never sent) and let the server check
its limits, so a newer server's rules need no new client. Responses keep fields this
client does not know yet (`extra="allow"`), so nothing the server says is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FieldKind = Literal["text", "textarea", "select", "radio", "checkbox", "date", "range",
                    "rating", "file", "signature"]
Priority = Literal["low", "medium", "high", "urgent"]
SinkEvent = Literal["completed", "cancelled", "failed"]
TASK_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


class FormField(_Request):
    """One input of a form."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64,
                      description="Key of the answer in `data`: lowercase letters, digits, _.")
    label: str = Field(min_length=1, max_length=2000, description="The question shown.")
    kind: FieldKind = Field(description="text, textarea, select, radio (need `options`), "
                            "checkbox, date, range, rating, file, signature.")
    required: bool | None = None
    placeholder: str | None = Field(default=None, max_length=150)
    options: list[str] | None = Field(default=None, description="Choices of select/radio.")
    include_time: bool | None = Field(default=None, description="date: ask for a time too.")
    min: float | None = Field(default=None, description="range: lowest value (default 0).")
    max: float | None = Field(default=None, description="range: highest value (default 100).")
    step: float | None = Field(default=None, description="range: step (default 1).")
    max_rating: int | None = Field(default=None, description="rating: 1-10 (default 5).")


class MdsvexBlock(_Request):
    type: Literal["mdsvex"] = "mdsvex"
    content: str = Field(description="Markdown shown to the person.")


class CalloutBlock(_Request):
    type: Literal["callout"] = "callout"
    severity: Literal["info", "success", "warning", "error"] | None = None
    content: str


class InputBlock(_Request):
    type: Literal["input"] = "input"
    field: FormField


Block = Annotated[MdsvexBlock | CalloutBlock | InputBlock, Field(discriminator="type")]


class Step(_Request):
    """One page of the form."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    title: str = Field(min_length=1, max_length=200)
    description_mdsvex: str | None = None
    blocks: list[Block] = Field(min_length=1, max_length=50)


class WebhookSink(_Request):
    type: Literal["webhook"] = "webhook"
    url: str
    secret: str | None = None
    events: list[SinkEvent] | None = None


class NatsSink(_Request):
    type: Literal["nats"] = "nats"
    subject: str
    events: list[SinkEvent] | None = None


class EmailSink(_Request):
    type: Literal["email"] = "email"
    to: str
    events: list[SinkEvent] | None = None


Sink = Annotated[WebhookSink | NatsSink | EmailSink, Field(discriminator="type")]


class Assignee(_Request):
    """A person to answer: a member id, or an email (a member's, or an external person's)."""

    member_id: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None


class Approval(_Request):
    """How many people must respond, and which decisions reject (teams of approvers)."""

    required: int | Literal["all"] | None = None
    decision_field: str | None = Field(default=None,
                                       description="A required select or radio field.")
    reject_options: list[str] | None = Field(
        default=None, description="Options of `decision_field` that reject the task.")
    claim_ttl: int | None = Field(default=None, description="Seconds a claim holds before "
                                  "it is released on its own (server default 3600).")


class Remind(_Request):
    """Re-notify the assignees who have not responded."""

    after: int = Field(description="Seconds until the first reminder (at least 60).")
    every: int | None = Field(default=None, description="Seconds between reminders.")
    max: int | None = Field(default=None, description="Reminders in all (server default 3).")


class Escalate(_Request):
    """Add (or swap in) people if the task is still open after `after` seconds."""

    after: int
    to: list[Assignee | Literal["me"]]
    mode: Literal["add", "replace"] | None = None


class OnExpiry(_Request):
    """The answer the task completes with when `expires_in` passes."""

    complete_with: dict[str, Any]


class TaskCreate(_Request):
    """`POST /api/v1/tasks` body."""

    title: str = Field(min_length=1, max_length=200, description="What is asked, in short.")
    steps: list[Step] = Field(min_length=1, max_length=20,
                              description="Form pages, each a list of blocks.")
    task_id: str | None = Field(default=None, pattern=TASK_ID_PATTERN,
                                description="A UUID you choose: retries with the same body "
                                "return the same task.")
    instructions_mdsvex: str | None = Field(default=None, description="Markdown shown above "
                                            "the form.")
    assignee_member_id: str | None = Field(default=None, description="A member id, or `me`.")
    assignee_email: str | None = Field(default=None, description="A member's email, or an "
                                       "external person's (verified by an email code).")
    assignee_name: str | None = None
    assignee_phone: str | None = None
    assignees: list[Assignee | Literal["me"]] | None = Field(
        default=None, description="Several people (servers with teams of approvers).")
    approval: Approval | None = None
    remind: Remind | None = None
    escalate: Escalate | None = None
    on_expiry: OnExpiry | None = None
    parent_task_id: str | None = Field(default=None, description="A task of the same org; "
                                       "cancelling it cancels this one while open.")
    slack_channel: str | None = Field(default=None, description="Post to this Slack channel "
                                      "instead of a person, e.g. #ops.")
    expires_in: int | None = Field(default=None, ge=1, description="Seconds until the task "
                                   "fails as expired (the server's minimum applies, 60 by "
                                   "default).")
    priority: Priority | None = None
    due_at: datetime | None = None
    tags: list[str] | None = None
    corr_id: str | None = Field(default=None, description="Your correlation id.")
    process_id: str | None = None
    process_step: str | None = None
    payload: dict[str, Any] | None = Field(default=None, description="Any JSON, returned "
                                           "with the task and its events.")
    sinks: list[Sink] | None = Field(default=None, description="Where the result is pushed: "
                                     "webhook, nats or email.")


class TaskCreated(_Response):
    """`201` of `POST /api/v1/tasks`. `sinks` holds generated webhook secrets, once."""

    task_id: str
    link_id: str | None = None
    url: str | None = None
    requires_otp: bool = False
    sinks: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime


class CompletedBy(_Response):
    channel: str
    id: str
    name: str


class Task(_Response):
    """A task as `GET /api/v1/tasks/{id}` returns it (fields the server adds are kept)."""

    task_id: str
    title: str
    status: str = Field(description="pending, in_progress (claimed), completed, cancelled "
                        "or failed.")
    steps: list[dict[str, Any]] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    url: str | None = None
    link_id: str | None = None
    outcome: str | None = None
    cancel_reason: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    completed_by: CompletedBy | None = None
    completed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    assignee_member_id: str | None = None
    assignee_email: str | None = None
    tags: list[str] = Field(default_factory=list)
    payload: dict[str, Any] | None = None


class WaitResult(_Response):
    """`GET /api/v1/tasks/{id}/wait`: `status` is still `pending` when the wait timed out.
    `outcome` and `responses` come from servers with teams of approvers."""

    task_id: str
    status: str
    data: dict[str, Any] = Field(default_factory=dict)
    completed_at: datetime | None = None
    outcome: str | None = None
    responses: list[dict[str, Any]] | None = None


class TaskPage(_Response):
    tasks: list[Task]
    next_cursor: str | None = None


class Delivery(_Response):
    """One sink delivery of a task's end event, with its attempts."""

    id: str
    event: str
    event_id: str
    sink_type: str
    target: str
    status: str = Field(description="queued, retrying, delivered or gave_up.")
    attempt_count: int = 0
    attempts: list[dict[str, Any]] = Field(default_factory=list)


class UploadedFile(_Response):
    """A file or signature answer (also what an upload returns, to pass in `complete`)."""

    name: str
    size: int
    content_type: str
    sha256: str
    url: str
