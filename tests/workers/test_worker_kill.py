"""A worker killed with SIGKILL mid-delivery: the event is delivered again, or recorded as
gave up on the last try; a living worker's long job is never taken for abandoned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from api.domain.events import event_id
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id
from tests.workers.conftest import ANSWERS, BY, make_task
from tests.workers.receiver import Receiver

WORKER = ("from api.runtime import build_services; from api.settings import Settings; "
          "from workers.runner import make_worker; "
          "make_worker(build_services(Settings()), ['webhook']).work(with_scheduler={})")


def _worker(redis_url: str, log: Path, scheduler: bool) -> subprocess.Popen[bytes]:
    # A 1 s heartbeat + 2 s grace: an abandoned job is noticed in ~3 s instead of ~90 s.
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url, "INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1",
           "INLOOP_JOB_MONITORING_INTERVAL_S": "1", "INLOOP_JOB_HEARTBEAT_GRACE_S": "2",
           "INLOOP_WORKER_TTL_S": "16", "INLOOP_MAINTENANCE_INTERVAL_S": "1",
           "INLOOP_WORKER_CONCURRENCY": "4"}
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
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    log = tmp_path / "workers.log"
    # The first worker runs no scheduler: a killed scheduler's lock would hold for 61 s.
    first = _worker(redis_url, log, scheduler=False)
    try:
        services.store.complete(ref, ANSWERS, BY)
        receiver.wait_for(1, timeout=15)
    finally:
        _stop(first, signal.SIGKILL)
    started = time.monotonic()
    second = _worker(redis_url, log, scheduler=True)
    try:
        did = delivery_id(ref, "completed", 0)
        deadline = time.monotonic() + 20
        while DeliveryLog(services.store).status(did) != "delivered":
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        _stop(second, signal.SIGTERM)
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {event_id(ref, "completed")} and len(receiver.received) == 2
    assert time.monotonic() - started < 20


def test_a_worker_killed_with_several_deliveries_in_flight_loses_none(
        services: Services, receiver: Receiver, redis_url: str, tmp_path: Path) -> None:
    receiver.plan = [("hang", 30)] * 3
    refs = [make_task(services, [{"type": "webhook", "url": receiver.url}]) for _ in range(3)]
    log = tmp_path / "workers.log"
    first = _worker(redis_url, log, scheduler=False)
    try:
        for ref in refs:
            services.store.complete(ref, ANSWERS, BY)
        receiver.wait_for(3, timeout=15)  # all three in flight in the one worker
    finally:
        _stop(first, signal.SIGKILL)
    second = _worker(redis_url, log, scheduler=True)
    deliveries = DeliveryLog(services.store)
    try:
        _until(lambda: all(deliveries.status(delivery_id(ref, "completed", 0)) == "delivered"
                           for ref in refs), log)
    finally:
        _stop(second, signal.SIGTERM)
    ids = sorted(r.headers["webhook-id"] for r in receiver.received)
    assert ids == sorted(2 * [event_id(ref, "completed") for ref in refs])


def test_killed_worker_on_the_last_try_gives_up_and_can_be_retried(
        services: Services, receiver: Receiver, redis_url: str, tmp_path: Path) -> None:
    services.settings.webhook_retry_schedule = []  # no RQ retries: the first death is the last
    receiver.plan = [("hang", 30)]
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    log = tmp_path / "workers.log"
    first = _worker(redis_url, log, scheduler=False)
    try:
        services.store.complete(ref, ANSWERS, BY)
        receiver.wait_for(1, timeout=15)
    finally:
        _stop(first, signal.SIGKILL)
    second = _worker(redis_url, log, scheduler=True)
    deliveries, did = DeliveryLog(services.store), delivery_id(ref, "completed", 0)
    try:
        _until(lambda: deliveries.status(did) == "gave_up", log)
        assert [d["id"] for d in deliveries.gave_up()] == [did]
        deliveries.retry(did)
        _until(lambda: deliveries.status(did) == "delivered", log)
    finally:
        _stop(second, signal.SIGTERM)
    assert len(receiver.received) == 2


def test_a_job_outliving_its_heartbeat_ttl_on_a_living_worker_is_not_abandoned(
        services: Services, receiver: Receiver, redis_url: str, tmp_path: Path) -> None:
    """No work horse keeps the job alive: the worker's heartbeat thread must, or another
    worker's maintenance (every 1 s here) would take the job for abandoned after 3 s and
    run it again."""
    receiver.plan = [("hang", 6)]
    ref = make_task(services, [{"type": "webhook", "url": receiver.url}])
    log = tmp_path / "workers.log"
    busy = _worker(redis_url, log, scheduler=False)
    deliveries, did = DeliveryLog(services.store), delivery_id(ref, "completed", 0)
    try:
        services.store.complete(ref, ANSWERS, BY)
        receiver.wait_for(1, timeout=15)
        watcher = _worker(redis_url, log, scheduler=True)  # runs the registries' cleanup
        try:
            _until(lambda: deliveries.status(did) == "delivered", log)
            time.sleep(2)  # what a wrongly abandoned job would need to run again
        finally:
            _stop(watcher, signal.SIGTERM)
    finally:
        _stop(busy, signal.SIGTERM)
    assert len(receiver.received) == 1
    assert [a["status_code"] for a in deliveries.get(did)["attempts"]] == [200]


def _until(condition: Callable[[], bool], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
