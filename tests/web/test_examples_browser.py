"""The three HPI documentation examples, answered in a real browser."""

from __future__ import annotations

import hashlib

import pytest
from playwright.async_api import Page, expect

from api.domain.uploads import PNG_MAGIC
from tests.conftest import Account
from tests.fixtures import example
from tests.web.conftest import api, shot

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n% a signed contract\n" + b"x" * 5000


async def new_task(live_url: str, account: Account, name: str) -> dict:
    status, body = await api(live_url, "POST", "/api/v1/tasks", account, json=example(name))
    assert status == 201, body
    return body


async def read_task(live_url: str, account: Account, task_id: str) -> dict:
    status, body = await api(live_url, "GET", f"/api/v1/tasks/{task_id}", account)
    assert status == 200
    return body


async def test_approval_example(page: Page, live_url: str, account: Account) -> None:
    created = await new_task(live_url, account, "hpi_approval")
    await page.goto(created["url"])
    await expect(page.get_by_role("heading", name="Approve deployment to production")
                 ).to_be_visible()
    await expect(page.locator(".markdown strong")).to_have_text("production")
    await page.get_by_label("Decision").select_option("Approve")
    await page.get_by_label("Comments").fill("Looks good, <ship> it!")
    await shot(page, "approval-form")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    await shot(page, "approval-thanks")
    task = await read_task(live_url, account, created["task_id"])
    assert task["status"] == "completed"
    assert task["data"] == {"decision": "Approve", "comments": "Looks good, <ship> it!"}
    assert task["completed_by"] == {"channel": "web", "id": "link",
                                 "name": "anyone with the link"}
    response = await page.goto(created["url"])
    assert response is not None and response.status == 410
    await expect(page.get_by_role("heading", name="This task is done")).to_be_visible()
    await shot(page, "approval-gone")


async def test_feedback_example(page: Page, live_url: str, account: Account) -> None:
    created = await new_task(live_url, account, "hpi_feedback")
    await page.goto(created["url"])
    await page.get_by_label("PM").check()
    await page.get_by_label("When did you start using the product?").fill("2026-02-24T12:00")
    slider = page.get_by_label("Ease of Use")
    await slider.fill("7")
    await expect(page.locator("output#field-ease_of_use-value")).to_have_text("7")
    await page.get_by_label("1 of 5 stars").check()
    for _ in range(3):  # the stars are a radio group: arrow keys move the rating
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_label("4 of 5 stars")).to_be_checked()
    await page.get_by_label("Additional Comments").fill("Zoë likes it")
    await shot(page, "feedback-form")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    task = await read_task(live_url, account, created["task_id"])
    assert task["data"] == {"role": "PM", "start_date": "2026-02-24T12:00:00",
                            "ease_of_use": 7, "overall_rating": 4, "comments": "Zoë likes it"}


async def draw_signature(page: Page) -> None:
    canvas = page.locator("canvas")
    box = await canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    for i in range(1, 12):
        await page.mouse.move(x + i * 25, y + (15 if i % 2 else -15), steps=3)
    await page.mouse.up()


async def test_onboarding_example(page: Page, live_url: str, account: Account) -> None:
    created = await new_task(live_url, account, "hpi_onboarding")
    await page.goto(created["url"])
    await expect(page.get_by_text("Step 1 of 3")).to_be_visible()
    await page.get_by_label("Full Name").fill("Ada Lovelace")
    await page.get_by_label("Department").select_option("Engineering")
    await shot(page, "onboarding-step1")
    await page.get_by_role("button", name="Next").click()

    await expect(page.get_by_text("Step 2 of 3")).to_be_visible()
    await page.get_by_label("Signed Contract").set_input_files(
        {"name": "contract.pdf", "mimeType": "application/pdf", "buffer": PDF})
    await shot(page, "onboarding-step2")
    await page.get_by_role("button", name="Next").click()

    await expect(page.get_by_text("Step 3 of 3")).to_be_visible()
    signature = page.get_by_role("group", name="Manager Signature (required)")
    await expect(signature.get_by_role("img", name="Signature pad, required")).to_be_visible()
    await expect(signature.get_by_label("Or type your name")).to_have_attribute(
        "aria-required", "true")
    await page.get_by_role("button", name="Submit").click()  # no signature yet
    await expect(page.locator("#field-signature .error")).to_contain_text("required")
    await page.get_by_role("button", name="Back").click()
    await expect(page.get_by_text("Uploaded: contract.pdf")).to_be_visible()
    await page.get_by_role("button", name="Next").click()

    await page.get_by_label("Approve onboarding?").check()
    await draw_signature(page)
    await shot(page, "onboarding-step3")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    task = await read_task(live_url, account, created["task_id"])
    data, base = task["data"], f"{live_url}/api/v1/tasks/{created['task_id']}/files"
    assert {k: data[k] for k in ("full_name", "department", "approved")} == {
        "full_name": "Ada Lovelace", "department": "Engineering", "approved": True}
    assert data["contract"] == {"name": "contract.pdf", "size": len(PDF),
                                "content_type": "application/pdf",
                                "sha256": hashlib.sha256(PDF).hexdigest(),
                                "url": f"{base}/contract"}
    assert data["signature"]["content_type"] == "image/png"
    assert data["signature"]["url"] == f"{base}/signature"
    status, png = await api(live_url, "GET", f"/api/v1/tasks/{created['task_id']}/files/"
                            "signature", account)
    assert status == 200 and png.startswith(PNG_MAGIC)
    assert hashlib.sha256(png).hexdigest() == data["signature"]["sha256"]
    status, pdf = await api(live_url, "GET", f"/api/v1/tasks/{created['task_id']}/files/"
                            "contract", account)
    assert status == 200 and pdf == PDF
