"""Slack's OAuth v2 install, through Bolt's own flow (AsyncOAuthSettings): an org's admin
starts it from Settings → Slack (api.web.slack_settings: a CSRF-checked POST to Bolt's
install path, `/slack/install`, which runs Bolt's install step), Bolt redirects to Slack's
authorize page, and Slack sends the admin back to `GET /slack/oauth_redirect`.

The OAuth state is issued for the admin's org (api.store.slack_installs.OAuthStates:
single use, 10 minutes, and Bolt also checks the browser's state cookie), so the callback
knows which org installed; the installation is saved for that org, unless the workspace
is another org's (InstallFailed, 409, which the dashboard shows as a page). Slack's
authorize page is beside its Web API (`SLACK_API_URL`'s `../oauth/v2/authorize`), so a
stub or proxy serves both.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urljoin

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation

from api.domain.errors import Conflict
from api.runtime import Services
from api.settings import Settings
from api.store.slack_installs import ORG, Installed, OAuthStates
from bot.clients import async_web_client

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
SETTINGS_PAGE = "/dashboard/settings/slack"
STATE_TTL_S = 600
SLACK_API = "https://slack.com/api/"
FAILED = {"access_denied": "The install was cancelled in Slack.",
          "invalid_browser": "This install was started in another browser. Please start "
                             "it again from Settings → Slack.",
          "invalid_state": "This install link expired or was already used. Please start "
                           "it again from Settings → Slack."}


class InstallFailed(Exception):
    """The install did not complete: the status and the sentence to show the admin."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class WorkspaceTaken(BoltError):
    """The workspace is another org's (Bolt hands a BoltError to the failure page)."""


class InloopOAuthFlow(AsyncOAuthFlow):
    """Bolt's flow, with each install bound to the org whose admin started it."""

    def __init__(self, services: Services, states: OAuthStates,
                 settings: AsyncOAuthSettings) -> None:
        super().__init__(client=async_web_client(services.settings), settings=settings)
        self.states = states
        self.secure_cookies = services.settings.secure_cookies

    async def issue_new_state(self, request: AsyncBoltRequest) -> str:
        return await self.states.async_issue(org_id=request.context[ORG])

    async def handle_callback(self, request: AsyncBoltRequest) -> BoltResponse:
        state = (request.query.get("state") or [""])[0]
        org_id = await self.states.org_of(state)  # Bolt then consumes the state
        if org_id:
            request.context[ORG] = org_id
        return await super().handle_callback(request)

    async def store_installation(self, request: AsyncBoltRequest,
                                 installation: Installation) -> None:
        installation.set_custom_value(ORG, request.context[ORG])
        try:
            await self.settings.installation_store.async_save(installation)
        except Conflict as error:
            raise WorkspaceTaken(error.message) from None


OAUTH = web.AppKey("slack_oauth", InloopOAuthFlow)  # on the root app, in OAuth mode


def build_oauth_flow(services: Services) -> InloopOAuthFlow:
    settings = services.settings
    states = OAuthStates(services.redis, STATE_TTL_S)
    secret = settings.slack_client_secret
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=settings.slack_scope_list,
        redirect_uri=settings.base_url.rstrip("/") + REDIRECT_PATH,
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # the admin clicked in the dashboard already
        authorization_url=authorize_url(settings),
        installation_store=services.slack_installs, state_store=states,
        state_expiration_seconds=STATE_TTL_S,
        callback_options=AsyncCallbackOptions(success=_installed, failure=_failed))
    return InloopOAuthFlow(services, states, oauth)


def authorize_url(settings: Settings) -> str:
    # Beside the Web API's base as the Web API client reads it (with a trailing slash).
    base = settings.slack_api_url.rstrip("/") + "/" if settings.slack_api_url else SLACK_API
    return urljoin(base, "../oauth/v2/authorize")


async def start_install(flow: InloopOAuthFlow, request: web.Request,
                        org_id: str) -> web.StreamResponse:
    """`/slack/install` for an admin of `org_id` (the caller checked who is asking)."""
    bolt = await to_bolt_request(request)
    bolt.context[ORG] = org_id
    return await _response(flow, await flow.handle_installation(bolt))


async def finish_install(flow: InloopOAuthFlow, request: web.Request) -> web.StreamResponse:
    """`/slack/oauth_redirect`: Slack's answer, checked against the state and cookie;
    InstallFailed when it does not install."""
    bolt = await to_bolt_request(request)
    return await _response(flow, await flow.handle_callback(bolt))


async def _response(flow: InloopOAuthFlow, bolt: BoltResponse) -> web.StreamResponse:
    """Bolt's answer, its state cookie `Secure` only when inloop is served over https like
    its other cookies (Bolt's adapter always marks it): a browser drops a Secure cookie
    set by an http site, and every install would then fail as started elsewhere."""
    response = await to_aiohttp_response(bolt)
    if not flow.secure_cookies:
        for cookie in response.cookies.values():
            cookie["secure"] = ""
    return response


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    return BoltResponse(status=303, body="", headers={"Location": SETTINGS_PAGE})


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    """Raises InstallFailed: the dashboard's handler shows it as a page."""
    if isinstance(args.error, WorkspaceTaken):
        raise InstallFailed(409, str(args.error))
    raise InstallFailed(args.suggested_status_code, FAILED.get(
        args.reason, f"Slack did not complete the install ({args.reason}). Please try "
                     "again from Settings → Slack."))


async def disconnect(services: Services, org_id: str) -> Installed | None:
    """Uninstall the app from the org's workspace (`apps.uninstall`) and forget it; the
    installation removed, or None when there was none."""
    found = await asyncio.to_thread(services.slack_installs.of_org, org_id)
    if found is None:
        return None
    settings = services.settings
    secret = settings.slack_client_secret
    try:
        await async_web_client(settings, found.bot_token).apps_uninstall(
            client_id=settings.slack_client_id or "",
            client_secret=secret.get_secret_value() if secret else "")
    except SlackApiError as error:  # uninstalled or revoked already: forget it all the same
        log.warning("apps.uninstall failed for Slack team %s: %s", found.team_id,
                    error.response.get("error"))
    return await asyncio.to_thread(services.slack_installs.remove, org_id,
                                   "an admin disconnected Slack in the dashboard",
                                   found.workspace)
