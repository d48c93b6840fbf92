"""The HPI documentation examples against reviewed outputs in golden/.

Run with UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from api.domain.task import Task
from api.web.pages import render_step
from renderers.slack_message import task_message
from renderers.slack_modal import modal_view
from tests.fixtures import EXAMPLES
from tests.renderers.conftest import example_task

GOLDEN = Path(__file__).parent / "golden"
Render = Callable[[Task], list[tuple[str, str]]]


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def slack(task: Task) -> list[tuple[str, str]]:
    outputs = [("message.json", _json(task_message(task)))]
    for index in range(len(task.steps)):
        outputs.append((f"modal-{index + 1}.json", _json(modal_view(task, index, {}))))
    return outputs


def html(task: Task) -> list[tuple[str, str]]:
    return [(f"step-{index + 1}.html",
             render_step(task, index, {}, {}, csrf_token="csrf-token",
                         action=f"/t/l1?step={index}"))
            for index in range(len(task.steps))]


@pytest.mark.parametrize("render", [slack, html])
@pytest.mark.parametrize("name", EXAMPLES)
def test_matches_golden(name: str, render: Render) -> None:
    for suffix, output in render(example_task(name)):
        path = GOLDEN / f"{name}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(output, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == output, f"{path.name} differs"
