"""`ask()` keeps waiting through a server crash and restart (`inloop serve` processes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from inloop_client import Client

from api.models import CompletedBy
from api.runtime import Services
from tests.client.conftest import ServeProcess, pending_task
from tests.conftest import Account


@pytest.mark.slow
def test_a_server_restart_during_the_wait_still_returns_the_answer(
        serve_process: ServeProcess, services: Services, account: Account,
        background: ThreadPoolExecutor) -> None:
    serve_process.start()
    asked = background.submit(Client(serve_process.url, account.token).ask, "Deploy 4.2?",
                              choices=["Approve", "Reject"], timeout=60)
    task = pending_task(Client(serve_process.url, account.token))
    assert serve_process.proc is not None
    serve_process.proc.kill()  # a crash: the long-poll's connection drops mid-wait
    serve_process.proc.wait(10)
    # Answered (in Slack, say) while no server runs: nobody is subscribed to hear it.
    services.tasks.complete(services.store.load(task.task_id), {"answer": "Approve"},
                            CompletedBy(channel="slack", id="U1", name="Ops"))
    serve_process.start()
    assert asked.result(timeout=30) == "Approve"
