"""aiohttp application factory: resources, middlewares and route registration."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.domain.errors import InloopError, Unavailable
from api.http import deliveries, health, openapi, tasks
from api.http.deps import AREDIS, HUB, SERVICES, error_response
from api.runtime import Services
from api.store.waiters import WaitHub
from api.web import app as web_routes

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Registrar = Callable[[web.Application], None]


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


def create_app(services: Services, *, extras: Iterable[Registrar] = ()) -> web.Application:
    """The whole HTTP surface on one app; `extras` mount optional parts (Slack, web UI)."""
    app = web.Application(middlewares=[errors_middleware],
                          client_max_size=services.settings.max_body_bytes)
    app[SERVICES] = services
    app.cleanup_ctx.append(_wait_hub)
    health.register(app)
    tasks.register(app)
    openapi.register(app)
    deliveries.register(app)
    web_routes.register(app)
    for register in extras:
        register(app)
    return app


async def _wait_hub(app: web.Application) -> AsyncIterator[None]:
    redis = app[SERVICES].async_redis()
    hub = WaitHub(redis)
    app[HUB] = hub
    app[AREDIS] = redis
    await hub.start()
    yield
    await hub.stop()
    await redis.aclose()
