"""Team tasks' timers with 1-second schedules (INLOOP_MIN_SCHEDULE_S=1), run by a real
RQ worker with its scheduler: reminders (email to the email-only assignees, a Slack
notification job), escalation, a claim's automatic release; and the default answer on
expiry."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from api.domain.approval import Actor
from api.domain.task import Task
from api.runtime import Services
from api.settings import Settings
from tests.api.http.teams import APPROVE, Team, call, make_team, respond, team_task
from tests.conftest import AccountFactory, create
from tests.servers import SmtpServer

GUEST = "guest@example.com"


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    settings.min_schedule_s = 1
    settings.smtp_url = smtp_server.url
    return settings


@pytest.fixture
def team(make_account: AccountFactory) -> Team:
    return make_team(make_account)


def work_until(services: Services, ref: str, done: Callable[[Task], bool],
               timeout: float = 20) -> Task:
    """Run the timer and email queues (scheduler included) until `done(task)` holds."""
    deadline = time.monotonic() + timeout
    queues = [services.jobs[name] for name in ("expiry", "email")]
    while True:
        SimpleWorker(queues, connection=services.redis,
                     serializer=JSONSerializer).work(burst=True, with_scheduler=True)
        task = services.store.load(ref)
        if done(task):
            return task
        assert time.monotonic() < deadline, "timed out waiting for the timers"
        time.sleep(0.2)


def notifications(services: Services, kind: str) -> list[dict[str, Any]]:
    """The details of the `slack.notify` jobs of `kind` queued so far."""
    jobs = services.jobs["slack"].get_jobs()
    return [j.args[2] for j in jobs if j.func_name.endswith("notify") and j.args[1] == kind]


async def _new(client: TestClient, team: Team, assignees: list[Any], **extra: Any) -> str:
    return str((await create(client, team.admin, team_task(assignees, **extra)))["task_id"])


async def test_reminders_reach_the_waiting_until_max(
        client: TestClient, team: Team, services: Services, smtp_server: SmtpServer) -> None:
    a = team.members[0]
    task_id = await _new(client, team, [{"member_id": a.member.id}, {"email": GUEST}],
                         remind={"after": 1, "every": 1, "max": 2})
    ref = team.admin.ref(task_id)
    task = work_until(services, ref, lambda t: t.reminders_sent == 2)
    subjects = sorted((m["To"], m["Subject"]) for m in smtp_server.mailbox.wait_for(6))
    assert subjects.count((GUEST, "Reminder: your answer is needed: Ship the release")) == 2
    assert (GUEST, "Your answer is needed: Ship the release") in subjects
    assert task.url in smtp_server.mailbox.messages[-1].get_content()
    assert [n["n"] for n in notifications(services, "reminder")] == [1, 2]
    time.sleep(1.5)
    assert work_until(services, ref, lambda t: True).reminders_sent == 2  # max reached
    history = await call(client, team.admin, "GET", f"/{task_id}/history")
    kinds = [e["kind"] for e in history["entries"]]
    assert kinds.count("reminded") == 2
    assert {e["detail"]["to"] for e in history["entries"] if e["kind"] == "delivered"} == {
        GUEST, a.member.email}


async def test_reminders_stop_for_those_who_responded_and_when_the_task_ends(
        client: TestClient, team: Team, services: Services) -> None:
    a, b = team.members[0], team.members[1]
    task_id = await _new(client, team, team.assignees(2), remind={"after": 1, "every": 1})
    await respond(client, a, task_id, APPROVE)
    ref = team.admin.ref(task_id)
    work_until(services, ref, lambda t: t.reminders_sent == 1)
    [first] = notifications(services, "reminder")
    assert [w["member_id"] for w in first["waiting"]] == [b.member.id]
    await respond(client, b, task_id, APPROVE)
    time.sleep(1.2)
    assert work_until(services, ref, lambda t: True).reminders_sent == 1


async def test_escalation_replaces_the_assignees_and_is_recorded(
        client: TestClient, team: Team, services: Services, smtp_server: SmtpServer) -> None:
    a, d = team.members[0], team.members[3]
    task_id = await _new(client, team, [{"member_id": a.member.id}],
                         approval={"required": 1},
                         escalate={"after": 1, "to": [{"member_id": d.member.id}],
                                   "mode": "replace"})
    task = work_until(services, team.admin.ref(task_id), lambda t: t.escalated_at is not None)
    assert [x.member_id for x in task.assignees] == [d.member.id]
    [escalated] = notifications(services, "escalated")
    assert escalated["added"][0]["member_id"] == d.member.id
    assert escalated["removed"][0]["member_id"] == a.member.id
    mails = smtp_server.mailbox.wait_for(2)
    assert any(m["To"] == d.member.email and m["Subject"].startswith("Escalated")
               for m in mails)
    await respond(client, a, task_id, APPROVE, status=403)
    assert (await respond(client, d, task_id, APPROVE))["status"] == "completed"
    mine = await call(client, team.admin, "GET", f"?assignee={a.member.id}")
    assert mine["tasks"] == []


async def test_escalation_adds_people(client: TestClient, team: Team,
                                      services: Services) -> None:
    task_id = await _new(client, team, team.assignees(2),
                         escalate={"after": 1, "to": ["me"]})
    task = work_until(services, team.admin.ref(task_id), lambda t: t.escalated_at is not None)
    assert [x.member_id for x in task.assignees][-1] == team.admin.member.id
    assert len(task.assignees) == 3


async def test_a_claim_is_released_after_its_ttl(client: TestClient, team: Team,
                                                 services: Services) -> None:
    task_id = await _new(client, team, team.assignees(), approval={"required": 1,
                                                                    "claim_ttl": 1})
    await call(client, team.members[0], "POST", f"/{task_id}/claim")
    task = work_until(services, team.admin.ref(task_id), lambda t: t.claimed_by is None)
    assert task.status == "pending"
    history = await call(client, team.admin, "GET", f"/{task_id}/history")
    released = [e for e in history["entries"] if e["kind"] == "released"]
    assert released[0]["detail"] == {"reason": "claim_ttl"} and "by" not in released[0]


async def test_a_new_claim_outlives_the_old_claims_timer(client: TestClient, team: Team,
                                                         services: Services) -> None:
    a = team.members[0]
    task_id = await _new(client, team, team.assignees(), approval={"required": 1,
                                                                    "claim_ttl": 1})
    await call(client, a, "POST", f"/{task_id}/claim")
    await call(client, a, "POST", f"/{task_id}/release")
    ref = team.admin.ref(task_id)
    actor = Actor(channel="api", id=a.member.id, name=a.member.name)
    again = services.approvals.team.claim(ref, actor, ttl=3600)
    time.sleep(1.5)  # the first claim's timer is due: it finds another claim
    work_until(services, ref, lambda t: True)
    assert services.store.load(ref).claimed_by == again.claimed_by


async def test_the_default_answer_on_expiry(client: TestClient, team: Team,
                                            services: Services) -> None:
    task_id = await _new(client, team, team.assignees(), expires_in=60,
                         on_expiry={"complete_with": {"decision": "Reject"}})
    await respond(client, team.members[0], task_id, APPROVE)
    created_at = services.store.get(team.admin.org_id, task_id).created_at
    services.store.clock = lambda: created_at + timedelta(seconds=61)
    task = await call(client, team.admin, "GET", f"/{task_id}")
    assert (task["status"], task["outcome"]) == ("completed", "rejected")
    assert task["data"] == {"decision": "Reject"}
    assert task["completed_by"] == {"channel": "system", "id": "expiry",
                                    "name": "default on expiry"}


async def test_a_one_second_expiry_answers_by_default(client: TestClient, team: Team,
                                                       services: Services) -> None:
    # INLOOP_MIN_SCHEDULE_S lowers expires_in's minimum with the other timers'
    task_id = await _new(client, team, team.assignees(), expires_in=1,
                         on_expiry={"complete_with": {"decision": "Approve"}})
    task = work_until(services, team.admin.ref(task_id), lambda t: not t.open)
    assert (task.status, task.outcome, task.completed_by and task.completed_by.id) == (
        "completed", "approved", "expiry")


async def test_all_after_a_replacing_escalation_means_the_new_team(
        client: TestClient, team: Team, services: Services) -> None:
    a, b, c, d = team.members
    approval = {"required": "all", "decision_field": "decision", "reject_options": ["Reject"]}
    task_id = await _new(client, team, team.assignees(2), approval=approval,
                         escalate={"after": 1, "to": team.assignees(4)[2:], "mode": "replace"})
    await respond(client, a, task_id, APPROVE)
    work_until(services, team.admin.ref(task_id), lambda t: t.escalated_at is not None)
    assert (await respond(client, c, task_id, APPROVE))["status"] == "pending"  # d waits
    done = await respond(client, d, task_id, APPROVE)
    assert (done["status"], done["outcome"]) == ("completed", "approved")
    await respond(client, b, task_id, APPROVE, status=409)
