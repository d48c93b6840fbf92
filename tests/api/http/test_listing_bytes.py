"""A task list page is capped by bytes as well as by count (INLOOP_MAX_PAGE_BYTES)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from api.runtime import Services
from tests.conftest import Account, create
from tests.fixtures import example

KIB = 1024


async def _pages(client: TestClient, account: Account, query: str) -> list[dict[str, Any]]:
    pages, cursor = [], ""
    while cursor is not None:
        path = f"/api/v1/tasks?{query}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(path, headers=account.headers)
        assert response.status == 200
        page = await response.json()
        pages.append(page)
        cursor = page["next_cursor"]
    return pages


async def _tasks_of(client: TestClient, account: Account, count: int,
                    payload_bytes: int) -> list[str]:
    body = {**example("hpi_approval"), "payload": {"blob": "x" * payload_bytes}}
    return [(await create(client, account, body))["task_id"] for _ in range(count)]


async def test_large_tasks_make_short_pages_and_cursors_reach_every_task_once(
        client: TestClient, account: Account, services: Services) -> None:
    services.listing.max_page_bytes = 1024 * KIB
    ids = await _tasks_of(client, account, 12, 300 * KIB)  # about 3 per MiB
    pages = await _pages(client, account, "limit=200")
    listed = [t["task_id"] for page in pages for t in page["tasks"]]
    assert listed == ids[::-1]  # every task, exactly once, newest first
    assert all(1 <= len(p["tasks"]) <= 3 for p in pages) and len(pages) >= 4
    assert all(p["next_cursor"] for p in pages[:-1])


async def test_a_task_larger_than_the_cap_still_makes_a_page(
        client: TestClient, account: Account, services: Services) -> None:
    services.listing.max_page_bytes = 100 * KIB
    ids = await _tasks_of(client, account, 3, 200 * KIB)
    pages = await _pages(client, account, "limit=50&status=pending")
    assert [[t["task_id"] for t in p["tasks"]] for p in pages] == [[i] for i in ids[::-1]]


async def test_small_tasks_fill_the_page_to_its_limit(client: TestClient, account: Account,
                                                      services: Services) -> None:
    ids = await _tasks_of(client, account, 5, 10)
    pages = await _pages(client, account, "limit=200")
    assert [[t["task_id"] for t in p["tasks"]] for p in pages] == [ids[::-1]]
