"""Installing inloop per org (bot/oauth.py, api/web/slack_settings.py,
api/store/slack_installs.py): the whole OAuth flow through the dashboard, /slack/install,
the stub's authorize page and /slack/oauth_redirect; one workspace per org; Disconnect."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import bot.http
from api.cli import http_extras, require_secret_key
from api.runtime import Services
from api.server import create_app
from api.settings import Settings
from api.store.slack_installs import TAKEN
from api.web.slack_settings import register_oauth
from bot.oauth import OAUTH, authorize_url, build_oauth_flow
from tests.bot.oauth_rig import ACME, GLOBEX, connect, oauth_settings, redis_values, sign_in
from tests.conftest import Account, AccountFactory
from tests.fixtures import example
from tests.slack_stub import SlackStub, Workspace
from tests.web.helpers import csrf_from, post_form

SETTINGS_PAGE = "/dashboard/settings/slack"
STATE_COOKIE = "slack-app-oauth-state"


@pytest.fixture
def settings(slack_settings: Settings) -> Settings:
    return oauth_settings(slack_settings)


@pytest.fixture
def app(services: Services) -> web.Application:
    return create_app(services, extras=[register_oauth, bot.http.register])


async def start(client: TestClient) -> tuple[str, str]:
    """Press Add to Slack / Reinstall: Slack's authorize URL and the state cookie."""
    token = await csrf_from(client, SETTINGS_PAGE)
    started = await post_form(client, "/slack/install",
                              {"csrf_token": token})
    assert started.status == 302, await started.text()
    cookie = started.cookies[STATE_COOKIE].value
    return started.headers["Location"], cookie


async def approve(authorize_url: str, stub: SlackStub, workspace: Workspace) -> str:
    """The admin approves in Slack (the stub): the redirect back to inloop's path+query."""
    stub.installing = workspace
    async with aiohttp.ClientSession() as session, \
            session.get(authorize_url, allow_redirects=False) as answer:
        assert answer.status == 302
        back = answer.headers["Location"]
    assert back.startswith("http://inloop.test/slack/oauth_redirect?")
    return back.removeprefix("http://inloop.test")


async def install(client: TestClient, stub: SlackStub, workspace: Workspace) -> Any:
    url, cookie = await start(client)
    back = await approve(url, stub, workspace)
    return await client.get(back, headers={"Cookie": f"{STATE_COOKIE}={cookie}"},
                            allow_redirects=False)


async def test_an_admin_installs_through_slack(client: TestClient, services: Services,
                                               account: Account, slack_stub: SlackStub) -> None:
    await sign_in(client, services, account)
    url, _ = await start(client)
    assert url.startswith(slack_stub.url.removesuffix("api/") + "oauth/v2/authorize?")
    assert url.endswith("&redirect_uri=http://inloop.test/slack/oauth_redirect")
    done = await install(client, slack_stub, ACME)
    assert done.status == 303 and done.headers["Location"] == SETTINGS_PAGE
    installed = services.slack_installs.of_org(account.org_id)
    assert installed is not None and installed.team_id == ACME.team_id
    assert installed.bot_token == ACME.token and installed.installer_user_id == "UADMIN"
    [access] = slack_stub.of("oauth.v2.access")
    assert access.args["redirect_uri"] == "http://inloop.test/slack/oauth_redirect"
    page = await (await client.get(SETTINGS_PAGE)).text()
    assert "Acme" in page and "T0ACME" in page and "Reinstall" in page


async def test_no_bot_token_is_stored_in_clear(client: TestClient, services: Services,
                                               account: Account, slack_stub: SlackStub) -> None:
    await sign_in(client, services, account)
    assert (await install(client, slack_stub, ACME)).status == 303
    values = redis_values(services.redis)
    assert any(b"slack-install" in v for v in values)  # the scan saw the installation
    assert not [v for v in values if b"xoxb-" in v]


async def test_a_second_org_cannot_take_an_installed_team(
        client: TestClient, services: Services, account: Account,
        make_account: AccountFactory, slack_stub: SlackStub) -> None:
    await sign_in(client, services, account)
    assert (await install(client, slack_stub, ACME)).status == 303
    other = make_account(admin=True)
    await sign_in(client, services, other)  # another org's admin, in this browser
    refused = await install(client, slack_stub, Workspace(ACME.team_id, "Acme",
                                                          "xoxb-acme-again"))
    assert refused.status == 409
    assert re.sub(r"\s+", " ", TAKEN.split(".")[0]) in await refused.text()
    assert services.slack_installs.of_org(other.org_id) is None
    kept = services.slack_installs.of_workspace(None, ACME.team_id)
    assert kept is not None and kept.org_id == account.org_id
    assert kept.bot_token == ACME.token


async def test_state_is_single_use_and_bound_to_the_browser(
        client: TestClient, services: Services, account: Account,
        slack_stub: SlackStub) -> None:
    await sign_in(client, services, account)
    url, cookie = await start(client)
    back = await approve(url, slack_stub, ACME)
    client.session.cookie_jar.clear(lambda morsel: morsel.key == STATE_COOKIE)
    no_cookie = await client.get(back, allow_redirects=False)
    assert no_cookie.status == 400 and "another browser" in await no_cookie.text()
    headers = {"Cookie": f"{STATE_COOKIE}={cookie}"}
    assert (await client.get(back, headers=headers, allow_redirects=False)).status == 303
    again = await client.get(back, headers=headers, allow_redirects=False)
    assert again.status == 401 and "expired or was already used" in await again.text()


async def test_state_expires(client: TestClient, services: Services, account: Account,
                             slack_stub: SlackStub) -> None:
    await sign_in(client, services, account)
    url, cookie = await start(client)
    back = await approve(url, slack_stub, ACME)
    for key in services.redis.scan_iter("inloop:slack-oauth-state:*"):
        assert 0 < services.redis.ttl(key) <= 600
        services.redis.delete(key)  # as its TTL does
    late = await client.get(back, headers={"Cookie": f"{STATE_COOKIE}={cookie}"},
                            allow_redirects=False)
    assert late.status == 401 and services.slack_installs.of_org(account.org_id) is None


async def test_slack_is_a_settings_section_for_admins(
        client: TestClient, services: Services, make_account: AccountFactory) -> None:
    member = make_account(admin=False)
    await sign_in(client, services, member)
    assert SETTINGS_PAGE not in await (await client.get("/dashboard/settings")).text()
    await sign_in(client, services, make_account(admin=True))
    assert SETTINGS_PAGE in await (await client.get("/dashboard/settings")).text()
    page = await (await client.get(SETTINGS_PAGE)).text()
    assert 'class="site-header"' in page and "<h1>Settings</h1>" in page
    assert f'<a href="{SETTINGS_PAGE}" aria-current="page">Slack</a>' in page


async def test_only_admins_with_the_page_token_start_an_install(
        client: TestClient, services: Services, make_account: AccountFactory) -> None:
    member = make_account(admin=False)
    await sign_in(client, services, member)
    assert (await client.get(SETTINGS_PAGE)).status == 403
    refused = await post_form(client, "/slack/install", {})
    assert refused.status == 403
    admin = make_account(admin=True)
    await sign_in(client, services, admin)
    forged = await post_form(client, "/slack/install",
                             {"csrf_token": "forged"})
    assert forged.status == 403 and not list(services.redis.scan_iter(
        "inloop:slack-oauth-state:*"))


async def test_an_admin_installs_from_slacks_usual_get_link(
        client: TestClient, services: Services, make_account: AccountFactory,
        slack_stub: SlackStub) -> None:
    signed_out = await client.get("/slack/install", allow_redirects=False)
    assert signed_out.status == 303 and signed_out.headers["Location"] == "/dashboard/login"
    await sign_in(client, services, make_account(admin=False))
    assert (await client.get("/slack/install", allow_redirects=False)).status == 403
    admin = make_account(admin=True)
    await sign_in(client, services, admin)
    started = await client.get("/slack/install", allow_redirects=False)
    assert started.status == 302, await started.text()
    back = await approve(started.headers["Location"], slack_stub, ACME)
    cookie = started.cookies[STATE_COOKIE].value
    done = await client.get(back, headers={"Cookie": f"{STATE_COOKIE}={cookie}"},
                            allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == SETTINGS_PAGE
    installed = services.slack_installs.of_org(admin.org_id)
    assert installed is not None and installed.team_id == ACME.team_id


async def test_reinstalling_elsewhere_moves_the_org(client: TestClient, services: Services,
                                                    account: Account,
                                                    slack_stub: SlackStub) -> None:
    await sign_in(client, services, account)
    assert (await install(client, slack_stub, ACME)).status == 303
    assert (await install(client, slack_stub, GLOBEX)).status == 303
    assert services.slack_installs.of_workspace(None, ACME.team_id) is None
    moved = services.slack_installs.of_org(account.org_id)
    assert moved is not None and moved.team_id == GLOBEX.team_id


async def test_disconnect_uninstalls_and_tells_pending_tasks(
        client: TestClient, services: Services, account: Account, slack_stub: SlackStub,
        run_jobs: Callable[..., int]) -> None:
    connect(services, slack_stub, account.org_id, ACME)
    slack_stub.add_user("U0ACME", "ann@acme.example", "ann", team=ACME.team_id)
    created = await client.post("/api/v1/tasks", headers=account.headers,
                                json={**example("hpi_approval"),
                                      "assignee_email": "ann@acme.example"})
    assert created.status == 201
    run_jobs(("slack",))
    await sign_in(client, services, account)
    token = await csrf_from(client, SETTINGS_PAGE)
    done = await post_form(client, "/dashboard/settings/slack/disconnect",
                           {"csrf_token": token})
    assert done.status == 303 and services.slack_installs.of_org(account.org_id) is None
    [uninstall] = slack_stub.of("apps.uninstall")
    assert uninstall.team == ACME.team_id and ACME.token not in slack_stub.tokens
    run_jobs(("slack",))
    task = services.store.get(account.org_id, (await created.json())["task_id"])
    assert [p.code for p in task.delivery_problems] == ["slack_disconnected"]
    assert "Add to Slack" in await (await client.get(SETTINGS_PAGE)).text()


def test_serve_refuses_oauth_without_a_secret_key(slack_settings: Settings) -> None:
    keyless = oauth_settings(slack_settings, secret_key=None)
    with pytest.raises(SystemExit, match="needs INLOOP_SECRET_KEY"):
        require_secret_key(keyless, "serve")
    require_secret_key(oauth_settings(slack_settings), "serve")  # with a key: fine
    half = oauth_settings(slack_settings, slack_client_secret=None)
    with pytest.raises(SystemExit, match="needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"):
        require_secret_key(half, "serve")


def test_oauth_mode_mounts_its_routes(services: Services) -> None:
    def paths(extras: list[Any]) -> set[str]:
        app = create_app(services, extras=extras)
        return {r.resource.canonical for r in app.router.routes() if r.resource is not None}

    assert {"/slack/install", "/slack/oauth_redirect", "/slack/events"} <= paths(
        http_extras(services))
    services.settings = services.settings.model_copy(
        update={"slack_client_id": None, "slack_bot_token": "xoxb-single"})
    assert "/slack/oauth_redirect" not in paths(http_extras(services))


@pytest.mark.parametrize("api", ["https://proxy.example/slack/api",
                                 "https://proxy.example/slack/api/"])
def test_the_authorize_page_is_beside_the_web_api(slack_settings: Settings, api: str) -> None:
    beside = slack_settings.model_copy(update={"slack_api_url": api})
    assert authorize_url(beside) == "https://proxy.example/slack/oauth/v2/authorize"
    slack = slack_settings.model_copy(update={"slack_api_url": None})
    assert authorize_url(slack) == "https://slack.com/oauth/v2/authorize"


async def test_the_state_cookie_is_secure_only_over_https(
        client: TestClient, services: Services, account: Account) -> None:
    """Browsers drop a Secure cookie set over http: the install would fail there."""
    await sign_in(client, services, account)
    for base, secure in (("http://inloop.test", False), ("https://inloop.test", True)):
        client.app[OAUTH].secure_cookies = secure  # as build_oauth_flow reads base
        token = await csrf_from(client, SETTINGS_PAGE)
        started = await post_form(client, "/slack/install", {"csrf_token": token})
        [cookie] = [c for c in started.headers.getall("Set-Cookie") if STATE_COOKIE in c]
        assert "HttpOnly" in cookie and ("Secure" in cookie) is secure, base
    assert not build_oauth_flow(services).secure_cookies  # INLOOP_BASE_URL http://…
