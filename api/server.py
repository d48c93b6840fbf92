"""The HTTP server's root app, the composition root of every HTTP surface.

It holds the shared resources (api.runtime's keys: SERVICES, and the asyncio Redis client
and wait hub of this event loop) and WEB (file storage and email codes, used by the web
pages and the REST file routes), answers the health probes, and mounts:
  /api/v1      the REST API (api.http.app)
  /t, /dashboard   the web UI (api.web.app), errors as HTML pages
  /static, /assets the web UI's CSS and JS
  /metrics     Prometheus metrics (api.metrics), with INLOOP_METRICS_TOKEN as a bearer
  extras       optional parts: POST /slack/events (bot.http); under `inloop dev` only,
               /dev/mail and /dev/sign-in (api.web.dev)
The root's middleware answers errors as JSON (the API, Slack, the probes; the web
sub-apps answer pages before it sees them). The body size limit is the root's: aiohttp
applies the root app's to every request.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from aiohttp import web
from redis.exceptions import RedisError

from api import logs, metrics
from api.domain.errors import NotFound, Unauthorized
from api.http.app import create_api_app, errors_middleware
from api.runtime import AREDIS, FEED, HUB, SERVICES, TOKENS, Services
from api.store.feed import TaskFeed
from api.store.token_cache import TokenCache
from api.store.waiters import WaitHub
from api.web.app import create_web_apps, web_context
from api.web.pages import ASSETS_PREFIX, STATIC_DIR, STATIC_PREFIX, WEB

Registrar = Callable[[web.Application], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# A request allocates hundreds of containers, nearly all freed by reference counting; at
# Python's default threshold (700) the cyclic collector ran every request or two and
# took about a tenth of a create's CPU (bench.create_tasks).
GC_GEN0_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once a serving process has started: what startup built (modules, settings, the
    app) is never garbage, so `gc.freeze` keeps the collector from scanning it again, and
    young collections run less often (GC_GEN0_THRESHOLD)."""
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def create_app(services: Services, *, extras: Iterable[Registrar] = ()) -> web.Application:
    """The whole HTTP surface; `extras` mount optional parts on the root (Slack)."""
    root = web.Application(middlewares=[log_context, errors_middleware],
                            client_max_size=services.settings.max_body_bytes)
    root[SERVICES] = services
    root[WEB] = web_context(services)
    root.cleanup_ctx.append(_wait_hub)
    root.on_shutdown.append(_end_streams)
    root.router.add_get("/healthz", healthz)
    root.router.add_get("/readyz", readyz)
    root.router.add_get("/metrics", scrape)
    root.add_subapp("/api/v1", create_api_app())
    for prefix, app in create_web_apps().items():
        root.add_subapp(prefix, app)
    for prefix in (STATIC_PREFIX, ASSETS_PREFIX):
        root.router.add_static(prefix, STATIC_DIR)
    for register in extras:
        register(root)
    return root


@web.middleware
def log_context(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """Every line logged for a request carries its request id (the caller's X-Request-Id,
    bounded, or a new one) and the task_id of the route.

    A plain function, not a coroutine: the binding lasts as long as the request's own
    asyncio task (aiohttp runs each request in one, on a copy of the context), so nothing
    has to undo it afterwards and a parked `/wait` holds no frame of this middleware."""
    fields = {"request_id": request.headers.get("X-Request-Id", "")[:64] or os.urandom(16).hex()}
    if "task_id" in request.match_info:
        fields["task_id"] = request.match_info["task_id"][:128]
    logs.bind_task(**fields)
    return handler(request)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: Redis answers too."""
    try:
        await request.config_dict[AREDIS].ping()
    except (RedisError, OSError) as error:
        return web.json_response({"status": "unavailable", "redis": str(error)}, status=503)
    return web.json_response({"status": "ok", "redis": "ok"})


async def scrape(request: web.Request) -> web.Response:
    """Prometheus metrics for a bearer of INLOOP_METRICS_TOKEN; none without one set."""
    services = request.config_dict[SERVICES]
    token = services.settings.metrics_token
    if not token:
        raise NotFound("metrics are off: set INLOOP_METRICS_TOKEN")
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(),
                                                             token.encode()):
        raise Unauthorized("send Authorization: Bearer <INLOOP_METRICS_TOKEN>")
    body = await asyncio.to_thread(metrics.exposition, lambda: queue_depths(services))
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


def queue_depths(services: Services) -> list[tuple[str, int]]:
    return [(queue.name, queue.count) for queue in services.jobs.queues()]


async def _wait_hub(app: web.Application) -> AsyncIterator[None]:
    """This loop's asyncio Redis client, and its one pub/sub subscription: the wait hub,
    which also feeds the dashboards' live updates."""
    redis = app[SERVICES].async_redis()
    hub, feed = WaitHub(redis), TaskFeed(redis)
    hub.observe(feed.tell)
    app[HUB], app[FEED], app[AREDIS] = hub, feed, redis
    app[TOKENS] = TokenCache(redis)
    await feed.start()
    await hub.start()
    yield
    await hub.stop()
    await feed.stop()
    await redis.aclose()


async def _end_streams(app: web.Application) -> None:
    """Open event streams end before the server waits for its requests to finish."""
    app[FEED].close()
