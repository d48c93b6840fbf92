"""`inloop-mcp` through the `mcp` SDK's own client session, over stdio (spawning the
installed command) and over streamable HTTP, while the test answers through the API."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.client.conftest import LiveServer, pending_task, until_ready
from tests.fixtures import example
from tests.ports import free_port

INLOOP_MCP = shutil.which("inloop-mcp") or "inloop-mcp"
TOOLS = {"ask_human", "create_task", "get_task", "wait_for_task", "cancel_task",
         "list_pending_tasks"}


@asynccontextmanager
async def stdio_session(live: LiveServer) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=INLOOP_MCP, env={
        "INLOOP_URL": live.url, "INLOOP_TOKEN": live.account.token})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.fixture
def mcp_http(live: LiveServer) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([INLOOP_MCP, "--http", "--port", str(port)], env=live.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until_ready(f"http://127.0.0.1:{port}/mcp")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


async def _ask_and_answer(session: ClientSession, live: LiveServer) -> None:
    """List the tools, call ask_human, answer it through the API, get the answer."""
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    ask = tools["ask_human"].input_schema
    assert (set(ask["properties"]), ask["required"]) == (
        {"question", "choices", "fields", "assignee", "timeout_s"}, ["question"])
    assert ask["properties"]["timeout_s"]["maximum"] == 86_400
    create = tools["create_task"].input_schema
    assert create["required"] == ["title", "steps"] and "slack_channel" in create["properties"]
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    call = asyncio.create_task(session.call_tool(
        "ask_human", {"question": "Deploy 4.2?", "choices": ["Approve", "Reject"],
                      "timeout_s": 60}, progress_callback=on_progress))
    task = await asyncio.to_thread(pending_task, live.client())
    await asyncio.to_thread(live.client().complete, task.task_id, {"answer": "Approve"})
    result = await call
    assert not result.is_error, result.content
    assert result.structured_content == {"task_id": task.task_id, "answer": "Approve"}
    assert progress and progress[0] == 0


async def test_ask_human_over_stdio(live: LiveServer) -> None:
    async with stdio_session(live) as session:
        await _ask_and_answer(session, live)


async def test_ask_human_over_streamable_http(live: LiveServer, mcp_http: str) -> None:
    async with streamable_http_client(mcp_http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        await _ask_and_answer(session, live)


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    content = result.structured_content
    return content.get("result", content) if isinstance(content, dict) else content


async def test_the_other_tools_the_resource_and_tool_errors(live: LiveServer) -> None:
    async with stdio_session(live) as session:
        await _other_tools(session)
        await _tool_errors(session)


async def _other_tools(session: ClientSession) -> None:
    created = _data(await session.call_tool("create_task", example("hpi_approval")))
    task_id = created["task_id"]
    assert created["url"].startswith("http://inloop.test/t/")
    pending = _data(await session.call_tool("list_pending_tasks", {}))
    assert [t["task_id"] for t in pending] == [task_id]
    got = _data(await session.call_tool("get_task", {"task_id": task_id}))
    assert (got["status"], got["title"]) == ("pending", "Approve deployment to production")
    waited = _data(await session.call_tool("wait_for_task",
                                           {"task_id": task_id, "timeout_s": 0}))
    assert waited["status"] == "pending"
    resource = await session.read_resource(f"inloop://tasks/{task_id}")
    assert '"status": "pending"' in resource.contents[0].text  # type: ignore[union-attr]
    cancelled = _data(await session.call_tool("cancel_task",
                                              {"task_id": task_id, "reason": "dup"}))
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "dup")


async def _tool_errors(session: ClientSession) -> None:
    """Failures are tool errors carrying the API's message, never a stack trace."""
    bad = await session.call_tool("create_task", {"title": "x", "steps": [
        {"id": "s", "title": "s", "blocks": [{"type": "input", "field": {
            "name": "pick", "label": "Pick", "kind": "select"}}]}]})
    assert bad.is_error and "steps.0.blocks.0.field.options" in bad.content[0].text  # type: ignore[union-attr]
    missing = await session.call_tool("get_task", {
        "task_id": "00000000-0000-4000-8000-000000000000"})
    assert missing.is_error and "task not found" in missing.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in missing.content[0].text  # type: ignore[union-attr]
    timed_out = await session.call_tool("ask_human", {"question": "Anyone?",
                                                      "timeout_s": 1})
    text = timed_out.content[0].text  # type: ignore[union-attr]
    assert timed_out.is_error and "wait_for_task" in text and "stays open" in text
