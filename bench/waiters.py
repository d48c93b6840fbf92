"""10,000 concurrent long-poll waiters on one server process, beside a bare server.

    python -m bench.waiters [--waiters 10000] [--tasks 100]

Runs the same load twice, each server in its own process: the bare aiohttp long-poll
server of bench/serve.py (`baseline-wait`: one pub/sub subscription, futures, one read
per woken task, no auth), then `inloop serve` (token check, the task read and its
expiry, the wait hub). Measures each server's resident memory per open waiter (RSS with
all waiters held minus RSS before, divided by the count) and the latency from each task's
completion (the store's EXEC; the baseline's SET + PUBLISH) to each waiter's response,
p50/p99; then prints inloop's ratios to the baseline. Waiters spread evenly over `--tasks`
tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from redis import Redis

from api.domain.task import CompletedBy, task_ref
from api.runtime import Services
from bench.common import admin_token, pct, rss_kib, server, services_for, valkey
from bench.serve import WAIT_CHANNEL, wait_key
from tests.fixtures import example

BY = CompletedBy(channel="api", id="bench", name="Bench")


@dataclass
class Run:
    kib_per_waiter: float
    latencies: list[float]

    def show(self, label: str) -> None:
        print(f"{label:<10} {self.kib_per_waiter:6.1f} KiB per waiter; completion -> response "
              f"p50 {pct(self.latencies, 50) * 1000:7.1f} ms, "
              f"p99 {pct(self.latencies, 99) * 1000:7.1f} ms, "
              f"max {max(self.latencies) * 1000:7.1f} ms")


async def _hold(port: int, headers: dict[str, str], task_ids: list[str], waiters: int,
                pid: int, complete: Callable[[str], None]) -> Run:
    done: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def wait(task_id: str) -> float:
            url = f"http://127.0.0.1:{port}/api/v1/tasks/{task_id}/wait?timeout=120"
            async with session.get(url, headers=headers) as response:
                body = await response.json()
            assert body.get("status") == "completed", body
            return time.perf_counter() - done[task_id]

        before = rss_kib(pid)
        pending = [asyncio.create_task(wait(task_ids[i % len(task_ids)]))
                   for i in range(waiters)]
        await _settle(pid)
        held = rss_kib(pid)

        def complete_all() -> None:
            for task_id in task_ids:
                done[task_id] = time.perf_counter()
                complete(task_id)

        await asyncio.to_thread(complete_all)
        return Run((held - before) / waiters, list(await asyncio.gather(*pending)))


async def _settle(pid: int) -> None:
    """Wait until the server's memory has not moved for 2 s (every waiter is parked, and
    no request is still queued for a Redis connection when the completions start)."""
    last, still = -1, 0
    for _ in range(240):
        await asyncio.sleep(0.5)
        now = rss_kib(pid)
        still = still + 1 if now == last else 0
        if still == 4:
            return
        last = now


def baseline(redis_url: str, waiters: int, tasks: int) -> Run:
    redis = Redis.from_url(redis_url)
    task_ids = [str(uuid.uuid4()) for _ in range(tasks)]

    def complete(task_id: str) -> None:
        with redis.pipeline() as pipe:
            pipe.set(wait_key(task_id), json.dumps({"status": "completed"}))
            pipe.publish(WAIT_CHANNEL, task_id)
            pipe.execute()

    with server("bench.serve", redis_url, "baseline-wait") as (port, pid):
        return asyncio.run(_hold(port, {}, task_ids, waiters, pid, complete))


def inloop(services: Services, redis_url: str, waiters: int, tasks: int) -> Run:
    token = admin_token(services)
    who = services.directory.authenticate(token)
    task_ids = [services.tasks.create(who, example("hpi_approval"))[0]["task_id"]
                for _ in range(tasks)]

    def complete(task_id: str) -> None:
        services.store.complete(task_ref(who.org_id, task_id), {"decision": "Approve"}, BY)

    headers = {"Authorization": f"Bearer {token}"}
    with server("bench.serve", redis_url, "inloop") as (port, pid):
        return asyncio.run(_hold(port, headers, task_ids, waiters, pid, complete))


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--waiters", type=int, default=10_000)
    args.add_argument("--tasks", type=int, default=100)
    opts = args.parse_args()
    with valkey() as redis_url:
        bare = baseline(redis_url, opts.waiters, opts.tasks)
        ours = inloop(services_for(redis_url), redis_url, opts.waiters, opts.tasks)
    print(f"{opts.waiters} waiters over {opts.tasks} tasks, one server process each")
    bare.show("baseline")
    ours.show("inloop")
    print(f"ratio: memory per waiter x{ours.kib_per_waiter / bare.kib_per_waiter:.2f}, "
          f"p50 x{pct(ours.latencies, 50) / pct(bare.latencies, 50):.2f}, "
          f"p99 x{pct(ours.latencies, 99) / pct(bare.latencies, 99):.2f}")


if __name__ == "__main__":
    main()
