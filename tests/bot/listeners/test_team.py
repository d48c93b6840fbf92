"""Teams of approvers in Slack (issue 12) against the Slack stub and a real Valkey: a DM
per assignee, every message updated after each response, claim and release, reassign
through the overflow menu's modal, reminders in threads, and 50 assignees in limits."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from api.domain.approval import Actor
from api.runtime import Services
from api.settings import Settings
from api.store import keys
from bot.clients import web_client
from bot.listeners.home import pending_tasks
from renderers.slack_ids import (
    ACTION_CLAIM,
    ACTION_MENU,
    ACTION_OPEN,
    ACTION_RELEASE,
    CALLBACK_REASSIGN,
    REASSIGN_REASON,
    REASSIGN_TO,
    VALUE_ACTION,
    quick_value,
)
from tests.bot.conftest import Slack, until
from tests.conftest import Account
from tests.fixtures import example
from tests.renderers.slack_limits import assert_slack_limits
from tests.slack import ASSIGNEE, CHANNEL, Poster, quick_task
from tests.slack_stub import TOKEN, SlackStub
from workers.slack_delivery import Delivery
from workers.slack_notify import Threads

Jobs = Callable[[], Awaitable[int]]
User = tuple[str, str, str]
ALICE: User = ("UALICE", "alice@example.com", "alice")
BOB: User = ("UBOB", "bob@example.com", "bob")
CAROL: User = ("UCAROL", "carol@example.com", "carol")
DAVE: User = ("UDAVE", "dave@example.com", "dave")
DECIDE = {"decision_field": "decision", "reject_options": ["Reject"]}


@pytest.fixture
def settings(slack_settings: Settings) -> Settings:
    return slack_settings.model_copy(update={"min_schedule_s": 1})


@pytest.fixture
def team(services: Services, account: Account, slack_stub: SlackStub) -> list[dict[str, str]]:
    """Alice, Bob, Carol and Dave: members of the org and users of the Slack workspace;
    the assignees of Alice, Bob and Carol."""
    members = []
    for user in (ALICE, BOB, CAROL, DAVE):
        slack_stub.add_user(*user)
        member = services.directory.add_member(account.org_id, user[1], user[2].title())
        members.append({"member_id": member.id})
    return members[:3]


def dm(user: User) -> str:
    return "D" + user[0]


def message_in(stub: SlackStub, channel: str) -> dict[str, Any]:
    """The task's (top-level) message in `channel`, as it reads now."""
    [found] = [m for (c, _), m in stub.messages.items() if c == channel and m.get("blocks")]
    return found


def text_of(stub: SlackStub, channel: str) -> str:
    return json.dumps(message_in(stub, channel)["blocks"], ensure_ascii=False)


def action_ids(stub: SlackStub, channel: str) -> list[str]:
    blocks = message_in(stub, channel)["blocks"]
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def replies(stub: SlackStub, channel: str) -> list[str]:
    return [c.args["text"] for c in stub.of("chat.postMessage")
            if c.args.get("thread_ts") and c.args["channel"] == channel]


async def answer_by_modal(slack: Slack, user: User, ref: str, decision: str,
                          count: int) -> None:
    await slack.click(user, ACTION_OPEN, ref, channel=dm(user))
    view = await slack.opened_view(count)
    assert await slack.submit(user, view, {"decision": decision}) == {}


async def test_two_of_three_through_modals_updates_every_message(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        account: Account, team: list[dict[str, str]], jobs: Jobs) -> None:
    ref = await post_task(example("hpi_approval"), assignees=team,
                          approval={"required": 2, **DECIDE})
    people = (ALICE, BOB, CAROL)
    assert sorted(c.args["channel"] for c in slack_stub.of("chat.postMessage")) == sorted(
        dm(u) for u in people)
    for user in people:
        assert "*0 of 2 approvals*" in text_of(slack_stub, dm(user))
        assert f"*From:* {account.member.name}" in text_of(slack_stub, dm(user))  # not an id

    await answer_by_modal(slack, ALICE, ref, "Approve", 1)
    await jobs()
    assert services.store.load(ref).status == "pending"
    assert "You approved — waiting for 1 more" in text_of(slack_stub, dm(ALICE))
    assert ACTION_OPEN not in action_ids(slack_stub, dm(ALICE))
    for user in (BOB, CAROL):
        assert "✅ Alice · ⏳ Bob · ⏳ Carol" in text_of(slack_stub, dm(user))
        assert "*1 of 2 approvals*" in text_of(slack_stub, dm(user))
        assert ACTION_OPEN in action_ids(slack_stub, dm(user))
    updates = len(slack_stub.of("chat.update"))
    assert updates >= 3

    await answer_by_modal(slack, BOB, ref, "Approve", 2)
    await jobs()
    task = services.store.load(ref)
    assert (task.status, task.outcome) == ("completed", "approved")
    assert len(slack_stub.of("chat.update")) >= updates + 3
    for user in people:
        text = text_of(slack_stub, dm(user))
        assert ":white_check_mark: Approved by" in text and "✅ Alice · ✅ Bob · ⏳ Carol" in text
        assert not action_ids(slack_stub, dm(user))


async def test_a_reject_ends_the_task_at_once(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]], jobs: Jobs) -> None:
    ref = await post_task(quick_task(assignees=team, approval={"required": 2, **DECIDE},
                                     slack_channel="ops"))
    assert "*0 of 2 approvals*" in text_of(slack_stub, CHANNEL[1])
    assert action_ids(slack_stub, dm(ALICE))[:2] == ["inloop_quick:0", "inloop_quick:1"]
    await slack.click(ALICE, "inloop_quick:1", quick_value(ref, 1), channel=dm(ALICE))
    await jobs()
    task = services.store.load(ref)
    assert (task.status, task.outcome) == ("completed", "rejected")
    for channel in (dm(ALICE), dm(BOB), dm(CAROL), CHANNEL[1]):
        assert ":x: Rejected by *alice*" in text_of(slack_stub, channel)
        assert ACTION_CLAIM not in action_ids(slack_stub, channel)
    assert replies(slack_stub, CHANNEL[1]) == ["Alice rejected · *0 of 2 approvals*"]
    await slack.click(BOB, "inloop_quick:0", quick_value(ref, 0), channel=dm(BOB))
    (note,) = await slack_stub.wait_for("response_url", 1)
    assert note.args["text"].startswith("Already completed by alice")


async def test_claim_and_release_by_buttons(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]], jobs: Jobs) -> None:
    ref = await post_task(quick_task(assignees=team[:2], approval={"required": 1, **DECIDE}))
    assert ACTION_CLAIM in action_ids(slack_stub, dm(ALICE))
    await slack.click(ALICE, ACTION_CLAIM, ref, channel=dm(ALICE))
    await until(lambda: services.store.load(ref).status == "in_progress")
    await jobs()
    assert "Claimed by *alice*" in text_of(slack_stub, dm(BOB))
    assert "inloop_quick:0" not in action_ids(slack_stub, dm(BOB))
    assert ACTION_RELEASE in action_ids(slack_stub, dm(ALICE))
    assert [t.ref for t in pending_tasks(services, BOB[0])] == [ref]  # App Home lists it

    # Bob's stale buttons (or his own Release) change nothing while Alice holds the claim
    await slack.click(BOB, "inloop_quick:0", quick_value(ref, 0), channel=dm(BOB))
    await slack.click(BOB, ACTION_RELEASE, ref, channel=dm(BOB))
    notes = await slack_stub.wait_for("response_url", 2)
    assert all("claimed by alice" in n.args["text"] for n in notes)
    assert services.store.load(ref).status == "in_progress"

    await slack.click(ALICE, ACTION_RELEASE, ref, channel=dm(ALICE))
    await until(lambda: services.store.load(ref).status == "pending")
    await jobs()
    assert "inloop_quick:0" in action_ids(slack_stub, dm(BOB))
    assert "Claimed by" not in text_of(slack_stub, dm(BOB))


async def test_reassign_through_the_overflow_modal(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]], jobs: Jobs) -> None:
    ref = await post_task(quick_task(assignees=team[:2], approval={"required": 2, **DECIDE}))
    payload = slack.click_payload(ALICE, ACTION_MENU, "", channel=dm(ALICE))
    (menu,) = [e for b in message_in(slack_stub, dm(ALICE))["blocks"]
               if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ACTION_MENU]
    payload["actions"] = [{"action_id": ACTION_MENU, "block_id": "b", "type": "overflow",
                           "selected_option": menu["options"][0],
                           "action_ts": str(time.time())}]
    assert (await slack.interact(payload)).status == 200
    view = await slack.opened_view(callback_id=CALLBACK_REASSIGN)
    assert [b.get("block_id") for b in view["blocks"]][1:] == [REASSIGN_TO, REASSIGN_REASON]
    submission = slack.submission(ALICE, view, {})
    submission["view"]["state"]["values"] = {
        REASSIGN_TO: {VALUE_ACTION: {"type": "users_select", "selected_user": DAVE[0]}},
        REASSIGN_REASON: {VALUE_ACTION: {"type": "plain_text_input", "value": "on leave"}}}
    response = await slack.interact(submission)
    assert response.status == 200 and await response.text() == ""
    task = services.store.load(ref)
    assert [a.name for a in task.assignees] == ["Dave", "Bob"]
    await jobs()
    assert "Reassigned to Dave by alice" in text_of(slack_stub, dm(ALICE))
    assert not action_ids(slack_stub, dm(ALICE))
    assert "inloop_quick:0" in action_ids(slack_stub, dm(DAVE))  # Dave is told by a DM
    assert replies(slack_stub, dm(ALICE)) == [
        ":arrow_right: Reassigned to <@UDAVE> by alice (on leave)."]
    # Alice's old buttons answer nothing now
    await slack.click(ALICE, "inloop_quick:0", quick_value(ref, 0), channel=dm(ALICE))
    await slack_stub.wait_for("response_url", 1)
    assert services.store.load(ref).responses == []


async def test_a_reminder_is_a_thread_reply_mentioning_who_waits(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]], jobs: Jobs) -> None:
    ref = await post_task(quick_task(assignees=team, approval={"required": 2, **DECIDE},
                                     slack_channel="ops", remind={"after": 1, "max": 1}))
    await slack.click(ALICE, "inloop_quick:0", quick_value(ref, 0), channel=dm(ALICE))
    await jobs()
    run_timers(services)
    await jobs()
    assert services.store.load(ref).reminders_sent == 1
    (reminder,) = [r for r in replies(slack_stub, CHANNEL[1]) if "Reminder" in r]
    assert "<@UBOB>, <@UCAROL>" in reminder and "UALICE" not in reminder
    assert [r for r in replies(slack_stub, dm(BOB)) if "<@UBOB>" in r]
    assert not replies(slack_stub, dm(ALICE))  # she has responded
    threads = {c.args["thread_ts"] for c in slack_stub.of("chat.postMessage")
               if c.args.get("thread_ts")}
    parents = {m.ts for m in services.store.load(ref).external_message_ids}
    assert threads <= parents


def run_timers(services: Services) -> None:
    """Run the timers due by now (a worker with its scheduler, in burst mode)."""
    time.sleep(2.1)  # due 1 s after they were set; RQ schedules on whole seconds
    worker = SimpleWorker([services.jobs["expiry"]], connection=services.redis,
                          serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=True)


async def test_an_escalation_adds_a_dm_and_replies_in_every_thread(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]], account: Account, jobs: Jobs) -> None:
    dave = services.directory.member_by_email(account.org_id, DAVE[1])
    assert dave is not None
    ref = await post_task(quick_task(assignees=team[:2], approval={"required": 2, **DECIDE},
                                     escalate={"after": 1, "to": [{"member_id": dave.id}]}))
    run_timers(services)
    await jobs()
    assert services.store.load(ref).escalated_at is not None
    assert "inloop_quick:0" in action_ids(slack_stub, dm(DAVE))
    assert "⏳ Dave" in text_of(slack_stub, dm(ALICE))
    for user in (ALICE, BOB):
        assert replies(slack_stub, dm(user)) == [
            ":rotating_light: Escalated: <@UDAVE> now asked to answer."]
    assert not replies(slack_stub, dm(DAVE))


async def test_who_cancelled_shows_on_every_message(
        post_task: Poster, slack_stub: SlackStub, client: TestClient, account: Account,
        team: list[dict[str, str]], jobs: Jobs) -> None:
    await post_task(quick_task(assignees=team[:2], slack_channel="ops"))
    listed = await (await client.get("/api/v1/tasks", headers=account.headers)).json()
    [task] = listed["tasks"]
    response = await client.post(f"/api/v1/tasks/{task['task_id']}/cancel",
                                 json={"reason": "not needed"}, headers=account.headers)
    assert response.status == 200, await response.text()
    await jobs()
    for channel in (dm(ALICE), dm(BOB), CHANNEL[1]):
        assert f"Cancelled by *{account.member.name}*" in text_of(slack_stub, channel)
        assert not action_ids(slack_stub, channel)


async def test_fifty_assignees_stay_within_slack_limits(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        account: Account, jobs: Jobs) -> None:
    people = []
    for i in range(50):
        user = (f"U{i:04d}X", f"person{i}@example.com", f"person{i}")
        slack_stub.add_user(*user)
        member = services.directory.add_member(
            account.org_id, user[1], f"Person {i} with a rather long name <&> " + "é" * 120)
        people.append(({"member_id": member.id}, user))
    ref = await post_task(quick_task(assignees=[p for p, _ in people],
                                     approval={"required": 50, **DECIDE},
                                     slack_channel="ops"))
    assert len(slack_stub.of("chat.postMessage")) == 51
    await slack.click(people[0][1], "inloop_quick:0", quick_value(ref, 0),
                      channel=dm(people[0][1]))
    await jobs()
    assert len(slack_stub.of("chat.update")) >= 51
    for channel in (CHANNEL[1], dm(people[0][1]), dm(people[1][1])):
        message = message_in(slack_stub, channel)
        assert_slack_limits({"text": message["text"], "blocks": message["blocks"]})
    assert " more" in text_of(slack_stub, CHANNEL[1])
    assert "*1 of 50 approvals*" in text_of(slack_stub, CHANNEL[1])
    assert not services.store.load(ref).delivery_problems


async def test_a_task_posted_before_teams_still_answers_for_its_assignee(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    """Its Slack assignee was kept in the older `slack-user` key only."""
    ref = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    services.redis.delete(keys.task_slack_assignees(ref))
    await slack.click(ASSIGNEE, "inloop_quick:0", quick_value(ref, 0), channel=dm(ASSIGNEE))
    (refused,) = await slack_stub.wait_for("response_url")
    assert refused.args["text"] == "This task is not assigned to you, so nothing was changed."
    services.redis.set(keys.task_slack_user(ref), ASSIGNEE[0])
    await slack.click(ASSIGNEE, "inloop_quick:0", quick_value(ref, 0), channel=dm(ASSIGNEE))
    await until(lambda: services.store.load(ref).status == "completed")


async def test_a_response_while_posting_shows_on_every_message(
        client: TestClient, account: Account, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]]) -> None:
    """Alice answers right after her DM is posted, before the task records it (so the
    response enqueues no update): the delivery itself brings every DM up to date."""
    body = quick_task(assignees=team, approval={"required": 2, **DECIDE})
    created = await (await client.post("/api/v1/tasks", json=body,
                                       headers=account.headers)).json()
    ref = account.ref(created["task_id"])
    slack_client = web_client(services.settings, TOKEN)
    post = slack_client.chat_postMessage

    def post_then_answer(**message: Any) -> Any:
        posted = post(**message)
        if not services.store.load(ref).responses:
            alice = Actor(channel="api", id=team[0]["member_id"], name="Alice")
            services.approvals.respond(services.store.load(ref), alice, {"decision": "Approve"})
        return posted

    slack_client.chat_postMessage = post_then_answer  # type: ignore[method-assign]
    Delivery(services, slack_client).deliver(ref)
    for user in (ALICE, BOB, CAROL):
        assert "*1 of 2 approvals*" in text_of(slack_stub, dm(user))


async def test_a_task_that_never_went_to_slack_is_not_notified_there(
        client: TestClient, account: Account, slack_stub: SlackStub, services: Services,
        team: list[dict[str, str]]) -> None:
    created = await (await client.post("/api/v1/tasks", json=quick_task(assignees=team),
                                       headers=account.headers)).json()
    ref = account.ref(created["task_id"])  # its delivery job never ran (Slack off then)
    detail = {"added": [{"email": DAVE[1], "name": "Dave"}], "removed": []}
    threads = Threads(Delivery(services, web_client(services.settings, TOKEN)))
    assert threads.notify(ref, "escalated", detail) == "escalated: the task is not in Slack"
    assert not slack_stub.calls and not services.store.load(ref).delivery_problems
