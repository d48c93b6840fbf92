"""The rules of acting on a team task (issue 12), on the stored record: who may act, who
may respond, whose place a reassignment moves, and how a response settles the task. Pure;
api.store.approvals applies them inside its transactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from api.domain.approval import (
    Actor,
    Assignee,
    HistoryEntry,
    HistoryKind,
    default_answer,
    find_assignee,
    verdict,
)
from api.domain.errors import Conflict, Detail, Forbidden, InvalidRequest
from api.domain.task import CompletedBy, Task


def actor_assignee(task: Task, actor: Actor) -> Assignee | None:
    """The assignee `actor` is: by member id, or by the address of an external one."""
    return find_assignee(task, member_id=actor.id, email=actor.id if "@" in actor.id else None)


def may_act(task: Task, actor: Actor, admin: bool) -> Assignee | None:
    """The actor's assignee entry; Forbidden for a non-assignee of a team task with
    assignees, unless admin (any token of the org may act on other tasks)."""
    assignee = actor_assignee(task, actor)
    if assignee is None and task.is_team and task.assignees and not admin:
        raise Forbidden("only the task's assignees (or an admin token) may do this")
    return assignee


def responder(task: Task, actor: Actor, admin: bool) -> Assignee | None:
    """Who responds: they may act, the task is not someone else's claim, and they have
    not responded yet (Conflict)."""
    assignee = may_act(task, actor, admin)
    if task.claimed_by is not None and task.claimed_by.id != actor.id:
        raise Conflict(f"the task is claimed by {task.claimed_by.name}")
    key = assignee.key if assignee else None
    if any((key and r.assignee == key) or r.by.id == actor.id for r in task.responses):
        raise Conflict("you have already responded to this task")
    return assignee


def claimant(task: Task, actor: Actor, take_over: bool, admin: bool) -> str | None:
    """Whether `actor` may claim: an assignee (or admin) of a task nobody else holds, or
    an admin taking it over (returns whose claim it took). 409 when someone else holds
    it, 403 for a take-over without `admin`."""
    may_act(task, actor, admin)
    held = task.claimed_by
    if held is None or held.id == actor.id:
        return None
    if not take_over:
        raise Conflict(f"the task is claimed by {held.name}")
    if not admin:
        raise Forbidden("only an admin token may take over a claim")
    return held.id


def settle(task: Task, now: datetime, actor: Actor) -> bool:
    """After a response: end the task on its verdict (True), else free the responder's
    claim so the others may answer."""
    outcome = verdict(task.approval, task.assignees, task.responses)
    if task.claimed_by is not None:
        task.claimed_by, task.status = None, "pending"
    if outcome is None:
        return False
    task.status, task.outcome, task.data = "completed", outcome, task.responses[-1].data
    task.ended_at = task.completed_at = now
    task.completed_by = CompletedBy(channel=actor.channel, id=actor.id, name=actor.name)
    return True


def place_of(task: Task, actor: Actor, from_: Assignee | None, admin: bool) -> Assignee:
    """The assignee whose place is reassigned: `from_`, else the actor's own."""
    own = actor_assignee(task, actor)
    old = find_assignee(task, from_.member_id, from_.email) if from_ else own
    if from_ is not None and old is None:
        raise InvalidRequest([Detail("from", "not an assignee of this task")])
    if old is None or (old != own and not admin):
        if admin:
            raise InvalidRequest([Detail("from", "say whose place to reassign")])
        raise Forbidden("only an assignee (for their own place) or an admin may reassign")
    if any(r.assignee == old.key for r in task.responses):
        raise Conflict("that assignee has already responded")
    return old


def email_only(assignees: list[Assignee], mail_members: bool) -> list[str]:
    """Addresses to mail a task's link to: external assignees, and members too when Slack
    does not deliver (`mail_members`)."""
    return [a.email for a in assignees
            if a.email and (a.member_id is None or mail_members)]


def shown(assignee: Assignee) -> dict[str, Any]:
    """An assignee as history entries and notifications show them."""
    return assignee.model_dump(exclude_none=True, exclude={"phone"})


EXPIRY = CompletedBy(channel="system", id="expiry", name="default on expiry")


def default_on_expiry(task: Task, now: datetime) -> None:
    """`on_expiry`: the task completes with its default answer, by the system, whatever
    `required` says."""
    task.status, (task.data, task.outcome) = "completed", default_answer(task)
    task.completed_at, task.completed_by = now, EXPIRY  # (ending clears the claim)


def ending_entry(task: Task, event: str) -> HistoryEntry:
    """The history entry of the task's end (`event`: completed, cancelled or failed)."""
    detail = {"outcome": task.outcome, "reason": task.cancel_reason,
              "errors": [e.code for e in task.errors] or None,
              "by": task.completed_by.model_dump() if task.completed_by else None}
    return HistoryEntry(at=task.updated_at, kind=cast(HistoryKind, event),
                        by=task.cancelled_by if event == "cancelled" else None,
                        detail={k: v for k, v in detail.items() if v is not None})
