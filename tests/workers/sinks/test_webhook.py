"""Webhook sink against a real HTTP receiver: signatures, retries, refusals."""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook
from urllib3.exceptions import ConnectTimeoutError

from api import logs
from api.domain.events import event_id
from api.domain.webhooks import WebhookSecret
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id
from tests.workers.conftest import ANSWERS, BY, Drain, make_task
from tests.workers.receiver import Receiver
from workers.sinks.webhook import PinnedPost


def _webhook_task(services: Services, url: str, secret: str | None = None) -> str:
    sink: dict[str, Any] = {"type": "webhook", "url": url}
    if secret:
        sink["secret"] = secret
    return make_task(services, [sink])


def _record(services: Services, ref: str, event: str = "completed") -> dict[str, Any]:
    return DeliveryLog(services.store).get(delivery_id(ref, event, 0))


def _settled(services: Services, ref: str, status: str = "delivered") -> Any:
    return lambda: DeliveryLog(services.store).status(delivery_id(ref, "completed", 0)) \
        == status


def test_completed_event_is_signed_and_verifiable(services: Services, receiver: Receiver,
                                                  drain: Drain) -> None:
    ref = _webhook_task(services, receiver.url)
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref))

    got = receiver.received[0]
    secret = services.store.secrets(ref)[0]
    assert secret is not None and secret.startswith("whsec_")
    body = Webhook(secret).verify(got.body, got.headers)
    assert body["id"] == got.headers["webhook-id"] == event_id(ref, "completed")
    assert body["type"] == "task.completed"
    assert body["task"]["data"] == ANSWERS and body["task"]["status"] == "completed"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "inloop/0.1"
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}"  # the URL's, not re-resolved
    record = _record(services, ref)
    assert record["status"] == "delivered"
    assert [a["status_code"] for a in record["attempts"]] == [200]
    assert record["attempts"][0]["latency_ms"] >= 0


def test_own_unpadded_whsec_secret_signs_with_its_decoded_bytes(
        services: Services, receiver: Receiver, drain: Drain) -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode().rstrip("=")
    ref = _webhook_task(services, receiver.url, secret)
    services.store.cancel(ref, "not needed")
    drain(lambda: len(receiver.received) == 1)
    got = receiver.received[0]
    body = Webhook(secret).verify(got.body, got.headers)  # the library adds the padding
    assert body["type"] == "task.cancelled"
    assert body["task"]["cancel_reason"] == "not needed"


def test_hpi_style_text_secret_signs_with_its_utf8_bytes(
        services: Services, receiver: Receiver, drain: Drain) -> None:
    secret = "optional-hmac-secret"  # HPI's documented example
    ref = _webhook_task(services, receiver.url, secret)
    services.store.cancel(ref, "not needed")
    drain(lambda: len(receiver.received) == 1)
    got = receiver.received[0]
    as_whsec = "whsec_" + base64.b64encode(secret.encode()).decode()
    assert Webhook(as_whsec).verify(got.body, got.headers)["type"] == "task.cancelled"


def test_receiver_down_then_up_gets_the_same_event(services: Services, drain: Drain) -> None:
    down = Receiver()
    ref = _webhook_task(services, down.url)
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref, "retrying"))
    down.start()
    try:
        drain(_settled(services, ref))
    finally:
        down.stop()
    attempts = _record(services, ref)["attempts"]
    assert attempts[0]["error"].startswith("connection failed"), attempts
    assert attempts[1]["status_code"] == 200
    assert down.received[0].headers["webhook-id"] == event_id(ref, "completed")


def test_500_is_retried_with_the_same_id_and_a_fresh_signature(
        services: Services, receiver: Receiver, drain: Drain) -> None:
    receiver.plan = [500]
    ref = _webhook_task(services, receiver.url)
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref))
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    # Fresh: signed at this attempt's time, seconds after the first.
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
    assert second.headers["webhook-signature"] != first.headers["webhook-signature"]
    secret = services.store.secrets(ref)[0]
    assert secret is not None
    Webhook(secret).verify(second.body, second.headers)
    assert [a["status_code"] for a in _record(services, ref)["attempts"]] == [500, 200]


def test_timeout_is_a_failed_attempt(services: Services, receiver: Receiver,
                                     drain: Drain) -> None:
    services.settings.webhook_timeout_s = 0.3
    receiver.plan = [("hang", 3)]
    ref = _webhook_task(services, receiver.url)
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref))
    attempts = _record(services, ref)["attempts"]
    assert attempts[0]["error"] == "timeout after 0.3 s"
    assert attempts[0]["latency_ms"] < 2000
    assert attempts[1]["status_code"] == 200


def test_redirect_is_not_followed_and_gives_up(services: Services, receiver: Receiver,
                                               drain: Drain) -> None:
    services.settings.webhook_retry_schedule = [1]
    ref = _webhook_task(services, receiver.url.replace("/hook", "/moved"))
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref, "gave_up"))
    assert len(receiver.received) == 2  # both at /moved: the 302 was never followed
    attempts = _record(services, ref)["attempts"]
    assert [(a["status_code"], a["error"]) for a in attempts] == \
        [(302, "redirect not followed")] * 2


def test_410_stops_retrying(services: Services, receiver: Receiver, drain: Drain) -> None:
    receiver.plan = [410]
    ref = _webhook_task(services, receiver.url)
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref, "gave_up"))
    assert len(receiver.received) == 1
    assert [d["id"] for d in DeliveryLog(services.store).gave_up()] == \
        [delivery_id(ref, "completed", 0)]


def test_a_failed_attempt_is_logged_with_the_task(services: Services, receiver: Receiver,
                                                  drain: Drain) -> None:
    """INLOOP_LOG_FORMAT=json: the worker's line about a failed delivery names the task."""
    receiver.plan = [410]
    ref = _webhook_task(services, receiver.url)
    out, logger = io.StringIO(), logging.getLogger("workers")
    json_lines = logs.handler("json", out)
    logger.addHandler(json_lines)
    try:
        services.store.complete(ref, ANSWERS, BY)
        drain(_settled(services, ref, "gave_up"))
    finally:
        logger.removeHandler(json_lines)
    [line] = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["level"] == "WARNING" and "410" in line["message"], line
    task = services.store.load(ref)
    assert (line["task_id"], line["corr_id"]) == (task.task_id, "corr-1")


@pytest.mark.parametrize("status, schedule, retry_after, least, most", [
    (429, [1], 2, 2, 4),  # Retry-After is a lower bound over a shorter schedule
    (429, [4], 1, 3, 5.5),  # the schedule is a floor under a shorter Retry-After
    (503, [1], 2, 2, 4),  # an overloaded receiver's Retry-After is honoured too
])
def test_429_and_503_wait_the_longer_of_retry_after_and_the_schedule(
        services: Services, receiver: Receiver, drain: Drain, status: int,
        schedule: list[int], retry_after: int, least: float, most: float) -> None:
    services.settings.webhook_retry_schedule = schedule
    services.settings.retry_jitter = 0
    receiver.plan = [(status, {"Retry-After": str(retry_after)})]
    ref = _webhook_task(services, receiver.url)
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref), timeout=8)
    first, second = receiver.received
    # RQ truncates scheduled times to whole seconds: a delay of N s comes back after N - 1.
    assert least <= second.at - first.at < most
    assert _record(services, ref)["attempts"][0]["retry_after"] == retry_after


def test_private_address_is_refused_at_delivery(services: Services, receiver: Receiver,
                                                drain: Drain) -> None:
    ref = _webhook_task(services, receiver.url)
    services.settings.allow_private_webhooks = False
    services.store.complete(ref, ANSWERS, BY)
    drain(_settled(services, ref, "gave_up"))
    assert receiver.received == []
    attempt = _record(services, ref)["attempts"][0]
    assert attempt["error"].startswith("refused: 127.0.0.1 resolves to a non-public address")


@pytest.mark.parametrize("value, expected", [("3", 3), ("0", 1), ("junk", None),
                                             ("999999", 86_400), ("nan", None),
                                             ("inf", None), ("-Infinity", None)])
def test_retry_after_parsing(value: str, expected: int | None) -> None:
    from workers.sinks.webhook import parse_retry_after

    assert parse_retry_after(value) == expected


def test_jitter_spreads_delays_within_bounds() -> None:
    from api.store.jobs import jittered

    delays = {jittered(300, 0.2) for _ in range(200)}
    assert min(delays) >= 240 and max(delays) <= 360 and len(delays) > 20
    assert jittered(1, 0.2) == 1


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose accept queue is full: new connects hang until they time out."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        fillers = [socket.socket() for _ in range(4)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
        yield server.getsockname()[1]
        for filler in fillers:
            filler.close()


def test_one_deadline_covers_every_address(unanswered_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectTimeoutError):
        PinnedPost()(f"http://127.0.0.1:{unanswered_port}/hook", ["127.0.0.1"] * 3, {}, b"{}",
                    timeout=1)
    assert time.monotonic() - started < 1.8  # not 1 s per address


def test_idn_host_goes_out_idna_encoded(receiver: Receiver) -> None:
    url = f"http://bücher.example:{receiver.port}/hook"
    assert PinnedPost()(url, ["127.0.0.1"], {}, b"{}", timeout=5).status == 200
    assert receiver.received[0].headers["Host"] == f"xn--bcher-kva.example:{receiver.port}"


def test_a_minted_secret_signs_verifiably_and_never_shows_in_a_repr() -> None:
    secret = WebhookSecret.mint()
    assert secret.text.startswith("whsec_") and len(secret.key) == 32
    headers = secret.headers("evt_1", int(time.time()), b'{"a":1}')
    assert Webhook(secret.text).verify(b'{"a":1}', headers) == {"a": 1}
    assert secret.text[6:] not in repr(secret) and secret.text[6:] not in str(secret)


def test_a_worker_process_reuses_its_connection_to_a_receiver(
        services: Services, receiver: Receiver, drain: Drain) -> None:
    refs = [_webhook_task(services, receiver.url) for _ in range(3)]
    for ref in refs:
        services.store.complete(ref, ANSWERS, BY)
    drain(lambda: all(_settled(services, ref)() for ref in refs))
    assert len(receiver.received) == 3
    assert len({r.peer for r in receiver.received}) == 1  # one keep-alive connection

