"""Authenticator apps in the dashboard (api.store.authenticators holds the rules).

  GET  /dashboard/settings/sign-in          Settings -> Sign-in: the member's app, and for
                                            admins every member's
  POST /dashboard/settings/sign-in/begin    a new seed: its QR code (SVG, segno) and URI
  POST /dashboard/settings/sign-in/confirm  enroll it with a right code from the app
  POST /dashboard/settings/sign-in/remove   remove one's own app
  POST /dashboard/settings/sign-in/reset    admins: remove a member's app
  GET  /dashboard/login/app                 sign in with an email and the app's code
  POST /dashboard/login/app
Every POST carries the session-bound CSRF token; the seed is never logged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup

from api.domain.errors import CodeLocked, Conflict
from api.runtime import SERVICES
from api.store.authenticators import NO_KEY, Authenticators, provisioning_uri
from api.store.directory import Member
from api.web.access import signed_in_member
from api.web.dashboard import checked_form, member_page, require_member
from api.web.pages import WEB, message
from api.web.session import CSRF_FIELD, client_ip, csrf_ok
from api.web.sign_in import find_member, login_page, posted_email, signed_in

PATH = "/dashboard/settings/sign-in"
LOGIN_APP = "login_app.html"


def authenticators(request: web.Request) -> Authenticators:
    return request.config_dict[WEB].authenticators


def qr_svg(uri: str) -> Markup:
    """The URI as an inline SVG QR code, dark on white so apps read it on any page."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff",
                                                title="QR code to scan with an "
                                                "authenticator app")
    return Markup(svg)  # noqa: S704 - segno's markup; the URI is in it only as QR path data


def _view(otp: Authenticators, directory: Any, member: Member) -> dict[str, Any]:
    """What the settings page shows (in a thread: Redis reads and the QR code)."""
    seed = otp.pending_seed(member.id) if otp.available else None
    uri = provisioning_uri(seed, member.email) if seed else ""
    others = sorted(directory.members(member.org_id), key=lambda m: m.email) \
        if member.admin else []
    enrolled = otp.enrollments([member.id, *(m.id for m in others)])
    return {"available": otp.available, "no_key": NO_KEY, "uri": uri,
            "qr": qr_svg(uri) if uri else "", "enrolled_at": enrolled.get(member.id, ""),
            "members": [(m, enrolled.get(m.id, "")) for m in others]}


async def settings_page(request: web.Request, member: Member, status: int = 200, *,
                        error: str = "") -> web.Response:
    directory = request.config_dict[SERVICES].directory
    view = await asyncio.to_thread(_view, authenticators(request), directory, member)
    return await member_page(request, member, "sign_in_settings.html", status, error=error,
                             **view)


async def member_post(request: web.Request) -> tuple[Member, Any] | web.Response:
    """The signed-in member and a form with a valid CSRF token, or the page to answer."""
    member = await require_member(request)
    form = await checked_form(request, member, settings_page)
    return form if isinstance(form, web.Response) else (member, form)


async def show_settings(request: web.Request) -> web.Response:
    return await settings_page(request, await require_member(request))


async def begin(request: web.Request) -> web.Response:
    posted = await member_post(request)
    if isinstance(posted, web.Response):
        return posted
    member, _ = posted
    try:
        await asyncio.to_thread(authenticators(request).begin, member.id)
    except Conflict as error:
        return await settings_page(request, member, 409, error=error.message)
    raise web.HTTPSeeOther(PATH)


async def confirm(request: web.Request) -> web.Response:
    posted = await member_post(request)
    if isinstance(posted, web.Response):
        return posted
    member, form = posted
    code = str(form.get("code", ""))
    if not await asyncio.to_thread(authenticators(request).confirm, member.id, code):
        return await settings_page(request, member, 400, error="That code is not right. "
                                   "Enter the code your app shows now.")
    raise web.HTTPSeeOther(PATH)


async def remove(request: web.Request) -> web.Response:
    posted = await member_post(request)
    if isinstance(posted, web.Response):
        return posted
    await asyncio.to_thread(authenticators(request).remove, posted[0].id)
    raise web.HTTPSeeOther(PATH)


async def reset(request: web.Request) -> web.Response:
    """An admin removes the app of a member of their own org (another org's: 404)."""
    posted = await member_post(request)
    if isinstance(posted, web.Response):
        return posted
    admin, form = posted
    if not admin.admin:
        return message("Not allowed", "Only admins reset members' authenticator apps.", 403)
    directory = request.config_dict[SERVICES].directory
    target = await asyncio.to_thread(directory.find_member, admin.org_id,
                                     str(form.get("member_id", "")))
    if target is None:
        return await settings_page(request, admin, 404, error="No such member.")
    await asyncio.to_thread(authenticators(request).remove, target.id)
    raise web.HTTPSeeOther(PATH)


async def app_login_page(request: web.Request, status: int = 200, *,
                         error: str = "") -> web.Response:
    unavailable = "" if authenticators(request).available else NO_KEY
    return await login_page(request, LOGIN_APP, status, error=error, unavailable=unavailable)


async def show_app_login(request: web.Request) -> web.Response:
    if await signed_in_member(request):
        raise web.HTTPSeeOther("/dashboard")
    return await app_login_page(request)


async def app_login(request: web.Request) -> web.Response:
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return await app_login_page(request, 403, error="The page expired; try again.")
    email, org = posted_email(form)
    if not email:
        return await app_login_page(request, 400, error="Enter your email address.")
    member = await asyncio.to_thread(find_member, request.config_dict[SERVICES].directory,
                                     email, org)
    try:
        verdict = await asyncio.to_thread(
            authenticators(request).sign_in, email, member.id if member else None,
            str(form.get("code", "")), client_ip(request))
    except CodeLocked as error:
        return await app_login_page(request, 403, error=error.message)
    if verdict == "used":
        return await app_login_page(request, 400, error="That code was used already. "
                                    "Wait for your app to show the next one.")
    if verdict == "wrong" or member is None:
        return await app_login_page(request, 400, error="That code is not right.")
    return await signed_in(request, member.id)


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/settings/sign-in", show_settings)
    for action, handler in (("begin", begin), ("confirm", confirm), ("remove", remove),
                            ("reset", reset)):
        app.router.add_post(f"/settings/sign-in/{action}", handler)
    app.router.add_get("/login/app", show_app_login)
    app.router.add_post("/login/app", app_login)
