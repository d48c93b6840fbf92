"""`inloop secrets rotate`: every sealed value re-sealed under the newest key, the rest of
each record kept, TTLs kept, and values no key opens counted, not lost."""

from __future__ import annotations

import json
import os

import pytest
from redis import Redis

from api.crypto import SecretBox, SecretKeyError, new_key
from api.store import keys
from api.store.sealed import rotate_all
from tests.test_cli import inloop


def _seal_with(redis: Redis, box: SecretBox) -> None:
    redis.set(keys.org_slack_install("o1"),
              json.dumps({"team_id": "T1", "bot_token": box.seal("xoxb-1")}))
    redis.hset(keys.member_totp("m1"), mapping={"seed": box.seal("SEED1"), "step": 7})
    redis.set(keys.member_totp_pending("m2"), box.seal("SEED2"), ex=600)


def test_every_sealed_value_moves_to_the_newest_key(redis: Redis) -> None:
    old, new = new_key(), new_key()
    _seal_with(redis, SecretBox(old))
    redis.hset(keys.member_totp("m3"), mapping={"seed": "not-sealed-by-any-key", "step": 1})
    done = rotate_all(redis, SecretBox(f"{new},{old}"))
    assert (done.installations, done.seeds, done.unreadable) == (1, 2, 1)
    only_new = SecretBox(new)
    installed = json.loads(redis.get(keys.org_slack_install("o1")) or b"")
    assert installed["team_id"] == "T1" and only_new.open(installed["bot_token"]) == "xoxb-1"
    assert only_new.open(redis.hget(keys.member_totp("m1"), "seed").decode()) == "SEED1"
    assert redis.hget(keys.member_totp("m1"), "step") == b"7"
    assert only_new.open(redis.get(keys.member_totp_pending("m2")).decode()) == "SEED2"
    assert 0 < redis.ttl(keys.member_totp_pending("m2")) <= 600
    assert redis.hget(keys.member_totp("m3"), "seed") == b"not-sealed-by-any-key"
    with pytest.raises(SecretKeyError):
        SecretBox(old).open(installed["bot_token"])


def test_the_command_rotates_and_needs_a_key(redis: Redis, redis_url: str) -> None:
    old, new = new_key(), new_key()
    _seal_with(redis, SecretBox(old))
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url}
    env.pop("INLOOP_SECRET_KEY", None)
    with pytest.raises(Exception, match="INLOOP_SECRET_KEY"):
        inloop("secrets", "rotate", env=env)
    said = inloop("secrets", "rotate", env={**env, "INLOOP_SECRET_KEY": f"{new},{old}"})
    assert said == "re-sealed 1 Slack installations and 2 authenticator seeds under the first key"
    assert SecretBox(new).open(redis.get(keys.member_totp_pending("m2")).decode()) == "SEED2"
