"""Use cases of teams of approvers (issue 12), shared by the REST API, the web form and the
Slack bot: respond, claim, release, reassign, cancel (with the children) and history.

An `Actor` names who acts: `id` is the member id, or the email address of an external
assignee (the web form's verified email); `admin` says the caller holds the `admin` scope
(it may respond on behalf of the org, take over a claim and reassign anyone).
Synchronous, like api.service: async callers run it in a thread.
"""

from __future__ import annotations

from typing import Any

from api.domain.approval import Actor, AssigneeIn, HistoryEntry
from api.domain.task import Task


class Approvals:
    def respond(self, task: Task, actor: Actor, data: dict[str, Any], *,
                admin: bool = False) -> Task:
        """Record `actor`'s response (validated like a form submission); it ends the task
        once the quorum is met or on a reject. 403 for a non-assignee of a team task
        (unless `admin`: recorded on behalf), 409 for an ended task, a second response by
        the same person or a task someone else has claimed."""
        raise NotImplementedError

    def claim(self, task: Task, actor: Actor, *, take_over: bool = False,
              admin: bool = False) -> Task:
        """Claim the task (status `in_progress`); 409 if someone else holds it, unless an
        admin takes it over."""
        raise NotImplementedError

    def release(self, task: Task, actor: Actor, *, admin: bool = False) -> Task:
        """Release the actor's claim (or any claim, for an admin): pending again."""
        raise NotImplementedError

    def reassign(self, task: Task, actor: Actor, to: AssigneeIn, *,
                 from_: AssigneeIn | None = None, reason: str | None = None,
                 admin: bool = False) -> Task:
        """Move an assignee's place to `to`: the actor's own place, or anyone's for an
        admin (`from_` says whose); 403 otherwise, 409 once the task has ended."""
        raise NotImplementedError

    def cancel(self, task: Task, reason: str | None, by: Actor | None = None) -> Task:
        """Cancel the task, then its open children ("parent cancelled")."""
        raise NotImplementedError

    def history(self, task: Task) -> list[HistoryEntry]:
        """The audit trail in time order: entries `{at, kind, by?, detail}`."""
        raise NotImplementedError

    def children(self, task: Task) -> list[dict[str, str]]:
        """The task's children: `{task_id, status}`, oldest first."""
        raise NotImplementedError
