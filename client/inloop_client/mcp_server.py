"""`inloop-mcp`: an MCP server that lets any MCP host ask a named person and get the answer
(`pip install 'inloop-client[mcp]'`). Configured by INLOOP_URL and INLOOP_TOKEN; the
token's scopes bound what an agent can do. stdio by default, `--http --port N` for
streamable HTTP.
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from inloop_client._client import AsyncClient
from inloop_client.ask import AskOptions, ask_flow
from inloop_client.errors import AskTimeout, InloopError
from inloop_client.models import FormField, TaskCreate

PROGRESS_EVERY_S = 10.0
PENDING_LIMIT = 50
INSTRUCTIONS = (
    "inloop reaches real people in Slack or on the web. Use ask_human when you need a "
    "person's decision, approval or information before going on; it blocks until they "
    "answer. For work that should not block, create_task then wait_for_task later.")
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
Choice = Annotated[str, Field(min_length=1, max_length=500)]
_ANNOTATED: Any = Annotated  # subscripted with a runtime tuple below
TaskId = Annotated[str, Field(description="The task's id (a UUID) from ask_human, "
                              "create_task or list_pending_tasks.")]


@asynccontextmanager
async def _api() -> AsyncIterator[AsyncClient]:
    """A client for one tool call; every inloop error becomes the tool's error message."""
    try:
        async with AsyncClient() as client:
            yield client
    except AskTimeout as error:
        raise ToolError(f"{error}. Call wait_for_task with task_id {error.task_id} to keep "
                        "waiting, or ask_human again with the same arguments: it re-attaches "
                        "to the same task.") from None
    except InloopError as error:
        raise ToolError(str(error)) from None


def _progress(ctx: Context, timeout: float | None) -> Callable[[str, float], Any]:
    async def report(task_id: str, elapsed: float) -> None:
        await ctx.report_progress(elapsed, timeout,
                                  f"waiting for a person to answer task {task_id}")

    return report


async def ask_human(
    question: Annotated[str, Field(min_length=1, max_length=20_000, description=(
        "The question, in plain words a busy person understands without context. Markdown "
        "is allowed; the first 200 characters become the title."))],
    ctx: Context,
    choices: Annotated[list[Choice] | None, Field(min_length=1, max_length=100, description=(
        "Options to pick one from, e.g. [\"Approve\", \"Reject\"]; the answer is the chosen "
        "option. Leave out for a free-text answer."))] = None,
    fields: Annotated[list[FormField] | None, Field(min_length=1, max_length=50, description=(
        "A form instead of choices; the answer is an object keyed by field name."))] = None,
    assignee: Annotated[str | None, Field(min_length=1, max_length=254, description=(
        "Who must answer: an email address or a member id. Leave out for anyone in the "
        "organisation."))] = None,
    timeout_s: Annotated[int, Field(ge=1, le=86_400, description=(
        "Seconds to wait for the answer before giving up (the task stays open)."))] = 300,
) -> dict[str, Any]:
    """Ask a person a question and wait for the answer (in Slack or a web form).

    Returns {"task_id", "answer"}. Blocks up to timeout_s, reporting progress. Asking again
    with the same arguments re-attaches to the same task instead of asking twice. Fails if
    the person cancels or rejects, or the task expires: do not retry those."""
    options = AskOptions(timeout=timeout_s, poll_s=PROGRESS_EVERY_S,
                         on_wait=_progress(ctx, timeout_s))
    if choices:
        options["choices"] = choices
    if fields:
        options["fields"] = fields
    if assignee:
        options["assignee"] = assignee
    async with _api() as client:
        done = await client._run(ask_flow(question, None, options))
    return {"task_id": done.task_id, "answer": done.answer}


def _create_signature() -> inspect.Signature:
    """create_task's parameters are TaskCreate's fields, so its input schema is the REST
    create body's."""
    params = []
    for name, info in TaskCreate.model_fields.items():
        annotation = _ANNOTATED[(info.annotation, *info.metadata,
                                 Field(description=info.description))]
        default = inspect.Parameter.empty if info.is_required() else None
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=annotation, default=default))
    return inspect.Signature(params, return_annotation=dict[str, Any])


async def create_task(**body: Any) -> dict[str, Any]:
    """Create a task for a person without waiting: the full REST body (title, steps of
    blocks, assignee, sinks, expires_in, ...). Returns {"task_id", "url"}; follow up with
    wait_for_task or get_task. Prefer ask_human for a simple question."""
    task = TaskCreate.model_validate({k: v for k, v in body.items() if v is not None})
    async with _api() as client:
        created = await client.create_task(task)
    return {"task_id": created.task_id, "url": created.url}


create_task.__signature__ = _create_signature()  # type: ignore[attr-defined]


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


async def get_task(task_id: TaskId) -> dict[str, Any]:
    """The task as stored: status (pending, completed, cancelled, failed), the answers in
    `data`, who completed it, the form, and timestamps."""
    async with _api() as client:
        return _dump(await client.get_task(task_id))


async def wait_for_task(task_id: TaskId, ctx: Context, timeout_s: Annotated[int, Field(
        ge=0, le=86_400, description="Seconds to wait at most.")] = 60) -> dict[str, Any]:
    """Wait until the task ends or timeout_s passes. Returns {task_id, status, data,
    completed_at}; status "pending" means nobody has answered yet: wait again later."""
    async with _api() as client:
        return _dump(await client.wait(task_id, timeout_s, poll_s=PROGRESS_EVERY_S,
                                       on_wait=_progress(ctx, timeout_s)))


async def cancel_task(task_id: TaskId, reason: Annotated[str | None, Field(
        max_length=2000, description="Why, shown to the person.")] = None) -> dict[str, Any]:
    """Cancel a pending task (the person's message shows it as cancelled). Fails if the
    task has already ended."""
    async with _api() as client:
        task = await client.cancel(task_id, reason)
    return {"task_id": task.task_id, "status": task.status, "cancel_reason": task.cancel_reason}


async def list_pending_tasks(limit: Annotated[int, Field(
        ge=1, le=200, description="At most this many, newest first.")] = PENDING_LIMIT,
                             ) -> list[dict[str, Any]]:
    """Tasks still waiting for an answer, newest first: id, title, assignee, times."""
    keep = ("task_id", "title", "assignee_email", "created_at", "expires_at", "url")
    found: list[dict[str, Any]] = []
    async with _api() as client:
        async for task in client.list_tasks(status="pending", limit=limit):
            found.append({k: v for k, v in _dump(task).items() if k in keep})
            if len(found) >= limit:
                break
    return found


async def task_resource(task_id: str) -> str:
    """The task as JSON."""
    try:
        async with AsyncClient() as client:
            return json.dumps(_dump(await client.get_task(task_id)))
    except InloopError as error:
        raise ResourceError(str(error)) from None


def build_server() -> MCPServer:
    server: MCPServer = MCPServer("inloop", instructions=INSTRUCTIONS)
    server.add_tool(ask_human, annotations=WRITES)
    server.add_tool(create_task, annotations=WRITES)
    server.add_tool(get_task, annotations=READ_ONLY)
    server.add_tool(wait_for_task, annotations=READ_ONLY)
    server.add_tool(cancel_task, annotations=ToolAnnotations(destructive_hint=True))
    server.add_tool(list_pending_tasks, annotations=READ_ONLY)
    server.resource("inloop://tasks/{task_id}", name="task",
                    mime_type="application/json")(task_resource)
    return server


def main() -> None:
    p = argparse.ArgumentParser(prog="inloop-mcp", description=__doc__)
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    args = p.parse_args()
    server = build_server()
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")

