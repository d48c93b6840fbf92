"""What both Redis clients' connections put on the wire (api/store/wire.py): commands
packed as redis-py packs them, and no HIMPORT scan of their pipelines."""

from __future__ import annotations

from typing import Any

import pytest
from redis.connection import HiredisRespSerializer

from api.store.connection import async_client, sync_client
from api.store.wire import _packed


@pytest.mark.parametrize("args", [("SET", "k", "v"), ("ZADD", "z", 1.5, b"m"),
                                  ("SET", "k", 7), ("CLIENT SETNAME", "x"),
                                  ("SET", "k", memoryview(b"v")), ("SET", "k", bytearray(b"v")),
                                  ("HSET", "h", "é", "\x00")])
def test_commands_pack_as_redis_py_packs_them(args: tuple[Any, ...]) -> None:
    assert _packed(args) == HiredisRespSerializer().pack(*args)[0]


def test_a_pipeline_of_both_clients_skips_the_himport_scan(redis_url: str) -> None:
    """redis-py scans a pipeline for HIMPORT SETs only on a connection with a registry."""
    client = sync_client(redis_url, 2)
    with client.pipeline() as pipe:
        pipe.hset("wire:h", mapping={"a": 1})
        pipe.expire("wire:h", 60)
        pipe.hgetall("wire:h")
        assert pipe.execute() == [1, True, {b"a": b"1"}]
    connection = client.connection_pool.get_connection()
    assert connection.himport_registry is None
    client.connection_pool.release(connection)
    client.close()


async def test_the_asyncio_client_skips_it_too(redis_url: str) -> None:
    client = async_client(redis_url, 2)
    async with client.pipeline() as pipe:
        pipe.hset("wire:a", mapping={"a": 1})
        pipe.hgetall("wire:a")
        assert await pipe.execute() == [1, {b"a": b"1"}]
    connection = await client.connection_pool.get_connection()
    assert connection.himport_registry is None
    await client.connection_pool.release(connection)
    await client.aclose()
