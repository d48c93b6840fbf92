"""Authenticator apps in Chromium: enroll from Settings -> Sign-in with a code pyotp
computes, sign out, sign in with the email and the app's next code; the same code again
is refused."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
import pytest
from playwright.async_api import Page, expect
from pydantic import SecretStr

from api.crypto import new_key
from api.settings import Settings
from tests.conftest import Account
from tests.servers import SmtpServer
from tests.web.conftest import document, shot
from tests.web.test_dashboard_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.secret_key = SecretStr(new_key())
    return settings


async def sign_in_with_app(page: Page, email: str, code: str) -> None:
    await page.goto("/dashboard/login")
    await page.get_by_role("link", name="Use an authenticator app instead").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("6-digit code").fill(code)
    await page.get_by_role("button", name="Sign in").click()


async def test_enroll_then_sign_in_with_the_app_and_a_replay_is_refused(
        page: Page, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    await sign_in(page, account, smtp_server, run_jobs)
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="Sign-in").click()
    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.locator("#qr-code svg")).to_be_visible()
    totp = pyotp.parse_uri(await page.locator("#otpauth-uri").inner_text())
    assert isinstance(totp, pyotp.TOTP) and totp.name == account.member.email
    await document(page, "settings-sign-in")
    await page.get_by_label("6-digit code").fill(totp.at(time.time() + 90))  # a bad scan
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.locator("#code-error")).to_contain_text("not right")
    await page.get_by_label("6-digit code").fill(totp.now())
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.locator("#app-status")).to_contain_text("Enrolled since")

    await page.get_by_role("button", name="Sign out").click()
    code = totp.at(time.time() + 30)  # the next step's: the current one enrolled
    await sign_in_with_app(page, account.member.email, code)
    await expect(page.get_by_role("heading", name="Tasks")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await sign_in_with_app(page, account.member.email, code)
    await expect(page.locator("#code-error")).to_contain_text("used already")
    await shot(page, "dashboard-sign-in-app-replayed")
