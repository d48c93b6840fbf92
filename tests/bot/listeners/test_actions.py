"""Message and App Home buttons (bot/listeners/actions.py), and request signatures (bot/http.py)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable

import pytest
from slack_sdk.errors import SlackApiError

from api.domain.task import CompletedBy
from api.runtime import Services
from api.store import keys
from api.store.slack import SlackState
from bot import notes
from renderers.slack_ids import ACTION_LINK, ACTION_OPEN, ACTION_QUICK, ACTION_WEB, quick_value
from tests.bot.conftest import Slack, until
from tests.fixtures import example
from tests.slack import ASSIGNEE, CHANNEL, OTHER, Poster, quick_task
from tests.slack_stub import SlackStub

Jobs = Callable[[], Awaitable[int]]
DM = "D" + ASSIGNEE[0]


async def test_open_form_opens_step_one(post_task: Poster, slack: Slack) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    view = await slack.opened_view()
    assert json.loads(view["private_metadata"]) == {"ref": task_id, "step": 0}
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "f:decision", "f:comments"]


async def test_open_from_app_home(post_task: Poster, slack: Slack) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id)
    await slack.opened_view()


async def test_someone_else_gets_a_not_yours_note(post_task: Poster, slack: Slack,
                                                  slack_stub: SlackStub,
                                                  services: Services) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    await slack.click(OTHER, ACTION_OPEN, task_id, channel="C0ELSE")
    await slack.click(OTHER, ACTION_QUICK, quick_value(task_id, 0), channel="C0ELSE")
    notes_ = await slack_stub.wait_for("response_url", 2)
    assert {(c.args["user"], c.args["text"]) for c in notes_} == {(OTHER[0], notes.NOT_YOURS)}
    await slack.click(OTHER, ACTION_OPEN, task_id)  # from App Home: told in a DM
    dm = (await slack_stub.wait_for("chat.postMessage", 2))[1]
    assert dm.args["channel"] == OTHER[0] and dm.args["text"] == notes.NOT_YOURS
    assert not slack_stub.of("views.open")
    assert services.store.load(task_id).status == "pending"


async def test_quick_task_completes_in_one_click(post_task: Poster, slack: Slack,
                                                 slack_stub: SlackStub, services: Services,
                                                 jobs: Jobs) -> None:
    task_id = await post_task(quick_task(), slack_channel="ops")
    await slack.click(OTHER, ACTION_QUICK, quick_value(task_id, 1), channel=CHANNEL[1])
    # The answer is a lazy listener's, after the ack: on a loaded machine it can take
    # longer than `jobs`' own pause.
    await until(lambda: services.store.load(task_id).status == "completed")
    await jobs()
    task = services.store.load(task_id)
    assert task.status == "completed" and task.data == {"decision": "Reject"}
    assert task.completed_by is not None and task.completed_by.model_dump() == {
        "channel": "slack", "id": OTHER[0], "name": OTHER[2]}
    (update,) = slack_stub.of("chat.update")
    assert update.args["channel"] == CHANNEL[1]
    assert not any(b["type"] == "actions" for b in update.args["blocks"])


async def test_the_posted_side_by_side_buttons_answer(post_task: Poster, slack: Slack,
                                                      slack_stub: SlackStub, services: Services,
                                                      jobs: Jobs) -> None:
    """The message's own buttons (numbered action ids in one block) are what a click sends."""
    task_id = await post_task(quick_task(), slack_channel="ops")
    (posted,) = await slack_stub.wait_for("chat.postMessage", 1)
    (actions,) = [b for b in posted.args["blocks"] if b["type"] == "actions"]
    reject = actions["elements"][1]
    assert reject["action_id"] == "inloop_quick:1"
    await slack.click(OTHER, reject["action_id"], reject["value"], channel=CHANNEL[1])
    await jobs()
    assert services.store.load(task_id).data == {"decision": "Reject"}


async def test_second_click_is_told_who_completed(post_task: Poster, slack: Slack,
                                                  slack_stub: SlackStub,
                                                  services: Services) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_QUICK, quick_value(task_id, 0), channel=DM)
    await until(lambda: services.store.load(task_id).status == "completed")
    await slack.click(ASSIGNEE, ACTION_QUICK, quick_value(task_id, 1), channel=DM)
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    told = await slack_stub.wait_for("response_url", 2)
    assert all(c.args["text"].startswith("Already completed by ada at ") for c in told)
    task = services.store.load(task_id)
    assert task.data == {"decision": "Approve"} and task.completed_by is not None
    assert task.completed_by.name == "ada"


async def test_who_ended_a_task_is_told_only_to_who_may_answer_and_escaped(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    services.tasks.complete(services.store.load(task_id), {"decision": "Approve"},
                            CompletedBy(channel="api", id="m", name="<!channel> Grace"))
    await slack.click(OTHER, ACTION_QUICK, quick_value(task_id, 1), channel="C0ELSE")
    await slack.click(ASSIGNEE, ACTION_QUICK, quick_value(task_id, 1), channel=DM)
    told = {c.args["user"]: c.args["text"] for c in await slack_stub.wait_for("response_url", 2)}
    assert told[OTHER[0]] == notes.NOT_YOURS
    assert told[ASSIGNEE[0]].startswith("Already completed by &lt;!channel&gt; Grace at ")


async def test_a_cancel_reason_is_escaped_in_the_note(post_task: Poster, slack: Slack,
                                                      slack_stub: SlackStub,
                                                      services: Services) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    services.store.cancel(task_id, "<!channel> see <https://evil.example|x>")
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    (note,) = await slack_stub.wait_for("response_url")
    assert note.args["text"] == ("This task was cancelled (&lt;!channel&gt; see "
                                 "&lt;https://evil.example|x&gt;).")


async def test_racing_clicks_complete_exactly_once(post_task: Poster, slack: Slack,
                                                   slack_stub: SlackStub,
                                                   services: Services) -> None:
    import asyncio

    task_id = await post_task(quick_task(), slack_channel="ops")
    users = [(f"U{i}", f"u{i}@example.com", f"u{i}") for i in range(8)]
    slack_stub.members[CHANNEL[1]] += [u[0] for u in users]
    await asyncio.gather(*(slack.click(u, ACTION_QUICK, quick_value(task_id, i % 2),
                                       channel=CHANNEL[1]) for i, u in enumerate(users)))
    told = await slack_stub.wait_for("response_url", 7)
    task = services.store.load(task_id)
    assert task.status == "completed" and task.completed_by is not None
    winner = task.completed_by.id
    assert winner not in {c.args["user"] for c in told} and len(told) == 7


async def test_only_channel_members_may_answer_a_channel_task(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    # a non-member previewing a public channel, or someone who left, sees the buttons too
    slack_stub.members[CHANNEL[1]] = ["U0A", "U0B", "U0C", "U0D", OTHER[0]]  # 3 pages
    task_id = await post_task(quick_task(), slack_channel="ops")
    visitor = ("U0VIS", "vis@example.com", "vis")
    await slack.click(visitor, ACTION_OPEN, task_id, channel=CHANNEL[1])
    # the first click opened "checking…" at once, listed the members, then said no there
    (said,) = await slack_stub.wait_for("views.update")
    assert said.args["view"]["blocks"][0]["text"]["text"] == notes.NOT_YOURS
    (checking,) = slack_stub.of("views.open")
    assert checking.args["view"]["blocks"][0]["text"]["text"].startswith("Checking")
    await slack.click(visitor, ACTION_QUICK, quick_value(task_id, 0), channel=CHANNEL[1])
    (told,) = await slack_stub.wait_for("response_url")  # the second reads the cache
    assert told.args["text"] == notes.NOT_YOURS and not slack.forms()
    assert not SlackState(services.redis).granted(task_id, visitor[0])
    pages = slack_stub.of("conversations.members")
    assert [c.args.get("cursor") for c in pages] == [None, "2", "4"]  # then cached
    await slack.click(OTHER, ACTION_OPEN, task_id, channel=CHANNEL[1])  # on the last page
    await slack.opened_view()
    assert len(slack_stub.of("conversations.members")) == 3
    assert services.store.load(task_id).status == "pending"


async def test_a_large_channel_does_not_spend_the_click_s_trigger(
        post_task: Poster, slack: Slack, slack_stub: SlackStub) -> None:
    slack_stub.members[CHANNEL[1]] = [f"U{i:06d}" for i in range(7000)] + [OTHER[0]]
    slack_stub.members_page = 1000
    slack_stub.members_delay_s = 0.4  # 8 pages: 3.2 s, past the trigger's 3 s
    task_id = await post_task(example("hpi_approval"), slack_channel="ops")
    await slack.click(OTHER, ACTION_OPEN, task_id, channel=CHANNEL[1])
    form = await slack.opened_view()
    assert json.loads(form["private_metadata"]) == {"ref": task_id, "step": 0}
    (checking,) = slack_stub.of("views.open")  # at once, before the member list
    pages = slack_stub.of("conversations.members")
    assert len(pages) == 8 and checking.at < pages[0].at
    assert slack_stub.of("views.update")[-1].args["view_id"] and not slack_stub.of(
        "response_url")  # the form replaced "checking…"; nobody was told it failed


async def test_open_in_browser_in_a_channel_gives_members_the_link_privately(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), slack_channel="ops")
    task = services.store.load(task_id)
    (posted,) = slack_stub.of("chat.postMessage")
    assert task.url not in json.dumps(posted.args)  # not in the channel for all to see
    visitor = ("U0VIS", "vis@example.com", "vis")  # previewing the public channel
    await slack.click(visitor, ACTION_LINK, task_id, channel=CHANNEL[1])
    (refused,) = await slack_stub.wait_for("response_url")
    assert refused.args["text"] == notes.NOT_YOURS
    await slack.click(OTHER, ACTION_LINK, task_id, channel=CHANNEL[1])
    given = (await slack_stub.wait_for("response_url", 2))[1]
    assert given.args["user"] == OTHER[0] and given.args["response_type"] == "ephemeral"
    assert f"<{task.url}|" in given.args["text"]
    assert len(slack_stub.of("conversations.members")) == 1  # the same cached check


async def test_someone_who_left_the_channel_loses_their_grant(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    task_id = await post_task(quick_task(), slack_channel="ops")
    await slack.click(OTHER, ACTION_OPEN, task_id, channel=CHANNEL[1])
    await slack.opened_view()
    state = SlackState(services.redis)
    assert state.granted(task_id, OTHER[0])
    assert 0 < services.redis.ttl(keys.task_slack_grants(task_id)) <= 12 * 3600
    # Slack cannot say (an outage, a rate limit): the earlier grant holds.
    services.redis.delete(keys.slack_channel_members(CHANNEL[1]))
    slack_stub.failing["conversations.members"] = "internal_error"
    await slack.click(OTHER, ACTION_OPEN, task_id, channel=CHANNEL[1])
    await slack.opened_view()
    assert state.granted(task_id, OTHER[0])
    del slack_stub.failing["conversations.members"]
    slack_stub.members[CHANNEL[1]] = [ASSIGNEE[0]]
    services.redis.delete(keys.slack_channel_members(CHANNEL[1]))  # the cache expired
    await slack.click(OTHER, ACTION_QUICK, quick_value(task_id, 0), channel=CHANNEL[1])
    (told,) = await slack_stub.wait_for("response_url")
    assert told.args["text"] == notes.NOT_YOURS and not state.granted(task_id, OTHER[0])


def test_each_grant_ends_on_its_own(services: Services) -> None:
    state = SlackState(services.redis)
    state.grant("t1", "U1")
    services.redis.zadd(keys.task_slack_grants("t1"), {"U1": time.time() - 1})  # 12 h later
    state.grant("t1", "U2")  # another person's click does not extend U1's grant
    assert not state.granted("t1", "U1") and state.granted("t1", "U2")


async def test_notes_in_a_channel_the_bot_never_joined_use_the_response_url(
        post_task: Poster, slack: Slack, slack_stub: SlackStub) -> None:
    task_id = await post_task(quick_task(), slack_channel="ops")
    visitor = ("U0VIS", "vis@example.com", "vis")
    await slack.click(visitor, ACTION_QUICK, quick_value(task_id, 0), channel=CHANNEL[1])
    (note,) = await slack_stub.wait_for("response_url")
    assert note.args == {"text": notes.NOT_YOURS, "response_type": "ephemeral",
                         "replace_original": False, "url": note.args["url"],
                         "user": visitor[0]}
    assert not slack_stub.of("chat.postEphemeral")  # it would fail: not_in_channel


async def test_an_expired_response_url_falls_back_to_post_ephemeral(
        post_task: Poster, slack: Slack, slack_stub: SlackStub) -> None:
    slack_stub.response_url_status = 404
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    await slack.click(OTHER, ACTION_QUICK, quick_value(task_id, 0), channel="C0ELSE")
    (note,) = await slack_stub.wait_for("chat.postEphemeral")
    assert (note.args["user"], note.args["text"]) == (OTHER[0], notes.NOT_YOURS)
    assert len(slack_stub.of("response_url")) == 1


async def test_web_link_click_is_acked(post_task: Poster, slack: Slack,
                                       slack_stub: SlackStub) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_WEB, task_id, channel=DM)
    assert not slack_stub.of("response_url") and not slack_stub.of("chat.postEphemeral")


async def test_unsigned_or_stale_requests_are_refused(post_task: Poster, slack: Slack,
                                                      slack_stub: SlackStub) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    payload = {"type": "block_actions", "user": {"id": ASSIGNEE[0]}, "trigger_id": "x",
               "actions": [{"action_id": ACTION_QUICK, "value": quick_value(task_id, 0)}]}
    bad = await slack.interact(payload, secret="not-the-secret")
    stale = await slack.interact(payload, timestamp=int(time.time()) - 600)
    assert (bad.status, stale.status) == (401, 401)
    assert [c.method for c in slack_stub.calls if c.method.startswith("chat.")] == [
        "chat.postMessage"]


async def test_expired_trigger_is_logged_and_the_person_told(
        post_task: Poster, slack: Slack, slack_stub: SlackStub,
        caplog: pytest.LogCaptureFixture) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    slack_stub.trigger = lambda: "used-or-unknown"  # type: ignore[method-assign]
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    (call,) = await slack_stub.wait_for("views.open")
    assert call.args["trigger_id"] == "used-or-unknown"
    (note,) = await slack_stub.wait_for("response_url")
    assert note.args["text"] == notes.FORM_NOT_OPENED and note.args["user"] == ASSIGNEE[0]
    (record,) = [r for r in caplog.records if r.name == "bot.listeners.actions"]
    assert record.levelname == "WARNING" and "invalid_trigger_id" in record.getMessage()
    assert task_id in record.getMessage()


async def test_a_failure_after_the_ack_is_logged_with_its_traceback(
        post_task: Poster, slack: Slack, slack_stub: SlackStub,
        caplog: pytest.LogCaptureFixture) -> None:
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    slack_stub.failing["chat.postMessage"] = "internal_error"  # the note's DM fails
    await slack.click(OTHER, ACTION_OPEN, task_id)  # acked: 200
    await slack_stub.wait_for("chat.postMessage", 2)

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelname == "ERROR"]

    await until(lambda: bool(failures()))
    (record,) = failures()
    assert record.name == "bot.listeners.actions" and ACTION_OPEN in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is SlackApiError
