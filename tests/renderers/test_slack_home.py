"""The App Home tab."""

from __future__ import annotations

import json
from datetime import timedelta

from api.domain.task import Task
from renderers.slack_home import home_view
from renderers.slack_ids import ACTION_OPEN
from tests.renderers.conftest import NOW, example_task
from tests.renderers.slack_limits import assert_slack_limits


def at(task: Task, minutes: int, **change: object) -> Task:
    created = NOW + timedelta(minutes=minutes)
    return Task.model_validate({**task.model_dump(), "task_id": f"t{minutes}",
                                "created_at": created, **change})


def test_open_tasks_newest_first_each_with_an_open_button() -> None:
    base = example_task("hpi_feedback")
    tasks = [at(base, 1), at(base, 3, title="Newest <&>"), at(base, 2, status="in_progress"),
             at(base, 4, status="completed")]
    view = home_view(tasks)
    assert view["type"] == "home"
    rows = [b for b in view["blocks"] if b["type"] == "section"]
    assert [r["accessory"]["value"] for r in rows] == [tasks[i].ref for i in (1, 2, 0)]
    assert rows[0]["text"]["text"] == "*Newest &lt;&amp;&gt;*"
    assert {r["accessory"]["action_id"] for r in rows} == {ACTION_OPEN}
    assert_slack_limits(view)


def test_empty_state() -> None:
    view = home_view([at(example_task("hpi_approval"), 0, status="cancelled")])
    assert "Nothing is waiting for you" in json.dumps(view)
    assert_slack_limits(view)


def test_at_most_100_blocks() -> None:
    base = example_task("hpi_approval", due_at="2026-03-01T09:00:00Z")
    view = home_view([at(base, i) for i in range(200)])
    assert len(view["blocks"]) <= 100
    assert "155 more open tasks" in json.dumps(view)
    assert_slack_limits(view)
