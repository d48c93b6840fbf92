"""Turn request bodies into models, reporting every violation with a dotted `loc`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.errors import Detail, InvalidRequest
from api.models import MAX_TASK_MARKDOWN, InputBlock, TaskCreate

M = TypeVar("M", bound=BaseModel)
_TAGGED_LISTS = {"blocks", "sinks"}


def _loc(parts: tuple[int | str, ...]) -> str:
    # Discriminated unions add the tag to the loc (blocks.1.input.field); integrators
    # address the block itself (blocks.1.field), so the tag is dropped.
    kept: list[str] = []
    for i, part in enumerate(parts):
        tagged = i >= 2 and isinstance(parts[i - 1], int) and parts[i - 2] in _TAGGED_LISTS
        if not (tagged and isinstance(part, str) and i + 1 < len(parts)):
            kept.append(str(part))
    return ".".join(kept)


def details_of(error: ValidationError, prefix: str = "") -> list[Detail]:
    out = []
    for item in error.errors(include_url=False):
        msg = item["msg"].removeprefix("Value error, ")
        loc = _loc(tuple(item["loc"]))
        out.append(Detail(f"{prefix}{loc}" if loc else prefix.rstrip(".") or "body", msg,
                          item["type"]))
    return out


def parse(model: type[M], raw: Any) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise InvalidRequest(details_of(error)) from None


def _duplicates(raw: Any) -> list[Detail]:
    """Step ids and field names must be unique across the task (checked on the raw body
    so these errors are reported together with every other violation)."""
    steps = raw.get("steps") if isinstance(raw, dict) else None
    if not isinstance(steps, list):
        return []
    out: list[Detail] = []
    step_ids: set[str] = set()
    names: set[str] = set()
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        step_id = step.get("id")
        if isinstance(step_id, str) and step_id in step_ids:
            out.append(Detail(f"steps.{i}.id", "step ids must be unique", "duplicate"))
        if isinstance(step_id, str):
            step_ids.add(step_id)
        out += _duplicate_names(i, step.get("blocks"), names)
    return out


def _duplicate_names(step: int, blocks: Any, names: set[str]) -> list[Detail]:
    out = []
    for j, block in enumerate(blocks if isinstance(blocks, list) else []):
        field = block.get("field") if isinstance(block, dict) else None
        name = field.get("name") if isinstance(field, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            out.append(Detail(f"steps.{step}.blocks.{j}.field.name",
                              "field names must be unique in the task", "duplicate"))
        names.add(name)
    return out


def parse_task(raw: Any) -> TaskCreate:
    """Validate a create body, listing every violation at once."""
    details = _duplicates(raw)
    try:
        task = TaskCreate.model_validate(raw)
    except ValidationError as error:
        raise InvalidRequest(details_of(error) + details) from None
    details += _markdown_total(task)
    if details:
        raise InvalidRequest(details)
    return task


def _markdown_total(task: TaskCreate) -> list[Detail]:
    """The task's markdown in all is at most `MAX_TASK_MARKDOWN` characters; the detail
    names the text that goes over."""
    total = 0
    for loc, text in _markdown(task):
        total += len(text)
        if total > MAX_TASK_MARKDOWN:
            return [Detail(loc, f"the task's markdown (instructions, descriptions and blocks) "
                                f"is over {MAX_TASK_MARKDOWN} characters in all", "too_long")]
    return []


def _markdown(task: TaskCreate) -> Iterator[tuple[str, str]]:
    yield "instructions_mdsvex", task.instructions_mdsvex or ""
    for i, step in enumerate(task.steps):
        yield f"steps.{i}.description_mdsvex", step.description_mdsvex or ""
        for j, block in enumerate(step.blocks):
            if not isinstance(block, InputBlock):
                yield f"steps.{i}.blocks.{j}.content", block.content
