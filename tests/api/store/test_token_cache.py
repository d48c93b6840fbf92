"""API tokens are looked up once per second per process, and a revoked one stops working
within that second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis as AsyncRedis

from api.domain.errors import Unauthorized
from api.runtime import Services
from api.store.token_cache import TokenCache
from tests.conftest import Account, AccountFactory


@pytest.fixture
async def aredis(services: Services) -> AsyncIterator[AsyncRedis]:
    client = services.async_redis()
    yield client
    await client.aclose(close_connection_pool=True)  # no connection left to the GC


async def test_a_token_is_looked_up_once_for_concurrent_and_repeated_calls(
        services: Services, account: Account, aredis: AsyncRedis) -> None:
    cache = TokenCache(aredis, ttl=60)
    services.redis.config_resetstat()
    first = await asyncio.gather(*(cache.authenticate(account.token) for _ in range(50)))
    again = await cache.authenticate(account.token)
    lookups = services.redis.info("commandstats")["cmdstat_hgetall"]["calls"]
    assert lookups == 1
    assert {who.member.id for who in [*first, again]} == {account.member.id}


async def test_a_revoked_token_is_refused_once_its_entry_expires(
        services: Services, account: Account, aredis: AsyncRedis) -> None:
    cache = TokenCache(aredis, ttl=0.3)
    assert (await cache.authenticate(account.token)).org_id == account.org_id
    services.directory.revoke_token(account.token[:12])
    assert (await cache.authenticate(account.token)).org_id == account.org_id  # cached
    await asyncio.sleep(0.35)
    with pytest.raises(Unauthorized):
        await cache.authenticate(account.token)
    with pytest.raises(Unauthorized):  # a refusal is not kept: it is looked up again
        await cache.authenticate(account.token)


async def test_the_oldest_entry_makes_room_when_the_cache_is_full(
        services: Services, make_account: AccountFactory, aredis: AsyncRedis) -> None:
    accounts = [make_account() for _ in range(3)]
    cache = TokenCache(aredis, ttl=60, max_entries=2)
    for acc in accounts:
        await cache.authenticate(acc.token)
    services.directory.revoke_token(accounts[0].token[:12])
    with pytest.raises(Unauthorized):  # evicted, so looked up again: revoked
        await cache.authenticate(accounts[0].token)
    assert (await cache.authenticate(accounts[2].token)).org_id == accounts[2].org_id
