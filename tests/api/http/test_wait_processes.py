"""Two `inloop serve` processes on one Valkey: a completion through one wakes the `/wait`
callers of both (the wake-up goes through Redis pub/sub, never through process memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Account
from tests.dev_process import until_ready
from tests.fixtures import example
from tests.ports import free_port


@pytest.fixture
def two_servers(redis_url: str, tmp_path: Path) -> Iterator[tuple[int, int]]:
    ports, procs = (free_port(), free_port()), []
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("INLOOP_", "SLACK_", "PROMETHEUS_"))}
    for n, port in enumerate(ports):
        env = {**base, "INLOOP_REDIS_URL": redis_url, "PORT": str(port),
               "INLOOP_DATA_DIR": str(tmp_path / f"serve-{n}")}  # each empties its metrics
        with (tmp_path / f"serve-{n}.log").open("w") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env,
                                          stdout=out, stderr=subprocess.STDOUT))
    try:
        for port in ports:
            until_ready(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def _call(port: int, path: str, token: str, body: Any = None, timeout: float = 10) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def test_a_completion_on_one_server_wakes_waiters_on_both(
        two_servers: tuple[int, int], account: Account) -> None:
    first, second = two_servers
    task_id = _call(first, "/api/v1/tasks", account.token, example("hpi_approval"))["task_id"]
    wait = f"/api/v1/tasks/{task_id}/wait?timeout=60"
    with ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(_call, port, wait, account.token, None, 70)
                 for port in (first, second, second, first)]
        time.sleep(1)  # every /wait is parked before the answer
        assert not any(w.done() for w in waits)
        answered = time.monotonic()
        _call(first, f"/api/v1/tasks/{task_id}/complete", account.token,
              {"data": {"decision": "Approve"}})
        results = [w.result(timeout=30) for w in waits]
        took = time.monotonic() - answered
    assert [r["status"] for r in results] == ["completed"] * 4
    assert all(r["data"] == {"decision": "Approve"} for r in results)
    assert took < 20  # a budget, not a measure: each wait's own timeout is 60 s
