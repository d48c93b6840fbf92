"""App Home (bot/listeners/home.py) and retried-event dedupe (bot/app.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from api.domain.task import CompletedBy
from api.runtime import Services
from api.store import keys
from renderers.slack_ids import ACTION_OPEN
from tests.bot.conftest import Slack, until
from tests.fixtures import example
from tests.slack import ASSIGNEE, OTHER, Poster, quick_task
from tests.slack_stub import SlackStub


def _opened(event_user: str) -> dict[str, str]:
    return {"type": "app_home_opened", "user": event_user, "channel": "D" + event_user,
            "tab": "home", "event_ts": "1.2"}


def _open_buttons(view: dict[str, Any]) -> list[str]:
    return [b["accessory"]["value"] for b in view["blocks"]
            if b.get("accessory", {}).get("action_id") == ACTION_OPEN]


async def test_home_lists_pending_tasks_newest_first(post_task: Poster, slack: Slack,
                                                     slack_stub: SlackStub,
                                                     services: Services) -> None:
    first = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    done = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    last = await post_task(example("hpi_feedback"), assignee_email=ASSIGNEE[1])
    await post_task(example("hpi_feedback"), assignee_email=OTHER[1])
    services.store.complete(done, {"decision": "Approve"},
                            CompletedBy(channel="api", id="m", name="API"))
    response = await slack.event(_opened(ASSIGNEE[0]), "Ev1")
    assert response.status == 200
    (published,) = await slack_stub.wait_for("views.publish")
    assert published.args["user_id"] == ASSIGNEE[0]
    assert _open_buttons(published.args["view"]) == [last, first]


async def test_retried_event_is_handled_once(slack: Slack, slack_stub: SlackStub) -> None:
    assert (await slack.event(_opened(ASSIGNEE[0]), "Ev2")).status == 200
    await slack_stub.wait_for("views.publish")
    assert (await slack.event(_opened(ASSIGNEE[0]), "Ev2", retry=1)).status == 200
    assert (await slack.event(_opened(ASSIGNEE[0]), "Ev3")).status == 200
    await slack_stub.wait_for("views.publish", 2)
    await asyncio.sleep(0.2)
    assert len(slack_stub.of("views.publish")) == 2  # Ev2 once, Ev3 once


async def test_messages_tab_publishes_nothing(slack: Slack, slack_stub: SlackStub) -> None:
    event = {**_opened(ASSIGNEE[0]), "tab": "messages"}
    assert (await slack.event(event, "Ev4")).status == 200
    assert (await slack.event(_opened(OTHER[0]), "Ev5")).status == 200
    (published,) = await slack_stub.wait_for("views.publish")
    assert published.args["user_id"] == OTHER[0]


async def test_event_whose_handling_failed_is_handled_on_retry(
        slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    slack_stub.rate_limit("views.publish", 0, 0, 0)  # more 429s than the client retries
    assert (await slack.event(_opened(ASSIGNEE[0]), "Ev6")).status == 200
    await slack_stub.wait_for("views.publish", 3)
    await until(lambda: not services.redis.exists(keys.slack_event("Ev6")))
    assert (await slack.event(_opened(ASSIGNEE[0]), "Ev6", retry=1)).status == 200
    await slack_stub.wait_for("views.publish", 4)
    assert services.redis.exists(keys.slack_event("Ev6"))  # handled: later retries skip
