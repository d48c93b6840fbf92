"""External assignees: an emailed one-time code opens the form (real SMTP, real browser)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from tests.conftest import Account
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.conftest import api, emailed_code, shot

pytestmark = pytest.mark.browser


async def external_task(live_url: str, account: Account) -> dict:
    body = {**example("hpi_approval"), "assignee_email": "Zoe.Ext@partner.example",
            "assignee_name": "Zoë Extern", "assignee_phone": "+49 30 1234567"}
    status, created = await api(live_url, "POST", "/api/v1/tasks", account, json=body)
    assert status == 201 and created["requires_otp"] is True, created
    return created


async def test_external_assignee_signs_in_with_an_emailed_code(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    created = await external_task(live_url, account)
    await page.goto(created["url"])
    assert page.url.endswith(f"/t/{created['link_id']}/verify")
    await expect(page.get_by_text("Z******@partner.example")).to_be_visible()
    await expect(page.get_by_text("(phone +** ** *****67)")).to_be_visible()
    assert "1234567" not in await page.content()  # not before the code is checked
    await shot(page, "otp-request")
    await page.get_by_role("button", name="Email me a code").click()
    await expect(page.get_by_text("We sent you a code")).to_be_visible()
    code = emailed_code(smtp_server, run_jobs, 1)
    mail = smtp_server.mailbox.messages[0]
    assert mail["To"] == "Zoe.Ext@partner.example"
    assert "Approve deployment to production" in mail.get_content()
    await page.get_by_label("6-digit code").fill(code)
    await shot(page, "otp-enter-code")
    await page.get_by_role("button", name="Continue").click()

    await expect(page.get_by_label("Decision")).to_be_visible()
    await page.get_by_label("Decision").select_option("Reject")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    _, task = await api(live_url, "GET", f"/api/v1/tasks/{created['task_id']}", account)
    assert task["completed_by"] == {"channel": "web", "id": "Zoe.Ext@partner.example",
                                    "name": "Zoë Extern"}


async def test_five_wrong_codes_lock_the_code(
        page: Page, live_url: str, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    created = await external_task(live_url, account)
    await page.goto(created["url"])
    await page.get_by_role("button", name="Email me a code").click()
    code = emailed_code(smtp_server, run_jobs, 1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        await page.get_by_label("6-digit code").fill(wrong)
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("alert")).to_have_text(
            f"That code is not right. {left} tries left.")
    await page.get_by_label("6-digit code").fill(code)  # right, but too late
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_contain_text("tried too often")
    await shot(page, "otp-locked")
    response = await page.goto(created["url"])
    assert response is not None and page.url.endswith("/verify")

    # Asking again at once mails nothing new: the code already emailed works again,
    # with fresh tries.
    await page.get_by_role("button", name="Email me a code").click()
    await expect(page.get_by_text("sends no new email")).to_be_visible()
    await page.get_by_label("6-digit code").fill(code)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_label("Decision")).to_be_visible()
    run_jobs(("email",))
    assert len(smtp_server.mailbox.messages) == 1
