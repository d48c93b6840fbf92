"""A signature drawn with a finger (real touch events through the DevTools protocol)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from api.domain.uploads import PNG_MAGIC
from api.runtime import Services
from tests.conftest import Account
from tests.web.conftest import api, shot

pytestmark = pytest.mark.browser
SIGN_ONLY = {"title": "Sign here", "steps": [{"id": "s", "title": "Sign", "blocks": [
    {"type": "input", "field": {"name": "sig", "label": "Signature", "kind": "signature",
                                "required": True}}]}]}


async def test_signature_drawn_by_touch(browser: Browser, live_url: str, account: Account,
                                        services: Services) -> None:
    status, created = await api(live_url, "POST", "/api/v1/tasks", account, json=SIGN_ONLY)
    assert status == 201
    context = await browser.new_context(base_url=live_url, has_touch=True, is_mobile=True,
                                        viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(created["url"])
    box = await page.locator("canvas").bounding_box()
    assert box is not None
    cdp = await context.new_cdp_session(page)
    x, y = box["x"] + 15, box["y"] + box["height"] / 2
    points = [(x + i * 20, y + (10 if i % 2 else -10)) for i in range(12)]
    for kind, (px, py) in [("touchStart", points[0])] + [("touchMove", p) for p in points[1:]]:
        await cdp.send("Input.dispatchTouchEvent",
                       {"type": kind, "touchPoints": [{"x": px, "y": py}]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    value = await page.locator("input[name=sig]").input_value()
    assert value.startswith("data:image/png;base64,")
    await shot(page, "signature-touch")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    sha = services.store.load(account.ref(created["task_id"])).data["sig"]["sha256"]
    assert services.settings.files_dir.joinpath(sha[:2], sha).read_bytes().startswith(PNG_MAGIC)
    await context.close()
