"""Browser sessions and CSRF protection for the web pages.

Sessions are random ids in a cookie pointing at `web-session:{id}` in Redis (with a
TTL): a member's dashboard session (path `/`) or an external assignee's grant for one
task (path `/t/{link_id}`, so it is never sent anywhere else). A cookie that is not
exactly such an id (garbage, another shape, too long, non-ASCII) reads as signed out and
never reaches a Redis key.

CSRF: every form carries a token that is an HMAC, under a server secret, of what the
browser holds: a random `inloop_csrf` cookie and its session ids (member, task grant).
Every POST must repeat it in `csrf_token`. A token works only with the cookies it was
made for, so one from another session (or from before signing in) is refused, and
planting a cookie cannot forge one, as it could a plain double-submit cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from aiohttp import web

from api.runtime import AREDIS, SERVICES
from api.store.sessions import Sessions

CSRF_COOKIE = "inloop_csrf"
CSRF_FIELD = "csrf_token"
MEMBER_COOKIE = "inloop_session"
TASK_COOKIE = "inloop_task"
COOKIE_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


class CsrfSigner:
    """Owns the CSRF secret: made once in Redis (so every instance shares it) and read
    on first use (the app starts even while Redis is down)."""

    def __init__(self) -> None:
        self._secret: bytes | None = None

    async def sign(self, sessions: Sessions, binding: str) -> str:
        if self._secret is None:
            self._secret = await sessions.csrf_secret()
        mac = hmac.new(self._secret, binding.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


CSRF = web.AppKey("csrf", CsrfSigner)


def cookie_id(request: web.Request, name: str) -> str | None:
    """The id in cookie `name`, or None when it is missing or not of an id's shape."""
    value = request.cookies.get(name, "")
    return value if COOKIE_ID.match(value) else None


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               *, path: str = "/", max_age: int | None = None) -> None:
    settings = request.config_dict[SERVICES].settings
    response.set_cookie(name, value, path=path, max_age=max_age, httponly=True,
                        samesite="Lax", secure=settings.secure_cookies)


async def _token(request: web.Request, browser: str) -> str:
    sessions = (cookie_id(request, MEMBER_COOKIE), cookie_id(request, TASK_COOKIE))
    binding = "|".join([browser, *(s or "" for s in sessions)])
    return await request.config_dict[CSRF].sign(_sessions(request), binding)


async def with_csrf(request: web.Request,
                    render: Callable[[str], Awaitable[web.Response]]) -> web.Response:
    """`await render(token)`: a page whose forms carry this browser's CSRF token (setting
    the browser's cookie when it has none yet)."""
    known = cookie_id(request, CSRF_COOKIE)
    browser = known or secrets.token_urlsafe(32)
    response = await render(await _token(request, browser))
    if known is None:
        set_cookie(request, response, CSRF_COOKIE, browser)
    return response


async def csrf_ok(request: web.Request, submitted: Any) -> bool:
    browser = cookie_id(request, CSRF_COOKIE)
    if browser is None or not isinstance(submitted, str):
        return False
    return hmac.compare_digest((await _token(request, browser)).encode(), submitted.encode())


def _sessions(request: web.Request) -> Sessions:
    return Sessions(request.config_dict[AREDIS])


async def create_session(request: web.Request, data: dict[str, Any]) -> str:
    ttl = request.config_dict[SERVICES].settings.web_session_ttl_s
    return await _sessions(request).create(data, ttl)


async def load_session(request: web.Request, cookie: str) -> dict[str, Any] | None:
    session_id = cookie_id(request, cookie)
    return await _sessions(request).load(session_id) if session_id else None


STASH_TTL_S = 300


async def stash(request: web.Request, cookie: str, name: str, value: str) -> None:
    """Keep `value` for this session's next page (`unstash` takes it once), e.g. a new
    token to show after a redirect; briefly, so an unseen secret does not linger."""
    session_id = cookie_id(request, cookie)
    if session_id and await load_session(request, cookie) is not None:
        await _sessions(request).stash(session_id, name, value, STASH_TTL_S)


async def unstash(request: web.Request, cookie: str, name: str) -> str | None:
    """The value `stash` kept under `name`, gone once read (None if none)."""
    session_id = cookie_id(request, cookie)
    if session_id is None or await load_session(request, cookie) is None:
        return None
    return await _sessions(request).unstash(session_id, name)


async def drop_session(request: web.Request, cookie: str) -> None:
    session_id = cookie_id(request, cookie)
    if session_id:
        await _sessions(request).drop(session_id)


def client_ip(request: web.Request) -> str:
    """The client's address: the peer, or behind `trusted_proxy_hops` proxies the address
    the outermost trusted proxy saw (the Nth from the right of X-Forwarded-For; what a
    client puts further left is its own claim and ignored)."""
    hops = request.config_dict[SERVICES].settings.trusted_proxy_hops
    forwarded = [a.strip() for a in ",".join(request.headers.getall("X-Forwarded-For", []))
                 .split(",") if a.strip()]
    if hops and len(forwarded) >= hops:
        with suppress(ValueError):
            return str(ipaddress.ip_address(forwarded[-hops]))
    return request.remote or "unknown"
