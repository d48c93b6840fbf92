"""Bench servers: `python -m bench.serve PORT REDIS_URL inloop|baseline|baseline-wait`.

`inloop` is the real app. `baseline` is the floor to compare creation with: a bare
aiohttp handler that parses the same JSON body and writes it in one MULTI of a create's
essential writes (SET of the record, ZADD to the org's index, SET of the link).
`baseline-wait` is the floor for `/wait`: a bare long-poll server, one pub/sub
subscription fanned out to futures, one Redis read per woken task (see `wait_app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from api.runtime import build_services
from api.server import create_app, settle_heap
from api.settings import Settings

REDIS = web.AppKey("redis", Redis)
WAITS = web.AppKey("waits", dict[str, set[asyncio.Future[bytes]]])
WAIT_CHANNEL = "baseline:done"  # a completion publishes the task id here


def wait_key(task_id: str) -> str:
    """The baseline's task record: absent while pending, the task's JSON once done."""
    return f"baseline:wait:{task_id}"


async def _baseline_create(request: web.Request) -> web.Response:
    body = await request.json()
    task_id, link_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with request.app[REDIS].pipeline(transaction=True) as pipe:
        pipe.set(f"baseline:task:{task_id}", json.dumps(body))
        pipe.zadd("baseline:org-tasks", {task_id: time.time()})
        pipe.set(f"baseline:link:{link_id}", task_id)
        await pipe.execute()
    return web.json_response({"task_id": task_id, "link_id": link_id}, status=201)


def baseline_app(redis_url: str) -> web.Application:
    app = web.Application()

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        app[REDIS] = Redis.from_url(redis_url)
        yield
        await app[REDIS].aclose()

    app.cleanup_ctx.append(redis_ctx)
    app.router.add_post("/api/v1/tasks", _baseline_create)
    return app


async def _baseline_wait(request: web.Request) -> web.Response:
    task_id, timeout = request.match_info["task_id"], float(request.query.get("timeout", 30))
    woken = asyncio.get_running_loop().create_future()
    group = request.app[WAITS].setdefault(task_id, set())
    group.add(woken)
    try:
        raw = await request.app[REDIS].get(wait_key(task_id))
        if raw is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    raw = await woken
    finally:
        group.discard(woken)
    status = json.loads(raw)["status"] if raw else "pending"
    return web.json_response({"task_id": task_id, "status": status})


async def _fan_out(app: web.Application) -> None:
    async with app[REDIS].pubsub() as pubsub:
        await pubsub.subscribe(WAIT_CHANNEL)
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            task_id = message["data"].decode()
            raw = await app[REDIS].get(wait_key(task_id))
            for woken in list(app[WAITS].get(task_id, ())):
                if not woken.done():
                    woken.set_result(raw)


def wait_app(redis_url: str) -> web.Application:
    app = web.Application()
    app[WAITS] = {}

    async def listen(app: web.Application) -> AsyncIterator[None]:
        # inloop's pool: 64 connections, callers beyond it wait (INLOOP_REDIS_POOL_SIZE)
        app[REDIS] = Redis(connection_pool=BlockingConnectionPool.from_url(
            redis_url, max_connections=64))
        listener = asyncio.create_task(_fan_out(app))
        yield
        listener.cancel()
        await app[REDIS].aclose()

    app.cleanup_ctx.append(listen)
    app.router.add_get("/api/v1/tasks/{task_id}/wait", _baseline_wait)
    return app


def main() -> None:
    port, redis_url, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    logging.basicConfig(level=logging.WARNING)
    if kind == "baseline":
        app = baseline_app(redis_url)
    elif kind == "baseline-wait":
        app = wait_app(redis_url)
    else:
        app = create_app(build_services(Settings(redis_url=redis_url, base_url="http://bench")))
    settle_heap()  # as `inloop serve` does; the baselines too, for a like comparison
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
