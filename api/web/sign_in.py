"""Dashboard sign-in: a member's email, then a one-time code sent to it.

An unknown address gets the same pages and a code that is never sent, so the sign-in
form does not reveal who is a member. The attempt is tracked by a short-lived cookie;
limits count per email and network (see api.store.codes), so a stranger asking for codes for a
member's email neither locks the member out nor floods their mailbox.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from api.domain.errors import NotFound
from api.runtime import SERVICES
from api.store.codes import CodeLocked, RateLimited, new_attempt
from api.store.directory import Directory, Member
from api.web.access import signed_in_member
from api.web.pages import WEB, message, page
from api.web.session import (
    CSRF_FIELD,
    MEMBER_COOKIE,
    client_ip,
    cookie_id,
    create_session,
    csrf_ok,
    drop_session,
    set_cookie,
    with_csrf,
)

LOGIN_COOKIE = "inloop_login"
LOGIN_PATH = "/dashboard/login"
# Without SMTP no code can be mailed: say so rather than "a code is on its way".
NO_MAIL = ("Email codes cannot be sent: this server has no INLOOP_SMTP_URL. Use an "
           "authenticator app instead, or ask the operator to set it.")


def find_member(directory: Directory, email: str, org: str) -> Member | None:
    """The member with `email` in the named org, or in the first org (by name) that has it."""
    for member in directory.members_with_email(email):
        if not org or org in (member.org_id, directory.org_name(member.org_id)):
            return member
    return None


def posted_email(form: MultiDictProxy[Any]) -> tuple[str, str]:
    """The sign-in form's email (lower case; "" unless it looks like one) and org."""
    email, org = str(form.get("email", "")).strip().lower(), str(form.get("org", "")).strip()
    return (email if "@" in email and len(email) <= 254 else ""), org


async def login_page(request: web.Request, template: str, status: int = 200,
                     **context: str) -> web.Response:
    return await with_csrf(request, lambda token: page(template, status,
                                                       csrf_token=token, **context))


async def show_login(request: web.Request) -> web.Response:
    if await signed_in_member(request):
        raise web.HTTPSeeOther("/dashboard")
    return await login_page(request, "login.html", error="")


async def start_login(request: web.Request) -> web.Response:
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return await login_page(request, "login.html", 403,
                                error="The page expired; try again.")
    email, org = posted_email(form)
    if not email:
        return await login_page(request, "login.html", 400, error="Enter your email address.")
    if not request.config_dict[SERVICES].settings.smtp_url:
        return await login_page(request, "login.html", 503, error=NO_MAIL)
    try:
        attempt = await _send_login_code(request, email, org)
    except RateLimited as error:
        return await login_page(request, "login.html", 429, error=error.message)
    response = web.HTTPSeeOther(f"{LOGIN_PATH}/code")
    set_cookie(request, response, LOGIN_COOKIE, attempt, path=LOGIN_PATH,
               max_age=request.config_dict[WEB].codes.policy.ttl_s)
    raise response


async def _send_login_code(request: web.Request, email: str, org: str) -> str:
    """A new sign-in attempt id; its code is mailed only if `email` is a member's."""
    directory = request.config_dict[SERVICES].directory
    member = await asyncio.to_thread(find_member, directory, email, org)
    attempt, codes = new_attempt(), request.config_dict[WEB].codes
    await asyncio.to_thread(codes.send, "login", attempt, f"email:{email}", email,
                            client_ip(request),
                            context={"purpose": "login", "minutes": codes.policy.ttl_s // 60},
                            record={"member_id": member.id if member else ""},
                            deliver=member is not None)
    return attempt


async def show_code(request: web.Request) -> web.Response:
    if not cookie_id(request, LOGIN_COOKIE):
        raise web.HTTPSeeOther(LOGIN_PATH)
    return await login_page(request, "login_code.html", error="")


async def check_code(request: web.Request) -> web.Response:
    form, attempt = await request.post(), cookie_id(request, LOGIN_COOKIE)
    if not await csrf_ok(request, form.get(CSRF_FIELD)) or not attempt:
        return await login_page(request, "login_code.html", 403, error="The page expired; "
                                "start again.")
    codes = request.config_dict[WEB].codes
    try:
        record = await asyncio.to_thread(codes.verify, "login", attempt, str(form.get("code", "")),
                                         client_ip(request))
    except CodeLocked as error:
        return await login_page(request, "login_code.html", 403, error=error.message)
    if not record or not record.get("member_id"):
        left = await asyncio.to_thread(codes.tries_left, "login", attempt)
        return await login_page(request, "login_code.html", 400,
                                error=f"That code is not right. {left} tries left.")
    return await signed_in(request, record["member_id"])


async def signed_in(request: web.Request, member_id: str) -> web.Response:
    """Start a session for `member_id` and go to the dashboard."""
    try:
        member = await asyncio.to_thread(request.config_dict[SERVICES].directory.member, member_id)
    except NotFound:
        raise web.HTTPSeeOther(LOGIN_PATH) from None
    session_id = await create_session(request, {"kind": "member", "member_id": member.id,
                                                "org_id": member.org_id,
                                                "signed_in_at": int(time.time())})
    response = web.HTTPSeeOther("/dashboard")
    set_cookie(request, response, MEMBER_COOKIE, session_id,
               max_age=request.config_dict[SERVICES].settings.web_session_ttl_s)
    response.del_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    raise response


async def logout(request: web.Request) -> web.Response:
    """POST only, with the page's CSRF token (no other site can sign anyone out); ends
    the session in Redis, not just the cookie."""
    if not await csrf_ok(request, (await request.post()).get(CSRF_FIELD)):
        return message("Please try again", "The page expired; reload it and sign out "
                       "again.", 403)
    await drop_session(request, MEMBER_COOKIE)
    response = web.HTTPSeeOther(LOGIN_PATH)
    response.del_cookie(MEMBER_COOKIE, path="/")
    raise response


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/login", show_login)
    app.router.add_post("/login", start_login)
    app.router.add_get("/login/code", show_code)
    app.router.add_post("/login/code", check_code)
    app.router.add_post("/logout", logout)
