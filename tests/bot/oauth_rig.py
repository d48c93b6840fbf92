"""OAuth-mode rig for the bot's tests: settings with the stub app's client id and secret
and a secret key (no SLACK_BOT_TOKEN unless a test adds it), workspaces connected to orgs,
dashboard sessions, and a scan of every Redis value."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from redis import Redis

from api.crypto import new_key
from api.runtime import Services
from api.settings import Settings
from api.store.sessions import Sessions
from api.store.slack_installs import Installed
from tests.conftest import Account
from tests.slack_stub import CLIENT_ID, CLIENT_SECRET, SlackStub, Workspace

ACME = Workspace("T0ACME", "Acme", "xoxb-acme-token")
GLOBEX = Workspace("T0GLOBEX", "Globex", "xoxb-globex-token")


def oauth_settings(slack_settings: Settings, **extra: Any) -> Settings:
    return slack_settings.model_copy(update={
        "slack_bot_token": None, "slack_client_id": CLIENT_ID,
        "slack_client_secret": SecretStr(CLIENT_SECRET), "secret_key": SecretStr(new_key()),
        **extra})


def connect(services: Services, stub: SlackStub, org_id: str, workspace: Workspace) -> None:
    """`org_id` has installed the app in `workspace` (as the OAuth flow leaves it)."""
    stub.tokens[workspace.token] = workspace.team_id
    services.slack_installs.save(Installed(
        org_id=org_id, team_id=workspace.team_id, team_name=workspace.name,
        enterprise_id=workspace.enterprise_id, bot_user_id="UBOT", bot_id="BBOT",
        bot_scopes=["chat:write"], installed_at=datetime.now(UTC), bot_token=workspace.token))


async def sign_in(client: TestClient, services: Services, account: Account) -> None:
    """A dashboard session for the account's member, as signing in leaves it."""
    redis = services.async_redis()
    try:
        session = await Sessions(redis).create(
            {"kind": "member", "member_id": account.member.id,
             "signed_in_at": int(time.time())}, 3600)
    finally:
        await redis.aclose()
    client.session.cookie_jar.update_cookies({"inloop_session": session})


def redis_values(redis: Redis) -> list[bytes]:
    """Every value in the database, whatever its type (and every key name)."""
    found: list[bytes] = []
    for key in redis.scan_iter(count=1000):
        found.append(key)
        kind = redis.type(key).decode()
        if kind == "string":
            found.append(redis.get(key) or b"")
        elif kind == "hash":
            found += [b for pair in redis.hgetall(key).items() for b in pair]
        elif kind == "list":
            found += redis.lrange(key, 0, -1)
        elif kind == "set":
            found += list(redis.smembers(key))
        elif kind == "zset":
            found += [m for m, _ in redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            found += [repr(e).encode() for e in redis.xrange(key)]
    return found
