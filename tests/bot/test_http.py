"""`POST /slack/events` mounting (bot/http.py): URL verification, no-Slack mode, 429s."""

from __future__ import annotations

import json
import logging

import pytest

import bot.http
from api.cli import http_extras
from api.runtime import Services
from api.server import create_app
from renderers.slack_ids import ACTION_OPEN
from tests.bot.conftest import Slack
from tests.fixtures import example
from tests.slack import ASSIGNEE, Poster
from tests.slack_stub import SlackStub


async def test_url_verification_challenge(slack: Slack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "legacy"})
    response = await slack.post(body, "application/json")
    assert response.status == 200 and (await response.json()) == {"challenge": "c-123"}


def test_without_slack_settings_the_route_is_absent(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"slack_bot_token": None})
    app = create_app(services, extras=[bot.http.register])
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert "/slack/events" not in paths
    # a bot token alone delivers (Socket Mode) but cannot check signed HTTP requests
    services.settings = services.settings.model_copy(
        update={"slack_bot_token": "xoxb-x", "slack_signing_secret": None})
    app = create_app(services, extras=[bot.http.register])
    assert "/slack/events" not in {r.resource.canonical for r in app.router.routes()
                                   if r.resource is not None}
    services.settings = services.settings.model_copy(update={"slack_signing_secret": "s"})
    app = create_app(services, extras=[bot.http.register])
    assert "/slack/events" in {r.resource.canonical for r in app.router.routes()
                               if r.resource is not None}


def test_serve_does_not_call_a_socket_mode_setup_unconfigured(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    services.settings = services.settings.model_copy(update={"slack_signing_secret": None})
    caplog.set_level(logging.INFO, logger="inloop")
    assert http_extras(services) == []
    (message,) = [r.getMessage() for r in caplog.records if r.name == "inloop"]
    assert "not configured" not in message and "without the Slack bot" not in message
    assert "Slack HTTP mode is off" in message and "inloop bot" in message


async def test_rate_limited_views_open_waits_and_retries(post_task: Poster, slack: Slack,
                                                         slack_stub: SlackStub) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    slack_stub.rate_limit("views.open", 1)
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel="D" + ASSIGNEE[0])
    first, second = await slack_stub.wait_for("views.open", 2)
    assert second.at - first.at >= 1.0
