"""Where a person resumes a multi-step task, given the draft saved so far."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.models import Step, Task


def finished(step: Step, draft: Mapping[str, Any]) -> bool:
    return all(f.name in draft for f in step.fields() if f.required)


def resume_step(task: Task, draft: Mapping[str, Any]) -> int:
    """The first step whose required answers are not all in the draft (step 1 for an
    empty draft; the last step when every required answer is there)."""
    if not draft:
        return 0
    for index, step in enumerate(task.steps):
        if not finished(step, draft):
            return index
    return len(task.steps) - 1
