"""Slack shows what validation accepts: a modal prefilled at the extremes opens, and the
message update after completion is accepted (tests/renderers/bounds.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from api.runtime import Services
from renderers.slack_ids import ACTION_OPEN
from tests.bot.conftest import Slack
from tests.conftest import Account
from tests.renderers.bounds import EXTREMES, INPUT_VALUES, body
from tests.slack import ASSIGNEE, Poster
from tests.slack_stub import SlackStub


@pytest.mark.parametrize("end", list(EXTREMES))
async def test_slack_modal_and_update_at_the_extremes(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        client: TestClient, account: Account, jobs: Callable[[], Awaitable[int]],
        end: str) -> None:
    ref = await post_task(body(end), assignee_email=ASSIGNEE[1])
    services.drafts.save(ref, EXTREMES[end])
    await slack.click(ASSIGNEE, ACTION_OPEN, ref, channel="D" + ASSIGNEE[0])
    view = await slack.opened_view()
    numbers = [b["element"]["initial_value"] for b in view["blocks"]
               if b["type"] == "input" and b["element"]["type"] == "number_input"]
    assert numbers == [INPUT_VALUES[end]["wide"], INPUT_VALUES[end]["fine"]]

    task_id = services.store.load(ref).task_id
    completed = await client.post(f"/api/v1/tasks/{task_id}/complete",
                                  headers=account.headers, json={"data": EXTREMES[end]})
    assert completed.status == 200
    await jobs()
    (update,) = slack_stub.of("chat.update")
    assert INPUT_VALUES[end]["wide"] in json.dumps(update.args["blocks"])
    assert services.store.load(ref).delivery_problems == []
