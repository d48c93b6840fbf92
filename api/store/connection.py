"""Redis clients from INLOOP_REDIS_URL: one server, or the primary that Sentinel names.

`redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db]
[?sentinel_username=…&sentinel_password=…]`: the user and password are the data nodes'
(primary and replicas), the query's are the sentinels' own (both optional). Any other URL
goes to redis-py's `from_url` (`redis://`, `rediss://`, `unix://`).

Through Sentinel every new connection asks the sentinels for the current primary, and a
connection to a demoted primary (READONLY) is dropped, so every client here, RQ's workers
and scheduler included, follows a failover on its next command.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote

from redis import BlockingConnectionPool, Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.client import Pipeline
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from api.domain.errors import Misconfigured, Unavailable
from api.store import keys
from api.store.aioconn import (
    AsyncFailoverConnection,
    AsyncPackedConnection,
    BoundedPool,
    BoundedSentinelPool,
)
from api.store.wire import LeanWire, refuse_a_replica

log = logging.getLogger(__name__)
SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
OPTIONS: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 10,
                           "health_check_interval": 15}
POOL_TIMEOUT_S = 20  # callers beyond the pool size wait this long for a connection
# A failover takes a few seconds (down-after + election): commands retry through it
# (about 8 s of backoff) instead of failing on the first refused connection.
FAILOVER_RETRIES = 12
# Keys written under a TTL (sessions, code limits, RQ heartbeats) matter too: only a server
# that never evicts is safe.
SAFE_POLICY = "noeviction"


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    node: dict[str, str] = field(default_factory=dict)  # the data nodes' username/password
    sentinel: dict[str, str] = field(default_factory=dict)  # the sentinels' own


def parse_sentinel_url(url: str) -> SentinelUrl | None:
    """The parts of a `redis+sentinel://` URL; None for any other URL."""
    if not url.startswith(SENTINEL_SCHEME):
        return None
    rest, _, query = url[len(SENTINEL_SCHEME):].partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    names = [unquote(p) for p in path.split("/") if p]
    if not hosts or not 1 <= len(names) <= 2 or (len(names) == 2 and not names[1].isdigit()):
        raise Misconfigured("INLOOP_REDIS_URL: expected redis+sentinel://[[user]:password@]"
                            "host:port[,host:port…]/service[/db]")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    sentinel = _credentials(options.get("sentinel_username"), options.get("sentinel_password"))
    return SentinelUrl([_address(h) for h in hosts.split(",")], names[0],
                       int(names[1]) if len(names) == 2 else 0, _userinfo(userinfo), sentinel)


def _address(host: str) -> tuple[str, int]:
    if host.startswith("["):  # [IPv6]:port
        name, _, port = host[1:].partition("]")
        port = port.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    port = port or str(SENTINEL_PORT)
    if not name or not port.isdigit():
        raise Misconfigured(f"INLOOP_REDIS_URL: bad sentinel address {host!r}")
    return name, int(port)


def _userinfo(userinfo: str) -> dict[str, str]:
    user, colon, password = userinfo.partition(":")
    if not colon:  # "secret@host": a password alone, as redis:// URLs read it too
        user, password = "", user
    return _credentials(unquote(user) or None, unquote(password) or None)


def _credentials(username: str | None, password: str | None) -> dict[str, str]:
    found = {"username": username, "password": password}
    return {k: v for k, v in found.items() if v}


def sync_client(url: str, pool_size: int, min_replicas: int | None = 0,
                replica_timeout_ms: int = 2000) -> ReplicatedRedis:
    """The process's blocking client (API store, RQ, workers), its pool bounded to
    `pool_size`: callers beyond it wait for a connection instead of failing.

    `min_replicas`: see `confirm_replicated`; None is 1 through Sentinel, 0 otherwise."""
    parsed = parse_sentinel_url(url)
    if parsed is None:
        pool = BlockingConnectionPool.from_url(url, timeout=POOL_TIMEOUT_S,
                                               max_connections=pool_size,
                                               connection_class=PackedConnection, **OPTIONS)
        client = cast(ReplicatedRedis, ReplicatedRedis.from_pool(pool))  # owned: `close`
        # disconnects its connections (Redis(connection_pool=...) leaves them open)
    else:
        manager = Sentinel(parsed.sentinels, sentinel_kwargs=_sentinel_options(parsed),
                           **_node_options(parsed))
        client = manager.master_for(parsed.service, redis_class=ReplicatedRedis,
                                    connection_pool_class=BlockingSentinelPool,
                                    connection_class=FailoverConnection,
                                    max_connections=pool_size, timeout=POOL_TIMEOUT_S)
    if min_replicas is None:
        min_replicas = 0 if parsed is None else 1
    client.min_replicas, client.replica_timeout_ms = min_replicas, replica_timeout_ms
    return client


def async_client(url: str, pool_size: int) -> AsyncRedis:
    """A new asyncio client (one per event loop), bounded like the blocking one: thousands
    of waiters queue for a connection instead of running Valkey out of clients."""
    parsed = parse_sentinel_url(url)
    if parsed is None:
        pool = BoundedPool.from_url(url, timeout=POOL_TIMEOUT_S, max_connections=pool_size,
                                    connection_class=AsyncPackedConnection, **OPTIONS)
        return AsyncRedis.from_pool(pool)  # owned: `aclose` disconnects its connections
    manager = AsyncSentinel(parsed.sentinels, sentinel_kwargs=_sentinel_options(parsed),
                            **_node_options(parsed, AsyncRetry))
    client: AsyncRedis = manager.master_for(
        parsed.service, redis_class=AsyncRedis, connection_pool_class=BoundedSentinelPool,
        connection_class=AsyncFailoverConnection, max_connections=pool_size,
        timeout=POOL_TIMEOUT_S)
    return client


def _node_options(parsed: SentinelUrl,
                  retry_class: type[Retry] | type[AsyncRetry] = Retry) -> dict[str, Any]:
    """The data nodes' options. The asyncio client needs redis.asyncio's Retry: given the
    blocking one, its `call_with_retry` returns the coroutine unawaited, so nothing is
    ever retried (through a failover, every command failed on the first refusal)."""
    retry = retry_class(ExponentialWithJitterBackoff(base=0.1, cap=1), FAILOVER_RETRIES)
    return {**OPTIONS, **parsed.node, "db": parsed.db, "retry": retry}


def _sentinel_options(parsed: SentinelUrl) -> dict[str, Any]:
    return {"socket_connect_timeout": 1, "socket_timeout": 1, **parsed.sentinel}


class BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool with the blocking pool's bound (redis-py ships it unbounded)."""


class PackedConnection(LeanWire, Connection):
    """The blocking client's connection (redis:// URLs); see api/store/wire.py."""


class FailoverConnection(LeanWire, SentinelManagedConnection):
    """Reconnects through Sentinel inside a command too, and only to a primary.

    redis-py's own reconnects there (send_packed_command -> connect_check_health) to the
    address it had: through a failover every retry went to the dead primary, then to it
    restarted as a replica (READONLY), until the retries ran out and RQ's worker quit. And
    a sentinel may still name the old primary back as a replica: see `refuse_a_replica`."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._sock:
            self.connect()  # Sentinel's: asks for the current primary
        super().send_packed_command(command, check_health)

    def on_connect_check_health(self, check_health: bool = True) -> None:
        """After the handshake (AUTH, HELLO, SELECT) and before the connect callbacks
        (a pub/sub's re-subscribe, whose confirmation must not be read here): a primary's
        pool refuses a replica. Any error disconnects (redis-py's connect does so for a
        RedisError here), so no unread reply is left for the next command."""
        super().on_connect_check_health(check_health)
        if self.connection_pool.is_master:
            self.send_command("ROLE")
            try:
                role = self.read_response()
            except ResponseError:  # ROLE refused to this user (ACL): nothing to check
                return
            refuse_a_replica(role, self.host, self.port)


class ReplicatedRedis(Redis):
    """A blocking client that knows how many replicas must hold a transition before it
    is acknowledged (see `confirm_replicated`)."""

    min_replicas = 0
    replica_timeout_ms = 2000


def confirm_replicated(redis: Redis, key: str, written: str) -> None:
    """Return once `min_replicas` replicas hold the value just `written` at `key` by a
    MULTI, else raise Unavailable: the change is not acknowledged (it may still be kept).

    WAIT counts the writes of its own connection, and a MULTI's connection goes back to the
    pool at EXEC: so one pipeline reads `key`, writes a marker and WAITs. Replication is one
    ordered stream, so replicas that hold the marker hold the value read before it; and
    reading it on the same server proves that server (the primary, even after a failover
    and a retried command) has it."""
    replicated = _replicated(redis)
    if replicated is None:
        return
    with redis.pipeline(transaction=False) as pipe:
        _check(pipe, key, replicated)
        _verify(pipe.execute(), written, replicated.min_replicas)


async def aconfirm_replicated(aredis: AsyncRedis, redis: Redis, key: str,
                              written: str) -> None:
    """`confirm_replicated` on the asyncio client; the replica count is the blocking
    client's `redis` (the process's one setting)."""
    replicated = _replicated(redis)
    if replicated is None:
        return
    async with aredis.pipeline(transaction=False) as pipe:
        _check(pipe, key, replicated)
        _verify(await pipe.execute(), written, replicated.min_replicas)


def _replicated(redis: Redis) -> ReplicatedRedis | None:
    """`redis` when transitions must reach replicas, else None."""
    if isinstance(redis, ReplicatedRedis) and redis.min_replicas > 0:
        return redis
    return None


def _check(pipe: Pipeline | AsyncPipeline, key: str, redis: ReplicatedRedis) -> None:
    pipe.get(key)
    pipe.incr(keys.REPLICATION_MARKER)
    pipe.wait(redis.min_replicas, redis.replica_timeout_ms)


def _verify(replies: list[Any], written: str, replicas: int) -> None:
    stored, _, acked = replies
    kept = stored == written.encode() or stored == written
    if not kept or int(acked) < replicas:
        raise Unavailable(f"the change was not confirmed by {replicas} Redis "
                          "replica(s) in time (it may still be kept); read the task to see it")


def refuse_eviction(redis: Redis) -> None:
    """Refuse a server that may evict keys (tasks, RQ jobs, sessions would silently go).

    Read from INFO, which managed services allow where CONFIG GET is often disabled. A
    server unreachable at start is only logged: the process answers 503 until it is up."""
    try:
        info = redis.info("memory")
    except (RedisConnectionError, RedisTimeoutError) as error:
        log.warning("could not check Redis's maxmemory-policy (%s)", error)
        return
    policy = info.get("maxmemory_policy", SAFE_POLICY)
    if policy != SAFE_POLICY:
        raise Misconfigured(f"Redis's maxmemory-policy is {policy}: it may evict tasks and RQ "
                            f"jobs silently; set maxmemory-policy {SAFE_POLICY}")
