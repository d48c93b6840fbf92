"""API tokens checked once a second per process, not once a request.

The API looks up the caller's token on every request; a busy integrator sends the same
token hundreds of times a second. `TokenCache` keeps each token's principal for `ttl`
seconds (1 s by default) from the lookup's start, and shares one lookup among the
requests that arrive while it runs. So a revoked token (or a changed scope) stops working
in every process within `ttl`, with no message to lose; a refused token is never kept.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis as AsyncRedis

from api.store import keys
from api.store.directory import Principal, checked_digest, principal_from_record

TOKEN_CACHE_TTL_S = 1.0
MAX_CACHED_TOKENS = 10_000


class TokenCache:
    def __init__(self, aredis: AsyncRedis, ttl: float = TOKEN_CACHE_TTL_S,
                 max_entries: int = MAX_CACHED_TOKENS) -> None:
        self._aredis = aredis
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, asyncio.Future[Principal]]] = {}

    async def authenticate(self, token: str | None) -> Principal:
        """The token's principal: 401 for a token that is not ours (or was revoked)."""
        digest = checked_digest(token)
        now = asyncio.get_running_loop().time()
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= now:
            entry = (now + self._ttl, asyncio.ensure_future(self._lookup(digest)))
            self._make_room(now)
            self._entries[digest] = entry
        lookup = entry[1]
        try:  # a done lookup (nearly every call) is read without a shield's new future
            return lookup.result() if lookup.done() else await asyncio.shield(lookup)
        except BaseException:
            if self._entries.get(digest) is entry and entry[1].done():
                del self._entries[digest]  # a refusal or a Redis error is never kept
            raise

    async def _lookup(self, digest: str) -> Principal:
        return principal_from_record(digest, await self._aredis.hgetall(keys.token(digest)))

    def _make_room(self, now: float) -> None:
        if len(self._entries) < self._max_entries:
            return
        for digest in [d for d, (until, _) in self._entries.items() if until <= now]:
            del self._entries[digest]
        while len(self._entries) >= self._max_entries:  # all fresh: drop the oldest
            del self._entries[next(iter(self._entries))]
