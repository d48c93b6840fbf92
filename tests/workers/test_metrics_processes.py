"""`inloop serve` and `inloop worker` as separate processes: one scrape of the server adds
up both processes' metrics (PROMETHEUS_MULTIPROC_DIR under the data dir), and with
INLOOP_LOG_FORMAT=json every line either writes is a JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Account
from tests.dev_process import until_ready
from tests.ports import free_port
from tests.workers.conftest import ANSWERS, TASK
from tests.workers.receiver import Receiver

TOKEN = "scrape-me"


@pytest.fixture
def processes(redis_url: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """serve and worker on one data dir; yields the server's port and the logs' dir."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_",
                                                                       "PROMETHEUS_"))},
           "INLOOP_REDIS_URL": redis_url, "PORT": str(port), "INLOOP_DATA_DIR": str(tmp_path),
           "INLOOP_METRICS_TOKEN": TOKEN, "INLOOP_LOG_FORMAT": "json",
           "INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1"}
    procs = []
    for name in ("serve", "worker"):
        with (tmp_path / f"{name}.log").open("w") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "api.cli", name], env=env,
                                          stdout=out, stderr=subprocess.STDOUT))
        if name == "serve":
            until_ready(port)
    try:
        yield port, tmp_path
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def _call(port: int, path: str, token: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return text if path == "/metrics" else json.loads(text)


def _sample(text: str, name: str, **labels: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and s.labels == labels)


def test_a_scrape_adds_up_the_server_and_the_worker(
        processes: tuple[int, Path], account: Account, receiver: Receiver) -> None:
    port, data = processes
    body = {**TASK, "sinks": [{"type": "webhook", "url": receiver.url}]}
    task_id = _call(port, "/api/v1/tasks", account.token, body)["task_id"]
    _call(port, f"/api/v1/tasks/{task_id}/complete", account.token, {"data": ANSWERS})
    receiver.wait_for(1, timeout=30)
    deadline = time.monotonic() + 30
    while True:  # the worker counts the attempt just after the receiver answers it
        text = _call(port, "/metrics", TOKEN)
        if _sample(text, "inloop_deliveries_total", kind="webhook", result="ok") or \
                time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert _sample(text, "inloop_tasks_created_total") == 1  # the server's
    assert _sample(text, "inloop_tasks_ended_total", status="completed", outcome="api") == 1
    # the worker's, in its own file
    assert _sample(text, "inloop_deliveries_total", kind="webhook", result="ok") == 1
    assert list((data / "metrics").glob("counter_*.db"))
    for name in ("serve", "worker"):
        text = (data / f"{name}.log").read_text()
        assert text and all(json.loads(line)["level"] for line in text.splitlines())
        assert TOKEN not in text and account.token not in text
