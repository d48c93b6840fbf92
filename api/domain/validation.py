"""Turn request bodies into models, reporting every violation with a dotted `loc`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.domain.approval import UNION_TAGS
from api.domain.errors import Detail, InvalidRequest
from api.domain.fields import is_unicode
from api.domain.task import MAX_TASK_MARKDOWN, InputBlock, TaskCreate

M = TypeVar("M", bound=BaseModel)
_TAGGED_LISTS = {"blocks", "sinks"}
MAX_JSON_DEPTH = 64  # levels of objects and arrays in a body; a task itself needs 6
_CONTAINERS = (dict, list)
_MAX_SHAPE_DETAILS = 10


def parse_json(raw: bytes) -> Any:
    """A JSON request body; 400 when malformed, non-finite (`NaN`, `1e999`), nested deeper
    than MAX_JSON_DEPTH or holding a lone surrogate (keys too). Checked iteratively before
    any recursive code (pydantic, json.dumps) sees the value, which would otherwise hit
    RecursionError or fail to encode it."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise InvalidRequest([_too_deep_detail("body")]) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest([Detail("body", f"malformed JSON: {error}", "json_invalid")]
                             ) from None
    details = _too_deep(value) or (_lone_surrogates(value) if _may_hold_surrogates(raw)
                                   else [])
    if details:
        raise InvalidRequest(details)
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return number


def _nests_within(value: Any, limit: int) -> bool:
    """Whether `value` holds at most `limit` levels of containers (breadth first)."""
    level = [value] if isinstance(value, _CONTAINERS) else []
    for _ in range(limit):
        if not level:
            return True
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, _CONTAINERS)]
    return not level


def _too_deep_detail(loc: str) -> Detail:
    return Detail(loc, f"JSON nests deeper than {MAX_JSON_DEPTH} levels", "too_deep")


def _too_deep(value: Any) -> list[Detail]:
    """One detail per top-level member that nests too deeply (the loc stays short)."""
    if _nests_within(value, MAX_JSON_DEPTH):
        return []
    members = value.items() if isinstance(value, dict) else enumerate(value)
    deep = (str(k) for k, v in members if not _nests_within(v, MAX_JSON_DEPTH - 1))
    return [_too_deep_detail(loc) for loc in islice(deep, _MAX_SHAPE_DETAILS)]


# json.loads decodes with "surrogatepass": in UTF-8 a surrogate comes from a \ud800 to
# \udfff escape or from its UTF-8 form (ED A0..BF ..). Other encodings are always checked.
_SURROGATE_UTF8 = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")


def _may_hold_surrogates(raw: bytes) -> bool:
    """False when `raw` cannot decode to a surrogate: a scan of the bytes, several times
    cheaper than the check of the parsed value."""
    return json.detect_encoding(raw) != "utf-8" or _SURROGATE_UTF8.search(raw) is not None


def _lone_surrogates(value: Any) -> list[Detail]:
    if is_unicode(json.dumps(value, ensure_ascii=False)):  # the fast path, in C
        return []
    return list(islice(_surrogate_details(value), _MAX_SHAPE_DETAILS))


def _surrogate_details(value: Any) -> Iterator[Detail]:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, str) and not is_unicode(node):
            yield Detail(loc or "body", "text holds a lone surrogate (not valid Unicode)",
                         "unicode_invalid")
        items = node.items() if isinstance(node, dict) else (
            enumerate(node) if isinstance(node, list) else ())
        for key, child in reversed(list(items)):
            here = f"{loc}.{_shown(key)}" if loc else _shown(key)
            if isinstance(key, str) and not is_unicode(key):
                yield Detail(here, "key holds a lone surrogate (not valid Unicode)",
                             "unicode_invalid")
            stack.append((child, here))


def _shown(key: str | int) -> str:
    return str(key).encode("utf-8", "backslashreplace").decode()


def _loc(parts: tuple[int | str, ...]) -> str:
    # Discriminated unions add the tag to the loc (blocks.1.input.field); integrators
    # address the block itself (blocks.1.field), so the tag is dropped.
    # The teams' unions (assignee forms, `required`) are tagged likewise.
    kept: list[str] = []
    for i, part in enumerate(parts):
        tagged = i >= 2 and isinstance(parts[i - 1], int) and parts[i - 2] in _TAGGED_LISTS
        if not ((tagged and isinstance(part, str) and i + 1 < len(parts))
                or part in UNION_TAGS):
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
