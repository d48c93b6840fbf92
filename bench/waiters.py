"""10,000 concurrent long-poll waiters on one server process.

    python -m bench.waiters [--waiters 10000] [--tasks 100]

Measures the server's resident memory per open waiter (RSS with all waiters held minus RSS
before, divided by the count) and the latency from each task's completion (the store's
EXEC) to each waiter's response, p50/p99. Waiters spread evenly over `--tasks` tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from api.domain.task import CompletedBy, task_ref
from api.runtime import Services
from bench.common import admin_token, pct, rss_kib, server, services_for, valkey
from tests.fixtures import example


def _create(services: Services, token: str, count: int) -> list[str]:
    who = services.directory.authenticate(token)
    return [services.tasks.create(who, example("hpi_approval"))[0]["task_id"]
            for _ in range(count)]


async def _hold(port: int, token: str, task_ids: list[str], waiters: int,
                done: dict[str, float], services: Services, pid: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
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
        print(f"server RSS {before / 1024:.1f} MiB idle -> {held / 1024:.1f} MiB with "
              f"{waiters} waiters: {(held - before) * 1024 / waiters / 1024:.1f} KiB per waiter")
        org = services.directory.authenticate(token).org_id
        await asyncio.to_thread(_complete_all, services, org, task_ids, done)
        return list(await asyncio.gather(*pending))


async def _settle(pid: int) -> None:
    """Wait until the server's memory stops growing (every waiter is parked)."""
    last = -1
    for _ in range(120):
        await asyncio.sleep(0.5)
        now = rss_kib(pid)
        if now == last:
            return
        last = now


def _complete_all(services: Services, org: str, task_ids: list[str],
                  done: dict[str, float]) -> None:
    by = CompletedBy(channel="api", id="bench", name="Bench")
    for task_id in task_ids:
        done[task_id] = time.perf_counter()
        services.store.complete(task_ref(org, task_id), {"decision": "Approve"}, by)


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--waiters", type=int, default=10_000)
    args.add_argument("--tasks", type=int, default=100)
    opts = args.parse_args()
    with valkey() as redis_url:
        services = services_for(redis_url)
        token = admin_token(services)
        task_ids = _create(services, token, opts.tasks)
        with server("bench.serve", redis_url, "inloop") as (port, pid):
            latencies = asyncio.run(_hold(port, token, task_ids, opts.waiters, {}, services,
                                          pid))
    print(f"completion -> response over {len(latencies)} waiters: "
          f"p50 {pct(latencies, 50) * 1000:.1f} ms, p99 {pct(latencies, 99) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
