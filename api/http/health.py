"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from api.http.deps import AREDIS


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[AREDIS].ping()
    except (RedisError, OSError) as error:
        return web.json_response({"status": "unavailable", "redis": str(error)}, status=503)
    return web.json_response({"status": "ok", "redis": "ok"})


def register(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
