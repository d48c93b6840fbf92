"""Slack installations (each org installs inloop in its own workspace, bot.oauth) and the
OAuth state of installs in progress, both behind Bolt's store interfaces.

One workspace serves one org: `slack-workspace:{id}` binds a Slack team (or, for an
Enterprise Grid org-wide install, the Grid org) to the org that installed it, and another
org's install of it is refused (Conflict). An org has one installation: installing into
another workspace replaces it. Bot tokens are sealed with INLOOP_SECRET_KEY (api.crypto)
before they reach Redis. Removing an installation (uninstall, revoked tokens, Disconnect)
enqueues `slack.disconnected` in the same MULTI: the org's pending Slack tasks record why
they will get no more Slack updates.

Bolt calls the async methods; they run the synchronous Redis calls in a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets as random
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from redis import Redis
from redis.client import Pipeline
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import (
    AsyncInstallationStore,
)
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from api.crypto import SecretBox
from api.domain.errors import Conflict, Misconfigured
from api.store import keys
from api.store.codec import text
from api.store.jobs import Jobs
from api.store.tasks import atomic

log = logging.getLogger(__name__)
ORG = "inloop_org"  # the installing org, in an Installation's custom values
TAKEN = ("This Slack workspace is already connected to another inloop organisation. "
         "An admin of that organisation can disconnect it under Settings → Slack.")
_SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")  # team (T…) and Grid org (E…) ids
_STATE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


class Installed(BaseModel):
    """An org's installation as inloop keeps it (the token in clear only in memory)."""

    org_id: str
    team_id: str | None = None
    team_name: str | None = None
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    is_enterprise_install: bool = False
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: list[str] = []
    installer_user_id: str | None = None
    installed_at: datetime
    bot_token: str

    @property
    def workspace(self) -> str:
        """What the install binds: the team, or the Grid org for an org-wide install."""
        found = self.enterprise_id if self.is_enterprise_install else self.team_id
        return found or ""

    @classmethod
    def of(cls, org_id: str, installation: Installation) -> Installed:
        if not installation.bot_token:
            raise ValueError("an installation without a bot token")
        return cls(org_id=org_id, team_id=installation.team_id,
                   team_name=installation.team_name,
                   enterprise_id=installation.enterprise_id,
                   enterprise_name=installation.enterprise_name,
                   is_enterprise_install=bool(installation.is_enterprise_install),
                   app_id=installation.app_id, bot_id=installation.bot_id,
                   bot_user_id=installation.bot_user_id,
                   bot_scopes=list(installation.bot_scopes or []),
                   installer_user_id=installation.user_id, installed_at=datetime.now(UTC),
                   bot_token=installation.bot_token)

    def bolt_fields(self) -> dict[str, Any]:
        """What Bolt's Installation and Bot share."""
        return {"app_id": self.app_id, "enterprise_id": self.enterprise_id,
                "enterprise_name": self.enterprise_name, "team_id": self.team_id,
                "team_name": self.team_name, "bot_token": self.bot_token,
                "bot_id": self.bot_id, "bot_user_id": self.bot_user_id,
                "bot_scopes": self.bot_scopes, "installed_at": self.installed_at.timestamp(),
                "is_enterprise_install": self.is_enterprise_install,
                "custom_values": {ORG: self.org_id}}


class SlackInstallations(AsyncInstallationStore):
    def __init__(self, redis: Redis, secrets: SecretBox | None, jobs: Jobs) -> None:
        self.redis, self.secrets, self.jobs = redis, secrets, jobs

    @property
    def logger(self) -> logging.Logger:
        return log

    # -- reads ------------------------------------------------------------------------

    def of_org(self, org_id: str) -> Installed | None:
        return self._read(self.redis, org_id)

    def of_workspace(self, enterprise_id: str | None, team_id: str | None) -> Installed | None:
        """The installation serving a request from this team (and Grid org)."""
        for workspace in (team_id, enterprise_id):
            org_id = self._owner(workspace)
            found = self.of_org(org_id) if org_id else None
            if found and found.workspace == workspace and found.enterprise_id == enterprise_id:
                return found
        return None

    def _owner(self, workspace: object) -> str | None:
        if not isinstance(workspace, str) or not _SLACK_ID.match(workspace):  # any body
            return None
        owner = self.redis.get(keys.slack_workspace(workspace))
        return text(owner) if owner else None

    def _read(self, redis: Redis | Pipeline, org_id: str) -> Installed | None:
        raw = redis.get(keys.org_slack_install(org_id))
        if raw is None:
            return None
        data = json.loads(raw)
        data["bot_token"] = self._box().open(data["bot_token"])
        return Installed.model_validate(data)

    def _box(self) -> SecretBox:
        if self.secrets is None:
            raise Misconfigured("Slack installations need INLOOP_SECRET_KEY to seal and "
                                "open their bot tokens")
        return self.secrets

    # -- writes -----------------------------------------------------------------------

    def save(self, installed: Installed) -> None:
        """Bind the workspace to the org and keep its installation; Conflict when the
        workspace is another org's. A new workspace replaces the org's old one."""
        if not _SLACK_ID.match(installed.workspace):
            raise ValueError(f"not a Slack team or Grid org id: {installed.workspace!r}")
        bind, own = keys.slack_workspace(installed.workspace), \
            keys.org_slack_install(installed.org_id)
        sealed = installed.model_dump(mode="json")
        sealed["bot_token"] = self._box().seal(installed.bot_token)

        def write(pipe: Pipeline) -> None:
            owner = pipe.get(bind)
            if owner is not None and text(owner) != installed.org_id:
                raise Conflict(TAKEN)
            previous = self._read(pipe, installed.org_id)
            pipe.multi()
            if previous is not None and previous.workspace != installed.workspace:
                self._unbind(pipe, previous, "inloop was connected to another Slack workspace")
            pipe.set(bind, installed.org_id)
            pipe.set(own, json.dumps(sealed))
            pipe.execute()

        atomic(self.redis, write, bind, own)

    def remove(self, org_id: str, reason: str, workspace: str | None = None
               ) -> Installed | None:
        """Forget the org's installation (only if it serves `workspace`, when given)."""
        own = keys.org_slack_install(org_id)

        def write(pipe: Pipeline) -> Installed | None:
            previous = self._read(pipe, org_id)
            if previous is None or workspace not in (None, previous.workspace):
                return None
            pipe.multi()
            pipe.delete(own)
            self._unbind(pipe, previous, reason)
            pipe.execute()
            return previous

        return atomic(self.redis, write, own)

    def remove_workspace(self, enterprise_id: str | None, team_id: str | None,
                         reason: str) -> Installed | None:
        found = self.of_workspace(enterprise_id, team_id)
        return self.remove(found.org_id, reason, found.workspace) if found else None

    def _unbind(self, pipe: Pipeline, previous: Installed, reason: str) -> None:
        """In a MULTI: free the workspace, and have the org's pending tasks told why."""
        pipe.delete(keys.slack_workspace(previous.workspace))
        self.jobs.enqueue(pipe, "slack.disconnected", previous.org_id, reason)

    # -- Bolt's AsyncInstallationStore --------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        """Saves an installation whose custom value `inloop_org` names the installing org
        (bot.oauth sets it from the OAuth state)."""
        org_id = str(installation.custom_values.get(ORG) or "")
        if not org_id:
            raise ValueError("an installation without the org that installed it")
        await asyncio.to_thread(self.save, Installed.of(org_id, installation))

    async def async_find_installation(self, *, enterprise_id: str | None,
                                      team_id: str | None, user_id: str | None = None,
                                      is_enterprise_install: bool | None = False
                                      ) -> Installation | None:
        found = await self._find(enterprise_id, team_id, is_enterprise_install)
        return Installation(user_id=found.installer_user_id or "",
                            **found.bolt_fields()) if found else None

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        found = await self._find(enterprise_id, team_id, is_enterprise_install)
        return Bot(**found.bolt_fields()) if found else None

    async def _find(self, enterprise_id: str | None, team_id: str | None,
                    is_enterprise_install: bool | None) -> Installed | None:
        team = None if is_enterprise_install else team_id
        return await asyncio.to_thread(self.of_workspace, enterprise_id, team)

    async def async_delete_bot(self, *, enterprise_id: str | None,
                               team_id: str | None) -> None:
        await asyncio.to_thread(self.remove_workspace, enterprise_id, team_id,
                                "the Slack app's bot token was revoked")

    async def async_delete_installation(self, *, enterprise_id: str | None,
                                        team_id: str | None,
                                        user_id: str | None = None) -> None:
        if user_id is None:  # a user's own token is not inloop's: it keeps none
            await asyncio.to_thread(self.remove_workspace, enterprise_id, team_id,
                                    "the Slack app was uninstalled")


class OAuthStates(AsyncOAuthStateStore):
    """OAuth `state` values, each bound to the org whose admin started the install;
    single use (GETDEL) and expiring."""

    def __init__(self, redis: Redis, expiration_seconds: int) -> None:
        self.redis, self.expiration_seconds = redis, expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, org_id: str = "", **kwargs: Any) -> str:
        if not org_id:
            raise ValueError("an install is started by an org's admin")
        state = random.token_urlsafe(32)
        await asyncio.to_thread(self.redis.set, keys.slack_oauth_state(state), org_id,
                                ex=self.expiration_seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        if not _STATE.match(state or ""):
            return False
        found = await asyncio.to_thread(self.redis.getdel, keys.slack_oauth_state(state))
        return found is not None

    async def org_of(self, state: str) -> str | None:
        """The org an unconsumed state was issued for."""
        if not _STATE.match(state or ""):
            return None
        found = await asyncio.to_thread(self.redis.get, keys.slack_oauth_state(state))
        return text(found) if found else None
