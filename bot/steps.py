"""Where a person resumes a multi-step task, given the draft saved so far."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.domain.task import Step, Task


def finished(step: Step, draft: Mapping[str, Any]) -> bool:
    """Submitted: Slack and the web form save every field of a valid step, unanswered
    optional ones as None, so a step of only optional fields is not done unseen."""
    return all(f.name in draft for f in step.fields())


def resume_step(task: Task, draft: Mapping[str, Any]) -> int:
    """The first step not yet submitted (step 1 for an empty draft; the last step when
    every step was)."""
    if not draft:
        return 0
    for index, step in enumerate(task.steps):
        if not finished(step, draft):
            return index
    return len(task.steps) - 1
