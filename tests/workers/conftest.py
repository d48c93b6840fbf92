"""Fixtures for sink jobs: real receivers, NATS servers, tasks and a worker with scheduler."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from api.domain.task import CompletedBy, TaskCreate, task_ref
from api.domain.webhooks import WebhookSecret
from api.runtime import Services
from tests.workers.nats_servers import jetstream_url, nats_url  # noqa: F401 (fixtures)
from tests.workers.receiver import receiver  # noqa: F401 (fixture)

ANSWERS = {"decision": "Approve", "comments": "Looks good"}
BY = CompletedBy(channel="api", id="m-1", name="Ada Lovelace")
TASK: dict[str, Any] = {
    "title": "Approve the Q3 budget",
    "corr_id": "corr-1", "process_id": "proc-1", "process_step": "approval",
    "payload": {"budget": 1200},
    "steps": [{"id": "s1", "title": "Decide", "blocks": [
        {"type": "input", "field": {"name": "decision", "label": "Decision", "kind": "radio",
                                    "required": True, "options": ["Approve", "Reject"]}},
        {"type": "input", "field": {"name": "comments", "label": "Comments",
                                    "kind": "textarea"}}]}],
}


def make_task(services: Services, sinks: list[dict[str, Any]], org_id: str = "org-1") -> str:
    """The ref of a new pending task with `sinks` (webhook secrets generated unless
    given): store calls, delivery ids and event ids all take the ref."""
    body = TaskCreate.model_validate({**TASK, "sinks": sinks})
    secrets = [(s.get("secret") or WebhookSecret.mint().text) if s["type"] == "webhook" else None
               for s in sinks]
    created, _ = services.store.create(body, org_id=org_id, created_by="m-1",
                                       body_hash=str(time.time_ns()), secrets=secrets,
                                       revealed=secrets, **services.tasks.new_link())
    return task_ref(org_id, str(created["task_id"]))


Drain = Callable[..., None]


@pytest.fixture
def drain(services: Services) -> Drain:
    """Work the sink queues (scheduler included, for retries) until `until()` holds."""

    def run(until: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        queues = [services.jobs[name] for name in ("webhook", "nats", "email")]
        while True:
            worker = SimpleWorker(queues, connection=services.redis, serializer=JSONSerializer)
            worker.work(burst=True, with_scheduler=True)
            if until():
                return
            assert time.monotonic() < deadline, "timed out draining the sink queues"
            time.sleep(0.1)

    return run
