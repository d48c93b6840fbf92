"""Bench servers: `python -m bench.serve PORT REDIS_URL inloop|baseline`.

`inloop` is the real app. `baseline` is the floor to compare with: an aiohttp handler that
parses the same JSON body and does one equivalent Redis write (SET of the body).
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from api.runtime import build_services
from api.server import create_app
from api.settings import Settings

REDIS = web.AppKey("redis", Redis)


async def _baseline_create(request: web.Request) -> web.Response:
    body = await request.json()
    task_id = str(uuid.uuid4())
    await request.app[REDIS].set(f"baseline:task:{task_id}", request.app["dumps"](body))
    return web.json_response({"task_id": task_id}, status=201)


def baseline_app(redis_url: str) -> web.Application:
    import json

    app = web.Application()
    app["dumps"] = json.dumps

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        app[REDIS] = Redis.from_url(redis_url)
        yield
        await app[REDIS].aclose()

    app.cleanup_ctx.append(redis_ctx)
    app.router.add_post("/api/v1/tasks", _baseline_create)
    return app


def main() -> None:
    port, redis_url, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    logging.basicConfig(level=logging.WARNING)
    if kind == "baseline":
        app = baseline_app(redis_url)
    else:
        app = create_app(build_services(Settings(redis_url=redis_url, base_url="http://bench")))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
