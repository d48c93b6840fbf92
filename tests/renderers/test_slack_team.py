"""Team tasks' Slack messages (issue 12): one per reader, progress, claim, reassign."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from api.domain.approval import Actor, Assignee, Claim, Response
from api.domain.task import Task
from renderers.slack_ids import (
    ACTION_CLAIM,
    ACTION_LINK,
    ACTION_MENU,
    ACTION_OPEN,
    ACTION_RELEASE,
    ReassignOf,
)
from renderers.slack_message import outcome_message, task_message
from renderers.slack_team import Audience, moved_note, progress_line
from renderers.slack_threads import (
    people,
    progress_text,
    reassign_view,
    reassigned_text,
    reminder_text,
)
from tests.renderers.conftest import NOW, make_task
from tests.renderers.slack_limits import assert_slack_limits

NAMES = ["Alice", "Bob", "Carol"]


def team_task(names: list[str] = NAMES, required: int | str = 2, **lifecycle: Any) -> Task:
    field = {"name": "decision", "label": "Decision", "kind": "radio", "required": True,
             "options": ["Approve", "Reject"]}
    body = {"title": "Ship it?", "steps": [{"id": "s", "title": "Decide", "blocks": [
        {"type": "input", "field": field}]}],
        "approval": {"required": required, "decision_field": "decision",
                     "reject_options": ["Reject"]}}
    people = [Assignee(member_id=f"m{i}", email=f"{n.lower()}@example.com", name=n)
              for i, n in enumerate(names)]
    return make_task(body, assignees=people, team=True, **lifecycle)


def response(index: int, decision: str = "approve", name: str | None = None) -> Response:
    return Response(by=Actor(channel="slack", id=f"m{index}", name=name or NAMES[index]),
                    data={"decision": "Approve" if decision == "approve" else "Reject"},
                    at=NOW + timedelta(minutes=index), decision=decision,  # type: ignore[arg-type]
                    assignee=f"member:m{index}")


def reader(index: int) -> Audience:
    return Audience(assignee=f"member:m{index}", user=f"U{index}", creator="Grace")


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def texts(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_a_channel_message_counts_approvals_and_names_who_waits() -> None:
    task = team_task(slack_channel="ops")
    message = task_message(task, Audience(channel=True))
    assert "*0 of 2 approvals*" in texts(message)
    assert "⏳ Alice · ⏳ Bob · ⏳ Carol" in texts(message)
    ids = [e["action_id"] for e in elements(message)]
    assert ids == ["inloop_quick:0", "inloop_quick:1", ACTION_LINK, ACTION_CLAIM, ACTION_MENU]
    assert task.url not in texts(message)  # the link answers the task: told privately
    assert task.url in texts(task_message(task, reader(0)))  # an assignee's DM keeps it
    assert_slack_limits(message)


def test_after_a_response_each_reader_sees_their_own_view() -> None:
    task = team_task(responses=[response(0)])
    alice, bob = task_message(task, reader(0)), task_message(task, reader(1))
    assert "You approved — waiting for 1 more" in texts(alice)
    assert "✅ Alice · ⏳ Bob · ⏳ Carol" in texts(alice) and "*1 of 2 approvals*" in texts(bob)
    assert not any(e["action_id"].startswith("inloop_quick") for e in elements(alice))
    assert [e["action_id"] for e in elements(bob)][:2] == ["inloop_quick:0", "inloop_quick:1"]
    assert "You approved" not in texts(bob)
    assert "*From:* Grace" in texts(bob)  # the creator's name, not the member id
    for message in (alice, bob):
        assert_slack_limits(message)


def test_a_form_task_keeps_open_form_for_who_has_not_answered() -> None:
    body = {"title": "Form", "steps": [{"id": "s", "title": "S", "blocks": [
        {"type": "input", "field": {"name": "a", "label": "A", "kind": "text"}}]}]}
    people = [Assignee(member_id="m0", name="Alice"), Assignee(member_id="m1", name="Bob")]
    task = make_task(body, assignees=people, team=True, approval={"required": "all"})
    message = task_message(task, reader(1))
    assert elements(message)[0]["action_id"] == ACTION_OPEN
    assert "*0 of 2 responses*" in texts(message)


def test_claim_and_release_on_a_task_one_of_several_answers() -> None:
    assert ACTION_CLAIM in [e["action_id"] for e in elements(
        task_message(team_task(required=1), reader(0)))]
    claimed = team_task(required=1, status="in_progress",
                        claimed_by=Claim(id="m1", name="Bob", at=NOW))
    alice, bob, channel = (task_message(claimed, reader(0)), task_message(claimed, reader(1)),
                           task_message(claimed.model_copy(update={"slack_channel": "ops"})))
    assert "Claimed by *Bob*" in texts(alice)
    assert [e["action_id"] for e in elements(alice)] == ["inloop_web", ACTION_MENU]
    assert [e["action_id"] for e in elements(bob)][-2:] == [ACTION_RELEASE, ACTION_MENU]
    assert "inloop_quick:0" in [e["action_id"] for e in elements(bob)]
    assert ACTION_RELEASE in [e["action_id"] for e in elements(channel)]
    for message in (alice, bob, channel):
        assert_slack_limits(message)


def test_two_required_has_no_claim() -> None:
    ids = [e["action_id"] for e in elements(task_message(team_task(), reader(0)))]
    assert ACTION_CLAIM not in ids and ACTION_MENU in ids


def test_fifty_assignees_stay_within_slack_limits() -> None:
    names = [f"Person {i} " + "ü<&>" * 60 for i in range(50)]
    task = team_task(names, required=50, responses=[
        response(i, name=names[i]) for i in range(3)])
    message = task_message(task, Audience(assignee="member:m1", user="U1",
                                          creator="x" * 300))
    assert_slack_limits(message)
    line = progress_line(task)
    assert line.endswith(" more") and "+" in line and len(line) < 1300
    ended = task.model_copy(update={"status": "completed", "outcome": "approved",
                                    "data": {"decision": "Approve"}})
    assert_slack_limits(outcome_message(ended, Audience(assignee="member:m0")))


def test_an_ended_task_shows_the_outcome_and_everyone() -> None:
    rejected = team_task(status="completed", outcome="rejected",
                         responses=[response(0), response(1, "reject")],
                         completed_at=NOW, data={"decision": "Reject"},
                         completed_by={"channel": "slack", "id": "m1", "name": "Bob"})
    message = outcome_message(rejected, reader(2))
    assert ":x: Rejected by *Bob*" in texts(message)
    assert "✅ Alice · ❌ Bob · ⏳ Carol" in texts(message)
    assert not elements(message)
    assert_slack_limits(message)


def test_who_cancelled_is_shown() -> None:
    cancelled = team_task(status="cancelled", cancel_reason="not needed", ended_at=NOW,
                          cancelled_by=Actor(channel="api", id="m9", name="Grace <&>"))
    assert "Cancelled by *Grace &lt;&amp;&gt;*" in texts(outcome_message(cancelled))


def test_a_reassigned_reader_sees_where_their_place_went() -> None:
    task = team_task()
    note = moved_note("Dave", "Alice")
    for message in (task_message(task, Audience(assignee="member:m0", moved=note)),
                    outcome_message(task.model_copy(update={"status": "cancelled"}),
                                    Audience(assignee="member:m0", moved=note))):
        assert "Reassigned to Dave by Alice" in texts(message)
        assert not elements(message)
        assert_slack_limits(message)


def test_thread_replies_escape_names_and_mention_only_slack_ids() -> None:
    task = team_task(responses=[response(0)])
    reminder = reminder_text(task, ["UBOB", "<!channel>"], ["<!here> Carol"])
    assert reminder.startswith(":bell: Reminder: *Ship it?* is waiting for <@UBOB>, ")
    assert "&lt;!here&gt; Carol" in reminder and "<!channel>" not in reminder
    assert reminder.endswith("*1 of 2 approvals* so far.")
    many = people([f"U{i:04d}" for i in range(60)])
    assert many.count("<@") == 50 and many.endswith(" +10 more")
    assert progress_text(task, task.responses[0], "Alice") == "Alice approved · *1 of 2 approvals*"
    assert reassigned_text("<@UDAVE>", "a<b", "<!channel>") == (
        ":arrow_right: Reassigned to <@UDAVE> by a&lt;b (&lt;!channel&gt;).")


def test_the_reassign_modal_is_within_limits() -> None:
    view = reassign_view(team_task())
    assert_slack_limits(view)
    assert ReassignOf.model_validate_json(view["private_metadata"]).ref == team_task().ref
