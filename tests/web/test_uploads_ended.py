"""An ended task accepts no file: not before the upload, nor when it ends mid-upload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.domain.errors import Conflict
from api.domain.task import CompletedBy
from api.runtime import Services
from api.store import keys
from tests.conftest import Account, create
from tests.fixtures import example
from tests.web.helpers import csrf_from

Ender = Callable[[Services, str], Any]
ENDINGS: dict[str, Ender] = {
    "cancelled": lambda services, ref: services.store.cancel(ref, "stop"),
    "completed": lambda services, ref: services.store.complete(
        ref, {}, CompletedBy(channel="api", id="m", name="M")),
}


def files_on_disk(services: Services) -> int:
    root = services.settings.files_dir
    return sum(1 for p in root.glob("*/*") if p.is_file()) if root.exists() else 0


async def onboarding(client: TestClient, account: Account) -> dict[str, Any]:
    return await create(client, account, example("hpi_onboarding"))


def api_upload(client: TestClient, account: Account, task: dict[str, Any],
               data: Any) -> Any:
    return client.post(f"/api/v1/tasks/{task['task_id']}/files/contract?filename=c.pdf",
                       data=data, headers={**account.headers,
                                           "Content-Type": "application/pdf"})


@pytest.mark.parametrize("ending", ENDINGS)
async def test_api_upload_to_an_ended_task_is_409(client: TestClient, account: Account,
                                                  services: Services, ending: str) -> None:
    task = await onboarding(client, account)
    ENDINGS[ending](services, account.ref(task["task_id"]))
    response = await api_upload(client, account, task, b"%PDF late")
    assert response.status == 409
    assert (await response.json())["message"] == f"the task is {ending}"
    assert files_on_disk(services) == 0
    assert services.redis.scard(keys.task_files(account.ref(task["task_id"]))) == 0


async def ending_midway(services: Services, ref: str, head: bytes,
                        tail: bytes) -> AsyncIterator[bytes]:
    """A chunked body during which the task is cancelled. The pause lets the handler pass
    its own status checks first; were it slower, it would refuse the task up front, which
    the assertions accept too."""
    yield head
    await asyncio.sleep(0.3)
    services.store.cancel(ref, "ended while the file was arriving")
    yield tail


async def test_api_upload_during_which_the_task_ends_is_409(
        client: TestClient, account: Account, services: Services) -> None:
    task = await onboarding(client, account)
    body = ending_midway(services, account.ref(task["task_id"]), b"%PDF first ", b"half")
    response = await api_upload(client, account, task, body)
    assert response.status == 409
    assert files_on_disk(services) == 0


async def test_web_upload_during_which_the_task_ends_shows_the_ended_page(
        client: TestClient, account: Account, services: Services) -> None:
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    boundary = "ending-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="nav"\r\n\r\n'
            f'next\r\n--{boundary}\r\nContent-Disposition: form-data; name="contract"; '
            'filename="c.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF first ')
    tail = f"half\r\n--{boundary}--\r\n"
    response = await client.post(path, data=ending_midway(
        services, account.ref(task["task_id"]), head.encode(), tail.encode()), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status == 410
    assert files_on_disk(services) == 0
    assert services.redis.scard(keys.task_files(account.ref(task["task_id"]))) == 0


def test_claiming_a_file_for_an_ended_task_is_a_conflict(services: Services,
                                                         account: Account) -> None:
    who = services.directory.authenticate(account.token)
    created, _ = services.tasks.create(who, example("hpi_onboarding"))
    services.store.cancel(account.ref(created["task_id"]), None)
    with pytest.raises(Conflict):
        services.files.claim(account.ref(created["task_id"]), "0" * 64)
