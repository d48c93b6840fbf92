"""The bot's test rig (on tests/slack.py's stub): the app with the bot mounted, and a `slack`
helper that sends correctly signed requests the way Slack does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from slack_sdk.signature import SignatureVerifier

import bot.http
from api.runtime import Services
from api.server import create_app
from api.settings import Settings
from renderers.slack_ids import CALLBACK_STEP
from tests.slack import SECRET
from tests.slack_stub import TEAM, SlackStub


@pytest.fixture
def settings(slack_settings: Settings) -> Settings:
    return slack_settings


@pytest.fixture
def app(services: Services) -> web.Application:
    return create_app(services, extras=[bot.http.register])


def signed_headers(body: str, content_type: str, secret: str = SECRET,
                   timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature or "",
            "Content-Type": content_type}


def fill(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack sends it after a person typed `answers` into `view`."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] == "input":
            name = block["block_id"][2:]
            values[block["block_id"]] = {"value": _state(block["element"], answers.get(name))}
    return values


def _state(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "radio_buttons"):
        chosen = [o for o in element["options"]
                  if answer is not None and (o["text"]["text"] == str(answer)
                                             or o["value"] == str(answer))]
        return {"type": kind, "selected_option": chosen[0] if chosen else None}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": element["options"] if answer else []}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": answer}
    if kind == "number_input":
        return {"type": kind, "value": None if answer is None else str(answer)}
    return {"type": kind, "value": answer}


class Slack:
    """Plays Slack: posts signed interactivity and event requests to `/slack/events`."""

    def __init__(self, client: TestClient, stub: SlackStub) -> None:
        self.client, self.stub = client, stub

    async def post(self, body: str, content_type: str, **signing: Any) -> Any:
        headers = signed_headers(body, content_type, **signing)
        return await self.client.post("/slack/events", data=body.encode(), headers=headers)

    async def interact(self, payload: dict[str, Any], **signing: Any) -> Any:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **signing)

    async def click(self, user: tuple[str, str, str], action_id: str, value: str,
                    channel: str | None = None) -> Any:
        response = await self.interact(self.click_payload(user, action_id, value, channel))
        assert response.status == 200, await response.text()
        return response

    def click_payload(self, user: tuple[str, str, str], action_id: str, value: str,
                      channel: str | None = None) -> dict[str, Any]:
        """The block_actions payload of `user` clicking a button (in `channel`'s message,
        else in the App Home)."""
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": TEAM, "domain": "test"},
            "user": _user(user), "api_app_id": "A1", "token": "legacy",
            "trigger_id": self.stub.trigger(),
            "actions": [{"action_id": action_id, "block_id": "b", "value": value,
                         "type": "button", "action_ts": str(time.time())}]}
        if channel:
            payload["channel"] = {"id": channel, "name": "c"}
            payload["container"] = {"type": "message", "channel_id": channel, "message_ts": "1"}
            payload["response_url"] = self.stub.response_url(user[0])
        else:
            payload["container"] = {"type": "view", "view_id": "VHOME"}
        return payload

    async def submit(self, user: tuple[str, str, str], view: dict[str, Any],
                     answers: dict[str, Any]) -> dict[str, Any]:
        """Submit `view` filled with `answers`; Slack's view_submission response body."""
        response = await self.interact(self.submission(user, view, answers))
        assert response.status == 200, await response.text()
        text = await response.text()
        return json.loads(text) if text else {}

    def submission(self, user: tuple[str, str, str], view: dict[str, Any],
                   answers: dict[str, Any]) -> dict[str, Any]:
        """The view_submission payload of `user` submitting `view` filled with `answers`."""
        return {"type": "view_submission", "team": {"id": TEAM, "domain": "test"},
                "user": _user(user), "api_app_id": "A1", "token": "legacy",
                "trigger_id": self.stub.trigger(),
                "view": {**view, "id": "V1", "team_id": TEAM, "hash": "h",
                         "state": {"values": fill(view, answers)}}}

    async def event(self, event: dict[str, Any], event_id: str, retry: int | None = None,
                    team: str = TEAM) -> Any:
        body = json.dumps({"token": "legacy", "team_id": team, "api_app_id": "A1",
                           "type": "event_callback", "event_id": event_id,
                           "event_time": int(time.time()), "event": event})
        # Slack signs each retry when it sends it, a second or more after the first try
        headers = signed_headers(body, "application/json",
                                 timestamp=int(time.time()) + (retry or 0))
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "timeout"})
        return await self.client.post("/slack/events", data=body.encode(), headers=headers)

    async def opened_view(self, count: int = 1,
                          callback_id: str = CALLBACK_STEP) -> dict[str, Any]:
        """The `count`-th form (or other modal: `callback_id`) shown: opened, or put in
        place of a "checking…" modal."""
        deadline = time.monotonic() + 5
        while len(forms := self.forms(callback_id)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(forms) >= count, f"{len(forms)} of {count} forms; {self.stub.calls}"
        return forms[count - 1]

    def forms(self, callback_id: str = CALLBACK_STEP) -> list[dict[str, Any]]:
        shown = [c.args["view"] for c in self.stub.calls
                 if c.method in ("views.open", "views.update")]
        return [v for v in shown if v.get("callback_id") == callback_id]


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def _user(user: tuple[str, str, str]) -> dict[str, str]:
    return {"id": user[0], "username": user[2], "name": user[2], "team_id": TEAM}


@pytest.fixture
def slack(client: TestClient, slack_stub: SlackStub) -> Slack:
    return Slack(client, slack_stub)


def two_step_task(**extra: Any) -> dict[str, Any]:
    name = {"name": "name", "label": "Name", "kind": "text", "required": True}
    color = {"name": "color", "label": "Color", "kind": "radio", "required": True,
             "options": ["Red", "Blue"]}
    return {"title": "Two steps", "steps": [
        {"id": "one", "title": "Who", "blocks": [{"type": "input", "field": name}]},
        {"id": "two", "title": "What", "blocks": [{"type": "input", "field": color}]}],
        **extra}
