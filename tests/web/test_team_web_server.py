"""Teams of approvers on the web without a browser: the form's rules (assignees only, once
each, own drafts, claim and release), the code page of a team, and the dashboard's task
page (progress, history, children, reassign)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from api.runtime import Services
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.helpers import csrf_from, post_form

APPROVAL = {"required": 2, "decision_field": "decision", "reject_options": ["Reject"]}


def team_body(assignees: list[Any], **approval: Any) -> dict[str, Any]:
    return {**example("hpi_approval"), "assignees": assignees,
            "approval": {**APPROVAL, **approval}}


def code_to(smtp_server: SmtpServer, run_jobs: Callable[..., int], address: str) -> str:
    """The newest 6-digit code mailed to `address`."""
    run_jobs(("email",))
    for message in reversed(smtp_server.mailbox.messages):
        found = re.search(r"\b(\d{6})\b", message.get_content())
        if address in str(message["To"]) and found:
            return found.group(1)
    raise AssertionError(f"no code mailed to {address}")


async def verify_as(client: TestClient, link: str, who: int, address: str,
                    smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    token = await csrf_from(client, f"/t/{link}/verify")
    sent = await post_form(client, f"/t/{link}/verify/send", {"csrf_token": token,
                                                              "who": str(who)})
    assert sent.status == 303 and sent.headers["Location"].endswith(f"&who={who}")
    code = code_to(smtp_server, run_jobs, address)
    done = await post_form(client, f"/t/{link}/verify", {"csrf_token": token, "who": str(who),
                                                         "code": code})
    assert done.status == 303 and done.headers["Location"] == f"/t/{link}"


async def sign_in(client: TestClient, account: Account, smtp_server: SmtpServer,
                  run_jobs: Callable[..., int]) -> None:
    """Dashboard sign-in by the code mailed to the member (team tasks mail links too)."""
    token = await csrf_from(client, "/dashboard/login")
    await post_form(client, "/dashboard/login", {"csrf_token": token,
                                                 "email": account.member.email})
    code = code_to(smtp_server, run_jobs, account.member.email)
    done = await post_form(client, "/dashboard/login/code", {"csrf_token": token,
                                                             "code": code})
    assert done.status == 303 and done.headers["Location"] == "/dashboard"


async def submit(client: TestClient, link: str, **answers: str) -> Any:
    token = await csrf_from(client, f"/t/{link}")
    return await post_form(client, f"/t/{link}", {"csrf_token": token, "nav": "submit",
                                                 **answers})


async def test_external_approvers_each_answer_once_with_their_own_draft(
        client: TestClient, client_from: Callable[[str], TestClient], account: Account,
        services: Services, smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    ada, bo = "ada@outside.example", "bo@outside.example"
    task = await create(client, account, team_body([{"email": ada, "name": "Ada"},
                                                    {"email": bo, "name": "Bo"}]))
    link = task["link_id"]
    first = client_from("198.51.100.1")
    page = await (await first.get(f"/t/{link}/verify")).text()
    assert "Who are you?" in page and "Ada · a**@outside.example" in page
    await verify_as(first, link, 0, ada, smtp_server, run_jobs)
    form = await (await first.get(f"/t/{link}")).text()
    assert "0 of 2 approvals" in form and form.count("⏳") == 2
    done = await submit(first, link, decision="Approve", comments="only Ada's words")
    assert done.status == 200 and "ends once enough people have responded" in await done.text()
    again = await first.get(f"/t/{link}")
    assert again.status == 409 and "You have responded" in await again.text()

    second = client_from("203.0.113.9")
    await verify_as(second, link, 1, bo, smtp_server, run_jobs)
    form = await (await second.get(f"/t/{link}")).text()
    assert "1 of 2 approvals" in form and "only Ada's words" not in form  # own draft
    assert re.search(r"✅</span> <strong>Ada</strong> <span class=\"hint\">approved", form)
    await submit(second, link, decision="Approve")
    stored = services.store.load(account.ref(task["task_id"]))
    assert stored.status == "completed" and stored.outcome == "approved"
    assert [r.by.id for r in stored.responses] == [ada, bo]


async def test_only_assignees_answer_and_a_claim_holds_the_others_off(
        client: TestClient, client_from: Callable[[str], TestClient], account: Account,
        make_account: AccountFactory, services: Services, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    ann, ben = (make_account(org_id=account.org_id) for _ in range(2))
    outsider = make_account(org_id=account.org_id)  # a member, not an assignee, no admin
    task = await create(client, account, team_body(
        [{"member_id": ann.member.id}, {"member_id": ben.member.id}], required=1))
    link = task["link_id"]
    browsers = {}
    for count, person in enumerate((ann, ben, outsider), start=1):
        browsers[person.member.id] = client_from(f"198.51.100.{count}")
        await sign_in(browsers[person.member.id], person, smtp_server, run_jobs)
    refused = await browsers[outsider.member.id].get(f"/t/{link}")
    assert refused.status == 403 and "Not yours to answer" in await refused.text()

    ann_browser, ben_browser = browsers[ann.member.id], browsers[ben.member.id]
    form = await (await ann_browser.get(f"/t/{link}")).text()
    assert 'id="claim"' in form
    token = await csrf_from(ann_browser, f"/t/{link}")
    claimed = await post_form(ann_browser, f"/t/{link}/claim", {"csrf_token": token})
    assert claimed.status == 303
    stored = services.store.load(account.ref(task["task_id"]))
    assert stored.status == "in_progress" and stored.claimed_by
    assert stored.claimed_by.id == ann.member.id
    held = await ben_browser.get(f"/t/{link}")
    assert held.status == 409 and f"Claimed by {ann.member.name}" in await held.text()
    assert 'id="release"' in await (await ann_browser.get(f"/t/{link}")).text()
    released = await post_form(ann_browser, f"/t/{link}/release", {"csrf_token": token})
    assert released.status == 303
    assert services.store.load(account.ref(task["task_id"])).status == "pending"
    done = await submit(ben_browser, link, decision="Reject")
    assert done.status == 200
    assert services.store.load(account.ref(task["task_id"])).outcome == "rejected"


async def test_the_task_page_shows_progress_history_children_and_reassigns(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    cy, dee = (make_account(org_id=account.org_id) for _ in range(2))
    parent = await create(client, account, team_body(
        [{"member_id": cy.member.id}, {"email": "eve@outside.example", "name": "Eve"}]))
    child = await create(client, account, {**example("hpi_approval"),
                                           "parent_task_id": parent["task_id"]})
    await client.post(f"/api/v1/tasks/{parent['task_id']}/complete", headers=cy.headers,
                      json={"data": {"decision": "Approve"}})
    await sign_in(client, account, smtp_server, run_jobs)
    path = f"/dashboard/tasks/{parent['task_id']}"
    page = await (await client.get(path)).text()
    assert "1 of 2 approvals" in page
    assert re.search(rf"✅</span> <strong>{cy.member.name}</strong>", page)
    assert re.search(r"⏳</span> <strong>Eve</strong>", page)
    assert f"{cy.member.name} approved via api" in page
    assert f'href="/dashboard/tasks/{child["task_id"]}"' in page

    token = await csrf_from(client, path)
    moved = await post_form(client, f"{path}/reassign", {
        "csrf_token": token, "from": "1", "to_member": dee.member.id, "reason": "Eve is away"})
    assert moved.status == 303
    stored = services.store.load(account.ref(parent["task_id"]))
    assert [a.member_id for a in stored.assignees] == [cy.member.id, dee.member.id]
    page = await (await client.get(path)).text()
    assert f"Eve reassigned to {dee.member.name} by {account.member.name}: Eve is away" in page
    bad = await post_form(client, f"{path}/reassign", {"csrf_token": token, "from": "7",
                                                       "to_member": dee.member.id})
    assert bad.status == 400


async def test_reassign_is_for_admins(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    cy, dee = (make_account(org_id=account.org_id) for _ in range(2))
    task = await create(client, account, team_body([{"member_id": cy.member.id},
                                                    {"member_id": dee.member.id}]))
    await sign_in(client, cy, smtp_server, run_jobs)
    path = f"/dashboard/tasks/{task['task_id']}"
    page = await (await client.get(path)).text()
    assert 'id="reassign"' not in page
    token = await csrf_from(client, path)
    refused = await post_form(client, f"{path}/reassign", {
        "csrf_token": token, "from": "0", "to_member": account.member.id})
    assert refused.status == 403
    stored = services.store.load(account.ref(task["task_id"]))
    assert [a.member_id for a in stored.assignees] == [cy.member.id, dee.member.id]


async def test_a_file_in_a_draft_is_its_uploaders_alone(
        client: TestClient, client_from: Callable[[str], TestClient], account: Account,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    ada, bo = "ada@outside.example", "bo@outside.example"
    task = await create(client, account, {**example("hpi_onboarding"),
                                          "assignees": [{"email": ada}, {"email": bo}]})
    link = task["link_id"]
    first, second = client_from("198.51.100.1"), client_from("203.0.113.9")
    await verify_as(first, link, 0, ada, smtp_server, run_jobs)
    token = await csrf_from(first, f"/t/{link}")
    step = await post_form(first, f"/t/{link}?step=1", {"csrf_token": token, "nav": "next",
                                                        "full_name": "Ada"})
    assert step.status == 303
    step = await post_form(first, f"/t/{link}?step=2", {"csrf_token": token, "nav": "next"},
                           files={"contract": ("contract.txt", b"Ada's contract",
                                               "text/plain")})
    assert step.status == 303
    mine = await first.get(f"/t/{link}/files/contract")
    assert mine.status == 200 and await mine.read() == b"Ada's contract"
    await verify_as(second, link, 1, bo, smtp_server, run_jobs)
    assert (await second.get(f"/t/{link}/files/contract")).status == 404
