"""Browser sessions and CSRF protection for the web pages.

CSRF is a double-submit token: a random `inloop_csrf` cookie (HttpOnly, SameSite=Lax)
that every POST must repeat in its `csrf_token` field; the two are compared in constant
time. Sessions are random ids in a cookie pointing at `web-session:{id}` in Redis (with a
TTL): a member's dashboard session (path `/`) or an external assignee's grant for one
task (path `/t/{link_id}`, so it is never sent anywhere else).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from contextlib import suppress
from typing import Any

from aiohttp import web

from api import keys
from api.http.resources import AREDIS, SERVICES

CSRF_COOKIE = "inloop_csrf"
CSRF_FIELD = "csrf_token"
MEMBER_COOKIE = "inloop_session"
TASK_COOKIE = "inloop_task"


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               *, path: str = "/", max_age: int | None = None) -> None:
    settings = request.app[SERVICES].settings
    response.set_cookie(name, value, path=path, max_age=max_age, httponly=True,
                        samesite="Lax", secure=settings.secure_cookies)


def csrf_token(request: web.Request) -> str:
    """The visitor's CSRF token (a new one if the cookie is missing or malformed)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if len(token) == 43 else secrets.token_urlsafe(32)


def remember_csrf(request: web.Request, response: web.StreamResponse, token: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        set_cookie(request, response, CSRF_COOKIE, token)


def csrf_ok(request: web.Request, submitted: Any) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


async def create_session(request: web.Request, data: dict[str, Any]) -> str:
    session_id = secrets.token_urlsafe(32)
    ttl = request.app[SERVICES].settings.web_session_ttl_s
    await request.app[AREDIS].set(keys.web_session(session_id), json.dumps(data), ex=ttl)
    return session_id


async def load_session(request: web.Request, cookie: str) -> dict[str, Any] | None:
    session_id = request.cookies.get(cookie, "")
    if not 20 <= len(session_id) <= 64:
        return None
    raw = await request.app[AREDIS].get(keys.web_session(session_id))
    return json.loads(raw) if raw else None


STASH_TTL_S = 300


async def stash(request: web.Request, cookie: str, name: str, value: str) -> None:
    """Keep `value` for this session's next page (`unstash` takes it once), e.g. a new
    token to show after a redirect; briefly, so an unseen secret does not linger."""
    session_id = request.cookies.get(cookie, "")
    if await load_session(request, cookie) is not None:
        await request.app[AREDIS].set(keys.web_session_stash(session_id, name), value,
                                      ex=STASH_TTL_S)


async def unstash(request: web.Request, cookie: str, name: str) -> str | None:
    """The value `stash` kept under `name`, gone once read (None if none)."""
    if await load_session(request, cookie) is None:
        return None
    key = keys.web_session_stash(request.cookies.get(cookie, ""), name)
    value = await request.app[AREDIS].getdel(key)
    return keys.text(value) if value is not None else None


async def drop_session(request: web.Request, cookie: str) -> None:
    session_id = request.cookies.get(cookie, "")
    if session_id:
        await request.app[AREDIS].delete(keys.web_session(session_id))


def client_ip(request: web.Request) -> str:
    """The client's address: the peer, or behind `trusted_proxy_hops` proxies the address
    the outermost trusted proxy saw (the Nth from the right of X-Forwarded-For; what a
    client puts further left is its own claim and ignored)."""
    hops = request.app[SERVICES].settings.trusted_proxy_hops
    forwarded = [a.strip() for a in ",".join(request.headers.getall("X-Forwarded-For", []))
                 .split(",") if a.strip()]
    if hops and len(forwarded) >= hops:
        with suppress(ValueError):
            return str(ipaddress.ip_address(forwarded[-hops]))
    return request.remote or "unknown"
