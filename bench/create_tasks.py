"""Create-task throughput and latency at 64 concurrent clients, beside a baseline.

    python -m bench.create_tasks [--requests 4000] [--concurrency 64]

Each server runs in its own process; this process is the load generator. The baseline
is a bare aiohttp handler that parses the same JSON and writes one MULTI (SET, ZADD,
SET): the floor any Python HTTP + Redis service pays. Printed ratio = inloop rate / baseline rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from bench.common import admin_token, server, services_for, summary, valkey
from tests.fixtures import example


async def _load(port: int, token: str, total: int, concurrency: int) -> tuple[list[float],
                                                                           float]:
    body = json.dumps(example("hpi_approval")).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"http://127.0.0.1:{port}/api/v1/tasks"
    latencies: list[float] = []
    remaining = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for _ in remaining:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 201, response.status
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def run(kind: str, redis_url: str, token: str, total: int, concurrency: int) -> dict[str, float]:
    with server("bench.serve", redis_url, kind) as (port, _pid):
        asyncio.run(_load(port, token, min(500, total), concurrency))  # warm-up
        latencies, seconds = asyncio.run(_load(port, token, total, concurrency))
    return summary(f"{kind} ({concurrency} clients)", latencies, seconds)


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--requests", type=int, default=4000)
    args.add_argument("--concurrency", type=int, default=64)
    opts = args.parse_args()
    with valkey() as redis_url:
        token = admin_token(services_for(redis_url))
        base = run("baseline", redis_url, token, opts.requests, opts.concurrency)
        ours = run("inloop", redis_url, token, opts.requests, opts.concurrency)
    print(f"ratio inloop/baseline throughput: {ours['rate'] / base['rate']:.2f}; "
          f"p99 latency x{ours['p99'] / base['p99']:.2f}")


if __name__ == "__main__":
    main()
