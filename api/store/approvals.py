"""Transitions of team tasks (issue 12): respond, claim, release, reassign, remind,
escalate. Each one is WATCH -> read -> MULTI -> write (+ history entry, jobs, PUBLISH) ->
EXEC, retried on a lost race (api.store.tasks.atomic), so concurrent responders see one
another: the quorum ends a task exactly once.

A change function checks the task and changes it; it raises Conflict, Forbidden or
InvalidRequest to refuse, or Skip to leave a timer's task untouched (it ended or moved on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.client import Pipeline

from api.domain.approval import (
    Actor,
    Assignee,
    Claim,
    HistoryEntry,
    HistoryKind,
    Response,
    decision_of,
    find_assignee,
    waiting_for,
)
from api.domain.errors import Conflict, Detail, Forbidden, InvalidRequest
from api.domain.events import responded_event
from api.domain.task import Task
from api.domain.teams import claimant, email_only, place_of, responder, settle, shown
from api.store import keys, timers
from api.store.listing import assignee_index, score
from api.store.tasks import TaskStore, atomic, overdue, pending
from api.store.trail import note


class Skip(Exception):
    """A timer found its task ended or changed: nothing to do."""


@dataclass
class Effects:
    """What a transition adds to its MULTI besides the record: history entries and jobs."""

    entries: list[HistoryEntry] = field(default_factory=list)
    jobs: list[tuple[str, tuple[Any, ...], datetime | None]] = field(default_factory=list)
    mail: list[tuple[list[str], str]] = field(default_factory=list)
    index: list[tuple[str, bool]] = field(default_factory=list)  # (assignee index, add?)
    event: str | None = None  # the task ended with this event

    def note(self, at: datetime, kind: HistoryKind, by: Actor | None = None,
             **detail: Any) -> None:
        shown = {k: v for k, v in detail.items() if v is not None}  # no "took_over": null
        self.entries.append(HistoryEntry(at=at, kind=kind, by=by, detail=shown))

    def job(self, name: str, *args: Any, at: datetime | None = None) -> None:
        self.jobs.append((name, args, at))


Change = Callable[[Task, datetime, Effects], None]


class TeamStore:
    def __init__(self, store: TaskStore, *, mail: bool = False,
                 mail_members: bool = False) -> None:
        self.store = store
        self.redis = store.redis
        self.jobs = store.jobs
        self.mail = mail  # SMTP is configured: email-only assignees get the link
        self.mail_members = mail_members  # no Slack delivery: members are mailed too

    # -- the transaction ------------------------------------------------------------------

    def transition(self, ref: str, change: Change) -> Task:
        def write(pipe: Pipeline) -> Task:
            task = pending(pipe, ref)
            if overdue(task, self.store.clock()):
                raise Conflict("the task has expired")
            effects = Effects()
            change(task, self.store.bump(task), effects)
            pipe.multi()
            self._write(pipe, task, effects)
            pipe.execute()
            return task

        task = atomic(self.redis, write, keys.task(ref))
        return self.store.ended(task) if not task.open else task

    def timer(self, ref: str, change: Change) -> Task | None:
        """A timer's transition: None when the task ended or moved on meanwhile."""
        try:
            return self.transition(ref, change)
        except (Skip, Conflict):
            return None

    def _write(self, pipe: Pipeline, task: Task, effects: Effects) -> None:
        self._write_effects(pipe, task, effects)
        if effects.event is not None:
            self.store.write_end(pipe, task, effects.event)
            return
        pipe.set(keys.task(task.ref), task.model_dump_json())
        self.store.move_status(pipe, task)
        if task.external_message_ids:
            self.jobs.enqueue(pipe, "slack.update", task.ref)
        pipe.publish(keys.EVENTS_CHANNEL, task.ref)

    def _write_effects(self, pipe: Pipeline, task: Task, effects: Effects) -> None:
        ref = task.ref
        for entry in effects.entries:
            note(pipe, ref, entry)
        for name, args, at in effects.jobs:
            self.jobs.enqueue(pipe, name, *args, at=at)
        for addresses, kind in effects.mail if self.mail else []:
            timers.mail_links(self.jobs, pipe, ref, addresses, kind)
        for key, add in effects.index:
            if add:
                pipe.zadd(key, {ref: score(task.created_at)})
            else:
                pipe.zrem(key, ref)

    # -- responses --------------------------------------------------------------------

    def respond(self, ref: str, actor: Actor, data: dict[str, Any], *,
                admin: bool = False) -> Task:
        """Record a response; it ends the task on a reject or once the quorum is met."""

        def change(task: Task, now: datetime, effects: Effects) -> None:
            assignee = responder(task, actor, admin)
            by = actor.model_copy(update={"on_behalf": assignee is None and task.is_team
                                          and bool(task.assignees)})
            response = Response(by=by, data=data, at=now,
                                assignee=assignee.key if assignee else None,
                                decision=decision_of(task.approval, data))
            task.responses.append(response)
            effects.note(now, "responded", by, decision=response.decision,
                         assignee=response.assignee)
            self._responded_events(task, effects)
            if settle(task, now, actor):
                effects.event = "completed"

        return self.transition(ref, change)

    @staticmethod
    def _responded_events(task: Task, effects: Effects) -> None:
        if not task.multi_response:
            return
        event = responded_event(len(task.responses))
        for index, sink in enumerate(task.sinks):
            if "responded" in sink.events:
                effects.job("sink." + sink.type, task.ref, event, index)

    # -- claims -----------------------------------------------------------------------

    def claim(self, ref: str, actor: Actor, *, ttl: int, take_over: bool = False,
              admin: bool = False) -> Task:
        def change(task: Task, now: datetime, effects: Effects) -> None:
            took_over = claimant(task, actor, take_over, admin)
            task.status, task.claimed_by = "in_progress", Claim(id=actor.id, name=actor.name,
                                                                at=now)
            effects.note(now, "claimed", actor, took_over=took_over)
            effects.job("task.release", ref, score(now), at=timers.later(now, ttl))

        return self.transition(ref, change)

    def release(self, ref: str, actor: Actor, *, admin: bool = False) -> Task:
        def change(task: Task, now: datetime, effects: Effects) -> None:
            if task.claimed_by is None:
                raise Conflict("the task is not claimed")
            if task.claimed_by.id != actor.id and not admin:
                raise Forbidden(f"the task is claimed by {task.claimed_by.name}")
            _unclaim(task, now, effects, actor)

        return self.transition(ref, change)

    def auto_release(self, ref: str, claimed_at_us: int) -> Task | None:
        """`approval.claim_ttl` after a claim: release it, unless it changed since."""

        def change(task: Task, now: datetime, effects: Effects) -> None:
            if task.claimed_by is None or score(task.claimed_by.at) != claimed_at_us:
                raise Skip
            _unclaim(task, now, effects, None, reason="claim_ttl")

        return self.timer(ref, change)

    # -- reassign, remind, escalate -------------------------------------------------------

    def reassign(self, ref: str, actor: Actor, to: Assignee, *, from_: Assignee | None,
                 reason: str | None, admin: bool = False) -> Task:
        def change(task: Task, now: datetime, effects: Effects) -> None:
            old = place_of(task, actor, from_, admin)
            if find_assignee(task, to.member_id, to.email) is not None:
                raise InvalidRequest([Detail("to", "already an assignee of this task")])
            task.assignees[task.assignees.index(old)] = to
            if task.claimed_by and old.member_id == task.claimed_by.id:
                task.claimed_by, task.status = None, "pending"
            detail = {"from": shown(old), "to": shown(to), "reason": reason}
            effects.note(now, "reassigned", actor, **detail)
            effects.job("slack.notify", ref, "reassigned",
                        {**detail, "by": actor.model_dump()})
            self._moved(task, effects, added=[to], removed=[old], kind="reassigned")

        return self.transition(ref, change)

    def remind(self, ref: str, n: int) -> Task | None:
        """Reminder number `n` (of `remind.max`) to the assignees still waiting."""

        def change(task: Task, now: datetime, effects: Effects) -> None:
            waiting = waiting_for(task)
            if task.remind is None or task.reminders_sent != n - 1 or not waiting:
                raise Skip
            task.reminders_sent = n
            names = [shown(a) for a in waiting]
            effects.note(now, "reminded", None, n=n, waiting=names)
            effects.job("slack.notify", ref, "reminder", {"n": n, "waiting": names})
            effects.mail.append((email_only(waiting, self.mail_members), "reminder"))
            if task.remind.every and n < task.remind.max:
                effects.job("task.remind", ref, n + 1,
                            at=timers.later(now, task.remind.every))

        return self.timer(ref, change)

    def escalate(self, ref: str, people: list[Assignee]) -> Task | None:
        """The escalation: `people` join the assignees (mode add) or replace them."""

        def change(task: Task, now: datetime, effects: Effects) -> None:
            if task.escalate is None or task.escalated_at is not None:
                raise Skip
            replace = task.escalate.mode == "replace"
            removed = list(task.assignees) if replace else []
            added = [p for p in people if find_assignee(task, p.member_id, p.email) is None
                     or replace]
            task.assignees = people if replace else task.assignees + added
            task.escalated_at = now
            detail = {"mode": task.escalate.mode, "added": [shown(a) for a in added],
                      "removed": [shown(a) for a in removed]}
            effects.note(now, "escalated", None, **detail)
            effects.job("slack.notify", ref, "escalated", detail)
            self._moved(task, effects, added=added, removed=removed, kind="escalated")

        return self.timer(ref, change)

    def _moved(self, task: Task, effects: Effects, *, added: list[Assignee],
               removed: list[Assignee], kind: str) -> None:
        """Assignees changed: their index entries follow, and the new ones get the link."""
        def index(assignee: Assignee) -> str:
            return keys.org_index(task.org_id, "assignee", assignee_index(assignee))

        effects.index += [(index(a), False) for a in removed if a not in task.assignees]
        effects.index += [(index(a), True) for a in added]
        if any(a.member_id is None for a in added):
            task.requires_otp = True  # an external assignee verifies their address
        effects.mail.append((email_only(added, self.mail_members), kind))

    # -- children ---------------------------------------------------------------------

    def children(self, task: Task) -> list[str]:
        """The refs of the task's children, oldest first."""
        key = keys.org_index(task.org_id, "parent", task.task_id)
        return [r.decode() for r in self.redis.zrange(key, 0, -1)]  # type: ignore[union-attr]


def _unclaim(task: Task, now: datetime, effects: Effects, by: Actor | None,
             **detail: Any) -> None:
    task.claimed_by, task.status = None, "pending"
    effects.note(now, "released", by, **detail)
