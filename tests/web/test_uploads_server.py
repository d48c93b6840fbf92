"""File and signature uploads through the API and the web form: whole bodies, limits,
checked images, a cap on files per task."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestClient

from api.runtime import Services
from tests.conftest import Account, create
from tests.fixtures import example


async def onboarding(client: TestClient, account: Account) -> dict[str, Any]:
    return await create(client, account, example("hpi_onboarding"))


def stored(services: Services, sha256: str) -> bytes:
    return (services.settings.files_dir / sha256[:2] / sha256).read_bytes()


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def upload(client: TestClient, account: Account, task: dict[str, Any], field: str,
                 data: Any, content_type: str = "application/pdf") -> Any:
    return await client.post(f"/api/v1/tasks/{task['task_id']}/files/{field}?filename=f",
                             data=data, headers={**account.headers,
                                                 "Content-Type": content_type})


async def test_api_upload_stores_the_whole_body(client: TestClient, account: Account,
                                                services: Services) -> None:
    task = await onboarding(client, account)
    whole, streamed = os.urandom(3 * 1024 * 1024), os.urandom(2 * 1024 * 1024)
    for body, expected in ((io.BytesIO(whole), whole), (chunked(streamed), streamed)):
        response = await upload(client, account, task, "contract", body)
        assert response.status == 201, await response.text()
        ref = await response.json()
        assert ref["size"] == len(expected)
        assert ref["sha256"] == hashlib.sha256(expected).hexdigest()
        assert stored(services, ref["sha256"]) == expected


async def test_api_upload_over_the_limit_is_413(client: TestClient, account: Account,
                                                services: Services) -> None:
    services.settings.max_upload_bytes = 256 * 1024
    task = await onboarding(client, account)
    for body in (io.BytesIO(b"x" * (300 * 1024)), chunked(b"y" * (1024 * 1024), 16 * 1024)):
        response = await upload(client, account, task, "contract", body)
        assert response.status == 413
        assert (await response.json())["error"] == "payload_too_large"
    assert not services.settings.files_dir.exists()
    exact = await upload(client, account, task, "contract", io.BytesIO(b"z" * (256 * 1024)))
    assert exact.status == 201
