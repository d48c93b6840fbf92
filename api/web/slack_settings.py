"""Settings → Slack (admins): the org's connected workspace, Add to Slack / Reinstall and
Disconnect, and the OAuth routes on the root app (OAuth mode, `register_oauth`).

Add to Slack / Reinstall posts to Bolt's install path, `/slack/install`, with the page's
CSRF token like every dashboard form; an admin's POST runs Bolt's install step (bot.oauth:
a state bound to the org and this browser, then Slack's authorize page). A signed-in
admin's GET of it (Bolt's and Slack's usual install link) runs the same step: it changes
nothing in inloop, and the install completes only once the admin allows it in Slack.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.runtime import SERVICES
from api.store.directory import Member
from api.web.dashboard import checked_form, member_page, require_member
from api.web.pages import message
from api.web.session import CSRF, CsrfSigner
from bot.oauth import (
    INSTALL_PATH,
    OAUTH,
    REDIRECT_PATH,
    SETTINGS_PAGE,
    InstallFailed,
    build_oauth_flow,
    disconnect,
    finish_install,
    start_install,
)


async def _admin(request: web.Request) -> Member | web.Response:
    member = await require_member(request)
    if not member.admin:
        return message("Not allowed", "Only admins connect Slack.", 403)
    return member


async def _posted_by_admin(request: web.Request) -> Member | web.Response:
    member = await _admin(request)
    if isinstance(member, web.Response):
        return member
    form = await checked_form(request, member, slack_page)
    return form if isinstance(form, web.Response) else member


async def slack_page(request: web.Request, member: Member, status: int = 200, *,
                     error: str = "") -> web.Response:
    services = request.config_dict[SERVICES]
    installed = await asyncio.to_thread(services.slack_installs.of_org, member.org_id)
    return await member_page(request, member, "slack.html", status, installed=installed,
                             oauth=OAUTH in request.config_dict, error=error,
                             single=bool(services.settings.slack_bot_token))


async def show_slack(request: web.Request) -> web.Response:
    member = await _admin(request)
    return member if isinstance(member, web.Response) else await slack_page(request, member)


async def disconnect_slack(request: web.Request) -> web.Response:
    member = await _posted_by_admin(request)
    if isinstance(member, web.Response):
        return member
    await disconnect(request.config_dict[SERVICES], member.org_id)
    raise web.HTTPSeeOther(SETTINGS_PAGE)


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/settings/slack", show_slack)
    app.router.add_post("/settings/slack/disconnect", disconnect_slack)


# -- the root app's OAuth routes ---------------------------------------------------------


def register_oauth(app: web.Application) -> None:
    """An aiohttp registrar for `create_app(services, extras=[...])` in OAuth mode. The
    root checks the install form's CSRF token: a signer of its own reads the same secret
    as the web sub-apps' (api.web.session.CsrfSigner), so their tokens are the same."""
    app[OAUTH] = build_oauth_flow(app[SERVICES])
    app[CSRF] = CsrfSigner()
    app.router.add_get(INSTALL_PATH, install_link)
    app.router.add_post(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, oauth_redirect)


async def install_link(request: web.Request) -> web.StreamResponse:
    """`GET /slack/install`: a signed-in admin of the org (others sign in, or get 403)."""
    member = await _admin(request)
    if isinstance(member, web.Response):
        return member
    return await start_install(request.app[OAUTH], request, member.org_id)


async def install(request: web.Request) -> web.StreamResponse:
    """`POST /slack/install`: an admin of the org, with the page's CSRF token."""
    member = await _posted_by_admin(request)
    if isinstance(member, web.Response):
        return member
    return await start_install(request.app[OAUTH], request, member.org_id)


async def oauth_redirect(request: web.Request) -> web.StreamResponse:
    try:
        return await finish_install(request.app[OAUTH], request)
    except InstallFailed as failed:
        return message("Slack was not connected", failed.text, failed.status)
