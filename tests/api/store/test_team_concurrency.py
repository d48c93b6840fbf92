"""Three approvers answering `required: 2` at the same instant: exactly one ending, never
two (threads against the real Valkey; the transitions WATCH the task)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from api.domain.approval import Actor
from api.domain.errors import Conflict
from api.domain.task import Task
from api.runtime import Services
from api.store.history import HistoryLog
from tests.api.http.teams import APPROVE, make_team, team_task
from tests.conftest import AccountFactory

ROUNDS = 10


def test_three_simultaneous_responders_end_the_task_once(
        services: Services, make_account: AccountFactory) -> None:
    team = make_team(make_account, size=3)
    actors = [Actor(channel="api", id=m.member.id, name=m.member.name) for m in team.members]
    sink = [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]
    for _ in range(ROUNDS):
        principal = services.directory.authenticate(team.admin.token)
        created, _ = services.tasks.create(principal, team_task(team.assignees(), sinks=sink))
        task = services.store.get(team.admin.org_id, created["task_id"])
        barrier = threading.Barrier(3)
        with ThreadPoolExecutor(3) as pool:
            results = sorted(pool.map(lambda a, t=task, b=barrier: _answer(services, t, a, b),
                                      actors))
        assert results == ["completed", "conflict", "pending"]
        ended = services.store.load(task.ref)
        assert len(ended.responses) == 2 and ended.outcome == "approved"
        kinds = [e.kind for e in HistoryLog(services.store).entries(ended)]
        assert kinds.count("completed") == 1 and kinds.count("responded") == 2
    assert services.jobs["webhook"].count == ROUNDS  # one completed event per task


def _answer(services: Services, task: Task, actor: Actor, barrier: threading.Barrier) -> str:
    barrier.wait()  # all three respond at the same instant
    try:
        return services.approvals.respond(task, actor, APPROVE).status
    except Conflict:
        return "conflict"
