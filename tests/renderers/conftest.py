"""Tasks for renderer tests: the request bodies plus a fixed lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.domain.task import Task, TaskCreate, task_ref
from tests.fixtures import example

NOW = datetime(2026, 2, 24, 12, 0, tzinfo=UTC)
TASK_ID = "0b6f7c3e-4a1d-4c2b-9f8e-2d5a6b7c8d9e"
ORG_ID = "o1"
TASK_REF = task_ref(ORG_ID, TASK_ID)  # what Slack buttons and modals carry


def make_task(body: dict[str, Any], **lifecycle: Any) -> Task:
    """A stored `Task` from a `POST /api/v1/tasks` body (validated as TaskCreate first)."""
    request = TaskCreate.model_validate(body).model_dump(exclude={"assignees"})  # resolved
    return Task.model_validate(
        {
            **request,
            "task_id": TASK_ID,
            "org_id": ORG_ID,
            "link_id": "l1",
            "url": "http://localhost:8000/t/l1",
            "created_by": "m1",
            "created_at": NOW,
            "updated_at": NOW,
            **lifecycle,
        }
    )


def example_task(name: str, **lifecycle: Any) -> Task:
    return make_task(example(name), **lifecycle)


@pytest.fixture
def approval() -> Task:
    return example_task("hpi_approval")


@pytest.fixture
def feedback() -> Task:
    return example_task("hpi_feedback")


@pytest.fixture
def onboarding() -> Task:
    return example_task("hpi_onboarding")


def one_step_task(*blocks: dict[str, Any], title: str = "Check", **extra: Any) -> Task:
    """A task with one step made of `blocks` (fields given as bare field dicts)."""
    wrapped = [b if "type" in b else {"type": "input", "field": b} for b in blocks]
    step = {"id": "s1", "title": "Step one", "blocks": wrapped}
    return make_task({"title": title, "steps": [step], **extra})
