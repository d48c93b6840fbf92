"""Every renderer shows the extremes the models accept: dates in years 1000 and 9998 (with
offsets that put the UTC moment on the bound), range bounds of ±1e15 and steps of 1e-9,
ratings of 1 and 10."""

from __future__ import annotations

from typing import Any

import pytest

from api.domain.fields import validate_answers
from api.domain.task import Task
from api.web.pages import render_step
from renderers.pdf import task_pdf
from renderers.slack_home import home_view
from renderers.slack_message import outcome_message, task_message
from renderers.slack_modal import modal_view
from renderers.values import display_value
from tests.renderers.bounds import EXTREMES, INPUT_VALUES, SHOWN, body
from tests.renderers.conftest import NOW, make_task
from tests.renderers.html_tree import find, read
from tests.renderers.slack_limits import assert_slack_limits
from tests.renderers.test_pdf import text_of
from workers.sinks.email import email_message

ENDS = tuple(EXTREMES)


def at(end: str) -> tuple[Task, dict[str, Any]]:
    """The boundary task and its answers at `end`, as validation stores them."""
    task = make_task(body(end))
    clean, details = validate_answers(task.fields(), EXTREMES[end])
    assert details == []
    return task, clean


def done(task: Task, data: dict[str, Any]) -> Task:
    return Task.model_validate({**task.model_dump(), "status": "completed", "data": data,
                                "completed_at": NOW, "ended_at": NOW,
                                "completed_by": {"channel": "api", "id": "m", "name": "M"}})


@pytest.mark.parametrize("end", ENDS)
def test_the_web_form_holds_the_extremes(end: str) -> None:
    task, clean = at(end)
    elements = read(render_step(task, 0, clean, {}, csrf_token="t", action="/t/l1?step=1"))
    for name, value in INPUT_VALUES[end].items():
        (element,) = find(elements, "input", name=name)
        assert element.attrs["value"] == value, name
    (slider,) = find(elements, "input", name="fine")
    assert (slider.attrs["min"], slider.attrs["max"], slider.attrs["step"]) == (
        "0", "1", "0.000000001")


@pytest.mark.parametrize("end", ENDS)
def test_an_unanswered_form_at_the_bounds_opens(end: str) -> None:
    task, _ = at(end)
    elements = read(render_step(task, 0, {}, {}, csrf_token="t", action="/t/l1?step=1"))
    (wide,) = find(elements, "input", name="wide")
    assert wide.attrs["value"] == "0"  # the middle step


@pytest.mark.parametrize("end", ENDS)
def test_slack_surfaces_hold_the_extremes(end: str) -> None:
    task, clean = at(end)
    modal = modal_view(task, 0, clean)
    assert_slack_limits(modal)
    numbers = {b["block_id"]: b["element"] for b in modal["blocks"]
               if b.get("element", {}).get("type") == "number_input"}
    assert [e["initial_value"] for e in numbers.values()] == [
        INPUT_VALUES[end]["wide"], INPUT_VALUES[end]["fine"]]
    for surface in (task_message(task), outcome_message(done(task, clean)),
                    home_view([task])):
        assert_slack_limits(surface)


@pytest.mark.parametrize("end", ENDS)
def test_pdf_email_and_summaries_show_the_extremes(end: str) -> None:
    task, clean = at(end)
    ended = done(task, clean)
    shown = [display_value(f, clean[f.name]) for f in task.fields()]
    pdf_text = text_of(task_pdf(ended))
    mail = email_message(ended, "completed", sender="inloop@example.com",
                         to="ops@example.com", event_id="evt_1", pdf=b"%PDF")
    mail_text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for expected in SHOWN[end]:
        assert any(expected in s for s in shown), expected
        assert expected in pdf_text and expected in mail_text, expected
