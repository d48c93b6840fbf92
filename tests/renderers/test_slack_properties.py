"""Every valid task renders within Block Kit limits, and answers survive a modal round trip."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.domain.fields import validate_answers
from api.domain.task import Task
from renderers.slack_home import home_view
from renderers.slack_message import outcome_message, task_message
from renderers.slack_modal import modal_view, needs_browser, parse_submission
from tests.renderers.conftest import NOW, make_task
from tests.renderers.slack_limits import assert_slack_limits
from tests.renderers.strategies import SLACK_KINDS, answers, task_bodies

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(st.data())
def test_every_surface_of_a_valid_task_is_within_limits(data: st.DataObject) -> None:
    task = make_task(data.draw(task_bodies(max_blocks=50)))  # a step holds 50 blocks
    given_answers = data.draw(answers(task.fields()))
    assert_slack_limits(task_message(task))
    for index in range(len(task.steps)):
        assert_slack_limits(modal_view(task, index, given_answers))
    assert_slack_limits(home_view([task, task]))
    for outcome in _outcomes(task, given_answers):
        assert_slack_limits(outcome_message(outcome))


def _outcomes(task: Task, data: dict[str, Any]) -> list[Task]:
    clean, _ = validate_answers(task.fields(), data)
    who = {"channel": "slack", "id": "U1", "name": task.title}
    changes: list[dict[str, Any]] = [
        {"status": "completed", "data": clean, "completed_at": NOW, "completed_by": who},
        {"status": "cancelled", "cancel_reason": task.title},
        {"status": "failed", "errors": [{"code": "expired", "message": task.title}]},
    ]
    return [Task.model_validate({**task.model_dump(), **change}) for change in changes]


def prefilled_state(view: dict[str, Any]) -> dict[str, Any]:
    """The `state.values` Slack sends when the person submits the prefilled inputs as is."""
    keys = {"plain_text_input": ("value", "initial_value"),
            "number_input": ("value", "initial_value"),
            "static_select": ("selected_option", "initial_option"),
            "radio_buttons": ("selected_option", "initial_option"),
            "checkboxes": ("selected_options", "initial_options"),
            "datepicker": ("selected_date", "initial_date"),
            "datetimepicker": ("selected_date_time", "initial_date_time")}
    state = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            element = block["element"]
            sent, initial = keys[element["type"]]
            default: list[Any] | None = [] if element["type"] == "checkboxes" else None
            state[block["block_id"]] = {element["action_id"]: {
                "type": element["type"], sent: element.get(initial, default)}}
    return state


def typed_state(view: dict[str, Any], task: Task, index: int, given: dict[str, Any]) -> dict:
    """The `state.values` Slack sends when the person enters `given` into an empty modal."""
    fields = {f.name: f for f in task.step_fields(index)}
    state = {}
    for block in (b for b in view["blocks"] if b["type"] == "input"):
        field = fields[block["block_id"].removeprefix("f:")]
        element = block["element"]
        state[block["block_id"]] = {"value": {"type": element["type"], **_typed(
            element, field.kind, given.get(field.name), field.options or [])}}
    return state


def _typed(element: dict[str, Any], kind: str, value: Any, options: list[str]) -> dict:
    from datetime import datetime

    if value is None:
        return {"selected_options": []} if element["type"] == "checkboxes" else {}
    if element["type"] in ("static_select", "radio_buttons"):
        position = value - 1 if kind == "rating" else options.index(value)
        return {"selected_option": element["options"][position]}
    if element["type"] == "checkboxes":
        return {"selected_options": element["options"] if value else []}
    if element["type"] == "datepicker":
        return {"selected_date": value}
    if element["type"] == "datetimepicker":
        return {"selected_date_time": int(datetime.fromisoformat(value).timestamp())}
    return {"value": repr(value) if isinstance(value, float) else str(value)}


@PROPERTY
@given(st.data())
def test_answers_survive_the_modal_round_trip(data: st.DataObject) -> None:
    task = make_task(data.draw(task_bodies(kinds=SLACK_KINDS, max_steps=2)))
    index = data.draw(st.integers(0, len(task.steps) - 1))
    fields = task.step_fields(index)
    given_answers = data.draw(answers(fields))
    expected, problems = validate_answers(fields, given_answers)
    assert problems == []
    view = modal_view(task, index, given_answers)
    assume("submit" in view)  # a step too big for Slack goes to the browser
    assert not needs_browser(task.steps[index])
    prefilled = parse_submission(task, index, prefilled_state(view))
    assert validate_answers(fields, prefilled) == (expected, [])
    empty = modal_view(task, index, {})
    typed = parse_submission(task, index, typed_state(empty, task, index, given_answers))
    assert validate_answers(fields, typed) == (expected, [])
