"""Task messages: form and quick tasks, and the outcome that replaces their buttons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.domain.task import Task
from renderers.slack_ids import ACTION_LINK, ACTION_OPEN, ACTION_WEB, is_quick
from renderers.slack_message import is_quick_task, option_style, outcome_message, task_message
from renderers.slack_team import Audience
from tests.renderers.conftest import NOW, TASK_REF, example_task, one_step_task
from tests.renderers.slack_limits import assert_slack_limits


def quick(options: list[str], *extra: dict[str, Any], **task: Any) -> Task:
    field = {"name": "answer", "label": "Go?", "kind": "radio", "options": options,
             "required": True}
    return one_step_task(*extra, field, **task)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_form_task_message(approval: Task) -> None:
    message = task_message(approval)
    assert message["text"] == "New task: Approve deployment to production"
    assert message["blocks"][0]["text"]["text"] == "Approve deployment to production"
    open_form, browser = buttons(message)
    assert open_form == {"type": "button", "action_id": ACTION_OPEN, "value": TASK_REF,
                         "style": "primary",
                         "text": {"type": "plain_text", "text": "Open form", "emoji": True}}
    assert browser["action_id"] == ACTION_WEB and browser["url"] == approval.url
    assert browser["text"]["text"] == "Open in browser"
    assert_slack_limits(message)


def test_details_show_priority_due_date_requester_and_assignee() -> None:
    task = one_step_task({"name": "a", "label": "A", "kind": "text"},
                         instructions_mdsvex="Please **check** <&>", priority="urgent",
                         due_at="2026-03-01T09:00:00Z", assignee_name="Zoë <&>")
    blocks = task_message(task)["blocks"]
    assert blocks[1]["text"]["text"] == "Please *check* &lt;&amp;&gt;"
    details = [e["text"] for e in blocks[2]["elements"]]
    due = "<!date^1772355600^{date_short_pretty} {time}|2026-03-01T09:00+00:00>"
    assert details == ["*Priority:* :red_circle: Urgent", f"*Due:* {due}", "*From:* m1",
                       "*For:* Zoë &lt;&amp;&gt;"]


def test_long_instructions_are_cut_with_a_link_to_the_browser() -> None:
    task = one_step_task({"name": "a", "label": "A", "kind": "text"},
                         instructions_mdsvex=("word " * 550 + "\n\n") * 7)
    blocks = task_message(task)["blocks"]
    assert [b["type"] for b in blocks[1:6]] == ["section"] * 4 + ["context"]
    assert "continued in <http://localhost:8000/t/l1|the browser>" in json.dumps(blocks)


@pytest.mark.parametrize("kind", ["form", "quick"])
def test_a_channel_message_holds_no_link_to_the_form(kind: str) -> None:
    more = {"instructions_mdsvex": ("word " * 550 + "\n\n") * 7}
    task = quick(["Yes", "No"], **more) if kind == "quick" else one_step_task(
        {"name": "a", "label": "A", "kind": "text"}, **more)
    message = task_message(task, Audience(channel=True))
    browser = buttons(message)[-1]
    assert browser["action_id"] == ACTION_LINK and browser["value"] == TASK_REF
    assert browser["text"]["text"] == "Open in browser" and "url" not in browser
    assert task.url not in json.dumps(message) and "continued in the form" in json.dumps(message)
    assert_slack_limits(message)


@pytest.mark.parametrize(
    ("option", "style"),
    [("Approve", "primary"), ("yes, ship it", "primary"), ("Accept", "primary"),
     ("LGTM", "primary"), ("Reject", "danger"), ("No", "danger"), ("Deny access", "danger"),
     ("Decline", "danger"), ("Maybe", None), ("Nobody", None), ("Later", None)],
)
def test_option_style(option: str, style: str | None) -> None:
    assert option_style(option) == style


def test_quick_task_has_one_button_per_option() -> None:
    task = quick(["Approve", "Reject", "Ask later"],
                 {"type": "callout", "severity": "warning", "content": "Prod **deploy**"})
    assert is_quick_task(task)
    message = task_message(task)
    approve, reject, later, browser = buttons(message)
    assert [b["action_id"] for b in (approve, reject, later)] == [
        "inloop_quick:0", "inloop_quick:1", "inloop_quick:2"]
    assert all(is_quick(b["action_id"]) for b in (approve, reject, later))
    assert [json.loads(b["value"]) for b in (approve, reject)] == [
        {"t": TASK_REF, "o": 0}, {"t": TASK_REF, "o": 1}]
    assert approve["style"] == "primary" and "confirm" not in approve
    assert reject["style"] == "danger" and reject["confirm"]["confirm"]["text"] == "Reject"
    assert "style" not in later
    assert browser["action_id"] == ACTION_WEB
    rendered = json.dumps(message["blocks"])
    assert ":warning: Prod *deploy*" in rendered and "*Go?*" in rendered
    assert_slack_limits(message)


def test_quick_task_shows_the_step_title_and_description() -> None:
    # No modal opens for a quick task: what the step says must be in the message.
    task = quick(["Approve", "Reject"], title="Migrate the database")
    task.steps[0].title = "Review the migration"
    task.steps[0].description_mdsvex = "**Risk:** drops table users & more"
    rendered = json.dumps(task_message(task)["blocks"], ensure_ascii=False)
    assert "*Review the migration*" in rendered
    assert "*Risk:* drops table users &amp; more" in rendered
    assert rendered.index("Risk") < rendered.index("*Go?*")
    assert_slack_limits(task_message(task))


def test_a_quick_step_titled_like_its_task_is_not_repeated() -> None:
    task = quick(["Yes", "Maybe"], title="Step one")
    assert json.dumps(task_message(task)["blocks"]).count("Step one") == 1


def test_quick_buttons_sit_side_by_side_with_unique_action_ids() -> None:
    actions = [b for b in task_message(quick(["Yes", "No"]))["blocks"] if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [3]
    ids = [e["action_id"] for e in actions[0]["elements"]]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "task",
    [
        quick(["1", "2", "3", "4", "5", "6"]),
        one_step_task({"name": "a", "label": "A", "kind": "select", "options": ["x"]}),
        one_step_task({"name": "a", "label": "A", "kind": "checkbox", "required": True}),
        one_step_task({"name": "a", "label": "A", "kind": "select", "options": ["x"],
                       "required": True}, {"name": "b", "label": "B", "kind": "text"}),
    ],
)
def test_not_quick(task: Task) -> None:
    assert not is_quick_task(task)
    assert buttons(task_message(task))[0]["action_id"] == ACTION_OPEN


def test_the_examples_are_form_tasks() -> None:
    assert not any(is_quick_task(example_task(n))
                   for n in ("hpi_approval", "hpi_feedback", "hpi_onboarding"))


def test_completed_outcome_summarises_answers_without_buttons(feedback: Task) -> None:
    task = Task.model_validate({
        **feedback.model_dump(), "status": "completed", "completed_at": NOW,
        "completed_by": {"channel": "slack", "id": "U1", "name": "Zoë <&>"},
        "data": {"role": "PM", "start_date": "2026-02-20T08:30:00+00:00", "ease_of_use": 8,
                 "overall_rating": 4}})
    message = outcome_message(task)
    rendered = json.dumps(message["blocks"], ensure_ascii=False)
    assert not buttons(message)
    assert ("Completed by *Zoë &lt;&amp;&gt;* "
            "<!date^1771934400^{date_short_pretty} {time}|2026-02-24T12:00+00:00>") in rendered
    for line in ("*Your Role:* PM", "*Ease of Use:* 8", "*Overall Rating:* ★★★★☆ (4/5)",
                 "*When did you start using the product?:* 20 February 2026, 08:30 UTC"):
        assert line in rendered
    assert "Additional Comments" not in rendered
    assert message["text"] == "Product Feedback: completed"
    assert_slack_limits(message)


def test_cancelled_outcome_shows_the_reason(approval: Task) -> None:
    task = Task.model_validate({**approval.model_dump(), "status": "cancelled",
                                "cancel_reason": "Superseded by <#2>"})
    message = outcome_message(task)
    assert not buttons(message)
    assert message["blocks"][1]["text"]["text"] == (
        ":no_entry_sign: Cancelled\n*Reason:* Superseded by &lt;#2&gt;")


@pytest.mark.parametrize(("code", "status"), [("expired", ":hourglass: Expired"),
                                               ("delivery_failed", ":warning: Failed")])
def test_failed_and_expired_outcomes_show_errors(approval: Task, code: str, status: str) -> None:
    task = Task.model_validate({**approval.model_dump(), "status": "failed",
                                "errors": [{"code": code, "message": "No answer in time"}]})
    message = outcome_message(task)
    assert not buttons(message)
    assert message["blocks"][1]["text"]["text"] == f"{status}\n• {code}: No answer in time"


@pytest.mark.parametrize(("change", "status"), [
    ({"status": "cancelled"}, ":no_entry_sign: Cancelled"),
    ({"status": "failed", "errors": [{"code": "expired", "message": "late"}]},
     ":hourglass: Expired"),
    ({"status": "failed", "errors": [{"code": "x", "message": "y"}]}, ":warning: Failed"),
])
def test_cancelled_and_failed_outcomes_say_when(approval: Task, change: dict[str, Any],
                                               status: str) -> None:
    task = Task.model_validate({**approval.model_dump(), **change, "ended_at": NOW})
    text = outcome_message(task)["blocks"][1]["text"]["text"]
    stamp = int(NOW.timestamp())
    assert text.startswith(f"{status} <!date^{stamp}^{{date_short_pretty}} {{time}}|")


def test_a_pending_task_keeps_its_message(approval: Task) -> None:
    assert outcome_message(approval) == task_message(approval)


def test_a_huge_summary_is_cut() -> None:
    fields = [{"name": f"f{i}", "label": "L" * 200, "kind": "textarea"} for i in range(50)]
    steps = [{"id": f"s{j}", "title": "S", "blocks": [{"type": "input", "field": f}
                                                      for f in fields]} for j in range(2)]
    base = example_task("hpi_approval").model_dump()
    task = Task.model_validate({
        **base, "steps": steps, "status": "completed", "completed_at": NOW,
        "completed_by": {"channel": "web", "id": "x", "name": "X"},
        "data": {f"f{i}": "<&>" * 1000 for i in range(50)}})
    message = outcome_message(task)
    assert "more answers" in json.dumps(message["blocks"])
    assert_slack_limits(message)
