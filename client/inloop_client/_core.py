"""The I/O-free core shared by `Client` and `AsyncClient`.

Every operation is a generator ("flow") that yields what it needs done — an HTTP `Call`,
a `Sleep`, a `Notify` of the caller's callback — and receives the result: the response
for a call, or an `Unavailable` thrown in when the server could not be reached. The two
clients only run flows (`_client.py`), so request building, response parsing, retries
and the whole `ask()` logic exist once, for sync and async alike.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from inloop_client.errors import InloopError, Unavailable, from_response
from inloop_client.models import (
    Delivery,
    Task,
    TaskCreate,
    TaskCreated,
    TaskPage,
    UploadedFile,
    WaitResult,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
# One long-poll stays under common proxy idle timeouts (60 s) and the server's maximum.
POLL_S = 50.0
HTTP_MARGIN_S = 15.0
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 10.0
ENDED = frozenset({"completed", "cancelled", "failed"})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None  # None: the client's default


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Notify:
    callback: Callable[..., Any]
    args: tuple[Any, ...]


Action = Call | Sleep | Notify
Flow = Generator[Action, Any, T]


class Response(Protocol):
    """What a flow receives for a `Call` (an httpx.Response fits)."""

    status_code: int

    def json(self) -> Any: ...


def _task_path(task_id: str, tail: str = "") -> str:
    return f"/api/v1/tasks/{quote(task_id, safe='')}{tail}"


def _body(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def parse(response: Response, model: type[M]) -> M:
    """The response as `model`, or the matching `InloopError`."""
    body = _body(response)
    if response.status_code >= 400:
        raise from_response(response.status_code, body)
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InloopError(f"unexpected response from the server: {error}",
                          status=response.status_code) from None


def call(request: Call, model: type[M]) -> Flow[M]:
    response = yield request
    return parse(response, model)


def create_task(task: TaskCreate | Mapping[str, Any]) -> Flow[TaskCreated]:
    body = task.body() if isinstance(task, TaskCreate) else dict(task)
    return (yield from call(Call("POST", "/api/v1/tasks", json=body), TaskCreated))


def get_task(task_id: str) -> Flow[Task]:
    return (yield from call(Call("GET", _task_path(task_id)), Task))


def list_page(filters: Mapping[str, Any], cursor: str | None) -> Flow[TaskPage]:
    params = {k: str(v) for k, v in filters.items() if v is not None}
    if cursor:
        params["cursor"] = cursor
    return (yield from call(Call("GET", "/api/v1/tasks", params=params), TaskPage))


def wait_once(task_id: str, timeout: float) -> Flow[WaitResult]:
    request = Call("GET", _task_path(task_id, "/wait"), params={"timeout": f"{timeout:g}"},
                   timeout=timeout + HTTP_MARGIN_S)
    return (yield from call(request, WaitResult))


def complete(task_id: str, data: Mapping[str, Any]) -> Flow[Task]:
    request = Call("POST", _task_path(task_id, "/complete"), json={"data": dict(data)})
    return (yield from call(request, Task))


def cancel(task_id: str, reason: str | None) -> Flow[Task]:
    body = {"reason": reason} if reason is not None else {}
    return (yield from call(Call("POST", _task_path(task_id, "/cancel"), json=body), Task))


class _Deliveries(BaseModel):
    deliveries: list[Delivery]


def deliveries(task_id: str) -> Flow[list[Delivery]]:
    page = yield from call(Call("GET", _task_path(task_id, "/deliveries")), _Deliveries)
    return page.deliveries


def upload_file(task_id: str, field_name: str, content: bytes, content_type: str,
                filename: str | None) -> Flow[UploadedFile]:
    request = Call("POST", _task_path(task_id, f"/files/{quote(field_name, safe='')}"),
                   params={"filename": filename} if filename else {}, content=content,
                   headers={"Content-Type": content_type})
    return (yield from call(request, UploadedFile))


@dataclass
class Deadline:
    """The caller's time limit (`None`: none) on the monotonic clock."""

    seconds: float | None
    start: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return float("inf") if self.seconds is None else self.seconds - self.elapsed()


def resilient(make: Callable[[], Flow[T]], deadline: Deadline) -> Flow[T]:
    """Run `make()`'s flow again after each `Unavailable`, backing off, while time is left.
    Only for calls that are safe to repeat (reads, waits, creates with a task_id)."""
    delay = BACKOFF_FIRST_S
    while True:
        try:
            return (yield from make())
        except Unavailable:
            if deadline.left() <= delay:
                raise
        yield Sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not secrets
        delay = min(delay * 2, BACKOFF_MAX_S)


def wait(task_id: str, timeout: float | None, poll_s: float = POLL_S,
         on_poll: Callable[[str, float], Any] | None = None) -> Flow[WaitResult]:
    """Long-poll until the task ends or `timeout` passes (then the last result, whose
    status is not an end), through network errors and 503s."""
    deadline = Deadline(timeout)
    while True:
        chunk = max(0.0, min(poll_s, deadline.left()))
        result = yield from resilient(partial(wait_once, task_id, chunk), deadline)
        if result.status in ENDED or deadline.left() <= 0:
            return result
        if on_poll is not None:
            yield Notify(on_poll, (task_id, deadline.elapsed()))
