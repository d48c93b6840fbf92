"""A fresh `inloop dev` without SMTP, in Chromium: the banner's link signs the admin in
once, and an emailed sign-in code can be read at /dev/mail and used."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.dev_process import start_dev, stop_dev, until_ready
from tests.ports import free_port
from tests.web.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def code_from_dev_mail(page: Page) -> str:
    """The sign-in code in the newest mail at /dev/mail, once the worker has sent it."""
    for _ in range(50):
        await page.goto("/dev/mail")
        newest = page.locator("article.dev-mail pre").first
        if await newest.count():
            found = re.search(r"\b(\d{6})\b", await newest.inner_text())
            assert found
            return found.group(1)
        await asyncio.sleep(0.2)
    raise AssertionError("no mail caught")


async def test_the_banner_link_and_the_caught_code_sign_in(browser: Browser,
                                                           tmp_path: Path) -> None:
    port = free_port()
    proc, lines = await asyncio.to_thread(start_dev, tmp_path, port)
    try:
        await asyncio.to_thread(until_ready, port)
        link = re.search(r"http://\S+/dev/sign-in/\S+", "".join(lines))
        assert link, "".join(lines)
        context = await browser.new_context(base_url=f"http://127.0.0.1:{port}")
        context.set_default_timeout(10_000)
        page = await context.new_page()
        await page.goto(link.group())
        await expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
        again = await (await browser.new_page()).goto(link.group())
        assert again is not None and again.status == 410  # spent

        other = await (await browser.new_context(
            base_url=f"http://127.0.0.1:{port}")).new_page()
        await other.goto("/dashboard/login")
        await other.get_by_label("Email").fill("admin@localhost")
        await other.get_by_role("button", name="Email me a code").click()
        await expect(other.get_by_role("heading", name="Check your email")).to_be_visible()
        code = await code_from_dev_mail(other)
        await shot(other, "dev-mail")
        await other.goto("/dashboard/login/code")
        await other.get_by_label("6-digit code").fill(code)
        await other.get_by_role("button", name="Sign in").click()
        await expect(other.get_by_role("heading", name="Tasks")).to_be_visible()
    finally:
        await asyncio.to_thread(stop_dev, proc)
