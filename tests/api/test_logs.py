"""INLOOP_LOG_FORMAT=json: one JSON object per line with the bound context's fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from api import logs
from api.domain.task import Task
from api.runtime import Services
from api.server import create_app


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the handler the CLI installs for INLOOP_LOG_FORMAT=json writes."""
    out = io.StringIO()
    logger = logging.getLogger("inloop.test")
    json_lines = logs.handler("json", out)
    logger.addHandler(json_lines)
    yield out
    logger.removeHandler(json_lines)


def test_json_lines_carry_the_bound_task_and_the_extra_fields(lines: io.StringIO) -> None:
    task = Task.model_construct(task_id="t-1", org_id="org-1", corr_id="corr-9")
    with logs.bind(**logs.task_fields(task)):
        logging.getLogger("inloop.test").warning("sent %s", "it", extra={"attempt": 2})
    logging.getLogger("inloop.test").warning("after")
    first, second = (json.loads(line) for line in lines.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "inloop.test"
    assert first["message"] == "sent it" and first["attempt"] == 2
    assert (first["task_id"], first["org_id"], first["corr_id"]) == ("t-1", "org-1", "corr-9")
    assert first["time"].startswith("20")
    assert "task_id" not in second



def test_the_innermost_binding_wins(lines: io.StringIO) -> None:
    with logs.bind(request_id="r-1", task_id="outer"), logs.bind(task_id="inner"):
        logging.getLogger("inloop.test").warning("nested")
    line = json.loads(lines.getvalue())
    assert (line["request_id"], line["task_id"]) == ("r-1", "inner")


async def test_a_request_binds_its_id_and_task_id_for_itself_only(
        lines: io.StringIO, services: Services,
        aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    """api.server.log_context binds without undoing it: the binding must end with its own
    request, also on a keep-alive connection that serves the next request."""

    async def logged(request: web.Request) -> web.Response:
        logging.getLogger("inloop.test").warning("inside")
        return web.Response()

    def register(root: web.Application) -> None:
        root.router.add_get("/logged/{task_id}", logged)
        root.router.add_get("/logged", logged)

    access = logging.getLogger("aiohttp.access")
    access_lines = io.StringIO()
    json_lines = logs.handler("json", access_lines)
    access.addHandler(json_lines)
    level, access.level = access.level, logging.INFO
    try:
        client = await aiohttp_client(create_app(services, extras=[register]))
        assert (await client.get("/logged/t-1", headers={"X-Request-Id": "r-1"})).status == 200
        assert (await client.get("/logged")).status == 200
    finally:
        access.removeHandler(json_lines)
        access.setLevel(level)
    logging.getLogger("inloop.test").warning("outside")
    first, second, outside = (json.loads(line) for line in lines.getvalue().splitlines())
    assert (first["request_id"], first["task_id"]) == ("r-1", "t-1")
    assert "task_id" not in second and len(second["request_id"]) == 32
    assert "request_id" not in outside and "task_id" not in outside
    # aiohttp writes its access line inside the request's task: it carries the context too
    accessed = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert [(a["request_id"], a.get("task_id")) for a in accessed] == [
        ("r-1", "t-1"), (second["request_id"], None)]
