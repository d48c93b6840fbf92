"""A stored task is a record, not a request: reading it never re-applies request limits,
so tightening a limit cannot make existing tasks unreadable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.domain import task as task_module
from api.domain.errors import InvalidRequest
from api.domain.task import SCHEMA_VERSION, Task
from api.domain.validation import parse_task
from api.runtime import Services
from api.store import keys
from tests.conftest import Account, create
from tests.fixtures import example

OPTIONS = [f"option {i}" for i in range(150)]  # requests allow 100
TITLE = "t" * 300  # requests allow 200


def nested(depth: int) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for _ in range(depth):
        payload = {"n": payload}
    return payload


def over_the_limits(record: dict[str, Any]) -> dict[str, Any]:
    """`record` as an older, laxer inloop might have stored it (and with no version)."""
    record = {**record, "title": TITLE, "payload": nested(40)}
    record.pop("schema_version")
    record["steps"][0]["blocks"][1]["field"]["options"] = OPTIONS  # the department select
    return record


async def stored_over_the_limits(client: TestClient, account: Account,
                                 services: Services) -> dict[str, Any]:
    created = await create(client, account, example("hpi_onboarding"))
    key = keys.task(account.ref(created["task_id"]))
    services.redis.set(key, json.dumps(over_the_limits(json.loads(services.redis.get(key)))))
    return created


async def test_a_record_over_todays_limits_reads_everywhere(
        client: TestClient, account: Account, services: Services) -> None:
    created = await stored_over_the_limits(client, account, services)

    task = services.store.load(account.ref(created["task_id"]))
    assert (task.title, task.fields()[1].options) == (TITLE, OPTIONS)
    assert task.schema_version == SCHEMA_VERSION
    response = await client.get(f"/api/v1/tasks/{created['task_id']}", headers=account.headers)
    assert response.status == 200
    body = await response.json()
    assert body["title"] == TITLE and "schema_version" not in body
    page = await client.get(f"/t/{created['link_id']}")
    assert page.status == 200 and TITLE in await page.text()


async def test_the_same_content_is_still_refused_as_a_request(
        client: TestClient, account: Account, services: Services) -> None:
    created = await stored_over_the_limits(client, account, services)
    raw = services.redis.get(keys.task(account.ref(created["task_id"])))
    request = {k: v for k, v in json.loads(raw).items() if k not in ("task_id", "link_id")}

    response = await client.post("/api/v1/tasks", json=request, headers=account.headers)
    assert response.status == 400
    locs = {d["loc"] for d in (await response.json())["details"]}
    assert {"title", "steps.0.blocks.1.field.options", "payload"} <= locs
    with pytest.raises(InvalidRequest):
        parse_task(request)


async def test_records_are_written_with_their_version_and_upgraded_on_read(
        client: TestClient, account: Account, services: Services,
        monkeypatch: pytest.MonkeyPatch) -> None:
    created = await create(client, account, example("hpi_approval"))
    raw = services.redis.get(keys.task(account.ref(created["task_id"])))
    assert json.loads(raw)["schema_version"] == SCHEMA_VERSION == 1

    def retitled(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "title": record["title"].upper()}

    monkeypatch.setattr(task_module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(task_module.MIGRATIONS, 1, retitled)
    upgraded = Task.read(raw)
    title = example("hpi_approval")["title"]
    assert (upgraded.title, upgraded.schema_version) == (title.upper(), 2)
