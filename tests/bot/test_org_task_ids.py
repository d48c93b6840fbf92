"""Two orgs' tasks with the same task_id reach one Slack user as two tasks: each message's
button opens and answers its own org's task, and the App Home lists both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from api.runtime import Services
from renderers.slack_ids import ACTION_OPEN, ACTION_QUICK
from tests.bot.conftest import Slack, until
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.slack import ASSIGNEE, quick_task
from tests.slack_stub import SlackStub

TASK_ID = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DM = "D" + ASSIGNEE[0]


def _buttons(blocks: list[dict[str, object]], action: str) -> list[str]:
    return [str(e["value"]) for b in blocks if b["type"] == "actions"
            for e in b["elements"] if str(e["action_id"]).startswith(action)]  # type: ignore


async def test_each_message_answers_its_own_orgs_task(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, slack: Slack, slack_stub: SlackStub,
        jobs: Callable[[], Awaitable[int]]) -> None:
    other = make_account()
    same = {"task_id": TASK_ID, "assignee_email": ASSIGNEE[1]}
    await create(client, account, {**example("hpi_approval"), "title": "Ours?", **same})
    await create(client, other, {**quick_task(), "title": "Theirs?", **same})
    await jobs()
    posted = {c.args["text"]: c.args["blocks"] for c in slack_stub.of("chat.postMessage")}
    assert len(posted) == 2  # both delivered, neither mistaken for the other's retry
    [theirs_text] = [t for t in posted if "Theirs?" in t]
    theirs = posted[theirs_text]

    [_, reject] = _buttons(theirs, ACTION_QUICK)
    await slack.click(ASSIGNEE, ACTION_QUICK, reject, channel=DM)  # answered after the ack
    await until(lambda: services.store.get(other.org_id, TASK_ID).status == "completed")
    assert services.store.get(other.org_id, TASK_ID).data == {"decision": "Reject"}
    assert services.store.get(account.org_id, TASK_ID).status == "pending"

    [ours_text] = [t for t in posted if "Ours?" in t]
    [open_ours] = _buttons(posted[ours_text], ACTION_OPEN)
    await slack.click(ASSIGNEE, ACTION_OPEN, open_ours, channel=DM)
    view = await slack.opened_view()
    assert view["title"]["text"] == "Ours?"
    assert await slack.submit(ASSIGNEE, view, {"decision": "Approve", "comments": ""}) == {}
    assert services.store.get(account.org_id, TASK_ID).data == {"decision": "Approve"}
    assert services.store.get(other.org_id, TASK_ID).data == {"decision": "Reject"}
    await jobs()
    assert len(slack_stub.of("chat.update")) == 2  # each message shows its own outcome
