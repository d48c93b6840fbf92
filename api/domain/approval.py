"""Teams of approvers (issue 12): who may answer a task, how many must, and what their
answers decide. Pure: the shapes of a request and of the stored record, and the rules.

A task answered by one person behaves as before: `required` is 1 and the first complete
response ends it. With `required` N >= 2 each person responds once and the task stays open
until N responses; a response whose decision is a reject option ends it at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from api.domain.limits import Email, Limit, Shape, in_request

MAX_ASSIGNEES = 50
Outcome = Literal["approved", "rejected", "completed"]
Decision = Literal["approve", "reject"]


class MemberAssignee(Shape):
    member_id: Annotated[str, Limit(min_length=1, max_length=64)]


class EmailAssignee(Shape):
    email: Annotated[str, Email]
    name: Annotated[str, Limit(max_length=200)] | None = None
    phone: Annotated[str, Limit(pattern=r"^\+?[0-9 ()\-.]{4,32}$")] | None = None


def _assignee_form(value: Any) -> str:
    """Which form an assignee is in, so a bad one is reported against that form alone."""
    if isinstance(value, dict):
        return "form:member" if "member_id" in value else "form:email"
    if isinstance(value, MemberAssignee | EmailAssignee):
        return "form:member" if isinstance(value, MemberAssignee) else "form:email"
    return "form:me"


def _required_form(value: Any) -> str:
    return "form:all" if isinstance(value, str) else "form:count"


# Tags of the request's unions: api.domain.validation leaves them out of a detail's loc.
UNION_TAGS = frozenset({"form:me", "form:member", "form:email", "form:all", "form:count"})
# "me" is the member whose token creates the task.
AssigneeIn = Annotated[Annotated[Literal["me"], Tag("form:me")]
                       | Annotated[MemberAssignee, Tag("form:member")]
                       | Annotated[EmailAssignee, Tag("form:email")],
                       Discriminator(_assignee_form)]
Assignees = Annotated[list[AssigneeIn], Limit(min_length=1, max_length=MAX_ASSIGNEES)]
Seconds = Annotated[int, Limit(ge=1, le=2_592_000)]  # the schedule minimum is the service's


class Approval(Shape):
    required: Annotated[Annotated[Annotated[int, Limit(ge=1, le=MAX_ASSIGNEES)],
                                  Tag("form:count")]
                        | Annotated[Literal["all"], Tag("form:all")],
                        Discriminator(_required_form)] = 1
    decision_field: Annotated[str, Limit(min_length=1, max_length=64)] | None = None
    reject_options: Annotated[list[Annotated[str, Limit(min_length=1, max_length=200)]],
                              Limit(min_length=1, max_length=50)] | None = None
    claim_ttl: Seconds = 3600

    @model_validator(mode="after")
    def _rejects_need_a_decision(self, info: ValidationInfo) -> Approval:
        if in_request(info) and self.reject_options and not self.decision_field:
            raise ValueError("reject_options need a decision_field")
        return self


class Remind(Shape):
    after: Seconds
    every: Seconds | None = None
    max: Annotated[int, Limit(ge=1, le=20)] = 3


class Escalate(Shape):
    after: Seconds
    to: Assignees
    mode: Literal["add", "replace"] = "add"


class OnExpiry(Shape):
    complete_with: dict[str, Any]


class Assignee(BaseModel):
    """A resolved assignee of a stored task: a member (by id) or an email address."""

    member_id: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None

    @property
    def key(self) -> str:
        """Who this is, for "responds once": the member id, else the address."""
        return f"member:{self.member_id}" if self.member_id else f"email:{self.email}"


class Actor(BaseModel):
    """Who did something to a task."""

    channel: Literal["slack", "web", "api", "system"]
    id: str
    name: str
    # An admin's response for the org; `by` shows it only when true ({channel, id, name}).
    on_behalf: bool = Field(default=False, exclude_if=lambda value: not value)


class Response(BaseModel):
    by: Actor
    data: dict[str, Any]
    at: datetime
    decision: Decision | None = None
    assignee: str | None = None  # the Assignee.key it answers for, if any


class Claim(BaseModel):
    """Who holds a claimed (`in_progress`) task: nobody else may answer until it is
    released, by them, by an admin's take-over or after `approval.claim_ttl`."""

    id: str
    name: str
    at: datetime


class TeamRecord(BaseModel):
    """What a stored task keeps of its team: the resolved assignees, the rules given at
    creation and the lifecycle (responses, claim, reminders, escalation)."""

    assignees: list[Assignee] = Field(default_factory=list)
    approval: Approval | None = None
    remind: Remind | None = None
    escalate: Escalate | None = None
    on_expiry: OnExpiry | None = None
    parent_task_id: str | None = None
    responses: list[Response] = Field(default_factory=list)
    outcome: Outcome | None = None
    claimed_by: Claim | None = None
    escalated_at: datetime | None = None
    reminders_sent: int = 0
    cancelled_by: Actor | None = None
    team: SkipJsonSchema[bool] = False  # created with `assignees` or `approval`

    @field_validator("assignees", mode="before")
    @classmethod
    def _none_is_nobody(cls, value: Any) -> Any:
        return [] if value is None else value  # a request's dump names no assignees

    @property
    def is_team(self) -> bool:
        """A team task (created with `assignees` or `approval`): only its assignees (and
        admins, on behalf) respond. An HPI-only task keeps HPI's rule: any token may."""
        return self.team

    @property
    def multi_response(self) -> bool:
        """More than one response is needed: `/wait` and sinks show `responses`."""
        return required_count(self.approval, self.assignees) > 1


def required_count(approval: Approval | None, assignees: Sequence[Assignee]) -> int:
    """How many distinct responses end the task."""
    if approval is None:
        return 1
    return len(assignees) if approval.required == "all" else approval.required


def decision_of(approval: Approval | None, data: dict[str, Any]) -> Decision | None:
    """A response's decision, when the task has a decision field."""
    if approval is None or approval.decision_field is None:
        return None
    rejected = data.get(approval.decision_field) in (approval.reject_options or [])
    return "reject" if rejected else "approve"


def verdict(approval: Approval | None, assignees: Sequence[Assignee],
            responses: Sequence[Response]) -> Outcome | None:
    """The outcome once `responses` end the task, else None: a reject ends it at once;
    `required` approving (or, without a decision field, any) responses end it. Only the
    current assignees' responses count (and those on behalf of the org, or on a channel
    task): after an escalation replaced the team, "all" means all of the new one."""
    if responses and responses[-1].decision == "reject":
        return "rejected"
    team = {a.key for a in assignees}
    counted = [r for r in responses if r.decision != "reject"
               and (r.assignee is None or r.assignee in team)]
    if len(counted) < required_count(approval, assignees):
        return None
    has_decision = approval is not None and approval.decision_field is not None
    return "approved" if has_decision else "completed"


def responded(record: TeamRecord) -> dict[str, Response]:
    """Each assignee's response, by Assignee.key."""
    return {r.assignee: r for r in record.responses if r.assignee is not None}


def waiting_for(record: TeamRecord) -> list[Assignee]:
    """The assignees who have not responded yet."""
    done = responded(record)
    return [a for a in record.assignees if a.key not in done]


def progress(record: TeamRecord) -> list[tuple[Assignee, Response | None]]:
    """Per assignee, in order: their response, or None while waiting."""
    done = responded(record)
    return [(a, done.get(a.key)) for a in record.assignees]


def find_assignee(record: TeamRecord, member_id: str | None = None,
                  email: str | None = None) -> Assignee | None:
    """The assignee who is this member (by id) or this address (case-insensitive)."""
    for assignee in record.assignees:
        if member_id and assignee.member_id == member_id:
            return assignee
        if email and assignee.email and assignee.email.lower() == email.lower():
            return assignee
    return None


def default_answer(record: TeamRecord) -> tuple[dict[str, Any], Outcome]:
    """The data and outcome of the default answer on expiry (`on_expiry`)."""
    data = dict(record.on_expiry.complete_with) if record.on_expiry else {}
    decision = decision_of(record.approval, data)
    outcome: Outcome = ("completed" if decision is None
                        else "rejected" if decision == "reject" else "approved")
    return data, outcome


class TeamFields(Shape):
    """The request fields of a team task (all optional; the HPI assignee fields remain)."""

    assignees: Assignees | None = None
    approval: Approval | None = None
    remind: Remind | None = None
    escalate: Escalate | None = None
    on_expiry: OnExpiry | None = None
    parent_task_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ClaimRequest(Shape):
    """`POST /api/v1/tasks/{id}/claim` body (optional)."""

    take_over: bool = False  # an admin token takes over someone else's claim


class ReassignRequest(Shape):
    """`POST /api/v1/tasks/{id}/reassign` body: `from` defaults to the caller's place."""

    from_: AssigneeIn | None = Field(default=None, alias="from")
    to: AssigneeIn
    reason: Annotated[str, Limit(max_length=2000)] | None = None


HistoryKind = Literal["created", "delivered", "claimed", "released", "responded",
                      "reassigned", "reminded", "escalated", "completed", "cancelled",
                      "failed", "sink"]


class HistoryEntry(BaseModel):
    at: datetime
    kind: HistoryKind
    by: Actor | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class History(BaseModel):
    """`GET /api/v1/tasks/{id}/history` body: the audit trail in time order."""

    task_id: str
    entries: list[HistoryEntry]
