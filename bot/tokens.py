"""Which bot token a Slack call uses: decided here only, for requests (bot.app's Bolt
`authorize`) and for jobs (workers.slack).

An org's own installation (OAuth, api.store.slack_installs) wins. Without one,
`SLACK_BOT_TOKEN` (single-workspace mode) serves every org; beside OAuth it answers
requests from its own workspace only (its team, learned once with `auth.test`): a request
from a team with neither gets no token, and the person a polite note (bot.app).
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError

from api.runtime import Services
from api.store.slack_installs import Installed
from bot.clients import async_web_client

log = logging.getLogger(__name__)


class SlackTokens:
    def __init__(self, services: Services) -> None:
        self.installs = services.slack_installs
        self.settings = services.settings
        self._single: AuthorizeResult | None = None  # SLACK_BOT_TOKEN's, once known

    def for_org(self, org_id: str) -> str | None:
        """The bot token of the org's workspace (jobs post and update with it)."""
        found = self.installs.of_org(org_id)
        return found.bot_token if found else self.settings.slack_bot_token

    async def for_team(self, enterprise_id: str | None,
                       team_id: str | None) -> AuthorizeResult | None:
        """Bolt's authorization of a request from this team, None when inloop has no
        token for it."""
        found = await asyncio.to_thread(self.installs.of_workspace, enterprise_id, team_id)
        if found is not None:
            return _authorized(found)
        single = await self._single_workspace()
        if single is None:
            return None
        # Alone, the bot token answers every team, as before OAuth (a Slack Connect
        # channel's guests click from their own teams); beside OAuth, its own team only.
        mine = team_id in (None, single.team_id)
        return single if mine or not self.settings.slack_oauth_enabled else None

    async def _single_workspace(self) -> AuthorizeResult | None:
        token = self.settings.slack_bot_token
        if not token or self._single is not None:
            return self._single
        try:
            found = await async_web_client(self.settings, token).auth_test()
        except SlackApiError as error:
            log.warning("SLACK_BOT_TOKEN is refused: %s", error.response.get("error"))
            return None
        self._single = AuthorizeResult.from_auth_test_response(
            auth_test_response=found, bot_token=token, user_token=None)
        return self._single


def _authorized(found: Installed) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=found.enterprise_id, team_id=found.team_id,
                           bot_token=found.bot_token, bot_id=found.bot_id,
                           bot_user_id=found.bot_user_id, bot_scopes=found.bot_scopes)
