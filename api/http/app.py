"""The REST API's sub-app (mounted at /api/v1 by api.server) and JSON error bodies.

`errors_middleware` sits on the root app, so every route that answers machines (the API,
POST /slack/events, the probes) gives errors as JSON; the web sub-apps catch theirs first
and answer pages. The API sub-app adds `routing_errors` for what aiohttp refuses itself."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.domain.errors import Detail, InloopError, Unavailable
from api.http import approvals, deliveries, files, openapi, tasks

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# aiohttp's own answers for a path or method the API does not have, as error codes.
ROUTING_ERRORS = {404: "not_found", 405: "method_not_allowed"}


def error_response(status: int, code: str, message: str,
                   details: Sequence[Detail] = ()) -> web.Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if details or code == "invalid_request":
        body["details"] = [d.as_dict() for d in details]
    return web.json_response(body, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InloopError as error:
        return _answer(error)
    except (RedisConnectionError, RedisTimeoutError):
        log.warning("Redis unreachable while serving %s", request.path)
        return _answer(Unavailable("the task store (Redis) is unreachable; retry shortly"))
    except web.HTTPRequestEntityTooLarge as error:
        return error_response(413, "payload_too_large", error.text or "body too large")


def _answer(error: InloopError) -> web.Response:
    return error_response(error.status, error.code, error.message,
                          getattr(error, "details", []))


@web.middleware
def routing_errors(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """An unknown path or method under /api/v1 answers JSON like every API error.

    aiohttp's refusal is known before any handler runs (the match's http_exception), so
    this looks at it up front instead of wrapping the handler: a plain function, of which
    a parked `/wait` holds no frame."""
    refusal = request.match_info.http_exception
    if isinstance(refusal, (web.HTTPNotFound, web.HTTPMethodNotAllowed)):
        return _refused(request, refusal)
    return handler(request)


async def _refused(request: web.Request, refusal: web.HTTPException) -> web.Response:
    response = error_response(refusal.status, ROUTING_ERRORS[refusal.status],
                              f"no route for {request.method} {request.path}")
    if "Allow" in refusal.headers:
        response.headers["Allow"] = refusal.headers["Allow"]
    return response


def create_api_app() -> web.Application:
    """The /api/v1 sub-app; its handlers read the root's resources (request.config_dict)."""
    app = web.Application(middlewares=[routing_errors])
    for register in (tasks.register, openapi.register, deliveries.register, files.register,
                     approvals.register):
        register(app)
    return app
