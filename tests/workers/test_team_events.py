"""Sink events of team tasks, delivered to a real HTTP receiver: the ending event fires once
with `outcome` and `responses`; the opt-in `responded` event fires per response with its
own stable id."""

from __future__ import annotations

import json

from api.domain.approval import Actor
from api.domain.events import event_id
from api.runtime import Services
from api.store.deliveries import DeliveryLog
from api.store.history import HistoryLog
from tests.api.http.teams import APPROVE, make_team, team_task
from tests.conftest import AccountFactory
from tests.servers import SmtpServer
from tests.workers.conftest import Drain
from tests.workers.receiver import Receiver


def test_team_events_fire_once_with_outcome_and_per_response(
        services: Services, make_account: AccountFactory, receiver: Receiver,
        drain: Drain) -> None:
    team = make_team(make_account, size=3)
    sinks = [{"type": "webhook", "url": receiver.url, "events": ["completed", "responded"]},
             {"type": "webhook", "url": receiver.url}]  # the three ending events only
    principal = services.directory.authenticate(team.admin.token)
    created, _ = services.tasks.create(principal, team_task(team.assignees(), sinks=sinks))
    task = services.store.get(team.admin.org_id, created["task_id"])
    for member in team.members[:2]:
        actor = Actor(channel="api", id=member.member.id, name=member.member.name)
        services.approvals.respond(task, actor, APPROVE)
    drain(lambda: len(receiver.received) >= 4)
    bodies = [json.loads(r.body) for r in receiver.received]
    assert sorted(b["type"] for b in bodies) == ["task.completed", "task.completed",
                                                 "task.responded", "task.responded"]
    responded = sorted((b for b in bodies if b["type"] == "task.responded"),
                       key=lambda b: b["created_at"])
    assert [b["id"] for b in responded] == [event_id(task.ref, "responded:1"),
                                            event_id(task.ref, "responded:2")]
    assert [b["response"]["by"]["id"] for b in responded] == [
        m.member.id for m in team.members[:2]]
    completed = [b for b in bodies if b["type"] == "task.completed"]
    assert completed[0]["id"] == completed[1]["id"] == event_id(task.ref, "completed")
    assert completed[0]["task"]["outcome"] == "approved"
    assert len(completed[0]["task"]["responses"]) == 2
    ended = services.store.load(task.ref)
    listed = DeliveryLog(services.store).for_task(ended)
    assert [(d["event"], d["status"]) for d in listed] == [
        ("responded:1", "delivered"), ("responded:2", "delivered"),
        ("completed", "delivered"), ("completed", "delivered")]
    sinks_seen = [e.detail for e in HistoryLog(services.store).entries(ended)
                  if e.kind == "sink"]
    assert [(d["event"], d["status"]) for d in sinks_seen].count(("completed", "delivered")) == 2


def test_an_email_sink_mails_each_response(services: Services, make_account: AccountFactory,
                                           smtp_server: SmtpServer, drain: Drain) -> None:
    services.settings.smtp_url = smtp_server.url
    team = make_team(make_account, size=3)
    sinks = [{"type": "email", "to": "ops@example.com", "events": ["responded"]}]
    principal = services.directory.authenticate(team.admin.token)
    created, _ = services.tasks.create(principal, team_task(team.assignees(), sinks=sinks))
    task = services.store.get(team.admin.org_id, created["task_id"])
    first = team.members[0].member
    services.approvals.respond(task, Actor(channel="api", id=first.id, name=first.name),
                               APPROVE)
    drain(lambda: len(smtp_server.mailbox.messages) >= 1)
    [mail] = smtp_server.mailbox.messages
    assert mail["Subject"] == "Response: Ship the release"
    assert f"{first.name} responded (approve)." in mail.get_body(("plain",)).get_content()
    assert mail["Message-ID"] == f"<{event_id(task.ref, 'responded:1')}@inloop>"
