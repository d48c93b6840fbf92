"""NATS sink against real nats-server processes, with and without a JetStream stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg

from api.domain.events import event_id
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id
from tests.ports import free_port
from tests.workers.conftest import ANSWERS, BY, Drain, make_task
from tests.workers.nats_servers import serve
from workers.sinks.deliver import SinkDelivery
from workers.sinks.nats import publish, send_nats


async def _stream_messages(url: str) -> list[nats.aio.msg.Msg]:
    client = await nats.connect(url)
    js = client.jetstream()
    info = await js.stream_info("TASKS")
    messages = [await js.get_msg("TASKS", seq) for seq in range(1, info.state.messages + 1)]
    await client.close()
    return messages


async def _add_stream(url: str) -> None:
    client = await nats.connect(url)
    await client.jetstream().add_stream(name="TASKS", subjects=["tasks.>"])
    await client.close()


def test_jetstream_publish_is_acked_and_deduplicated(services: Services, jetstream_url: str,
                                                     drain: Drain) -> None:
    asyncio.run(_add_stream(jetstream_url))
    services.settings.nats_url = jetstream_url
    ref = make_task(services, [{"type": "nats", "subject": "tasks.done"}])
    task = services.store.complete(ref, ANSWERS, BY)
    did = delivery_id(ref, "completed", 0)
    drain(lambda: DeliveryLog(services.store).status(did) == "delivered")
    [attempt] = DeliveryLog(services.store).get(did)["attempts"]
    assert attempt["detail"] == "JetStream stream TASKS seq 1"  # the stream's own ack
    # A redelivery (say, after a worker died before RQ saw success) is deduplicated.
    again = SinkDelivery(services).attempt(task, "completed", 0)
    assert again.ok and again.detail is not None
    assert again.detail.startswith("JetStream stream TASKS seq 1 (duplicate")

    [stored] = asyncio.run(_stream_messages(jetstream_url))
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == event_id(ref, "completed")
    assert json.loads(stored.data)["task"]["data"] == ANSWERS


async def test_core_publish_without_jetstream(nats_url: str) -> None:
    client = await nats.connect(nats_url)
    subscription = await client.subscribe("tasks.plain")
    await client.flush()
    acked = await publish(nats_url, "tasks.plain", b'{"id":"evt_1"}', "evt_1")
    message = await subscription.next_msg(timeout=5)
    await client.close()
    assert acked is None
    assert message.data == b'{"id":"evt_1"}' and message.headers == {"Nats-Msg-Id": "evt_1"}


async def test_core_publish_when_no_stream_captures_the_subject(jetstream_url: str) -> None:
    assert await publish(jetstream_url, "elsewhere.x", b"{}", "evt_2") is None


@pytest.fixture
def account_without_jetstream(tmp_path: Path) -> Iterator[str]:
    """A JetStream server whose account `plain` has no JetStream (it answers 10039)."""
    config = tmp_path / "nats.conf"
    config.write_text(f'jetstream {{ store_dir: "{tmp_path / "js"}" }}\n'
                      "accounts { PLAIN: { users: [{user: plain, password: plain}] } }\n")
    for url in serve("-c", str(config)):
        yield url.replace("nats://", "nats://plain:plain@")


async def test_core_publish_when_the_account_has_no_jetstream(
        account_without_jetstream: str) -> None:
    client = await nats.connect(account_without_jetstream)
    subscription = await client.subscribe("tasks.plain")
    await client.flush()
    assert await publish(account_without_jetstream, "tasks.plain", b"{}", "evt_4") is None
    assert (await subscription.next_msg(timeout=5)).data == b"{}"
    await client.close()


async def test_jetstream_unavailable_for_now_is_a_retryable_failure(nats_url: str) -> None:
    """A 503 other than "not enabled" (here 10008, a cluster without its leader, answered
    by a stand-in for the JetStream API) must not fall back to an unacked core publish."""
    client = await nats.connect(nats_url)

    async def unavailable(message: Msg) -> None:
        await message.respond(json.dumps({"error": {
            "code": 503, "err_code": 10008,
            "description": "JetStream system temporarily unavailable"}}).encode())

    await client.subscribe("$JS.API.STREAM.NAMES", cb=unavailable)
    subscription = await client.subscribe("tasks.done")
    await client.flush()
    attempt = await asyncio.to_thread(send_nats, nats_url, "tasks.done", b"{}", "evt_5", 1)
    with pytest.raises(nats.errors.TimeoutError):
        await subscription.next_msg(timeout=0.5)
    await client.close()
    assert not attempt.ok and not attempt.final
    assert attempt.error is not None and "err_code=10008" in attempt.error


def test_server_down_is_a_retryable_failure_within_the_connect_timeout() -> None:
    attempt = send_nats(f"nats://127.0.0.1:{free_port()}", "tasks.done", b"{}", "evt_3", 1)
    assert not attempt.ok and not attempt.final
    assert attempt.error is not None and attempt.error.startswith("NATS failed")
    assert attempt.latency_ms < 3000
