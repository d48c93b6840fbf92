"""Teams of approvers in Chromium: an approver answers in the dashboard's embedded form and
the task page shows who has responded (live, without a reload), the history and, for
admins, reassign; a claim and its release from the form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from tests.conftest import Account, AccountFactory
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.conftest import api, dashboard_login, document

pytestmark = pytest.mark.browser


async def test_an_approver_answers_and_an_admin_reassigns_the_other_place(
        page: Page, live_url: str, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    ann = make_account(org_id=account.org_id)
    bob = make_account(org_id=account.org_id)
    await dashboard_login(page, account, smtp_server, run_jobs)  # before any link mail
    body = {**example("hpi_approval"), "title": "Ship the 4.2 release",
            "assignees": ["me", {"member_id": ann.member.id}],
            "approval": {"required": 2, "decision_field": "decision",
                         "reject_options": ["Reject"]}}
    status, task = await api(live_url, "POST", "/api/v1/tasks", account, json=body)
    assert status == 201, task
    await page.goto(f"/dashboard/tasks/{task['task_id']}")
    team = page.locator("#team")
    await expect(team).to_contain_text("0 of 2 approvals")
    form = page.frame_locator("iframe.task-form")
    await expect(form.locator("#progress-list")).to_contain_text(ann.member.name)
    await form.get_by_label("Decision").select_option("Approve")
    await form.get_by_role("button", name="Submit").click()
    await expect(form.get_by_role("heading", name="Thank you")).to_be_visible()

    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await expect(page.locator("#team")).to_contain_text("1 of 2 approvals")  # no reload
    await expect(team.locator("li.done")).to_contain_text(f"{account.member.name} approved")
    await expect(team.locator("li.waiting")).to_contain_text(ann.member.name)
    await expect(page.locator(".timeline")).to_contain_text(
        f"{account.member.name} approved via web")
    await document(page, "task-team")

    await page.get_by_label("Whose place").select_option(label=ann.member.name)
    await page.get_by_label("To a member").select_option(label=bob.member.name)
    await page.get_by_label("Note for the history").fill("Ann is on leave")
    await page.get_by_role("button", name="Reassign").click()
    await expect(team.locator("li.waiting")).to_contain_text(bob.member.name)
    await expect(page.locator(".timeline")).to_contain_text(
        f"{ann.member.name} reassigned to {bob.member.name} by {account.member.name}: "
        "Ann is on leave")
    status, stored = await api(live_url, "GET", f"/api/v1/tasks/{task['task_id']}", account)
    assert [a.get("member_id") for a in stored["assignees"]] == [account.member.id,
                                                                  bob.member.id]

    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    status, _ = await api(live_url, "POST", f"/api/v1/tasks/{task['task_id']}/complete", bob,
                          json={"data": {"decision": "Reject"}})
    assert status == 200
    await expect(page.locator("#outcome")).to_have_text("rejected", timeout=1000)  # live
    await expect(page.locator("#task-status")).to_have_text("completed")
    await expect(page.locator("#team li.done").nth(1)).to_contain_text(
        f"{bob.member.name} rejected")


async def test_a_claim_from_the_form_and_its_release(
        page: Page, live_url: str, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    ann = make_account(org_id=account.org_id)
    await dashboard_login(page, account, smtp_server, run_jobs)
    body = {**example("hpi_approval"), "assignees": ["me", {"member_id": ann.member.id}]}
    _, task = await api(live_url, "POST", "/api/v1/tasks", account, json=body)
    await page.goto(task["url"].removeprefix(live_url))
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator("#claim")).to_contain_text("You have claimed this task")
    await document(page, "form-team-claimed")
    _, stored = await api(live_url, "GET", f"/api/v1/tasks/{task['task_id']}", account)
    assert stored["status"] == "in_progress"
    assert stored["claimed_by"]["id"] == account.member.id

    await page.goto("/dashboard?tab=in_progress")
    await expect(page.locator("[data-count='in_progress']")).to_have_text("1")
    await expect(page.locator(f"tr[data-task-id='{task['task_id']}']")).to_contain_text(
        "in progress")
    await page.goto(task["url"].removeprefix(live_url))
    await page.get_by_role("button", name="Release").click()
    await expect(page.get_by_role("button", name="Claim")).to_be_visible()
    _, stored = await api(live_url, "GET", f"/api/v1/tasks/{task['task_id']}", account)
    assert stored["status"] == "pending" and stored["claimed_by"] is None
