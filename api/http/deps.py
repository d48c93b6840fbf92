"""What every REST handler needs from a request: the caller (token and scope) and a JSON
body."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from api.domain.approval import Actor
from api.domain.errors import Detail, InvalidRequest, Unauthorized
from api.domain.validation import parse_json
from api.runtime import TOKENS
from api.store.directory import Principal

T = TypeVar("T")
# Bodies are bounded (INLOOP_MAX_BODY_BYTES, 1 MiB by default); parsing and validating
# one is CPU work that grows with its size and shape. A thread hand-off costs a busy
# server more than a small body's work (the pool's threads fight the loop for the GIL:
# bench.create_tasks ran at 478 req/s through the thread pool, about 1,100 on the loop),
# so bodies up to 16 KiB run on the loop: a typical create (1-5 KiB) takes well under a ms; the
# worst 16 KiB measured (thousands of tiny nested arrays) took 2-4 ms. Above, a thread.
INLINE_BODY_BYTES = 16 * 1024


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-API-Key")


async def principal(request: web.Request, scope: str) -> Principal:
    """The caller, who must hold `scope`: 401 without a valid token, 403 without scope."""
    token = _token(request)
    if not token:
        raise Unauthorized("missing API token: send Authorization: Bearer htk_...")
    who = await request.config_dict[TOKENS].authenticate(token)
    who.require(scope)
    return who


def actor_of(who: Principal) -> Actor:
    """The token's member, acting over the API."""
    return Actor(channel="api", id=who.member.id, name=who.member.name)


def is_admin(who: Principal) -> bool:
    return "admin" in who.scopes


async def json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise InvalidRequest([Detail("body", "Content-Type must be application/json",
                                     "content_type")])
    return await sized_work(request, parse_json, await request.read())


async def sized_work(request: web.Request, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)`, CPU work that grows with the request's body (parsing, validating):
    on the loop for a body up to INLINE_BODY_BYTES, in a thread above."""
    if len(await request.read()) <= INLINE_BODY_BYTES:
        return work(*args)
    return await asyncio.to_thread(work, *args)
