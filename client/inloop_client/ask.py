"""`ask()`: one call that asks a person and returns the answer, as a flow of `_core`.

The task gets a deterministic `task_id` (a UUID derived from the idempotency key; task ids
belong to the token's org), so a caller that crashed and asks again re-attaches to the
same task instead of asking twice. The wait long-polls through network errors and 503s
until the task ends or the caller's `timeout` passes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from pydantic import BaseModel, ValidationError

from inloop_client import _core
from inloop_client.errors import (
    AskTimeout,
    Conflict,
    TaskCancelled,
    TaskEnded,
    TaskExpired,
    TaskFailed,
    TaskRejected,
    UnsupportedForm,
)
from inloop_client.forms import form_fields, steps_for, to_model
from inloop_client.models import (
    Approval,
    Assignee,
    FormField,
    Priority,
    Sink,
    Task,
    TaskCreate,
    WaitResult,
)

TITLE_MAX = 200
RADIO_MAX = 5
# Fixed: changing it would give every existing idempotency key a new task_id.
NAMESPACE = uuid.UUID("5b0c3f4e-8a7d-5e0b-9a51-6c1a7e3d2f10")
PASSED_THROUGH = ("assignees", "approval", "slack_channel", "sinks", "expires_in", "priority",
                  "tags", "corr_id", "process_id", "process_step", "payload", "due_at")


class AskOptions(TypedDict, total=False):
    """Keyword options of `ask()`; the last group goes into the task unchanged."""

    choices: Sequence[str]
    fields: Sequence[FormField | Mapping[str, Any]]
    assignee: str
    instructions: str
    timeout: float | None
    idempotency_key: str
    poll_s: float
    on_wait: Callable[[str, float], Any]
    assignees: Sequence[Assignee | Mapping[str, Any] | str]
    approval: Approval | Mapping[str, Any]
    slack_channel: str
    sinks: Sequence[Sink | Mapping[str, Any]]
    expires_in: int
    priority: Priority
    tags: Sequence[str]
    corr_id: str
    process_id: str
    process_step: str
    payload: Mapping[str, Any]
    due_at: datetime


@dataclass(frozen=True)
class Answered:
    """What `ask()` got: the wait result and the answer decoded from it."""

    task_id: str
    result: WaitResult
    answer: Any


Decoder = Callable[[dict[str, Any], str], Any]


def _choice_fields(choices: Sequence[str]) -> list[FormField]:
    kind = "radio" if len(choices) <= RADIO_MAX else "select"
    return [FormField(name="answer", label="Your answer", kind=kind, required=True,
                      options=list(choices))]


def _form(form: type[BaseModel] | None, options: AskOptions) -> tuple[list[FormField],
                                                                      Decoder]:
    """The form's fields and how its answer becomes what `ask()` returns."""
    if form is not None:
        return form_fields(form), lambda data, task_id: to_model(form, data, task_id)
    if options.get("fields"):
        try:
            fields = [FormField.model_validate(f) for f in options["fields"]]
        except ValidationError as error:
            raise UnsupportedForm(f"fields: {error}") from None
        return fields, lambda data, task_id: data
    if options.get("choices"):
        return _choice_fields(options["choices"]), lambda data, task_id: data.get("answer")
    text = FormField(name="answer", label="Your answer", kind="textarea", required=True)
    return [text], lambda data, task_id: data.get("answer")


def _assignee(who: str | None) -> dict[str, str]:
    if not who:
        return {}
    return {"assignee_email": who} if "@" in who else {"assignee_member_id": who}


def _instructions(question: str, title: str, extra: str | None) -> str | None:
    """The whole question when the title could not hold it as asked (too long, or lines
    joined), then the caller's own instructions."""
    parts = [question] if title != question.strip() else []
    parts += [extra] if extra else []
    return "\n\n".join(parts) or None


def build_task(question: str, form: type[BaseModel] | None,
               options: AskOptions) -> tuple[TaskCreate, Decoder]:
    """The task `ask()` creates (without its task_id) and its answer decoder."""
    if sum(bool(x) for x in (form, options.get("fields"), options.get("choices"))) > 1:
        raise UnsupportedForm("give one of form, fields and choices")
    fields, decode = _form(form, options)
    title = " ".join(question.split())[:TITLE_MAX] or "Question"
    passed = {k: options[k] for k in PASSED_THROUGH if k in options}  # type: ignore[literal-required]
    task = TaskCreate(title=title, steps=steps_for(fields, title),
                      instructions_mdsvex=_instructions(question, title,
                                                        options.get("instructions")),
                      **_assignee(options.get("assignee")), **passed)
    return task, decode


# What the default idempotency key covers: the question (title and instructions), the
# form, the payload and who is asked.
_ASKED = ("title", "instructions_mdsvex", "steps", "payload", "assignee_email",
          "assignee_member_id", "assignees")


def task_id_for(task: TaskCreate, key: str | None) -> str:
    """The task's UUID: from `key`, else from a hash of what is asked (question, form,
    payload and assignees). Another option with the same key is a 409 (Conflict)."""
    if key is None:
        asked = {name: value for name, value in task.body().items() if name in _ASKED}
        canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
        key = "request:" + hashlib.sha256(canonical.encode()).hexdigest()
    return str(uuid.uuid5(NAMESPACE, key))


def _rejected(result: WaitResult, approval: Any) -> bool:
    """The server's `outcome` when it gives one; else the approval's own rule applied to
    the response that ended the task (servers before teams of approvers)."""
    if result.outcome is not None:
        return result.outcome == "rejected"
    rule = Approval.model_validate(approval) if approval is not None else None
    if rule is None or not rule.decision_field or not rule.reject_options:
        return False
    return result.data.get(rule.decision_field) in rule.reject_options


def ended_error(task: Task) -> TaskEnded:
    if task.status == "cancelled":
        return TaskCancelled(task.task_id, task.cancel_reason)
    codes = {e.get("code") for e in task.errors}
    kind = TaskExpired if "expired" in codes else TaskFailed
    return kind(task.task_id, task.errors)


def _create(task: TaskCreate, deadline: _core.Deadline) -> _core.Flow[None]:
    try:
        yield from _core.resilient(lambda: _core.create_task(task), deadline)
    except Conflict as error:
        raise Conflict(f"task {task.task_id} exists with another request: use another "
                       "idempotency_key to ask something else", status=409,
                       code=error.code) from None


def ask_flow(question: str, form: type[BaseModel] | None,
             options: AskOptions) -> _core.Flow[Answered]:
    """Create (or re-attach to) the task, wait for its end, and decode the answer."""
    task, decode = build_task(question, form, options)
    task.task_id = task_id_for(task, options.get("idempotency_key"))
    timeout, on_wait = options.get("timeout"), options.get("on_wait")
    deadline = _core.Deadline(timeout)
    yield from _create(task, deadline)
    if on_wait is not None:
        yield _core.Notify(on_wait, (task.task_id, 0.0))
    left = None if timeout is None else max(0.0, deadline.left())
    result = yield from _core.wait(task.task_id, left, options.get("poll_s", _core.POLL_S),
                                   on_wait)
    if result.status not in _core.ENDED:
        raise AskTimeout(task.task_id, timeout or 0.0)
    if result.status != "completed":
        ended = yield from _core.resilient(lambda: _core.get_task(result.task_id),
                                           _core.Deadline(_core.POLL_S))
        raise ended_error(ended)
    if _rejected(result, options.get("approval")):
        raise TaskRejected(result.task_id, result.data)
    return Answered(result.task_id, result, decode(result.data, result.task_id))
