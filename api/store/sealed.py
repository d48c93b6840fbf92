"""Every value sealed with INLOOP_SECRET_KEY, and their rotation to the newest key.

Sealed at rest: each org's Slack bot token (api.store.slack_installs: the `bot_token` of
the installation's JSON), each member's authenticator seed (api.store.authenticators: the
`seed` of the enrollment hash) and a seed awaiting confirmation (a string with a TTL).
`inloop secrets rotate` re-seals them all under the first key of INLOOP_SECRET_KEY, after
which the older keys can be dropped. Each value is rewritten under WATCH, so a concurrent
reinstall or enrollment is never overwritten with a stale copy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from api.crypto import SecretBox, SecretKeyError
from api.store import keys
from api.store.codec import text
from api.store.tasks import atomic

log = logging.getLogger(__name__)


@dataclass
class Rotated:
    """How many sealed values were re-sealed, and how many no key opened."""

    installations: int = 0
    seeds: int = 0
    unreadable: int = 0


def rotate_all(redis: Redis, box: SecretBox) -> Rotated:
    counts = Rotated()
    for key in redis.scan_iter(match=keys.org_slack_install("*"), count=500):
        counts.installations += _rotate(redis, key, _installation(box), counts)
    for key in redis.scan_iter(match=keys.member_totp("*"), count=500):
        counts.seeds += _rotate(redis, key, _enrollment(box), counts)
    for key in redis.scan_iter(match=keys.member_totp_pending("*"), count=500):
        counts.seeds += _rotate(redis, key, _pending(box), counts)
    return counts


Rewrite = Callable[[Pipeline, bytes], bool]  # rewrites one key in the pipe's MULTI


def _rotate(redis: Redis, key: bytes, rewrite: Rewrite, counts: Rotated) -> int:
    """1 once `key` is re-sealed, 0 when it went meanwhile or no key opens it."""
    try:
        return int(atomic(redis, lambda pipe: _write(rewrite, pipe, key), text(key)))
    except SecretKeyError:
        log.warning("%s is sealed under a key INLOOP_SECRET_KEY no longer holds", text(key))
        counts.unreadable += 1
        return 0


def _write(rewrite: Rewrite, pipe: Pipeline, key: bytes) -> bool:
    written = rewrite(pipe, key)
    if written:
        pipe.execute()
    return written


def _installation(box: SecretBox) -> Rewrite:
    def rewrite(pipe: Pipeline, key: bytes) -> bool:
        raw = pipe.get(key)
        if raw is None:
            return False
        data = json.loads(raw)
        data["bot_token"] = box.rotate(data["bot_token"])
        pipe.multi()
        pipe.set(key, json.dumps(data), keepttl=True)
        return True

    return rewrite


def _enrollment(box: SecretBox) -> Rewrite:
    def rewrite(pipe: Pipeline, key: bytes) -> bool:
        sealed = pipe.hget(key, "seed")
        if sealed is None:
            return False
        rotated = box.rotate(text(sealed))
        pipe.multi()
        pipe.hset(key, "seed", rotated)
        return True

    return rewrite


def _pending(box: SecretBox) -> Rewrite:
    def rewrite(pipe: Pipeline, key: bytes) -> bool:
        sealed = pipe.get(key)
        if sealed is None:
            return False
        rotated = box.rotate(text(sealed))
        pipe.multi()
        pipe.set(key, rotated, keepttl=True)
        return True

    return rewrite
