"""bot/clients.py: both Slack clients count their calls, and Slack's errors, by method."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from slack_sdk.errors import SlackApiError

from api.settings import Settings
from bot.clients import async_web_client, web_client
from tests.slack_stub import TOKEN, SlackStub


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0


async def test_calls_and_errors_are_counted_by_method(slack_settings: Settings,
                                                      slack_stub: SlackStub) -> None:
    calls, errors = "inloop_slack_api_calls_total", "inloop_slack_api_errors_total"
    before = (count(calls, method="chat.postMessage"), count(calls, method="chat.update"),
              count(errors, method="chat.update", error="message_not_found"))
    web_client(slack_settings, TOKEN).chat_postMessage(channel="C1", text="hello")
    slack_stub.failing["chat.update"] = "message_not_found"
    with pytest.raises(SlackApiError):
        await async_web_client(slack_settings, TOKEN).chat_update(channel="C1", ts="1.2", text="x")
    after = (count(calls, method="chat.postMessage"), count(calls, method="chat.update"),
             count(errors, method="chat.update", error="message_not_found"))
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
