"""Who may do what: tokens, scopes and tenants."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from api.runtime import Services
from api.store.directory import new_token, token_hash, well_formed
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example

ROUTES = [
    ("post", "/api/v1/tasks", "tasks:create"),
    ("get", "/api/v1/tasks", "tasks:read"),
    ("get", "/api/v1/tasks/{id}", "tasks:read"),
    ("get", "/api/v1/tasks/{id}/wait?timeout=0", "tasks:read"),
    ("post", "/api/v1/tasks/{id}/complete", "tasks:complete"),
    ("post", "/api/v1/tasks/{id}/cancel", "tasks:cancel"),
]
BODIES = {"/api/v1/tasks": example("hpi_approval"),
          "/api/v1/tasks/{id}/complete": {"data": {"decision": "Approve"}},
          "/api/v1/tasks/{id}/cancel": {"reason": "no longer needed"}}


async def _call(client: TestClient, method: str, path: str, task_id: str,
                headers: dict[str, str]) -> int:
    body = BODIES.get(path.split("?")[0])
    response = await client.request(method, path.format(id=task_id), json=body,
                                    headers=headers)
    return response.status


@pytest.fixture
async def task_id(client: TestClient, account: Account) -> str:
    created: str = (await create(client, account, example("hpi_approval")))["task_id"]
    return created


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer htk_nope"}, {"Authorization": "Basic abc"},
    {"X-API-Key": "htk_" + "A" * 49},
])
async def test_missing_or_invalid_token_is_401(client: TestClient, task_id: str, method: str,
                                               path: str, scope: str,
                                               headers: dict[str, str]) -> None:
    assert await _call(client, method, path, task_id, headers) == 401


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
async def test_missing_scope_is_403_and_the_scope_alone_suffices(
        client: TestClient, make_account: AccountFactory, account: Account, task_id: str,
        method: str, path: str, scope: str) -> None:
    others = tuple(s for s in ("tasks:create", "tasks:read", "tasks:complete", "tasks:cancel")
                   if s != scope)
    without = make_account(scopes=others, org_id=account.org_id)
    assert await _call(client, method, path, task_id, without.headers) == 403
    only = make_account(scopes=(scope,), org_id=account.org_id)
    assert await _call(client, method, path, task_id, only.headers) in (200, 201)


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES[2:])
async def test_another_orgs_task_is_404(client: TestClient, make_account: AccountFactory,
                                        task_id: str, method: str, path: str,
                                        scope: str) -> None:
    stranger = make_account()
    assert await _call(client, method, path, task_id, stranger.headers) == 404


async def test_other_org_never_sees_task_in_listing(client: TestClient,
                                                    make_account: AccountFactory,
                                                    task_id: str) -> None:
    stranger = make_account()
    listed = await (await client.get("/api/v1/tasks", headers=stranger.headers)).json()
    assert listed["tasks"] == []


@pytest.mark.parametrize(("scopes", "sees"), [
    (("tasks:read",), False), (("tasks:read", "tasks:cancel"), False),
    (("tasks:read", "tasks:complete"), True), (("tasks:read", "tasks:create"), True),
    (("admin",), True)])
async def test_only_tokens_that_may_answer_see_the_answering_link(
        client: TestClient, make_account: AccountFactory, account: Account, task_id: str,
        scopes: tuple[str, ...], sees: bool) -> None:
    reader = make_account(scopes=scopes, org_id=account.org_id)
    one = await (await client.get(f"/api/v1/tasks/{task_id}", headers=reader.headers)).json()
    listed = await (await client.get("/api/v1/tasks", headers=reader.headers)).json()
    for body in (one, listed["tasks"][0]):
        assert body["task_id"] == task_id
        assert ("url" in body and "link_id" in body) is sees
        assert ("url" in body or "link_id" in body) is sees


async def test_unknown_task_is_404(client: TestClient, account: Account) -> None:
    response = await client.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000",
                                headers=account.headers)
    assert response.status == 404 and (await response.json())["error"] == "not_found"


async def test_x_api_key_header_works(client: TestClient, account: Account,
                                      task_id: str) -> None:
    response = await client.get(f"/api/v1/tasks/{task_id}",
                                headers={"X-API-Key": account.token})
    assert response.status == 200


async def test_revoked_token_is_401(client: TestClient, services: Services, account: Account,
                                    task_id: str) -> None:
    token = services.directory.create_token(account.member, ["tasks:read"])
    services.directory.revoke_token(token[:12])
    response = await client.get(f"/api/v1/tasks/{task_id}",
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401


def test_tokens_are_stored_hashed_only(services: Services, account: Account) -> None:
    everything = b"".join(
        k + b"".join(services.redis.hgetall(k).values()) if services.redis.type(k) == b"hash"
        else k + (services.redis.get(k) or b"") if services.redis.type(k) == b"string" else k
        for k in services.redis.keys("inloop:*"))
    assert account.token.encode() not in everything
    assert token_hash(account.token).encode() in everything


def test_token_format_has_a_checksum() -> None:
    token = new_token()
    assert token.startswith("htk_") and well_formed(token)
    assert not well_formed(token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_a_token_never_shares_its_prefix(services: Services, account: Account,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing and revoking go by prefix: a new token drawn with a taken prefix is
    drawn again instead of hiding the older one."""
    clash = account.token[:12] + new_token()[12:]
    fresh = iter([clash, new_token()])
    monkeypatch.setattr("api.store.directory.new_token", lambda: next(fresh))
    second = services.directory.create_token(account.member, ["tasks:read"])
    assert second != clash and second[:12] != account.token[:12]
    prefixes = [row["prefix"] for row in services.directory.tokens(account.org_id)]
    assert sorted(prefixes) == sorted([account.token[:12], second[:12]])
    services.directory.revoke_token(account.token[:12])
    assert services.directory.authenticate(second).scopes == {"tasks:read"}


async def test_a_token_revoked_while_in_use_is_refused_within_a_second(
        client: TestClient, services: Services, account: Account, task_id: str) -> None:
    """Tokens are cached for 1 s per process (api/store/token_cache.py)."""
    path = f"/api/v1/tasks/{task_id}"
    assert (await client.get(path, headers=account.headers)).status == 200
    services.directory.revoke_token(account.token[:12])
    await asyncio.sleep(1.05)
    assert (await client.get(path, headers=account.headers)).status == 401
