"""A worker killed with SIGKILL mid-delivery: another worker delivers the same event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from api.deliveries import DeliveryLog, delivery_id
from api.runtime import Services
from api.store import event_id
from tests.workers.conftest import ANSWERS, BY, make_task
from tests.workers.receiver import Receiver

WORKER = ("from api.runtime import build_services; from api.settings import Settings; "
          "from workers.runner import make_worker; "
          "make_worker(build_services(Settings()), ['webhook']).work(with_scheduler={})")


def _worker(redis_url: str, log: Path, scheduler: bool) -> subprocess.Popen[bytes]:
    # A 1 s heartbeat + 2 s grace: an abandoned job is noticed in ~3 s instead of ~90 s.
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url, "INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1",
           "INLOOP_JOB_MONITORING_INTERVAL_S": "1", "INLOOP_JOB_HEARTBEAT_GRACE_S": "2",
           "INLOOP_WORKER_TTL_S": "16", "INLOOP_MAINTENANCE_INTERVAL_S": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-c", WORKER.format(scheduler)], env=env,
                                stdout=out, stderr=out, start_new_session=True)


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    if process.poll() is None:
        os.killpg(process.pid, how)  # the worker, its work horse and its scheduler
    process.wait(15)


def test_killed_worker_delivery_resumes_with_the_same_event_id(
        services: Services, receiver: Receiver, redis_url: str, tmp_path: Path) -> None:
    receiver.plan = [("hang", 30)]
    task_id = make_task(services, [{"type": "webhook", "url": receiver.url}])
    log = tmp_path / "workers.log"
    # The first worker runs no scheduler: a killed scheduler's lock would hold for 61 s.
    first = _worker(redis_url, log, scheduler=False)
    try:
        services.store.complete(task_id, ANSWERS, BY)
        receiver.wait_for(1, timeout=15)
    finally:
        _stop(first, signal.SIGKILL)
    started = time.monotonic()
    second = _worker(redis_url, log, scheduler=True)
    try:
        did = delivery_id(task_id, "completed", 0)
        deadline = time.monotonic() + 20
        while DeliveryLog(services.store).status(did) != "delivered":
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        _stop(second, signal.SIGTERM)
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {event_id(task_id, "completed")} and len(receiver.received) == 2
    assert time.monotonic() - started < 20
