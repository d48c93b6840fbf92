"""Web UI fixtures: the real app listening on a loopback port, headless Chromium, and
helpers to create tasks and read emailed codes."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, async_playwright, expect

from api.runtime import Services
from api.server import create_app
from api.settings import Settings
from tests.conftest import Account
from tests.ports import free_port
from tests.servers import SmtpServer

# Chromium logs every 4xx page as "Failed to load resource"; pages answer 400/403/410/429
# on purpose, and real 404s are caught by URL below (all but the favicon).
EXPECTED_STATUS = re.compile(r"status of 4\d\d")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Read at import: every test starts with the INLOOP_* variables removed (tests/conftest.py).
WRITE_SCREENSHOTS = os.environ.get("INLOOP_SCREENSHOTS") == "1"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def settings(redis_url: str, tmp_path: Path, web_port: int, smtp_server: SmtpServer) -> Settings:
    """base_url is the live server's, so file URLs in answers really resolve."""
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data",
                    base_url=f"http://127.0.0.1:{web_port}", smtp_url=smtp_server.url,
                    allow_private_webhooks=True)


@pytest.fixture
async def live_url(services: Services, web_port: int) -> AsyncIterator[str]:
    """The whole app really listening on 127.0.0.1 (in this test's event loop)."""
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", web_port).start()
    yield f"http://127.0.0.1:{web_port}"
    await runner.cleanup()


@pytest.fixture
async def client_from(client: TestClient, services: Services
                      ) -> AsyncIterator[Callable[[str], TestClient]]:
    """`client_from(address)`: another browser (its own cookies) on the app under test,
    on its own network: behind one trusted proxy that puts `address` in X-Forwarded-For."""
    services.settings.trusted_proxy_hops = 1
    made: list[TestClient] = []

    def make(address: str) -> TestClient:
        made.append(TestClient(client.server, headers={"X-Forwarded-For": address}))
        return made[-1]

    yield make
    for other in made:
        await other.session.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, live_url: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_url)
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda msg: errors.append(msg.text)
           if msg.type == "error" and not EXPECTED_STATUS.search(msg.text) else None)
    tab.on("response", lambda r: errors.append(f"{r.status} {r.url}")
           if r.status == 404 and not r.url.endswith("/favicon.ico") else None)
    yield tab
    await context.close()
    assert not errors, f"browser errors: {errors}"


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot under test-artifacts/web/ (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def document(page: Page, name: str) -> None:
    """The README's screenshot `name`, written to docs/screenshots/ only when
    INLOOP_SCREENSHOTS=1 (so ordinary runs never rewrite committed files); the viewport,
    not the full page, so the files stay small."""
    if WRITE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled",
                              caret="hide")


async def api(live_url: str, method: str, path: str, account: Account,
              **kwargs: Any) -> tuple[int, Any]:
    async with ClientSession() as session, session.request(
            method, live_url + path, headers=account.headers, **kwargs) as response:
        body = await (response.json() if response.content_type == "application/json"
                      else response.read())
        return response.status, body


async def dashboard_login(page: Page, account: Account, smtp_server: SmtpServer,
                          run_jobs: Callable[..., int]) -> None:
    """Sign `account`'s member in to the dashboard with an emailed code."""
    await page.goto("/dashboard")
    assert page.url.endswith("/dashboard/login")
    await page.get_by_label("Email").fill(account.member.email)
    await shot(page, "dashboard-login")
    await document(page, "sign-in")
    await page.get_by_role("button", name="Email me a code").click()
    await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    await page.get_by_label("6-digit code").fill(emailed_code(smtp_server, run_jobs, 1))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()


def emailed_code(smtp_server: SmtpServer, run_jobs: Callable[..., int], count: int) -> str:
    """Run the queued email jobs and return the code in the `count`-th email."""
    run_jobs(("email",))
    message = smtp_server.mailbox.wait_for(count)[count - 1]
    found = re.search(r"\b(\d{6})\b", message.get_content())
    assert found, message.get_content()
    return found.group(1)
