"""`Client` and `AsyncClient`: thin I/O shells that run the flows of `_core` and `ask`.

Each method builds a flow and hands it to `_run`, which performs the flow's actions with
httpx (blocking or with asyncio). Nothing else differs between the two.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack, overload

import httpx
from pydantic import BaseModel

from inloop_client import _core
from inloop_client.ask import AskOptions, ask_flow
from inloop_client.errors import InloopError, Unavailable
from inloop_client.models import Delivery, Task, TaskCreate, TaskCreated, UploadedFile, WaitResult

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
DEFAULT_TIMEOUT_S = 30.0
USER_AGENT = "inloop-client/0.1"


class ListFilters(TypedDict, total=False):
    """Filters of `list_tasks` (`limit` is the page size, at most 200)."""

    status: str
    assignee: str
    tag: str
    process_id: str
    corr_id: str
    limit: int


@dataclass(frozen=True)
class _Done:
    value: Any


def _next(flow: _core.Flow[Any], value: Any, error: Exception | None) -> _core.Action | _Done:
    try:
        return flow.throw(error) if error is not None else flow.send(value)
    except StopIteration as stop:
        return _Done(stop.value)


class _Base:
    def __init__(self, base_url: str | None = None, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        url = base_url or os.environ.get("INLOOP_URL")
        if not url:
            raise InloopError("no inloop server: pass base_url or set INLOOP_URL")
        self.base_url = url.rstrip("/")
        self.token = token or os.environ.get("INLOOP_TOKEN")
        self.timeout = timeout

    def _http_options(self) -> dict[str, Any]:
        headers = {"User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return {"base_url": self.base_url, "headers": headers, "timeout": self.timeout}

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: _core.Call) -> httpx.Request:
        timeout = call.timeout if call.timeout is not None else self.timeout
        return http.build_request(call.method, call.path, params=call.params, json=call.json,
                                  content=call.content, headers=call.headers, timeout=timeout)

    def _unreachable(self, error: httpx.RequestError) -> Unavailable:
        return Unavailable(f"cannot reach inloop at {self.base_url}: "
                           f"{type(error).__name__} {error}".rstrip())


class Client(_Base):
    """The inloop REST API, blocking. `base_url` and `token` default to the environment
    variables `INLOOP_URL` and `INLOOP_TOKEN`; `timeout` bounds each plain request."""

    def __init__(self, base_url: str | None = None, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, token, timeout)
        self._http = httpx.Client(transport=transport, **self._http_options())

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, flow: _core.Flow[T]) -> T:
        value: Any = None
        error: Exception | None = None
        while not isinstance(action := _next(flow, value, error), _Done):
            value, error = self._do(action)
        result: T = action.value
        return result

    def _do(self, action: _core.Action) -> tuple[Any, Exception | None]:
        if isinstance(action, _core.Sleep):
            time.sleep(action.seconds)
        elif isinstance(action, _core.Notify):
            action.callback(*action.args)
        else:
            try:
                return self._http.send(self._build(self._http, action)), None
            except httpx.RequestError as error:
                return None, self._unreachable(error)
        return None, None

    def create_task(self, task: TaskCreate | Mapping[str, Any]) -> TaskCreated:
        """Create a task (`task_id` in the body makes retries safe)."""
        return self._run(_core.create_task(task))

    def get_task(self, task_id: str) -> Task:
        return self._run(_core.get_task(task_id))

    def list_tasks(self, **filters: Unpack[ListFilters]) -> Iterator[Task]:
        """Every matching task, newest first, fetching cursor pages as it goes."""
        cursor: str | None = None
        while True:
            page = self._run(_core.list_page(filters, cursor))
            yield from page.tasks
            if not (cursor := page.next_cursor):
                return

    def wait(self, task_id: str, timeout: float | None = 30.0, *,
             poll_s: float = _core.POLL_S,
             on_wait: Callable[[str, float], Any] | None = None) -> WaitResult:
        """Wait until the task ends or `timeout` s pass (`None`: no limit), long-polling
        in `poll_s` pieces through network errors and 503s, calling `on_wait(task_id,
        elapsed_s)` after each piece. A result not yet ended means time ran out."""
        return self._run(_core.wait(task_id, timeout, poll_s, on_wait))

    def complete(self, task_id: str, data: Mapping[str, Any]) -> Task:
        return self._run(_core.complete(task_id, data))

    def cancel(self, task_id: str, reason: str | None = None) -> Task:
        return self._run(_core.cancel(task_id, reason))

    def deliveries(self, task_id: str) -> list[Delivery]:
        return self._run(_core.deliveries(task_id))

    def upload_file(self, task_id: str, field: str, content: bytes,
                    content_type: str = "application/octet-stream",
                    filename: str | None = None) -> UploadedFile:
        """Upload a file or signature answer; pass the result in `complete`'s data."""
        return self._run(_core.upload_file(task_id, field, content, content_type, filename))

    @overload
    def ask(self, question: str, *, form: type[M], **options: Unpack[AskOptions]) -> M: ...

    @overload
    def ask(self, question: str, *, form: None = None,
            **options: Unpack[AskOptions]) -> Any: ...

    def ask(self, question: str, *, form: type[BaseModel] | None = None,
            **options: Unpack[AskOptions]) -> Any:
        """Ask a person and return the answer: the chosen text with `choices`, an
        instance of `form`, the answers dict with `fields`, else the free-text answer.
        See the README ("Use from Python") for every option and outcome."""
        return self._run(ask_flow(question, form, options)).answer


class AsyncClient(_Base):
    """`Client` over asyncio: the same methods, awaited (`list_tasks` is async-iterated)."""

    def __init__(self, base_url: str | None = None, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(base_url, token, timeout)
        self._http = httpx.AsyncClient(transport=transport, **self._http_options())

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, flow: _core.Flow[T]) -> T:
        value: Any = None
        error: Exception | None = None
        while not isinstance(action := _next(flow, value, error), _Done):
            value, error = await self._do(action)
        result: T = action.value
        return result

    async def _do(self, action: _core.Action) -> tuple[Any, Exception | None]:
        if isinstance(action, _core.Sleep):
            await asyncio.sleep(action.seconds)
        elif isinstance(action, _core.Notify):
            outcome = action.callback(*action.args)
            if inspect.isawaitable(outcome):
                await outcome
        else:
            try:
                return await self._http.send(self._build(self._http, action)), None
            except httpx.RequestError as error:
                return None, self._unreachable(error)
        return None, None

    async def create_task(self, task: TaskCreate | Mapping[str, Any]) -> TaskCreated:
        return await self._run(_core.create_task(task))

    async def get_task(self, task_id: str) -> Task:
        return await self._run(_core.get_task(task_id))

    async def list_tasks(self, **filters: Unpack[ListFilters]) -> AsyncIterator[Task]:
        cursor: str | None = None
        while True:
            page = await self._run(_core.list_page(filters, cursor))
            for task in page.tasks:
                yield task
            if not (cursor := page.next_cursor):
                return

    async def wait(self, task_id: str, timeout: float | None = 30.0, *,
                   poll_s: float = _core.POLL_S,
                   on_wait: Callable[[str, float], Any] | None = None) -> WaitResult:
        return await self._run(_core.wait(task_id, timeout, poll_s, on_wait))

    async def complete(self, task_id: str, data: Mapping[str, Any]) -> Task:
        return await self._run(_core.complete(task_id, data))

    async def cancel(self, task_id: str, reason: str | None = None) -> Task:
        return await self._run(_core.cancel(task_id, reason))

    async def deliveries(self, task_id: str) -> list[Delivery]:
        return await self._run(_core.deliveries(task_id))

    async def upload_file(self, task_id: str, field: str, content: bytes,
                          content_type: str = "application/octet-stream",
                          filename: str | None = None) -> UploadedFile:
        return await self._run(_core.upload_file(task_id, field, content, content_type,
                                                 filename))

    @overload
    async def ask(self, question: str, *, form: type[M],
                  **options: Unpack[AskOptions]) -> M: ...

    @overload
    async def ask(self, question: str, *, form: None = None,
                  **options: Unpack[AskOptions]) -> Any: ...

    async def ask(self, question: str, *, form: type[BaseModel] | None = None,
                  **options: Unpack[AskOptions]) -> Any:
        """`Client.ask`; `on_wait` may be a coroutine function here."""
        return (await self._run(ask_flow(question, form, options))).answer
