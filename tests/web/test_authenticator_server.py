"""Authenticator apps in the dashboard without a browser: enrolling, signing in, replays,
limits that lock out only the guesser, admin reset, CSRF, no key, and no seed in Redis or
the logs."""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable

import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from api.crypto import new_key
from api.runtime import Services
from api.server import create_app
from api.settings import Settings
from api.store import keys
from tests.conftest import Account, AccountFactory, stored_values
from tests.servers import SmtpServer
from tests.web.helpers import csrf_from, dashboard_sign_in, post_form

SETTINGS = "/dashboard/settings/sign-in"
LOGIN = "/dashboard/login/app"
URI = re.compile(r'<code id="otpauth-uri">([^<]+)</code>')
SignIn = Callable[[TestClient, Account], Awaitable[None]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.secret_key = SecretStr(new_key())
    settings.otp_max_failures_per_day = 3
    settings.totp_max_network_failures_per_day = 4
    return settings


@pytest.fixture
def sign_in(smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> SignIn:
    """Sign `account` in on `client` with an emailed code (mails counted across calls)."""
    mails = iter(range(1, 100))

    async def sign_in(client: TestClient, account: Account) -> None:
        await dashboard_sign_in(client, account, smtp_server, run_jobs, next(mails))

    return sign_in


async def enroll(client: TestClient) -> pyotp.TOTP:
    """Set up an authenticator app for the signed-in member; its TOTP, as an app has it."""
    token = await csrf_from(client, SETTINGS)
    assert (await post_form(client, f"{SETTINGS}/begin", {"csrf_token": token})).status == 303
    page = await (await client.get(SETTINGS)).text()
    found = URI.search(page)
    assert found and "<svg" in page, page
    totp = pyotp.parse_uri(html.unescape(found.group(1)))
    assert isinstance(totp, pyotp.TOTP)
    confirmed = await post_form(client, f"{SETTINGS}/confirm", {"csrf_token": token,
                                                                "code": totp.now()})
    assert confirmed.status == 303
    assert "Enrolled since" in await (await client.get(SETTINGS)).text()
    return totp


async def app_sign_in(client: TestClient, email: str, code: str) -> tuple[int, str]:
    token = await csrf_from(client, LOGIN)
    response = await post_form(client, LOGIN, {"csrf_token": token, "email": email,
                                                "code": code})
    return response.status, (response.headers.get("Location") or await response.text())


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next step (the current one was spent enrolling): within ±1 step."""
    return totp.at(time.time() + 30)


async def test_enroll_then_sign_in_with_the_app_once(
        client: TestClient, account: Account, services: Services, sign_in: SignIn,
        client_from: Callable[[str], TestClient], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await sign_in(client, account)
    token = await csrf_from(client, SETTINGS)
    assert (await post_form(client, f"{SETTINGS}/begin", {"csrf_token": token})).status == 303
    page = await (await client.get(SETTINGS)).text()
    uri = html.unescape(URI.search(page).group(1))  # type: ignore[union-attr]
    totp = pyotp.parse_uri(uri)
    assert uri.startswith("otpauth://totp/inloop:") and "issuer=inloop" in uri
    assert totp.name == account.member.email and totp.issuer == "inloop"
    wrong = await post_form(client, f"{SETTINGS}/confirm", {"csrf_token": token,
                                                            "code": totp.at(time.time() + 90)})
    assert wrong.status == 400 and "not right" in await wrong.text()
    assert "Enrolled since" not in await (await client.get(SETTINGS)).text()  # a bad scan
    assert (await post_form(client, f"{SETTINGS}/confirm", {"csrf_token": token,
                                                            "code": totp.now()})).status == 303

    elsewhere = client_from("198.51.100.9")
    code = next_code(totp)
    assert await app_sign_in(elsewhere, account.member.email, code) == (303, "/dashboard")
    assert (await elsewhere.get("/dashboard", allow_redirects=False)).status == 200
    again = client_from("198.51.100.10")
    status, page = await app_sign_in(again, account.member.email, code)
    assert status == 400 and "used already" in page
    assert totp.secret.encode() not in stored_values(services.redis)
    assert totp.secret not in caplog.text


async def test_wrong_codes_and_unknown_emails_are_refused_alike(
        client: TestClient, account: Account, sign_in: SignIn,
        client_from: Callable[[str], TestClient]) -> None:
    await sign_in(client, account)
    totp = await enroll(client)
    stranger = client_from("203.0.113.7")
    for email in (account.member.email, "nobody@example.com"):
        status, page = await app_sign_in(stranger, email, "000000")
        assert status == 400 and "not right" in page
    status, page = await app_sign_in(stranger, "nobody@example.com", next_code(totp))
    assert status == 400 and "not right" in page


async def test_a_strangers_guesses_lock_out_only_the_stranger(
        client: TestClient, account: Account, sign_in: SignIn,
        client_from: Callable[[str], TestClient]) -> None:
    await sign_in(client, account)
    totp = await enroll(client)
    stranger, owner = client_from("203.0.113.7"), client_from("198.51.100.9")
    for _ in range(3):  # otp_max_failures_per_day
        assert (await app_sign_in(stranger, account.member.email, "000000"))[0] == 400
    status, page = await app_sign_in(stranger, account.member.email, next_code(totp))
    assert status == 403 and "too many wrong codes" in page
    assert await app_sign_in(owner, account.member.email, next_code(totp)) == (303, "/dashboard")


async def test_a_network_guessing_at_many_emails_is_capped(
        client: TestClient, account: Account, sign_in: SignIn,
        client_from: Callable[[str], TestClient]) -> None:
    await sign_in(client, account)
    totp = await enroll(client)
    stranger, owner = client_from("203.0.113.7"), client_from("198.51.100.9")
    for n in range(4):  # totp_max_network_failures_per_day, each email once
        assert (await app_sign_in(stranger, f"guess{n}@example.com", "000000"))[0] == 400
    status, page = await app_sign_in(stranger, account.member.email, next_code(totp))
    assert status == 403 and "too many wrong codes" in page
    assert await app_sign_in(owner, account.member.email, next_code(totp)) == (303, "/dashboard")


async def test_members_remove_their_own_app_and_admins_reset_their_orgs(
        client: TestClient, account: Account, make_account: AccountFactory,
        sign_in: SignIn, client_from: Callable[[str], TestClient]) -> None:
    member = make_account(org_id=account.org_id)
    member_browser = client_from("198.51.100.20")
    await sign_in(member_browser, member)
    totp = await enroll(member_browser)
    token = await csrf_from(member_browser, SETTINGS)
    refused = await post_form(member_browser, f"{SETTINGS}/reset",
                              {"csrf_token": token, "member_id": account.member.id})
    assert refused.status == 403  # not an admin

    await sign_in(client, account)
    admin_page = await (await client.get(SETTINGS)).text()
    assert f'data-member-id="{member.member.id}"' in admin_page and "enrolled " in admin_page
    admin_token = await csrf_from(client, SETTINGS)
    forged = await post_form(client, f"{SETTINGS}/reset",
                             {"csrf_token": token, "member_id": member.member.id})
    assert forged.status == 403  # the member's token is not the admin's session's
    other_org = make_account()
    assert (await post_form(client, f"{SETTINGS}/reset", {
        "csrf_token": admin_token, "member_id": other_org.member.id})).status == 404
    reset = await post_form(client, f"{SETTINGS}/reset",
                            {"csrf_token": admin_token, "member_id": member.member.id})
    assert reset.status == 303
    assert "Not set up" in await (await member_browser.get(SETTINGS)).text()
    status, _ = await app_sign_in(client_from("198.51.100.21"), member.member.email,
                                  next_code(totp))
    assert status == 400

    await enroll(member_browser)
    assert (await post_form(member_browser, f"{SETTINGS}/remove",
                            {"csrf_token": token})).status == 303
    assert "Not set up" in await (await member_browser.get(SETTINGS)).text()


async def test_forms_need_the_sessions_csrf_token(
        client: TestClient, account: Account, sign_in: SignIn) -> None:
    await sign_in(client, account)
    for action in ("begin", "confirm", "remove"):
        response = await post_form(client, f"{SETTINGS}/{action}", {"csrf_token": "x" * 43})
        assert response.status == 403 and "expired" in await response.text()
    assert (await post_form(client, LOGIN, {"email": account.member.email,
                                            "code": "123456"})).status == 403


async def age_session(client: TestClient, services: Services, seconds: int) -> None:
    """Make this browser's member session look `seconds` old (its record in Redis)."""
    key = keys.web_session(client.session.cookie_jar.filter_cookies(
        client.make_url("/"))["inloop_session"].value)
    record = json.loads(services.redis.get(key) or "{}")
    record["signed_in_at"] -= seconds
    services.redis.set(key, json.dumps(record), keepttl=True)


async def test_settings_changes_need_a_recent_sign_in(
        client: TestClient, account: Account, services: Services, sign_in: SignIn) -> None:
    """A stolen session cookie alone cannot enroll its own app, remove the member's or
    mint an API token: a session older than INLOOP_WEB_RECENT_SIGN_IN_S must sign in
    again first."""
    await sign_in(client, account)
    totp = await enroll(client)
    await age_session(client, services, services.settings.web_recent_sign_in_s + 5)
    token = await csrf_from(client, SETTINGS)
    refused = await post_form(client, f"{SETTINGS}/remove", {"csrf_token": token})
    assert refused.status == 403 and "recent sign-in" in await refused.text()
    assert "Enrolled since" in await (await client.get(SETTINGS)).text()
    tokens = await post_form(client, "/dashboard/settings/tokens",
                             {"csrf_token": token, "label": "ci", "scope": "tasks:read"})
    assert tokens.status == 403 and "recent sign-in" in await tokens.text()
    assert len(services.directory.tokens(account.member.org_id)) == 1  # the account's own

    status, where = await app_sign_in(client, account.member.email, next_code(totp))
    assert (status, where) == (303, "/dashboard")  # signing in again starts a new session
    token = await csrf_from(client, SETTINGS)
    assert (await post_form(client, f"{SETTINGS}/remove", {"csrf_token": token})).status == 303
    assert "Not set up" in await (await client.get(SETTINGS)).text()


@pytest.fixture
async def keyless(aiohttp_client: Callable[..., Awaitable[TestClient]],
                  services: Services) -> TestClient:
    """The app of a server without INLOOP_SECRET_KEY."""
    services.secrets = None
    app: web.Application = create_app(services)
    return await aiohttp_client(app)


async def test_without_a_key_enrollment_is_unavailable_with_a_clear_message(
        keyless: TestClient, account: Account, sign_in: SignIn) -> None:
    await sign_in(keyless, account)
    page = await (await keyless.get(SETTINGS)).text()
    assert "INLOOP_SECRET_KEY" in page and "begin-app" not in page
    token = await csrf_from(keyless, SETTINGS)
    begun = await post_form(keyless, f"{SETTINGS}/begin", {"csrf_token": token})
    assert begun.status == 503 and "INLOOP_SECRET_KEY" in await begun.text()
    visitor = TestClient(keyless.server)  # another browser, signed out
    try:
        login = await visitor.get(LOGIN, allow_redirects=False)
        page = await login.text()
        assert login.status == 200 and "INLOOP_SECRET_KEY" in page and 'id="code"' not in page
    finally:
        await visitor.session.close()
