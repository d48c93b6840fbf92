"""Every `Client` and `AsyncClient` method against the real app on a loopback port, and the
error tree: each API error and an unreachable server become the client's own errors."""

from __future__ import annotations

import inloop_client
import pytest
from inloop_client import (
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    InloopError,
    NotFound,
    TaskCreate,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)

import api.domain.task
from tests.client.conftest import LiveServer
from tests.fixtures import example
from tests.images import png
from tests.ports import free_port

UPLOAD_FORM = {"title": "Sign here", "steps": [{"id": "s1", "title": "Sign", "blocks": [
    {"type": "input", "field": {"name": "doc", "label": "Doc", "kind": "file"}},
    {"type": "input", "field": {"name": "sig", "label": "Sign", "kind": "signature"}}]}]}


def test_every_sync_method(live: LiveServer) -> None:
    with live.client() as client:
        created = client.create_task(TaskCreate.model_validate(
            {**example("hpi_approval"), "tags": ["deploy"]}))
        task = client.get_task(created.task_id)
        assert task.status == "pending" and task.tags == ["deploy"]
        assert [t.task_id for t in client.list_tasks(tag="deploy")] == [created.task_id]
        assert client.wait(created.task_id, timeout=0).status == "pending"
        done = client.complete(created.task_id, {"decision": "Approve"})
        assert done.status == "completed" and done.completed_by is not None
        waited = client.wait(created.task_id, timeout=5)
        assert (waited.status, waited.data) == ("completed", {"decision": "Approve"})
        assert client.deliveries(created.task_id) == []
        other = client.create_task(example("hpi_approval"))
        cancelled = client.cancel(other.task_id, "superseded")
        assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "superseded")


async def test_every_async_method(live: LiveServer) -> None:
    async with AsyncClient(live.url, live.account.token) as client:
        created = await client.create_task({**example("hpi_approval"), "corr_id": "c-1"})
        assert (await client.get_task(created.task_id)).status == "pending"
        assert [t.task_id async for t in client.list_tasks(corr_id="c-1")] == [created.task_id]
        assert (await client.wait(created.task_id, timeout=0)).status == "pending"
        await client.complete(created.task_id, {"decision": "Reject"})
        assert (await client.wait(created.task_id, timeout=5)).data == {"decision": "Reject"}
        assert await client.deliveries(created.task_id) == []
        other = await client.create_task(example("hpi_approval"))
        assert (await client.cancel(other.task_id)).status == "cancelled"
        upload = await client.create_task(UPLOAD_FORM)
        ref = await client.upload_file(upload.task_id, "doc", b"hello", "text/plain", "a.txt")
        assert (ref.name, ref.size, ref.content_type) == ("a.txt", 5, "text/plain")


def test_list_tasks_follows_cursor_pages(live: LiveServer) -> None:
    client = live.client()
    ids = [client.create_task(example("hpi_approval")).task_id for _ in range(5)]
    listed = [t.task_id for t in client.list_tasks(status="pending", limit=2)]
    assert listed == ids[::-1]


def test_upload_and_complete_file_and_signature(live: LiveServer) -> None:
    client = live.client()
    task_id = client.create_task(UPLOAD_FORM).task_id
    doc = client.upload_file(task_id, "doc", b"%PDF-1.4", "application/pdf", "r.pdf")
    sig = client.upload_file(task_id, "sig", png(), "image/png")
    done = client.complete(task_id, {"doc": doc.model_dump(), "sig": sig.model_dump()})
    assert done.data["doc"]["sha256"] == doc.sha256 and done.data["sig"]["content_type"] == \
        "image/png"


def test_deliveries_lists_each_sink_of_an_ended_task(live: LiveServer) -> None:
    client = live.client()
    body = {**example("hpi_approval"),
            "sinks": [{"type": "nats", "subject": "inloop.tasks"}]}
    task_id = client.create_task(body).task_id
    client.complete(task_id, {"decision": "Approve"})
    [delivery] = client.deliveries(task_id)
    assert (delivery.sink_type, delivery.target, delivery.event) == (
        "nats", "inloop.tasks", "completed")
    assert delivery.status == "queued"


def test_api_errors_become_client_errors(live: LiveServer) -> None:
    client = live.client()
    with pytest.raises(ValidationFailed) as invalid:
        client.create_task({"title": "", "steps": []})
    assert {d["loc"] for d in invalid.value.details} >= {"title", "steps"}
    assert invalid.value.status == 400 and "title" in str(invalid.value)
    with pytest.raises(NotFound):
        client.get_task("00000000-0000-4000-8000-000000000000")
    task_id = client.create_task(example("hpi_approval")).task_id
    client.cancel(task_id)
    with pytest.raises(Conflict):
        client.complete(task_id, {"decision": "Approve"})
    with pytest.raises(Unauthorized):
        Client(live.url, "htk_not_a_token").get_task(task_id)
    reader = live.services.directory.create_token(live.account.member, ("tasks:read",))
    with pytest.raises(Forbidden):
        Client(live.url, reader).create_task(example("hpi_approval"))


async def test_an_unreachable_server_is_unavailable_not_an_httpx_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(Unavailable, match="cannot reach inloop"):
        Client(url, "htk_x").get_task("00000000-0000-4000-8000-000000000000")
    with pytest.raises(Unavailable):
        await AsyncClient(url, "htk_x").get_task("00000000-0000-4000-8000-000000000000")


def test_url_and_token_come_from_the_environment(live: LiveServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLOOP_URL", live.url + "/")
    monkeypatch.setenv("INLOOP_TOKEN", live.account.token)
    created = Client().create_task(example("hpi_approval"))
    assert Client().get_task(created.task_id).task_id == created.task_id
    monkeypatch.delenv("INLOOP_URL")
    with pytest.raises(InloopError, match="INLOOP_URL"):
        Client()


def test_the_client_knows_every_field_of_the_servers_create_body() -> None:
    server = set(api.domain.task.TaskCreate.model_fields)
    assert server <= set(inloop_client.TaskCreate.model_fields)
