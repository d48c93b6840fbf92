"""Modal submissions (bot/listeners/views.py): the HPI examples answered in Slack, validation,
drafts across close/reopen, the web fallback, racing submissions."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from api.domain.task import CompletedBy
from api.runtime import Services
from renderers.slack_ids import ACTION_OPEN
from tests.bot.conftest import Slack, two_step_task
from tests.conftest import Account
from tests.fixtures import example
from tests.images import png
from tests.slack import ASSIGNEE, CHANNEL, OTHER, Poster
from tests.slack_stub import SlackStub, check_view

Jobs = Callable[[], Awaitable[int]]
DM = "D" + ASSIGNEE[0]
PDF = b"%PDF-1.4 contract"
PNG = png()


def _step(view: dict[str, Any]) -> int:
    step: int = json.loads(view["private_metadata"])["step"]
    return step


def _inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


async def _open(slack: Slack, task_id: str, count: int = 1,
                user: tuple[str, str, str] = ASSIGNEE, channel: str = DM) -> dict[str, Any]:
    await slack.click(user, ACTION_OPEN, task_id, channel=channel)
    return await slack.opened_view(count)


async def test_hpi_approval_in_slack(post_task: Poster, slack: Slack, slack_stub: SlackStub,
                                     services: Services, jobs: Jobs) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    view = await _open(slack, task_id)
    answer = await slack.submit(ASSIGNEE, view, {"decision": "Approve", "comments": "Ship it"})
    assert answer == {}  # closes the modal
    task = services.store.load(task_id)
    assert task.status == "completed"
    assert task.data == {"decision": "Approve", "comments": "Ship it"}
    assert task.completed_by == CompletedBy(channel="slack", id=ASSIGNEE[0], name="ada")
    await jobs()
    (update,) = slack_stub.of("chat.update")
    assert "Ship it" in json.dumps(update.args["blocks"])


async def test_hpi_feedback_in_a_channel(post_task: Poster, slack: Slack,
                                         services: Services) -> None:
    task_id = await post_task(example("hpi_feedback"), slack_channel="ops")
    view = await _open(slack, task_id, user=OTHER, channel=CHANNEL[1])
    moment = int(datetime(2026, 2, 24, 12, tzinfo=UTC).timestamp())
    answers = {"role": "PM", "start_date": moment, "ease_of_use": 7, "overall_rating": 4,
               "comments": "Zoë likes it"}
    assert await slack.submit(OTHER, view, answers) == {}
    task = services.store.load(task_id)
    assert task.data == {"role": "PM", "start_date": "2026-02-24T12:00:00+00:00",
                         "ease_of_use": 7, "overall_rating": 4, "comments": "Zoë likes it"}
    assert task.completed_by is not None and task.completed_by.id == OTHER[0]


async def test_hpi_onboarding_step_one_in_slack_then_web(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services,
        client: TestClient, account: Account, jobs: Jobs) -> None:
    services.directory.add_member(account.org_id, ASSIGNEE[1], "Ada")  # no email code
    task_id = await post_task(example("hpi_onboarding"), assignee_email=ASSIGNEE[1])
    view = await _open(slack, task_id)
    answer = await slack.submit(ASSIGNEE, view, {"full_name": "Ada Lovelace",
                                                 "department": "Engineering"})
    assert answer["response_action"] == "update"
    upload_step = check_view(answer["view"])
    assert _step(upload_step) == 1 and "submit" not in upload_step
    (link,) = [e["url"] for b in upload_step["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert link == f"{services.store.load(task_id).url}?step=2"
    slack_answers = {"full_name": "Ada Lovelace", "department": "Engineering"}
    assert services.drafts.load(task_id) == slack_answers
    # the person follows the link: the web form opens at the upload step
    path = link.removeprefix("http://inloop.test")
    page = await client.get(path)
    html = await page.text()
    assert page.status == 200 and "Step 2 of 3" in html and 'name="contract"' in html
    token = _csrf(html)
    first = await (await client.get(path.replace("?step=2", "?step=1"))).text()
    assert 'value="Ada Lovelace"' in first  # the Slack answers, carried over
    uploaded = await _post(client, path, {"csrf_token": token, "nav": "next"},
                           ("contract", "contract.pdf", PDF, "application/pdf"))
    assert uploaded.status == 303 and uploaded.headers["Location"].endswith("?step=3")
    last = await client.get(uploaded.headers["Location"])
    assert "Step 3 of 3" in await last.text()
    signature = "data:image/png;base64," + base64.b64encode(PNG).decode()
    done = await _post(client, uploaded.headers["Location"], {
        "csrf_token": token, "nav": "submit", "approved": "on", "signature": signature})
    assert done.status == 200 and "Thank you!" in await done.text()
    task = services.store.load(task_id)
    assert task.status == "completed" and task.completed_by is not None
    assert task.completed_by.channel == "web"
    assert {k: task.data[k] for k in slack_answers} == slack_answers
    assert task.data["approved"] is True
    assert task.data["contract"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert task.data["signature"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert set(task.data) == {*slack_answers, "contract", "approved", "signature"}
    await jobs()
    (update,) = slack_stub.of("chat.update")
    assert not any(b["type"] == "actions" for b in update.args["blocks"])
    assert "Ada Lovelace" in json.dumps(update.args["blocks"])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def _post(client: TestClient, path: str, fields: dict[str, str],
                upload: tuple[str, str, bytes, str] | None = None) -> Any:
    form = FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    if upload:
        name, filename, data, content_type = upload
        form.add_field(name, data, filename=filename, content_type=content_type)
    return await client.post(path, data=form, allow_redirects=False)


async def test_errors_go_back_per_block(post_task: Poster, slack: Slack,
                                        services: Services) -> None:
    task_id = await post_task(example("hpi_feedback"), assignee_email=ASSIGNEE[1])
    view = await _open(slack, task_id)
    answer = await slack.submit(ASSIGNEE, view, {"ease_of_use": 11, "overall_rating": 3})
    assert answer == {"response_action": "errors",
                      "errors": {"f:ease_of_use": "must be between 0 and 10"}}
    approval = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    answer = await slack.submit(ASSIGNEE, await _open(slack, approval, 2), {})
    assert answer["errors"] == {"f:decision": "this field is required"}
    assert services.store.load(task_id).status == "pending"
    assert services.drafts.load(task_id) == {}


async def test_draft_survives_close_and_reopen(post_task: Poster, slack: Slack,
                                               services: Services) -> None:
    task_id = await post_task(two_step_task(), assignee_email=ASSIGNEE[1])
    first = await _open(slack, task_id)
    answer = await slack.submit(ASSIGNEE, first, {"name": "Ada"})
    assert answer["response_action"] == "update" and _step(answer["view"]) == 1
    # closed without submitting step 2; reopening resumes there
    resumed = await _open(slack, task_id, 2)
    assert _step(resumed) == 1
    answer = await slack.submit(ASSIGNEE, resumed, {"color": "Blue"})
    assert answer == {}
    assert services.store.load(task_id).data == {"name": "Ada", "color": "Blue"}


def _three_steps() -> dict[str, Any]:
    def step(name: str, required: bool) -> dict[str, Any]:
        field = {"name": name, "label": name.title(), "kind": "text", "required": required}
        return {"id": name, "title": name.title(), "blocks": [{"type": "input",
                                                               "field": field}]}

    return {"title": "Three steps", "steps": [step("name", True), step("note", False),
                                              step("team", True)]}


async def test_reopen_never_skips_an_optional_step_not_yet_seen(
        post_task: Poster, slack: Slack, services: Services) -> None:
    task_id = await post_task(_three_steps(), assignee_email=ASSIGNEE[1])
    answer = await slack.submit(ASSIGNEE, await _open(slack, task_id), {"name": "Ada"})
    assert _step(answer["view"]) == 1
    # closed on the optional step; reopening shows it, not the step after it
    optional = await _open(slack, task_id, 2)
    assert _step(optional) == 1
    answer = await slack.submit(ASSIGNEE, optional, {})
    assert _step(answer["view"]) == 2
    assert services.drafts.load(task_id) == {"name": "Ada", "note": None}
    assert _step(await _open(slack, task_id, 3)) == 2  # submitted empty: done
    assert await slack.submit(ASSIGNEE, answer["view"], {"team": "Core"}) == {}
    assert services.store.load(task_id).data == {"name": "Ada", "team": "Core"}


async def test_reopen_prefills_saved_answers(post_task: Poster, slack: Slack,
                                             services: Services) -> None:
    task_id = await post_task(example("hpi_feedback"), assignee_email=ASSIGNEE[1])
    services.drafts.save(task_id, {"comments": "half done", "role": "Designer"})
    view = await _open(slack, task_id)
    inputs = _inputs(view)
    assert _step(view) == 0 and inputs["f:comments"]["initial_value"] == "half done"
    assert inputs["f:role"]["initial_option"]["text"]["text"] == "Designer"


async def test_channel_members_each_have_their_own_draft(post_task: Poster, slack: Slack,
                                                         services: Services) -> None:
    task_id = await post_task(two_step_task(), slack_channel="ops")
    bob_first = await _open(slack, task_id, user=OTHER, channel=CHANNEL[1])
    bob_next = await slack.submit(OTHER, bob_first, {"name": "Bob"})
    assert _step(bob_next["view"]) == 1
    # Ada (in the channel, not the assignee) starts afresh, not from Bob's answers
    ada_first = await _open(slack, task_id, 2, user=ASSIGNEE, channel=CHANNEL[1])
    assert _step(ada_first) == 0 and "initial_value" not in _inputs(ada_first)["f:name"]
    ada_next = await slack.submit(ASSIGNEE, ada_first, {"name": "Ada"})
    assert await slack.submit(ASSIGNEE, ada_next["view"], {"color": "Red"}) == {}
    task = services.store.load(task_id)
    assert task.data == {"name": "Ada", "color": "Red"} and task.completed_by is not None
    assert task.completed_by.id == ASSIGNEE[0]
    assert services.drafts.load(task_id) == {}  # nobody wrote the assignee's draft


async def test_the_assignee_shares_the_web_draft_in_a_channel_task(
        post_task: Poster, slack: Slack, services: Services) -> None:
    task_id = await post_task(two_step_task(), slack_channel="ops", assignee_email=ASSIGNEE[1])
    first = await _open(slack, task_id, user=ASSIGNEE, channel=CHANNEL[1])
    await slack.submit(ASSIGNEE, first, {"name": "Ada"})
    assert services.drafts.load(task_id) == {"name": "Ada"}
    bob = await _open(slack, task_id, 2, user=OTHER, channel=CHANNEL[1])
    assert _step(bob) == 0 and "initial_value" not in _inputs(bob)["f:name"]


async def test_submission_by_someone_else_changes_nothing(post_task: Poster, slack: Slack,
                                                          services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    view = await _open(slack, task_id)
    answer = await slack.submit(OTHER, view, {"decision": "Reject"})
    assert answer["response_action"] == "errors"
    assert "not assigned to you" in answer["errors"]["f:decision"]
    assert services.store.load(task_id).status == "pending"
    assert services.drafts.load(task_id) == {}


async def test_second_submission_is_told_who_completed(post_task: Poster, slack: Slack,
                                                       services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    view = await _open(slack, task_id)
    assert await slack.submit(ASSIGNEE, view, {"decision": "Approve"}) == {}
    again = await slack.submit(ASSIGNEE, view, {"decision": "Reject"})
    assert again["errors"]["f:decision"].startswith("Already completed by ada at ")
    assert services.store.load(task_id).data == {"decision": "Approve"}


async def test_racing_submissions_complete_once(post_task: Poster, slack: Slack,
                                                slack_stub: SlackStub,
                                                services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), slack_channel="ops")
    users = [(f"U{i}", f"u{i}@example.com", f"u{i}") for i in range(6)]
    slack_stub.members[CHANNEL[1]] += [u[0] for u in users]
    views = [await _open(slack, task_id, n + 1, user=u, channel=CHANNEL[1])
             for n, u in enumerate(users)]
    api_done = asyncio.to_thread(_complete_via_api, services, task_id)
    answers = await asyncio.gather(api_done, *(
        slack.submit(u, v, {"decision": "Approve"}) for u, v in zip(users, views, strict=True)))
    task = services.store.load(task_id)
    winners = [a for a in answers[1:] if a == {}] + ([answers[0]] if answers[0] else [])
    assert task.status == "completed" and len(winners) == 1


def _complete_via_api(services: Services, task_id: str) -> bool:
    try:
        services.tasks.complete(services.store.load(task_id), {"decision": "Reject"},
                                CompletedBy(channel="api", id="m", name="API"))
    except Exception:
        return False
    return True
