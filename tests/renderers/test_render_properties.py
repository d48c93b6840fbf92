"""Any task the models accept (its markdown within the API's total), markdown written to be
slow to render included, renders on every surface without error and within a time budget:
the web form, the Slack message and modals (mrkdwn), the PDF and the email."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.domain.fields import validate_answers
from api.web.pages import render_step
from renderers.pdf import task_pdf
from renderers.slack_message import task_message
from renderers.slack_modal import modal_view
from tests.renderers.conftest import make_task
from tests.renderers.slack_limits import assert_slack_limits
from tests.renderers.strategies import answers, task_bodies
from tests.renderers.test_pdf import completed
from workers.sinks.email import email_message

# Each page, view, PDF or email; the slowest seen took about 0.5 s on a slow machine, and
# a page of pathological blocks took tens of seconds before its budget.
SURFACE_SECONDS = 3.0


def within_budget(render: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    result = render(*args, **kwargs)
    assert time.perf_counter() - started < SURFACE_SECONDS
    return result


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_every_surface_renders_any_accepted_task_in_time(data: st.DataObject) -> None:
    body = data.draw(task_bodies(max_steps=2, max_blocks=4, hostile=True))
    task = make_task(body)
    given_answers = data.draw(answers(task.fields()))
    for index in range(len(task.steps)):
        html = within_budget(render_step, task, index, given_answers, {}, csrf_token="t",
                             action="/a")
        assert html.rstrip().endswith("</html>")
        assert_slack_limits(within_budget(modal_view, task, index, given_answers))
    assert_slack_limits(within_budget(task_message, task))
    clean, problems = validate_answers(task.fields(), given_answers)
    assert problems == []
    done = completed(task, clean)
    assert within_budget(task_pdf, done).startswith(b"%PDF")
    email = within_budget(email_message, done, "completed", sender="inloop@example.com",
                          to="ops@example.com", event_id="e1")
    assert "The task was completed" in email.get_body(("plain",)).get_content()
