"""Settings -> API tokens (admins): create with scopes (shown once), list by prefix, revoke.

Creating answers with a redirect (POST/redirect/GET): the new token waits in the member's
session and the next tokens page shows it, once, so a reload never creates another.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.domain.errors import NotFound
from api.domain.task import ALL_SCOPES
from api.runtime import SERVICES
from api.store.directory import Member
from api.web.dashboard import Posted, checked_form, member_page, require_member
from api.web.pages import message
from api.web.session import MEMBER_COOKIE, stash, unstash

PATH = "/dashboard/settings/tokens"
CREATED = "created"  # session entry holding a new token until it is shown


async def require_admin(request: web.Request) -> Member | web.Response:
    member = await require_member(request)
    if not member.admin:
        return message("Not allowed", "Only admins manage API tokens.", 403)
    return member


async def admin_post(request: web.Request) -> tuple[Member, Posted] | web.Response:
    """The signed-in admin and a form with a valid CSRF token, or the page to answer."""
    member = await require_admin(request)
    if isinstance(member, web.Response):
        return member
    form = await checked_form(request, member, tokens_page)
    return form if isinstance(form, web.Response) else (member, form)


async def tokens_page(request: web.Request, member: Member, status: int = 200, *,
                      error: str = "", created: str = "") -> web.Response:
    rows = await asyncio.to_thread(request.config_dict[SERVICES].directory.tokens, member.org_id)
    return await member_page(request, member, "tokens.html", status, tokens=rows,
                       scopes=ALL_SCOPES, error=error, created=created)


async def list_tokens(request: web.Request) -> web.Response:
    member = await require_admin(request)
    if isinstance(member, web.Response):
        return member
    created = await unstash(request, MEMBER_COOKIE, CREATED)
    return await tokens_page(request, member, created=created or "")


async def create_token(request: web.Request) -> web.Response:
    posted = await admin_post(request)
    if isinstance(posted, web.Response):
        return posted
    member, form = posted
    scopes = [s for s in form.getall("scope", []) if isinstance(s, str)]
    label = str(form.get("label", "")).strip()[:100]
    try:
        directory = request.config_dict[SERVICES].directory
        token = await asyncio.to_thread(directory.create_token, member, scopes, label)
    except ValueError:
        return await tokens_page(request, member, 400, error="Choose at least one scope.")
    await stash(request, MEMBER_COOKIE, CREATED, token)
    raise web.HTTPSeeOther(PATH)


async def revoke_token(request: web.Request) -> web.Response:
    posted = await admin_post(request)
    if isinstance(posted, web.Response):
        return posted
    member, form = posted
    try:
        await asyncio.to_thread(request.config_dict[SERVICES].directory.revoke_token,
                                str(form.get("prefix", "")), member.org_id)
    except NotFound:
        return await tokens_page(request, member, 404, error="No such token.")
    raise web.HTTPSeeOther(PATH)


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app (PATH is what the browser sees)."""
    app.router.add_get("/settings/tokens", list_tokens)
    app.router.add_post("/settings/tokens", create_token)
    app.router.add_post("/settings/tokens/revoke", revoke_token)
