"""The dashboard's list in Chromium: live tab counts, sorting by a header, the keyboard,
empty states; each view is also the README's screenshot (INLOOP_SCREENSHOTS=1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.conftest import Account
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.conftest import api, dashboard_login, document

pytestmark = pytest.mark.browser
SAMPLES = [("Refund order #1042", "high", ["billing"], "Dana Reyes"),
           ("Publish the release notes", "low", ["docs"], ""),
           ("Deploy 4.2 to production", "urgent", ["deploy", "prod"], "Sam Ortiz"),
           ("Approve the vendor contract", "medium", ["legal"], "Alex Kim")]


async def create_samples(live_url: str, account: Account) -> list[dict[str, Any]]:
    created = []
    for title, priority, tags, name in SAMPLES:
        body = {**example("hpi_approval"), "title": title, "priority": priority, "tags": tags}
        if name:
            body |= {"assignee_name": name}
        status, task = await api(live_url, "POST", "/api/v1/tasks", account, json=body)
        assert status == 201, task
        created.append(task)
    return created


def titles(page: Page) -> Any:
    return page.locator("#task-rows tr td:first-child")


async def test_counts_follow_changes_live_and_headers_sort(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    tasks = await create_samples(live_url, account)
    await dashboard_login(page, account, smtp_server, run_jobs)
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await expect(page.locator("[data-count='pending']")).to_have_text("4")
    await document(page, "dashboard")

    done = tasks[0]["task_id"]
    await api(live_url, "POST", f"/api/v1/tasks/{done}/complete", account,
              json={"data": {"decision": "Approve"}})
    await expect(page.locator(f"tr[data-task-id='{done}']")).to_have_count(0, timeout=1000)
    await expect(page.locator("[data-count='pending']")).to_have_text("3")
    await expect(page.locator("[data-count='completed']")).to_have_text("1")
    await expect(page.locator("#task-count")).to_have_text("3 tasks")

    await page.get_by_role("link", name="Title").click()
    await expect(page.get_by_role("columnheader", name="Title")).to_have_attribute(
        "aria-sort", "ascending")
    await expect(titles(page)).to_have_text(["Approve the vendor contract",
                                             "Deploy 4.2 to production",
                                             "Publish the release notes"])
    await page.get_by_role("link", name="Title").click()
    await expect(titles(page)).to_have_text(["Publish the release notes",
                                             "Deploy 4.2 to production",
                                             "Approve the vendor contract"])
    await page.get_by_role("link", name="Completed").click()
    await expect(titles(page)).to_have_text(["Refund order #1042"])
    await document(page, "dashboard-completed")


async def test_the_keyboard_moves_opens_and_searches(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    tasks = await create_samples(live_url, account)
    await dashboard_login(page, account, smtp_server, run_jobs)
    rows = page.locator("#task-rows tr")
    await page.keyboard.press("j")
    await expect(rows.nth(0)).to_have_class("selected")
    await expect(rows.nth(0).get_by_role("link")).to_be_focused()
    await page.keyboard.press("j")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("k")
    await expect(rows.nth(1)).to_have_class("selected")
    await expect(rows.nth(0)).not_to_have_class("selected")
    await page.keyboard.press("/")
    await expect(page.get_by_label("Search title or tag")).to_be_focused()
    await page.keyboard.type("j")  # typed into the search box, not a move
    await expect(page.get_by_label("Search title or tag")).to_have_value("j")
    await expect(rows.nth(1)).to_have_class("selected")
    await page.keyboard.press("Escape")
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    # newest first: the third row holds the second sample
    await expect(page).to_have_url(f"{live_url}/dashboard/tasks/{tasks[1]['task_id']}")


async def test_an_empty_dashboard_says_how_to_make_a_first_task(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    await dashboard_login(page, account, smtp_server, run_jobs)
    empty = page.locator("#empty-state")
    await expect(empty).to_contain_text("Nothing pending")
    await expect(empty).to_contain_text("curl -X POST")
    await expect(page.locator("#task-table")).to_be_hidden()
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await document(page, "dashboard-empty")
    status, _ = await api(live_url, "POST", "/api/v1/tasks", account,
                          json=example("hpi_approval"))
    assert status == 201
    await expect(empty).to_be_hidden(timeout=1000)
    await expect(page.locator("#task-table")).to_be_visible()
