"""Step modals: structure, content, browser-only steps, budgets, submissions and errors."""

from __future__ import annotations

import json
from typing import Any

from api.domain.errors import Detail
from api.domain.fields import validate_answers
from api.domain.task import Task
from renderers.slack_ids import ACTION_WEB, CALLBACK_STEP
from renderers.slack_modal import modal_view, needs_browser, parse_submission, view_errors
from tests.renderers.conftest import TASK_REF, make_task, one_step_task
from tests.renderers.slack_limits import assert_slack_limits


def inputs(view: dict) -> list[dict]:
    return [b for b in view["blocks"] if b["type"] == "input"]


def texts(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_modal_frame(approval: Task) -> None:
    view = modal_view(approval, 0, {})
    assert view["type"] == "modal" and view["callback_id"] == CALLBACK_STEP
    assert json.loads(view["private_metadata"]) == {"ref": TASK_REF, "step": 0}
    assert view["title"]["text"] == "Approve deployment to p…"
    assert view["submit"]["text"] == "Submit" and view["close"]["text"] == "Cancel"
    assert view["blocks"][0] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Step 1 of 1"}]}
    assert view["blocks"][1]["type"] == "header"
    assert view["blocks"][1]["text"]["text"] == "Review and Approve"
    assert view["blocks"][2]["text"]["text"] == (
        "A new deployment is ready for *production*. Please review the changes and approve.")
    assert [b["block_id"] for b in inputs(view)] == ["f:decision", "f:comments"]
    assert_slack_limits(view)


def test_next_on_every_step_but_the_last(onboarding: Task) -> None:
    first = modal_view(onboarding, 0, {})
    assert first["submit"]["text"] == "Next"
    assert first["blocks"][0]["elements"][0]["text"] == "Step 1 of 3"


def test_answers_so_far_prefill_the_inputs(onboarding: Task) -> None:
    view = modal_view(onboarding, 0, {"full_name": "Zoë", "department": "HR"})
    name, department = inputs(view)
    assert name["element"]["initial_value"] == "Zoë"
    assert department["element"]["initial_option"]["text"]["text"] == "HR"


def test_a_step_with_a_file_or_signature_continues_in_the_browser(onboarding: Task) -> None:
    for index in (1, 2):
        view = modal_view(onboarding, index, {"full_name": "Zoë"})
        assert needs_browser(onboarding.steps[index])
        assert inputs(view) == [] and "submit" not in view
        assert view["close"]["text"] == "Close"
        button = view["blocks"][-1]["elements"][0]
        assert button["action_id"] == ACTION_WEB
        assert button["url"] == f"http://localhost:8000/t/l1?step={index + 1}"
        assert_slack_limits(view)
    assert "Signed Contract" in texts(modal_view(onboarding, 1, {}))
    assert ":information_source: Please upload" in texts(modal_view(onboarding, 1, {}))
    assert "Manager Signature" in texts(modal_view(onboarding, 2, {}))


def test_description_markdown_and_callouts_render_as_mrkdwn() -> None:
    task = one_step_task(
        {"type": "mdsvex", "content": "**Read** <Chart data={x} /> this & that"},
        {"type": "callout", "severity": "warning", "content": "> careful"},
        {"type": "callout", "severity": "error", "content": "Stop"},
        {"name": "a", "label": "A", "kind": "text"},
    )
    view = modal_view(task, 0, {})
    assert [b["text"]["text"] for b in view["blocks"][2:5]] == [
        "*Read*  this &amp; that", ":warning:\n> careful", ":rotating_light: Stop"]


def test_long_markdown_is_split_into_sections() -> None:
    paragraph = "word " * 500
    task = one_step_task({"type": "mdsvex", "content": "\n\n".join([paragraph] * 4)},
                         {"name": "a", "label": "A", "kind": "text"})
    sections = [b for b in modal_view(task, 0, {})["blocks"] if b["type"] == "section"]
    assert len(sections) == 4
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)


def test_too_much_text_is_cut_but_every_input_stays() -> None:
    blocks: list[dict[str, Any]] = []
    for i in range(25):
        blocks.append({"type": "mdsvex", "content": ("paragraph <&> " * 280 + "\n\n") * 5})
        blocks.append({"type": "input", "field": {"name": f"f{i}", "label": "L", "kind": "text"}})
    task = one_step_task(*blocks, description_mdsvex=None)
    view = modal_view(task, 0, {})
    assert len(inputs(view)) == 25
    assert "too long for Slack" in view["blocks"][-1]["elements"][0]["text"]
    assert_slack_limits(view)


def test_the_largest_step_renders_within_limits_and_stops_at_the_cut() -> None:
    # 49 blocks of 20 kB took ~2.8 s to convert on Slack's 3 s clock; once the text
    # budget is cut nothing more is converted, so nothing after the cut is shown either.
    paragraph = "Some **bold**, a [link](https://example.com/x) and `code` <&>. " * 40
    content = ((paragraph + "\n\n") * 20)[:20_000]
    blocks: list[dict[str, Any]] = [{"type": "mdsvex", "content": content}] * 48
    blocks.append({"type": "mdsvex", "content": "after the cut"})
    blocks.append({"type": "input", "field": {"name": "a", "label": "A", "kind": "text"}})
    view = modal_view(one_step_task(*blocks, description_mdsvex=content), 0, {})
    assert [b["block_id"] for b in inputs(view)] == ["f:a"]
    assert "after the cut" not in texts(view)
    assert "too long for Slack" in view["blocks"][-1]["elements"][0]["text"]
    assert_slack_limits(view)


def test_a_step_too_big_for_a_modal_goes_to_the_browser() -> None:
    options = [f"{'選択肢 ' * 70}{i}" for i in range(100)]
    fields = [{"name": f"f{i}", "label": "Pick", "kind": "select", "options": options}
              for i in range(50)]
    task = one_step_task(*fields)
    view = modal_view(task, 0, {})
    assert inputs(view) == [] and "submit" not in view
    assert "too large" in texts(view)
    assert_slack_limits(view)


def test_duplicate_field_names_in_a_step_render_once() -> None:
    task = one_step_task({"name": "a", "label": "A", "kind": "text"},
                         {"name": "a", "label": "Again", "kind": "text"})
    assert len(inputs(modal_view(task, 0, {}))) == 1


def test_parse_submission_gives_answers_validate_accepts(feedback: Task) -> None:
    state = {
        "f:role": {"value": {"type": "radio_buttons", "selected_option": {"value": "2"}}},
        "f:start_date": {"value": {"type": "datetimepicker", "selected_date_time": 1771934400}},
        "f:ease_of_use": {"value": {"type": "number_input", "value": "8"}},
        "f:overall_rating": {"value": {"type": "radio_buttons",
                                       "selected_option": {"value": "4"}}},
        "f:comments": {"value": {"type": "plain_text_input", "value": None}},
    }
    answers = parse_submission(feedback, 0, state)
    assert answers == {"role": "PM", "start_date": "2026-02-24T12:00:00+00:00",
                       "ease_of_use": 8, "overall_rating": 4}
    assert validate_answers(feedback.step_fields(0), answers) == (answers, [])


def test_parse_submission_ignores_missing_blocks(onboarding: Task) -> None:
    assert parse_submission(onboarding, 1, {}) == {}
    assert parse_submission(onboarding, 0, {"f:other": {"value": {"value": "x"}}}) == {}


def test_view_errors_map_details_to_block_ids() -> None:
    details = [Detail("data.decision", "this field is required"),
               {"loc": "data.comments", "msg": "must be text"},
               Detail("title", "not a field"),
               Detail("data.decision", "second message is dropped")]
    assert view_errors(details) == {"f:decision": "this field is required",
                                    "f:comments": "must be text"}


def test_many_steps_render_their_own_position() -> None:
    step = {"id": "s", "title": "S", "blocks": [{"type": "mdsvex", "content": "x"}]}
    task = make_task({"title": "Many", "steps": [step] * 20})
    view = modal_view(task, 19, {})
    assert view["blocks"][0]["elements"][0]["text"] == "Step 20 of 20"
    assert view["submit"]["text"] == "Submit"
