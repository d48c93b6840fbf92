"""The real inloop app served on a loopback port (in a thread of this process, or as an
`inloop serve` subprocess), for the client, the shell command and the MCP server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from inloop_client import Client, Task

from api.runtime import Services
from api.server import create_app
from tests.conftest import Account
from tests.ports import free_port


@dataclass
class LiveServer:
    url: str
    services: Services
    account: Account

    def client(self, token: str | None = None, **options: float) -> Client:
        return Client(self.url, token or self.account.token, **options)

    def env(self) -> dict[str, str]:
        """A subprocess environment pointed at this server with the account's token."""
        return {**os.environ, "INLOOP_URL": self.url, "INLOOP_TOKEN": self.account.token}


def _serve(app: web.Application, port: int, started: threading.Event,
           stop: threading.Event) -> None:
    async def main() -> None:
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started.set()
        while not stop.is_set():
            await asyncio.sleep(0.02)
        await runner.cleanup()

    asyncio.run(main())


@contextmanager
def serving(services: Services) -> Iterator[str]:
    """The app on 127.0.0.1 in a thread with its own event loop; yields its URL."""
    port, started, stop = free_port(), threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(create_app(services), port, started, stop),
                              daemon=True)
    thread.start()
    assert started.wait(10), "the app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture
def live(services: Services, account: Account) -> Iterator[LiveServer]:
    """The app served on loopback, on the test's Valkey and services (so the test can also
    reach into the store)."""
    with serving(services) as url:
        yield LiveServer(url, services, account)


def until_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


@dataclass
class ServeProcess:
    """`inloop serve` as a subprocess that a test may stop and start again."""

    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
             str(self.port)], env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        until_ready(self.url + "/healthz")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


@pytest.fixture
def serve_process(redis_url: str, tmp_path: Path, services: Services) -> Iterator[ServeProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_"))}
    env.update(INLOOP_REDIS_URL=redis_url, INLOOP_DATA_DIR=str(tmp_path / "serve"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    server = ServeProcess(free_port(), env)
    yield server
    server.stop()


def pending_task(client: Client, timeout: float = 10) -> Task:
    """The newest pending task once there is one (what a background `ask()` created)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next(iter(client.list_tasks(status="pending")), None)
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError("no pending task appeared")


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    """Runs a blocking `ask()` while the test answers it."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool
