"""The web UI's browser sessions in Redis: `web-session:{id}` records with a TTL, values
kept for a session's next page, and the secret CSRF tokens are signed with."""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.asyncio import Redis as AsyncRedis

from api.store import keys
from api.store.codec import text


class Sessions:
    """Session records by id (the cookies and what they mean stay in api.web.session)."""

    def __init__(self, redis: AsyncRedis) -> None:
        self.redis = redis

    async def create(self, data: dict[str, Any], ttl_s: int) -> str:
        """A new session holding `data` for `ttl_s` seconds; its random id."""
        session_id = secrets.token_urlsafe(32)
        await self.redis.set(keys.web_session(session_id), json.dumps(data), ex=ttl_s)
        return session_id

    async def load(self, session_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(keys.web_session(session_id))
        return json.loads(raw) if raw else None

    async def drop(self, session_id: str) -> None:
        await self.redis.delete(keys.web_session(session_id))

    async def stash(self, session_id: str, name: str, value: str, ttl_s: int) -> None:
        await self.redis.set(keys.web_session_stash(session_id, name), value, ex=ttl_s)

    async def unstash(self, session_id: str, name: str) -> str | None:
        """The stashed value, gone once read (None if none)."""
        value = await self.redis.getdel(keys.web_session_stash(session_id, name))
        return text(value) if value is not None else None

    async def csrf_secret(self) -> bytes:
        """The one CSRF secret of every instance: made by the first to ask."""
        new = secrets.token_hex(32)
        kept = await self.redis.set(keys.WEB_SECRET, new, nx=True, get=True)
        return bytes.fromhex(text(kept) if isinstance(kept, bytes | str) else new)
