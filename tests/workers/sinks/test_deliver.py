"""Every event type to every sink kind; one job per (event, sink); exactly-once enqueue."""

from __future__ import annotations

import io
import json
import threading
from typing import Any, get_args

import nats
import pytest
from pypdf import PdfReader
from rq import Retry
from rq.job import Job
from rq.serializers import JSONSerializer
from standardwebhooks import Webhook

from api.domain.errors import Conflict
from api.domain.events import Attempt, event_body, event_id
from api.domain.task import Sink, TaskCreate, TaskError
from api.runtime import Services
from api.store import keys
from api.store.deliveries import DeliveryLog, delivery_id
from api.store.jobs import rq_job_id
from tests.servers import SmtpServer
from tests.workers.conftest import ANSWERS, BY, TASK, Drain, make_task
from tests.workers.receiver import Receiver
from workers.sinks.base import SinkCall
from workers.sinks.deliver import TRANSPORTS, SinkDelivery, record_abandoned
from workers.sinks.webhook import HttpResponse, WebhookTransport

EVENTS = ("completed", "cancelled", "failed")


def _end(services: Services, ref: str, event: str) -> None:
    if event == "completed":
        services.store.complete(ref, ANSWERS, BY)
    elif event == "cancelled":
        services.store.cancel(ref, "no longer needed")
    else:
        services.store.fail(ref, [TaskError(code="expired", message="nobody answered")])


def _all_delivered(services: Services, task_ids: dict[str, str], sinks: int) -> Any:
    log = DeliveryLog(services.store)
    return lambda: all(log.status(delivery_id(t, e, i)) == "delivered"
                       for e, t in task_ids.items() for i in range(sinks))


def test_event_body_shape(services: Services) -> None:
    ref = make_task(services, [])
    task = services.store.complete(ref, ANSWERS, BY)
    body = event_body(task, "completed")
    assert body["id"] == event_id(ref, "completed") and body["type"] == "task.completed"
    assert task.ended_at == task.completed_at == task.updated_at
    assert body["created_at"] == task.model_dump(mode="json")["ended_at"]
    assert list(body["task"]) == ["task_id", "status", "title", "data", "completed_at",
                                  "completed_by", "errors", "cancel_reason", "corr_id",
                                  "process_id", "process_step", "payload", "outcome",
                                  "responses"]
    assert body["task"]["completed_by"] == BY.model_dump()
    assert body["task"]["payload"] == {"budget": 1200}


def test_an_ending_pins_its_event_body_with_its_jobs(services: Services) -> None:
    """The body every sink and retry sends is stored by the ending's own MULTI; an event
    no sink takes pins nothing."""
    ref = make_task(services, [{"type": "webhook", "url": "http://127.0.0.1:9/h"},
                               {"type": "nats", "subject": "s", "events": ["cancelled"]}])
    task = services.store.complete(ref, ANSWERS, BY)
    pinned = services.redis.get(keys.task_event(ref, "completed"))
    assert pinned is not None and json.loads(pinned) == event_body(task, "completed")
    assert DeliveryLog(services.store).pending(ref, "completed", 0).body == pinned
    other = make_task(services, [{"type": "nats", "subject": "s", "events": ["cancelled"]}])
    services.store.complete(other, ANSWERS, BY)
    assert services.redis.get(keys.task_event(other, "completed")) is None


def test_each_sinks_target_is_safe_to_show() -> None:
    """Delivery records and the API show `target`: a webhook URL's credentials and query
    (where integrators put tokens) stay out."""
    sinks = TaskCreate.model_validate({**TASK, "sinks": [
        {"type": "webhook", "url": "https://user:pw@hooks.example:8443/in?token=s3cret#x"},
        {"type": "nats", "subject": "tasks.done"},
        {"type": "email", "to": "ops@example.com"}]}).sinks
    assert [sink.target for sink in sinks] == \
        ["https://hooks.example:8443/in", "tasks.done", "ops@example.com"]


def test_the_registry_has_a_transport_for_every_sink_type() -> None:
    union, _discriminator = get_args(Sink)
    types = {get_args(model.model_fields["type"].annotation)[0] for model in get_args(union)}
    assert set(TRANSPORTS) == types


class _Recorder:
    """A transport that keeps its calls and succeeds."""

    def __init__(self) -> None:
        self.calls: list[SinkCall] = []

    def send(self, call: SinkCall) -> Attempt:
        self.calls.append(call)
        return Attempt(True, 1.5, detail="recorded")


def test_each_sink_goes_to_its_types_transport_and_is_recorded(services: Services) -> None:
    ref = make_task(services, [{"type": "nats", "subject": "tasks.done"},
                               {"type": "webhook", "url": "http://127.0.0.1:9/in?t=1"}])
    task = services.store.complete(ref, ANSWERS, BY)
    posted: list[tuple[str, dict[str, str], bytes]] = []

    def post(url: str, _addresses: list[str], headers: dict[str, str], body: bytes,
             _timeout: float) -> HttpResponse:
        posted.append((url, headers, body))
        return HttpResponse(204)

    nats = _Recorder()
    delivery = SinkDelivery(services, {"nats": nats,
                                       "webhook": WebhookTransport(services.settings, post=post)})
    assert delivery.run(ref, "completed", 0) == "delivered"
    [call] = nats.calls
    body = DeliveryLog(services.store).body(task, "completed")
    assert (call.sink.type, call.event, call.body, call.secret) == ("nats", "completed", body, None)
    assert call.event_id == event_id(ref, "completed")
    record = DeliveryLog(services.store).get(delivery_id(ref, "completed", 0))
    assert [a["detail"] for a in record["attempts"]] == ["recorded"]

    assert delivery.run(ref, "completed", 1) == "delivered"
    [(url, headers, sent)] = posted
    assert url == "http://127.0.0.1:9/in?t=1" and sent == body
    secret = services.store.secrets(ref)[1]
    assert secret is not None and Webhook(secret).verify(sent, headers)["id"] == call.event_id


class _Overtaken:
    """A transport whose first attempt ends (`first`) only after a second run of the same
    delivery, made meanwhile, ended (`second`): a job past its timeout whose thread still
    waited on the receiver while RQ retried it as abandoned."""

    def __init__(self, services: Services, first: Attempt, second: Attempt) -> None:
        self.services, self.first, self.second = services, first, second
        self.calls = 0

    def send(self, call: SinkCall) -> Attempt:
        self.calls += 1
        if self.calls > 1:
            return self.second
        SinkDelivery(self.services, {"nats": self}).run(call.task.ref, call.event, 0)
        return self.first


FAILED = Attempt(False, 2000, error="timeout after 2 s")


@pytest.mark.parametrize(("first", "second", "returned"), [
    (FAILED, Attempt(True, 1), "superseded"),  # a late failure leaves the delivery delivered
    (Attempt(True, 1), FAILED, "delivered"),  # a late success is a delivery all the same
])
def test_a_late_attempt_is_listed_but_never_overwrites_a_delivery(
        services: Services, first: Attempt, second: Attempt, returned: str) -> None:
    ref = make_task(services, [{"type": "nats", "subject": "tasks.done"}])
    services.store.complete(ref, ANSWERS, BY)
    delivery = SinkDelivery(services, {"nats": _Overtaken(services, first, second)})
    assert delivery.run(ref, "completed", 0) == returned
    did = delivery_id(ref, "completed", 0)
    record = DeliveryLog(services.store).get(did)
    assert record["status"] == "delivered"
    assert [(a["attempt"], a["ok"], a["error"]) for a in record["attempts"]] == \
        [(1, second.ok, second.error), (2, first.ok, first.error)]
    assert DeliveryLog(services.store).gave_up() == []


class _LateThenFailing:
    """A transport during whose attempt the late attempt of an earlier run is recorded;
    its own attempt then fails."""

    def __init__(self, late: Any) -> None:
        self.late = late

    def send(self, call: SinkCall) -> Attempt:
        assert not self.late()  # stale: RQ took the earlier run for abandoned
        return Attempt(False, 1, status_code=503, error="HTTP 503")


def test_a_late_attempt_leaves_the_current_run_its_outcome(services: Services) -> None:
    """An earlier run's late attempt, recorded while the retry is in flight, does not
    make the retry's own failure stale: the retry records it and is retried again."""
    ref = make_task(services, [{"type": "nats", "subject": "tasks.done"}])
    services.store.complete(ref, ANSWERS, BY)
    log, task = DeliveryLog(services.store), services.store.load(ref)
    began = log.pending(ref, "completed", 0).outcomes  # the first run starts
    record_abandoned(services.store, ref, "completed", 0, last=False)  # RQ retries it
    late = _LateThenFailing(lambda: log.record(task, "completed", 0, FAILED, "retrying", began))
    returned = SinkDelivery(services, {"nats": late}).run(ref, "completed", 0)
    assert isinstance(returned, Retry)
    record = log.get(delivery_id(ref, "completed", 0))
    assert record["status"] == "retrying"
    assert [a["error"] for a in record["attempts"]] == [
        "internal error: the delivery was abandoned (its worker died, or it outlived the "
        "job's timeout)", "timeout after 2 s", "HTTP 503"]


def test_an_attempt_running_when_an_operator_retries_is_stale(services: Services) -> None:
    ref = make_task(services, [{"type": "nats", "subject": "tasks.done"}])
    services.store.complete(ref, ANSWERS, BY)
    log, task, did = DeliveryLog(services.store), services.store.load(ref), \
        delivery_id(ref, "completed", 0)
    began = log.pending(ref, "completed", 0).outcomes
    assert log.record(task, "completed", 0, FAILED, "gave_up")  # RQ's last try, abandoned
    log.retry(did)
    assert not log.record(task, "completed", 0, FAILED, "gave_up", began)
    assert log.status(did) == "queued" and log.gave_up() == []


def test_one_job_per_event_and_sink_on_its_kind_queue(services: Services) -> None:
    sinks = [{"type": "webhook", "url": "http://127.0.0.1:9/h"},
             {"type": "nats", "subject": "tasks.done", "events": ["cancelled"]},
             {"type": "email", "to": "ops@example.com"}]
    ref = make_task(services, sinks)
    services.store.complete(ref, ANSWERS, BY)
    for _ in range(3):
        with pytest.raises(Conflict):
            services.store.complete(ref, ANSWERS, BY)
    queued = {q.name: q.job_ids for q in services.jobs.queues()}
    assert queued["webhook"] == [rq_job_id(f"sink:{ref}:completed:0")]
    assert queued["nats"] == []  # that sink asked for cancellations only
    assert queued["email"] == [rq_job_id(f"sink:{ref}:completed:2")]
    job = Job.fetch(queued["webhook"][0], connection=services.redis, serializer=JSONSerializer)
    assert job.args == [ref, "completed", 0] and job.retries_left == 3


def test_every_event_reaches_every_sink(services: Services, receiver: Receiver,
                                        smtp_server: SmtpServer, jetstream_url: str,
                                        drain: Drain) -> None:
    services.settings.smtp_url, services.settings.nats_url = smtp_server.url, jetstream_url
    sinks = [{"type": "webhook", "url": receiver.url},
             {"type": "nats", "subject": "tasks.done"},
             {"type": "email", "to": "ops@example.com"}]
    task_ids = {event: make_task(services, sinks) for event in EVENTS}
    subscriber = _Subscriber(jetstream_url, "tasks.done", 3)
    for event, ref in task_ids.items():
        _end(services, ref, event)
    drain(_all_delivered(services, task_ids, 3))

    types = {json.loads(r.body)["type"] for r in receiver.wait_for(3)}
    assert types == {"task.completed", "task.cancelled", "task.failed"}
    published = subscriber.result()
    assert {m["id"] for m in published} == {event_id(t, e) for e, t in task_ids.items()}
    mails = {m["Subject"]: m for m in smtp_server.mailbox.wait_for(3)}
    _check_completed_mail(mails["Completed: Approve the Q3 budget"])
    cancelled = mails["Cancelled: Approve the Q3 budget"]
    assert "Reason: no longer needed" in cancelled.get_body(("plain",)).get_content()
    failed = mails["Failed: Approve the Q3 budget"]
    assert "The task failed: nobody answered" in failed.get_body(("plain",)).get_content()
    assert not list(failed.iter_attachments())


def _check_completed_mail(mail: Any) -> None:
    text = mail.get_body(("plain",)).get_content()
    assert "Decision: Approve" in text and "Comments: Looks good" in text
    assert mail["Message-ID"].startswith("<evt_")
    [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    pages = PdfReader(io.BytesIO(pdf.get_content())).pages
    assert "Approve the Q3 budget" in "".join(page.extract_text() for page in pages)


class _Subscriber:
    """A core NATS subscriber in its own thread and loop, collecting `count` messages."""

    def __init__(self, url: str, subject: str, count: int) -> None:
        self.messages: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, subject, count))
        self._thread.start()
        assert self._ready.wait(5)

    def _run(self, url: str, subject: str, count: int) -> None:
        import asyncio

        async def collect() -> None:
            client = await nats.connect(url)
            subscription = await client.subscribe(subject)
            await client.flush()
            self._ready.set()
            for _ in range(count):
                message = await subscription.next_msg(timeout=15)
                assert message.headers and message.headers["Nats-Msg-Id"].startswith("evt_")
                self.messages.append(json.loads(message.data))
            await client.close()

        asyncio.run(collect())

    def result(self) -> list[dict[str, Any]]:
        self._thread.join(15)
        return self.messages


def test_concurrent_completions_deliver_one_event_per_sink(
        services: Services, receiver: Receiver, smtp_server: SmtpServer,
        drain: Drain) -> None:
    services.settings.smtp_url = smtp_server.url
    ref = make_task(services, [{"type": "webhook", "url": receiver.url},
                                   {"type": "email", "to": "ops@example.com"}])
    outcomes: list[str] = []

    def complete() -> None:
        try:
            services.store.complete(ref, ANSWERS, BY)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1
    drain(_all_delivered(services, {"completed": ref}, 2))
    drain(lambda: True)  # anything still queued would run now
    assert [json.loads(r.body)["id"] for r in receiver.received] == \
        [event_id(ref, "completed")]
    assert len(smtp_server.mailbox.messages) == 1
