"""A real HTTP webhook receiver on loopback, served from its own thread and event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from tests.ports import free_port

Plan = int | tuple[int, dict[str, str]] | tuple[str, float]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    peer: Any = None  # the client's (address, port): one per TCP connection


class Receiver:
    """Answers POST /hook by a plan: 500, (429, {"Retry-After": "1"}), ("hang", 5); then 200."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.plan: list[Plan] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.received.append(Received(dict(request.headers), await request.read(), time.time(),
                                      peer))
        step = self.plan.pop(0) if self.plan else 200
        if isinstance(step, tuple) and step[0] == "hang":
            assert self._release is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), float(step[1]))
            return web.Response(status=200)
        if isinstance(step, tuple):
            status, headers = step
            return web.Response(status=int(status), headers=headers)
        return web.Response(status=step)

    async def _redirect(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read(), time.time()))
        raise web.HTTPFound("/hook")

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        app.router.add_post("/moved", self._redirect)
        self._release = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> Receiver:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)
        return self

    def release(self) -> None:
        """End every hanging request now (answered 200)."""
        assert self._loop is not None and self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)

    def stop(self) -> None:
        if self._loop is None or self._thread is None or self._runner is None:
            return
        self._loop.call_soon_threadsafe(self._release.set)  # type: ignore[union-attr]
        try:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        finally:  # the loop and its thread end even when the cleanup failed
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            if not self._thread.is_alive():
                self._loop.close()
            self._loop = self._thread = self._runner = None

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"got {len(self.received)} of {count} requests"
        return self.received

    def json(self, index: int = -1) -> Any:
        import json

        return json.loads(self.received[index].body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()
