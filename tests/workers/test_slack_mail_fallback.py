"""A team's member whom Slack cannot find gets the task's link by email instead (SMTP set);
an HPI task's assignee keeps today's behaviour (a visible problem, no mail)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.runtime import Services
from api.settings import Settings
from tests.conftest import Account
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.slack import ASSIGNEE, Poster, quick_task
from tests.slack_stub import SlackStub


@pytest.fixture
def settings(slack_settings: Settings, smtp_server: SmtpServer) -> Settings:
    slack_settings.smtp_url = smtp_server.url
    return slack_settings


async def test_a_member_slack_does_not_know_gets_the_link_by_email(
        post_task: Poster, slack_stub: SlackStub, services: Services, account: Account,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    ref = await post_task(quick_task(), assignees=["me", {"email": ASSIGNEE[1]}],
                          approval={"required": 2})
    task = services.store.load(ref)
    assert [p.code for p in task.delivery_problems] == ["slack_user_not_found"]
    assert [c.args["channel"] for c in slack_stub.of("chat.postMessage")] == ["D" + ASSIGNEE[0]]
    run_jobs(("email",))
    mail = smtp_server.mailbox.wait_for(2)  # ada is external to the org: mailed at creation
    assert sorted(m["To"] for m in mail) == sorted([ASSIGNEE[1], account.member.email])
    mine = next(m for m in mail if m["To"] == account.member.email)
    assert task.url in mine.get_content()


async def test_an_hpi_assignee_slack_does_not_know_gets_no_mail(
        post_task: Poster, services: Services, smtp_server: SmtpServer,
        run_jobs: Callable[[tuple[str, ...]], int]) -> None:
    ref = await post_task(example("hpi_approval"), assignee_member_id="me")
    assert [p.code for p in services.store.load(ref).delivery_problems] == \
        ["slack_user_not_found"]
    run_jobs(("email",))
    assert smtp_server.mailbox.messages == []
