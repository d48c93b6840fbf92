"""api/store/slack_installs.py: installations per org behind Bolt's AsyncInstallationStore,
the OAuth state store, sealing, and the workspace binding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Installation

from api.crypto import new_key
from api.domain.errors import Conflict, Misconfigured
from api.runtime import Services, build_services
from api.settings import Settings
from api.store.slack_installs import ORG, Installed, OAuthStates


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data",
                    secret_key=SecretStr(new_key()))


def installed(org_id: str, team: str = "T1", enterprise: str | None = None,
              token: str = "xoxb-1") -> Installed:
    return Installed(org_id=org_id, team_id=team, team_name="Team", enterprise_id=enterprise,
                     installed_at=datetime.now(UTC), bot_token=token)


async def test_bolt_saves_finds_and_deletes(services: Services) -> None:
    store = services.slack_installs
    bolt = Installation(app_id="A1", team_id="T1", team_name="One", bot_token="xoxb-1",
                        bot_id="B1", bot_user_id="UB", bot_scopes="chat:write,users:read",
                        user_id="U1", custom_values={ORG: "org_a"})
    await store.async_save(bolt)
    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == "xoxb-1"
    assert found.custom_values[ORG] == "org_a" and found.bot_scopes == ["chat:write",
                                                                        "users:read"]
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_user_id == "UB"
    assert await store.async_find_bot(enterprise_id="E1", team_id="T1") is None  # not Grid
    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert store.of_org("org_a") is not None  # a user's token: nothing of inloop's
    await store.async_delete_installation(enterprise_id=None, team_id="T1")
    assert store.of_org("org_a") is None
    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None


async def test_a_save_without_the_installing_org_is_refused(services: Services) -> None:
    bolt = Installation(team_id="T1", bot_token="xoxb-1", user_id="U1")
    with pytest.raises(ValueError, match="org"):
        await services.slack_installs.async_save(bolt)


def test_one_workspace_serves_one_org(services: Services) -> None:
    store = services.slack_installs
    store.save(installed("org_a", enterprise="E1"))
    with pytest.raises(Conflict, match="another inloop organisation"):
        store.save(installed("org_b", enterprise="E1", token="xoxb-2"))
    store.save(installed("org_a", enterprise="E1", token="xoxb-3"))  # a reinstall
    found = store.of_workspace("E1", "T1")
    assert found is not None and found.org_id == "org_a" and found.bot_token == "xoxb-3"
    assert store.of_workspace(None, "T1") is None  # bound with its Grid org too
    assert store.of_workspace("E1", "not an id") is None


def test_removal_tells_pending_tasks_once_per_workspace(services: Services) -> None:
    store = services.slack_installs
    store.save(installed("org_a"))
    queue = services.jobs["slack"]
    assert store.remove("org_a", "gone", workspace="T2") is None  # another workspace
    assert store.remove("org_a", "gone") is not None
    assert store.remove("org_a", "gone") is None
    [job] = queue.get_jobs()
    assert job.args == ["org_a", "gone"]
    store.save(installed("org_b"))  # the team is free again


def test_tokens_are_sealed_and_need_the_key(services: Services, settings: Settings) -> None:
    services.slack_installs.save(installed("org_a"))
    [raw] = [services.redis.get(k) for k in services.redis.scan_iter("*slack-install*")]
    assert raw is not None and b"xoxb-" not in raw
    keyless = build_services(settings.model_copy(update={"secret_key": None}))
    try:
        with pytest.raises(Misconfigured, match="INLOOP_SECRET_KEY"):
            keyless.slack_installs.of_org("org_a")
    finally:
        keyless.redis.close()


async def test_state_is_single_use_and_names_its_org(services: Services) -> None:
    states = OAuthStates(services.redis, 600)
    state = await states.async_issue(org_id="org_a")
    assert await states.org_of(state) == "org_a"
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.org_of(state) is None
    assert await states.async_consume("../../etc") is False
    with pytest.raises(ValueError):
        await states.async_issue()

