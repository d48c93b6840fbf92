"""Inputs that once turned into 500s or leaks: each is now a clear 4xx."""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from api import netguard
from api.runtime import Services
from api.store.tasks import utcnow
from tests.conftest import Account, create
from tests.fixtures import example


@pytest.mark.parametrize("suffix", [":secrets", ":idem", ":draft", "%3Asecrets", "abc"])
async def test_ids_that_are_not_uuids_are_404(client: TestClient, account: Account,
                                              suffix: str) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"), "sinks": [
        {"type": "webhook", "url": "http://127.0.0.1:9/x"}]}))["task_id"]
    for path in ("", "/wait?timeout=0"):
        response = await client.get(f"/api/v1/tasks/{task_id}{suffix}{path}",
                                    headers=account.headers)
        assert response.status == 404
    retry = await client.post("/api/v1/deliveries/dlv_x:attempts/retry",
                              headers=account.headers)
    assert retry.status == 404


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/x", "http://127.0.0.1:abc/x",
                                 "http://[::1/x", "https://:80/x"])
async def test_malformed_webhook_urls_are_400(client: TestClient, account: Account,
                                              url: str) -> None:
    body = {**example("hpi_approval"), "sinks": [{"type": "webhook", "url": url}]}
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status == 400
    assert (await response.json())["details"][0]["loc"] == "sinks.0.url"


@pytest.mark.parametrize("depth", [40, 2000])
async def test_deeply_nested_json_is_400(client: TestClient, account: Account,
                                         depth: int) -> None:
    raw = json.dumps(example("hpi_approval"))[:-1] + ', "payload": ' + '{"a": ' * depth \
        + "1" + "}" * depth + "}"
    response = await client.post("/api/v1/tasks", data=raw, headers={
        **account.headers, "Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["details"][0]["loc"] in ("payload", "body")


async def test_an_integrators_own_secret_is_not_echoed(client: TestClient,
                                                       account: Account) -> None:
    body = {**example("hpi_approval"), "sinks": [
        {"type": "webhook", "url": "http://127.0.0.1:9/a",
         "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
        {"type": "webhook", "url": "http://127.0.0.1:9/b"}]}
    created = await create(client, account, body)
    assert "secret" not in created["sinks"][0]
    assert created["sinks"][1]["secret"].startswith("whsec_")


def test_replay_comes_before_checks_that_may_change(services: Services,
                                                    account: Account) -> None:
    who = services.directory.authenticate(account.token)
    body = {**example("hpi_approval"), "task_id": str(uuid.uuid4()),
            "sinks": [{"type": "webhook", "url": "http://127.0.0.1:9/a"}]}
    first, _ = services.tasks.create(who, body)
    services.tasks.allow_private_webhooks = False  # the check would now refuse the URL
    assert services.tasks.create(who, body) == (first, True)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "100.64.0.1", "169.254.1.1",
                                     "::1", "fd00::1", "64:ff9b::a00:1", "64:ff9b:1::1",
                                     "2002:7f00:1::1", "::ffff:10.0.0.1",
                                     "::127.0.0.1", "::ffff:0:7f00:1", "fec0::1",
                                     "192.0.0.9", "224.0.1.1", "239.255.0.1", "ff0e::1",
                                     "::ffff:224.0.0.251"])
def test_ssrf_guard_refuses_non_public_addresses(address: str) -> None:
    assert not netguard._allowed(ipaddress.ip_address(address))


def test_unresolvable_host_names_the_host_not_the_url() -> None:
    url = "https://user:hunter2@no-such-host.invalid/hook?token=abc123"
    with pytest.raises(netguard.Unresolvable) as raised:
        netguard.resolve_checked(url, allow_private=False)
    assert str(raised.value) == "cannot resolve the host 'no-such-host.invalid'"


def test_ssrf_guard_allows_public_addresses() -> None:
    assert netguard._allowed(ipaddress.ip_address("93.184.215.14"))
    assert netguard._allowed(ipaddress.ip_address("2606:4700::1111"))


async def test_listing_expires_overdue_tasks(client: TestClient, account: Account,
                                             services: Services) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"),
                                              "expires_in": 60}))["task_id"]
    services.store.clock = lambda: utcnow() + timedelta(seconds=61)

    async def listed(status: str) -> list[str]:
        page = await (await client.get(f"/api/v1/tasks?status={status}",
                                       headers=account.headers)).json()
        return [t["task_id"] for t in page["tasks"]]

    assert await listed("pending") == []
    assert await listed("failed") == [task_id]


async def test_wait_returns_when_the_task_expires(client: TestClient, account: Account,
                                                  services: Services) -> None:
    task_id = (await create(client, account, {**example("hpi_approval"),
                                              "expires_in": 60}))["task_id"]
    services.store.clock = lambda: utcnow() + timedelta(seconds=59.6)  # 0.4 s to go
    response = await client.get(f"/api/v1/tasks/{task_id}/wait?timeout=20",
                                headers=account.headers)
    assert (await response.json())["status"] == "failed"
