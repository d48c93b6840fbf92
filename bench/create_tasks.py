"""Create-task throughput and latency at 64 concurrent clients, beside a baseline.

    python -m bench.create_tasks [--requests 4000] [--concurrency 64] [--rounds 4]

Each server runs in its own process; this process is the load generator. The baseline
is a bare aiohttp handler that parses the same JSON and writes one MULTI (SET, ZADD,
SET): the floor any Python HTTP + Redis service pays. Printed ratio = inloop rate / baseline rate.

Both servers run at once and take turns, `--rounds` rounds of `--requests / rounds`
each, so a shared machine's speed drifting during the run (other tenants, throttling)
weighs on both sides alike instead of on whichever ran second.
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


KINDS = ("baseline", "inloop")


def run(redis_url: str, token: str, total: int, concurrency: int,
        rounds: int) -> dict[str, dict[str, float]]:
    """Each kind's summary over `rounds` alternating rounds (after a warm-up each)."""
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    seconds = dict.fromkeys(KINDS, 0.0)
    with server("bench.serve", redis_url, KINDS[0]) as (base_port, _), \
            server("bench.serve", redis_url, KINDS[1]) as (our_port, _):
        ports = dict(zip(KINDS, (base_port, our_port), strict=True))
        for kind in KINDS:
            asyncio.run(_load(ports[kind], token, min(500, total), concurrency))
        for _ in range(rounds):
            for kind in KINDS:
                took, spent = asyncio.run(_load(ports[kind], token, total // rounds,
                                                concurrency))
                latencies[kind] += took
                seconds[kind] += spent
    return {kind: summary(f"{kind} ({concurrency} clients)", latencies[kind], seconds[kind])
            for kind in KINDS}


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--requests", type=int, default=4000)
    args.add_argument("--concurrency", type=int, default=64)
    args.add_argument("--rounds", type=int, default=4)
    opts = args.parse_args()
    with valkey() as redis_url:
        token = admin_token(services_for(redis_url))
        results = run(redis_url, token, opts.requests, opts.concurrency, opts.rounds)
    base, ours = results["baseline"], results["inloop"]
    print(f"ratio inloop/baseline throughput: {ours['rate'] / base['rate']:.2f}; "
          f"p99 latency x{ours['p99'] / base['p99']:.2f}")


if __name__ == "__main__":
    main()
