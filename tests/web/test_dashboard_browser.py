"""The operator dashboard in a real browser: code sign-in, live list, task page, tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from tests.conftest import Account
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.conftest import api, document, shot
from tests.web.conftest import dashboard_login as sign_in

pytestmark = pytest.mark.browser


async def test_sign_in_and_a_new_task_appears_live(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    await sign_in(page, account, smtp_server, run_jobs)
    await expect(page.locator("#task-count")).to_have_text("0 tasks")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    body = {**example("hpi_approval"), "title": "Live <b>task</b>", "tags": ["deploy"]}
    status, created = await api(live_url, "POST", "/api/v1/tasks", account, json=body)
    assert status == 201
    row = page.locator(f"tr[data-task-id='{created['task_id']}']")
    await expect(row).to_contain_text("Live <b>task</b>", timeout=1000)  # no reload, < 1 s
    await expect(page.locator("[data-count='pending']")).to_have_text("1")
    await shot(page, "dashboard-live")

    await page.get_by_label("Search title or tag").fill("nothing-matches")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#task-count")).to_have_text("0 tasks")
    await page.get_by_label("Search title or tag").fill("deploy")
    await page.get_by_role("button", name="Filter").click()
    await expect(row).to_be_visible()

    await row.get_by_role("link").click()
    await expect(page.locator("#task-status")).to_have_text("pending")
    await expect(page.locator(".timeline")).to_contain_text("created by")
    await page.get_by_label("Reason").fill("Not needed after all")
    await page.get_by_role("button", name="Cancel task").click()
    await expect(page.locator("#task-status")).to_have_text("cancelled")
    await expect(page.locator(".timeline")).to_contain_text("cancelled: Not needed after all")
    await shot(page, "dashboard-task-cancelled")
    await page.get_by_role("link", name="Tasks").click()
    await page.get_by_role("link", name="Cancelled & failed").click()
    await expect(page.locator(f"tr[data-task-id='{created['task_id']}']")).to_be_visible()


async def test_a_pending_task_page_shows_its_form_and_the_member_answers_there(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    _, created = await api(live_url, "POST", "/api/v1/tasks", account,
                           json=example("hpi_approval"))
    await sign_in(page, account, smtp_server, run_jobs)
    await page.goto(f"/dashboard/tasks/{created['task_id']}")
    form = page.frame_locator("iframe.task-form")
    await form.get_by_label("Decision").select_option("Approve")
    await shot(page, "dashboard-task-form")
    await document(page, "task-pending")
    await form.get_by_role("button", name="Submit").click()
    await expect(form.get_by_role("heading", name="Thank you")).to_be_visible()
    status, task = await api(live_url, "GET", f"/api/v1/tasks/{created['task_id']}", account)
    assert status == 200 and task["status"] == "completed"
    assert task["data"]["decision"] == "Approve"
    assert task["completed_by"] == {"channel": "web", "id": account.member.id,
                                    "name": account.member.name}
    await page.reload()
    await expect(page.locator("#task-status")).to_have_text("completed")
    await expect(page.locator("iframe.task-form")).to_have_count(0)


async def test_completed_task_page_shows_answers_and_pdf(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    _, created = await api(live_url, "POST", "/api/v1/tasks", account,
                           json=example("hpi_approval"))
    await api(live_url, "POST", f"/api/v1/tasks/{created['task_id']}/complete", account,
              json={"data": {"decision": "Approve", "comments": "ok"}})
    await sign_in(page, account, smtp_server, run_jobs)
    await page.goto(f"/dashboard/tasks/{created['task_id']}")
    await expect(page.locator("table.answers")).to_contain_text("Approve")
    await expect(page.locator(".timeline")).to_contain_text("answered by")
    await shot(page, "dashboard-task-completed")
    await document(page, "task-completed")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download PDF").click()
    download = await info.value
    path = await download.path()
    assert path is not None and path.read_bytes().startswith(b"%PDF")


async def test_admin_creates_and_revokes_a_token(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    await sign_in(page, account, smtp_server, run_jobs)
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="API tokens").click()
    await page.get_by_label("Label").fill("reader")
    await page.get_by_label("tasks:read").check()
    await page.get_by_role("button", name="Create token").click()
    token = (await page.locator("#new-token").inner_text()).strip()
    assert token.startswith("htk_")
    await shot(page, "tokens-created")
    await document(page, "settings-tokens")
    reader = Account(account.org_id, account.member, token)
    assert (await api(live_url, "GET", "/api/v1/tasks", reader))[0] == 200
    assert (await api(live_url, "POST", "/api/v1/tasks", reader, json={}))[0] == 403

    await page.goto("/dashboard/settings/tokens")  # shown once: gone on reload
    await expect(page.locator("#new-token")).to_have_count(0)
    row = page.locator(f"tr[data-prefix='{token[:12]}']")
    await expect(row).to_contain_text("reader")
    await row.get_by_role("button", name="Revoke").click()
    await expect(row).to_have_count(0)
    await asyncio.sleep(1.1)  # each process keeps a token's check for up to 1 s
    assert (await api(live_url, "GET", "/api/v1/tasks", reader))[0] == 401
