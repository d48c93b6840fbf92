"""Many orgs, many workspaces (bot/tokens.py, bot/app.py, bot/listeners/installs.py,
workers/slack.py, workers/slack_disconnected.py): every Slack call uses the token of the
task's org's workspace, and a workspace that goes away stops deliveries and says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from api.runtime import Services
from api.settings import Settings
from api.store.listing import Filters
from bot import notes
from renderers.slack_ids import ACTION_OPEN, CALLBACK_STEP, quick_value, step_metadata
from tests.bot.conftest import Slack, until
from tests.bot.oauth_rig import ACME, GLOBEX, connect, oauth_settings
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.slack import quick_task
from tests.slack_stub import TEAM, TOKEN, SlackStub

ANN = ("U0ANN", "ann@acme.example", "ann")  # in Acme's workspace
GUS = ("U0GUS", "gus@globex.example", "gus")  # in Globex's
BEN = ("U0BEN", "ben@acme.example", "ben")
CLEO = ("U0CLEO", "cleo@acme.example", "cleo")


@pytest.fixture
def settings(request: pytest.FixtureRequest, slack_settings: Settings) -> Settings:
    """OAuth mode; parametrized "single": SLACK_BOT_TOKEN (team T0001) as well, "alone":
    SLACK_BOT_TOKEN without OAuth."""
    mode = getattr(request, "param", None)
    if mode == "alone":
        return slack_settings
    return oauth_settings(slack_settings, slack_bot_token=TOKEN if mode == "single" else None)


@pytest.fixture
def orgs(services: Services, make_account: AccountFactory,
         slack_stub: SlackStub) -> tuple[Account, Account]:
    acme, globex = make_account(), make_account()
    connect(services, slack_stub, acme.org_id, ACME)
    connect(services, slack_stub, globex.org_id, GLOBEX)
    slack_stub.add_user(*ANN, team=ACME.team_id)
    slack_stub.add_user(*GUS, team=GLOBEX.team_id)
    return acme, globex


def click(slack: Slack, user: tuple[str, str, str], team: str, value: str,
          channel: str | None = None, action_id: str = ACTION_OPEN) -> dict[str, Any]:
    payload = slack.click_payload(user, action_id, value, channel)
    payload["team"]["id"] = payload["user"]["team_id"] = team
    return payload


async def test_each_org_reaches_only_its_own_workspace(
        client: Any, services: Services, orgs: tuple[Account, Account], slack: Slack,
        slack_stub: SlackStub, run_jobs: Callable[..., int]) -> None:
    acme, globex = orgs
    for account, person in ((acme, ANN), (globex, GUS), (globex, ANN)):
        await create(client, account, {**example("hpi_approval"), "assignee_email": person[1]})
    run_jobs(("slack",))
    posted = {(c.args["channel"], c.team) for c in slack_stub.of("chat.postMessage")}
    assert posted == {("DU0ANN", ACME.team_id), ("DU0GUS", GLOBEX.team_id)}
    assert {c.team for c in slack_stub.calls} == {ACME.team_id, GLOBEX.team_id}
    tasks = {t.assignee_email: t for t in services.listing.page(globex.org_id,
                                                                   Filters())[0]}
    # Globex's token does not see Acme's people
    assert [p.code for p in tasks[ANN[1]].delivery_problems] == ["slack_user_not_found"]
    gus_task = tasks[GUS[1]]
    response = await slack.interact(click(slack, GUS, GLOBEX.team_id, gus_task.ref, "DU0GUS"))
    assert response.status == 200
    [opened] = await slack_stub.wait_for("views.open")
    assert opened.team == GLOBEX.team_id


async def test_a_team_task_goes_through_its_orgs_workspace(
        client: Any, services: Services, orgs: tuple[Account, Account], slack: Slack,
        slack_stub: SlackStub, run_jobs: Callable[..., int]) -> None:
    """Per-assignee DMs, the channel message, their updates and thread replies (slack.notify
    after a reassignment) all use the token of the task's org."""
    acme, _ = orgs
    slack_stub.add_user(*BEN, team=ACME.team_id)
    slack_stub.add_user(*CLEO, team=ACME.team_id)
    slack_stub.channel_team["C0OPS"] = ACME.team_id
    ann, ben, cleo = (services.directory.add_member(acme.org_id, p[1], p[2]).id
                      for p in (ANN, BEN, CLEO))
    created = await create(client, acme, quick_task(
        assignees=[{"member_id": ann}, {"member_id": ben}], slack_channel="C0OPS",
        approval={"required": 2, "decision_field": "decision"}))
    task = services.store.get(acme.org_id, created["task_id"])
    run_jobs(("slack",))
    answered = click(slack, ANN, ACME.team_id, quick_value(task.ref, 0), "DU0ANN",
                     "inloop_quick:0")
    assert (await slack.interact(answered)).status == 200
    await until(lambda: len(services.store.load(task.ref).responses) == 1)
    moved = await client.post(f"/api/v1/tasks/{task.task_id}/reassign", headers=acme.headers,
                              json={"from": {"member_id": ben}, "to": {"member_id": cleo}})
    assert moved.status == 200, await moved.text()
    run_jobs(("slack",))
    posts = {c.args["channel"] for c in slack_stub.of("chat.postMessage")}
    assert posts == {"DU0ANN", "DU0BEN", "DU0CLEO", "C0OPS"}
    assert [c for c in slack_stub.of("chat.postMessage") if c.args.get("thread_ts")]
    assert slack_stub.of("chat.update")
    assert {c.team for c in slack_stub.calls if c.team} == {ACME.team_id}
    assert services.store.load(task.ref).delivery_problems == []
    shown = [c.args for c in slack_stub.calls if c.args.get("channel") == "C0OPS"]
    assert len(shown) >= 2 and all(task.url not in json.dumps(a) for a in shown)


async def test_uninstall_stops_deliveries_and_tells_pending_tasks(
        client: Any, services: Services, orgs: tuple[Account, Account], slack: Slack,
        slack_stub: SlackStub, run_jobs: Callable[..., int]) -> None:
    acme, globex = orgs
    first = await create(client, acme, {**example("hpi_approval"), "assignee_email": ANN[1]})
    other = await create(client, globex, {**example("hpi_approval"),
                                          "assignee_email": GUS[1]})
    run_jobs(("slack",))
    response = await slack.event({"type": "app_uninstalled"}, "Ev1", team=ACME.team_id)
    assert response.status == 200
    await until(lambda: services.slack_installs.of_org(acme.org_id) is None)
    assert services.slack_installs.of_org(globex.org_id) is not None
    run_jobs(("slack",))
    told = services.store.get(acme.org_id, first["task_id"])
    assert [p.code for p in told.delivery_problems] == ["slack_disconnected"]
    assert services.store.get(globex.org_id, other["task_id"]).delivery_problems == []
    posts = len(slack_stub.of("chat.postMessage"))
    late = await create(client, acme, {**example("hpi_approval"), "assignee_email": ANN[1]})
    run_jobs(("slack",))
    assert len(slack_stub.of("chat.postMessage")) == posts  # nothing sent any more
    problems = services.store.get(acme.org_id, late["task_id"]).delivery_problems
    assert [p.code for p in problems] == ["slack_not_connected"]
    cancelled = await client.post(f"/api/v1/tasks/{first['task_id']}/cancel",
                                  headers=acme.headers, json={"reason": "done"})
    assert cancelled.status == 200
    run_jobs(("slack",))
    assert not slack_stub.of("chat.update")


async def test_uninstall_tells_a_claimed_team_task_too(
        client: Any, services: Services, orgs: tuple[Account, Account], slack: Slack,
        run_jobs: Callable[..., int]) -> None:
    acme, _ = orgs
    ann = services.directory.add_member(acme.org_id, ANN[1], ANN[2]).id
    created = await create(client, acme, quick_task(
        assignees=[{"member_id": ann}, {"email": "someone@acme.example"}],
        approval={"required": 1, "decision_field": "decision"}))
    run_jobs(("slack",))
    claimed = await client.post(f"/api/v1/tasks/{created['task_id']}/claim",
                                headers=acme.headers, json={})
    assert claimed.status == 200 and (await claimed.json())["status"] == "in_progress"
    await slack.event({"type": "app_uninstalled"}, "Ev1", team=ACME.team_id)
    await until(lambda: services.slack_installs.of_org(acme.org_id) is None)
    run_jobs(("slack",))
    problems = services.store.get(acme.org_id, created["task_id"]).delivery_problems
    assert "slack_disconnected" in [p.code for p in problems]


async def test_a_revoked_bot_token_removes_the_installation(
        services: Services, orgs: tuple[Account, Account], slack: Slack) -> None:
    acme, globex = orgs
    users_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ANN"], "bot": []}}
    await slack.event(users_only, "Ev1", team=ACME.team_id)
    bot = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}}
    await slack.event(bot, "Ev2", team=GLOBEX.team_id)
    await until(lambda: services.slack_installs.of_org(globex.org_id) is None)
    assert services.slack_installs.of_org(acme.org_id) is not None


async def test_a_team_without_installation_gets_a_polite_note(
        services: Services, orgs: tuple[Account, Account], slack: Slack,
        slack_stub: SlackStub) -> None:
    payload = click(slack, ANN, "T0NOBODY", "0f6f3c7e-0000-4000-8000-000000000000", "C0X")
    assert (await slack.interact(payload)).status == 200
    [note] = await slack_stub.wait_for("response_url")
    assert note.args["text"] == notes.NOT_INSTALLED and note.args["user"] == ANN[0]
    assert note.args["response_type"] == "ephemeral"
    assert not slack_stub.of("views.open") and not slack_stub.of("auth.test")


async def test_a_modal_submitted_after_the_workspace_went_shows_the_note(
        services: Services, orgs: tuple[Account, Account], slack: Slack,
        slack_stub: SlackStub) -> None:
    view = {"type": "modal", "callback_id": CALLBACK_STEP, "blocks": [],
            "private_metadata": step_metadata("0f6f3c7e-0000-4000-8000-000000000000", 0)}
    payload = slack.submission(ANN, view, {})
    payload["team"]["id"] = payload["user"]["team_id"] = payload["view"]["team_id"] = \
        "T0NOBODY"
    answered = await slack.interact(payload)
    assert answered.status == 200
    body = await answered.json()
    assert body["response_action"] == "update"
    assert body["view"]["blocks"][0]["text"]["text"] == notes.NOT_INSTALLED
    assert not slack_stub.of("auth.test")


@pytest.mark.parametrize("settings", ["single"], indirect=True)
async def test_single_workspace_mode_serves_orgs_without_their_own(
        client: Any, services: Services, orgs: tuple[Account, Account], slack: Slack,
        slack_stub: SlackStub, make_account: AccountFactory,
        run_jobs: Callable[..., int]) -> None:
    acme, _ = orgs
    plain = make_account()  # no installation: SLACK_BOT_TOKEN's workspace
    await create(client, acme, {**example("hpi_approval"), "assignee_email": ANN[1]})
    await create(client, plain, {**example("hpi_approval"), "assignee_email": "ada@example.com"})
    run_jobs(("slack",))
    teams = {c.args["channel"]: c.team for c in slack_stub.of("chat.postMessage")}
    assert teams == {"DU0ANN": ACME.team_id, "DU0ADA": TEAM}  # the org's own wins
    task = services.listing.page(plain.org_id, Filters())[0][0]
    ada = ("U0ADA", "ada@example.com", "ada")
    assert (await slack.interact(click(slack, ada, TEAM, task.ref, "DU0ADA"))).status == 200
    [opened] = await slack_stub.wait_for("views.open")
    assert opened.team == TEAM
    stranger = click(slack, ada, "T0NOBODY", task.ref, "C0X")
    assert (await slack.interact(stranger)).status == 200
    [note] = await slack_stub.wait_for("response_url")
    assert note.args["text"] == notes.NOT_INSTALLED



@pytest.mark.parametrize("settings", ["alone"], indirect=True)
async def test_without_oauth_the_bot_token_answers_every_team(
        slack: Slack, slack_stub: SlackStub) -> None:
    payload = click(slack, GUS, "T0GUEST", "0f6f3c7e-0000-4000-8000-000000000000", "C0X")
    assert (await slack.interact(payload)).status == 200  # a Slack Connect guest, say
    [note] = await slack_stub.wait_for("response_url")
    assert note.args["text"] == notes.GONE  # handled with the bot token: no such task
