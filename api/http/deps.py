"""Typed app keys and the small helpers every handler uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from redis.asyncio import Redis as AsyncRedis

from api.domain.errors import Detail, InvalidRequest, Unauthorized
from api.domain.validation import parse_json
from api.runtime import Services
from api.store.directory import Principal, authenticate
from api.store.waiters import WaitHub

SERVICES = web.AppKey("services", Services)
HUB = web.AppKey("hub", WaitHub)
AREDIS = web.AppKey("aredis", AsyncRedis)
PRINCIPAL = "inloop.principal"
T = TypeVar("T")


async def run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a sync store call off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)


def error_response(status: int, code: str, message: str,
                   details: Sequence[Detail] = ()) -> web.Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if details or code == "invalid_request":
        body["details"] = [d.as_dict() for d in details]
    return web.json_response(body, status=status)


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
    who = await authenticate(request.app[AREDIS], token)
    who.require(scope)
    return who


async def json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise InvalidRequest([Detail("body", "Content-Type must be application/json",
                                     "content_type")])
    return await run(parse_json, await request.read())
