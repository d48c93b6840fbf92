"""One-time dashboard sign-in links (`inloop dev` prints one for its admin): a random
token whose SHA-256 names a Redis key holding the member id, with a TTL. Spending it is
one GETDEL, so a link signs in once, even when opened twice at the same moment."""

from __future__ import annotations

import hashlib
import secrets

from redis import Redis

from api.store import keys
from api.store.codec import text

TTL_S = 15 * 60


def _key(token: str) -> str:
    return keys.sign_in_link(hashlib.sha256(token.encode()).hexdigest())


class SignInLinks:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def create(self, member_id: str, ttl_s: int = TTL_S) -> str:
        """A new link token for `member_id`, valid once for `ttl_s` seconds."""
        token = secrets.token_urlsafe(32)
        self.redis.set(_key(token), member_id, ex=ttl_s)
        return token

    def spend(self, token: str) -> str | None:
        """The member the link signs in, or None if it is unknown, spent or expired."""
        member_id = self.redis.getdel(_key(token))
        return text(member_id) if member_id is not None else None
