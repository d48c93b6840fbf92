"""Use cases of teams of approvers (issue 12), shared by the REST API, the web form and the
Slack bot: respond, claim, release, reassign, cancel (with the children) and history.

An `Actor` names who acts: `id` is the member id, or the email address of an external
assignee (the web form's verified email); `admin` says the caller holds the `admin` scope
(it may respond on behalf of the org, take over a claim and reassign anyone).
Synchronous, like api.service: async callers run it in a thread.
"""

from __future__ import annotations

from typing import Any

from api.assignees import Resolver
from api.domain.approval import Actor, Approval, Assignee, AssigneeIn, HistoryEntry
from api.domain.errors import Conflict, Detail, InvalidRequest, NotFound
from api.domain.task import Task
from api.domain.teams import may_act
from api.service import TaskService
from api.store.approvals import TeamStore
from api.store.history import HistoryLog

PARENT_CANCELLED = "parent cancelled"
DEFAULT_CLAIM_TTL = Approval().claim_ttl  # a task without `approval` (a channel task)


class Approvals:
    def __init__(self, tasks: TaskService, team: TeamStore, resolver: Resolver) -> None:
        self.tasks = tasks
        self.team = team
        self.store = team.store
        self.resolver = resolver
        self.log = HistoryLog(team.store)

    def respond(self, task: Task, actor: Actor, data: dict[str, Any], *,
                admin: bool = False) -> Task:
        """Record `actor`'s response (validated like a form submission); it ends the task
        once the quorum is met or on a reject. 403 for a non-assignee of a team task
        (unless `admin`: recorded on behalf), 409 for an ended task, a second response by
        the same person or a task someone else has claimed."""
        if not task.open:
            raise Conflict(f"the task is {task.status}")
        may_act(task, actor, admin)
        clean = self.tasks.checked_answers(task, data)
        return self.team.respond(task.ref, actor, clean, admin=admin)

    def claim(self, task: Task, actor: Actor, *, take_over: bool = False,
              admin: bool = False) -> Task:
        """Claim the task (status `in_progress`); 409 if someone else holds it, unless an
        admin takes it over. The claim lapses after `approval.claim_ttl` seconds."""
        ttl = task.approval.claim_ttl if task.approval else DEFAULT_CLAIM_TTL
        return self.team.claim(task.ref, actor, ttl=ttl, take_over=take_over, admin=admin)

    def release(self, task: Task, actor: Actor, *, admin: bool = False) -> Task:
        """Release the actor's claim (or any claim, for an admin): pending again."""
        return self.team.release(task.ref, actor, admin=admin)

    def reassign(self, task: Task, actor: Actor, to: AssigneeIn, *,
                 from_: AssigneeIn | None = None, reason: str | None = None,
                 admin: bool = False) -> Task:
        """Move an assignee's place to `to`: the actor's own place, or anyone's for an
        admin (`from_` says whose); 403 otherwise, 409 once the task has ended."""
        new = self._one(task, actor, to, "to")
        old = self._one(task, actor, from_, "from") if from_ is not None else None
        return self.team.reassign(task.ref, actor, new, from_=old, reason=reason, admin=admin)

    def _one(self, task: Task, actor: Actor, item: AssigneeIn, loc: str) -> Assignee:
        people, details = self.resolver.people(task.org_id, actor.id, [item], loc)
        if details:
            raise InvalidRequest([Detail(f"{loc}.member_id", d.msg, d.type) for d in details])
        return people[0]

    def cancel(self, task: Task, reason: str | None, by: Actor | None = None) -> Task:
        """Cancel the task, then its open children ("parent cancelled")."""
        cancelled = self.store.cancel(task.ref, reason, by)
        for ref in self.team.children(task):
            try:
                self.store.cancel(ref, PARENT_CANCELLED, by)
            except (Conflict, NotFound):
                continue  # ended meanwhile, or gone (retention)
        return cancelled

    def history(self, task: Task) -> list[HistoryEntry]:
        """The audit trail in time order: entries `{at, kind, by?, detail}`."""
        return self.log.entries(task)

    def children(self, task: Task) -> list[dict[str, str]]:
        """The task's children: `{task_id, status}`, oldest first."""
        found = []
        for ref in self.team.children(task):
            try:
                child = self.store.load(ref)
            except NotFound:
                continue
            found.append({"task_id": child.task_id, "status": child.status})
        return found

    def escalate(self, ref: str) -> Task | None:
        """The escalation timer: the `escalate.to` people, resolved now (an unknown member
        since creation is left out), join or replace the assignees."""
        task = self.store.load(ref)
        if task.escalate is None or not task.open:
            return None
        people, _ = self.resolver.people(task.org_id, task.created_by, task.escalate.to,
                                         "escalate.to")
        return self.team.escalate(ref, people)
