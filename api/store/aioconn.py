"""The asyncio client's connections and pool: redis-py's, with its per-command costs cut
(and those both clients share: api/store/wire.py).

Measured on a create (one MULTI of about ten commands), redis-py's asyncio client spent
a fifth of the request's CPU on bookkeeping around the bytes:
- `socket_timeout` sends each command through `asyncio.wait_for` (a new task per send)
  and reads each reply inside its own `asyncio.timeout` (a timer per reply: a dozen for
  one MULTI, whose replies arrive in one read);
- `BlockingConnectionPool` takes an `asyncio.Condition` and starts a timer on every
  checkout, even when a connection is free.

Here the same bounds hold where something waits: a read waits at most the socket timeout
for the server's next bytes (`BoundedWaitParser`), and a caller beyond the pool's size
waits at most the pool timeout for a connection (`BoundedPool`). A write goes to the
transport's buffer and never waits on the server until that buffer is full (64 KiB).
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis._parsers import _AsyncHiredisParser
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.connection import Connection as AsyncConnection
from redis.asyncio.connection import ConnectionPool as AsyncConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.asyncio.sentinel import SentinelManagedConnection as AsyncSentinelConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.store.wire import LeanWire, refuse_a_replica


class BoundedWaitParser(_AsyncHiredisParser):
    """hiredis's asyncio parser, bounding each wait for the server's bytes: a reply
    already read (the rest of a pipeline's) is taken without a timer."""

    wait_timeout: float | None = None  # set by `BoundedWaits` for each read

    async def read_from_socket(self) -> bool:
        if self.wait_timeout is None:
            return bool(await super().read_from_socket())
        try:
            async with asyncio.timeout(self.wait_timeout):
                return bool(await super().read_from_socket())
        except TimeoutError:  # redis-py's own error for a socket timeout; the connection
            # drops itself (read_response disconnects on any error)
            raise RedisTimeoutError("Timeout reading from Redis") from None


class BoundedWaits:
    """A connection whose `socket_timeout` bounds each wait for the server's bytes (see
    `BoundedWaitParser`) instead of each send and each reply. A caller's own timeout (a
    pub/sub read's) keeps redis-py's handling."""

    socket_timeout: float | None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "parser_class": BoundedWaitParser})
        self.wait_timeout, self.socket_timeout = self.socket_timeout, None

    async def read_response(self, disable_decoding: bool = False,
                            timeout: float | None = None, **kwargs: Any) -> Any:
        parser: BoundedWaitParser = self._parser  # type: ignore[attr-defined]
        parser.wait_timeout = self.wait_timeout if timeout is None else None
        return await super().read_response(  # type: ignore[misc]
            disable_decoding=disable_decoding, timeout=timeout, **kwargs)


class AsyncPackedConnection(BoundedWaits, LeanWire, AsyncConnection):
    """The asyncio client's connection (redis:// URLs)."""


class AsyncFailoverConnection(BoundedWaits, LeanWire, AsyncSentinelConnection):
    """The asyncio twin of `connection.FailoverConnection`."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self.is_connected:
            await self.connect()
        await super().send_packed_command(command, check_health)

    async def on_connect_check_health(self, check_health: bool = True) -> None:
        """See `connection.FailoverConnection.on_connect_check_health`."""
        await super().on_connect_check_health(check_health)
        if self.connection_pool.is_master:
            await self.send_command("ROLE")
            try:
                role = await self.read_response()
            except ResponseError:  # ROLE refused to this user (ACL): nothing to check
                return
            refuse_a_replica(role, self.host, self.port)


class BoundedPool(AsyncConnectionPool):
    """At most `max_connections` connections; callers beyond them wait their turn, at most
    `timeout` seconds, then get redis-py's "No connection available." A free connection
    is handed out with no lock and no timer."""

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self._slots = asyncio.Semaphore(self.max_connections)

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        await self._take_slot()
        try:
            connection = self.get_available_connection()
        except BaseException:
            self._slots.release()
            raise
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)  # its slot with it
            raise
        return connection

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # returns at once: no timer
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError as error:
            raise RedisConnectionError("No connection available.") from error

    async def release(self, connection: AbstractConnection) -> None:
        """The connection back, and its slot: once, for a connection handed out (a second
        release of the same connection raises and frees no slot)."""
        if connection not in self._in_use_connections:
            raise ValueError("release of a connection the pool has not handed out")
        try:
            await super().release(connection)
        finally:
            self._slots.release()


class BoundedSentinelPool(AsyncSentinelPool, BoundedPool):
    """Sentinel's asyncio pool with `BoundedPool`'s bound (redis-py ships it unbounded)."""
