"""The asyncio client's own connection and pool (api/store/aioconn.py), on a real Valkey
and on a listener that never answers: its bounds hold where something waits, and
nothing else is lost against redis-py's own classes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.store.aioconn import AsyncPackedConnection, BoundedPool
from api.store.connection import OPTIONS, async_client


def _client(url: str, size: int, timeout: float = 5, **options: object) -> AsyncRedis:
    pool = BoundedPool.from_url(url, timeout=timeout, max_connections=size,
                                connection_class=AsyncPackedConnection,
                                **{**OPTIONS, **options})
    return AsyncRedis.from_pool(pool)


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[AsyncRedis]:
    client = _client(redis_url, 2)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def silent() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))  # the kernel completes connects
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_the_service_client_uses_the_bounded_pool_and_connection(redis_url: str) -> None:
    pool = async_client(redis_url, 7).connection_pool
    assert isinstance(pool, BoundedPool) and pool.max_connections == 7
    assert pool.connection_class is AsyncPackedConnection


async def test_a_transaction_and_its_replies_come_back_in_order(aredis: AsyncRedis) -> None:
    async with aredis.pipeline() as pipe:
        pipe.multi()
        pipe.mset({"a": "1", "b": b"\x00\xff"})
        pipe.zadd("z", {"m": 1.5})
        pipe.incr("n")
        pipe.get("b")
        assert await pipe.execute() == [True, 1, 1, b"\x00\xff"]
    assert await aredis.zscore("z", "m") == 1.5


async def test_callers_beyond_the_pool_wait_their_turn(aredis: AsyncRedis) -> None:
    """Four blocking pops on a pool of two: two hold the connections, the others queue
    and run once a connection comes back; the pool never opens a third."""
    pops = [asyncio.create_task(_pop(aredis, f"q{i}", 5)) for i in range(4)]
    await asyncio.sleep(0.2)
    pool = aredis.connection_pool
    assert len(pool._in_use_connections) == 2
    for i in range(4):
        await _push(aredis, f"q{i}")
    assert sorted(await asyncio.gather(*pops)) == [(f"q{i}".encode(), b"x") for i in range(4)]
    assert len(pool._available_connections) + len(pool._in_use_connections) == 2


async def _pop(client: AsyncRedis, key: str, timeout: float) -> Any:
    return await client.blpop([key], timeout=timeout)


async def _push(aredis: AsyncRedis, key: str) -> None:
    """LPUSH through a client of its own (the tested pool's connections are all held)."""
    other = AsyncRedis(connection_pool=aredis.connection_pool.__class__(
        timeout=1, max_connections=1, **aredis.connection_pool.connection_kwargs))
    await other.lpush(key, "x")
    await other.connection_pool.disconnect()


async def test_a_caller_waiting_past_the_pool_timeout_gets_redis_error(redis_url: str) -> None:
    client = _client(redis_url, 1, timeout=0.3)
    holder = asyncio.create_task(_pop(client, "never", 2))
    await asyncio.sleep(0.1)
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await client.get("k")
    await holder
    assert await client.get("k") is None  # the slot came back with the connection
    await client.aclose()


async def test_failed_connects_give_their_slot_back(redis_url: str) -> None:
    """A pool of one against a closed port fails every command without using up its one
    slot; the third command fails on the connect again, not on the pool."""
    client = _client("redis://127.0.0.1:1/0", 1, timeout=0.2)
    for _ in range(3):
        with pytest.raises(RedisConnectionError, match=r"Error .*connecting"):
            await client.get("k")
    await client.aclose()


async def test_a_server_that_stops_answering_times_out(silent: str) -> None:
    client = _client(silent, 1, socket_timeout=0.3, health_check_interval=0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(RedisTimeoutError):
        await client.get("k")
    assert asyncio.get_running_loop().time() - started < 3
    await client.aclose()


async def test_pubsub_waits_past_the_socket_timeout(redis_url: str) -> None:
    """A pub/sub read bounds itself: an idle subscription outlives the socket timeout."""
    client = _client(redis_url, 2, socket_timeout=0.2, health_check_interval=0)
    async with client.pubsub() as pubsub:
        await pubsub.subscribe("chan")
        assert (await pubsub.get_message(timeout=1))["type"] == "subscribe"
        assert await pubsub.get_message(timeout=0.6) is None  # idle, past 0.2 s
        await client.publish("chan", "hello")
        message = await pubsub.get_message(timeout=1)
        assert message is not None and message["data"] == b"hello"
    await client.aclose()


async def test_a_second_release_frees_no_slot(redis_url: str) -> None:
    """Releasing one connection twice raises instead of widening the bound."""
    client = _client(redis_url, 1, timeout=0.2)
    pool = client.connection_pool
    connection = await pool.get_connection()
    await pool.release(connection)
    with pytest.raises(ValueError, match="not handed out"):
        await pool.release(connection)
    held = await pool.get_connection()
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await pool.get_connection()  # still a pool of one
    await pool.release(held)
    await client.aclose()
