"""Dashboard access rules without a browser: sign-in, org boundaries, admin-only actions."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp.test_utils import TestClient

from api.domain.task import ExternalMessage
from api.runtime import Services
from api.store import keys
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.ports import free_port
from tests.servers import SmtpServer
from tests.web.conftest import emailed_code
from tests.web.helpers import csrf_from, dashboard_sign_in, post_form


async def test_pages_need_a_signed_in_member(client: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/tasks/x", "/dashboard/settings/tokens"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/dashboard/login"
    assert (await client.get("/dashboard/api/tasks")).status == 401


async def test_unknown_email_looks_the_same_and_gets_no_mail(
        client: TestClient, services: Services, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    token = await csrf_from(client, "/dashboard/login")
    response = await post_form(client, "/dashboard/login", {"csrf_token": token,
                                                            "email": "nobody@example.com"})
    assert response.status == 303 and response.headers["Location"] == "/dashboard/login/code"
    assert services.jobs["email"].count == 0
    wrong = await post_form(client, "/dashboard/login/code", {"csrf_token": token,
                                                              "code": "123456"})
    assert wrong.status == 400 and "4 tries left" in await wrong.text()


async def test_a_login_error_is_tied_to_the_email_field(client: TestClient) -> None:
    token = await csrf_from(client, "/dashboard/login")
    page = await (await client.get("/dashboard/login")).text()
    assert "aria-invalid" not in page
    response = await post_form(client, "/dashboard/login", {"csrf_token": token,
                                                            "email": "not-an-address"})
    page = await response.text()
    assert response.status == 400 and 'id="login-error"' in page
    email = re.search(r'<input type="email"[^>]*>', page)
    assert email and 'aria-describedby="login-error"' in email.group(0)
    assert 'aria-invalid="true"' in email.group(0)


async def test_members_see_only_their_org(
        client: TestClient, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    other = make_account()
    theirs = await create(client, other, {**example("hpi_approval"), "title": "Theirs"})
    mine = await create(client, account, {**example("hpi_approval"), "title": "Mine"})
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    listed = await (await client.get("/dashboard/api/tasks?tab=pending")).json()
    assert [t["title"] for t in listed["tasks"]] == ["Mine"]
    assert (await client.get(f"/dashboard/tasks/{theirs['task_id']}")).status == 404
    assert (await client.get(f"/dashboard/tasks/{theirs['task_id']}/pdf")).status == 404
    assert (await client.get(f"/dashboard/tasks/{mine['task_id']}")).status == 200
    mine_only = await (await client.get("/dashboard/api/tasks?mine=1")).json()
    assert mine_only["tasks"] == []


async def test_cancel_needs_csrf_and_admin(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    member = make_account(org_id=account.org_id)  # not an admin
    task = await create(client, account, example("hpi_approval"))
    await dashboard_sign_in(client, member, smtp_server, run_jobs)
    path = f"/dashboard/tasks/{task['task_id']}/cancel"
    token = await csrf_from(client, f"/dashboard/tasks/{task['task_id']}")
    assert (await post_form(client, path, {"csrf_token": token})).status == 403
    assert (await client.get("/dashboard/settings/tokens")).status == 403
    tokens = await post_form(client, "/dashboard/settings/tokens",
                             {"csrf_token": token, "scope": "admin"})
    assert tokens.status == 403
    assert services.store.load(account.ref(task["task_id"])).status == "pending"


async def test_admin_cancel_without_csrf_is_refused(
        client: TestClient, account: Account, services: Services,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    task = await create(client, account, example("hpi_approval"))
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    path = f"/dashboard/tasks/{task['task_id']}/cancel"
    assert (await post_form(client, path, {"reason": "x"})).status == 403
    assert services.store.load(account.ref(task["task_id"])).status == "pending"
    token = await csrf_from(client, f"/dashboard/tasks/{task['task_id']}")
    done = await post_form(client, path, {"csrf_token": token, "reason": "dup"})
    assert done.status == 303
    assert services.store.load(account.ref(task["task_id"])).cancel_reason == "dup"


async def test_sign_out_ends_the_session(client: TestClient, account: Account,
                                         smtp_server: SmtpServer,
                                         run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    token = await csrf_from(client, "/dashboard")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["inloop_session"]
    await post_form(client, "/dashboard/logout", {"csrf_token": token})
    client.session.cookie_jar.update_cookies({"inloop_session": cookie.value})
    response = await client.get("/dashboard", allow_redirects=False)
    assert response.status == 303  # the old session id no longer works


async def test_task_page_timeline_shows_slack_answer_and_each_sink_outcome(
        client: TestClient, account: Account, services: Services,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: refused, retried later
    body = {**example("hpi_approval"), "sinks": [{"type": "email", "to": "ops@example.com"},
                                                 {"type": "webhook", "url": closed}]}
    task = await create(client, account, body)
    sent = f"{services.store.load(account.ref(task['task_id'])).created_at.timestamp() + 0.001:.6f}"
    services.store.update(account.ref(task["task_id"]), lambda t: t.external_message_ids.append(
        ExternalMessage(channel="D123", ts=sent)))
    await client.post(f"/api/v1/tasks/{task['task_id']}/complete", headers=account.headers,
                      json={"data": {"decision": "Approve"}})
    run_jobs(("email", "webhook"))  # the webhook attempt fails and is scheduled again
    await dashboard_sign_in(client, account, smtp_server, run_jobs, count=2)
    page = await (await client.get(f"/dashboard/tasks/{task['task_id']}")).text()
    timeline = page[page.index('<ol class="timeline">'):page.index("</ol>")]
    entries = re.findall(r"<li>(.*?)</li>", timeline)
    assert "created by User 0" in entries[0] and "delivered to Slack (D123)" in entries[1]
    assert any("answered by User 0 via api" in e for e in entries)
    assert any("email ops@example.com (completed) delivered after 1 attempt" in e
               for e in entries)
    refused = [e for e in entries if f"webhook {closed} (completed) not delivered yet" in e]
    assert len(refused) == 1 and "retrying" in refused[0]
    moments = [e.split("</time>", 1)[0] for e in entries]
    assert moments == sorted(moments)


async def test_a_created_token_is_shown_once_after_a_redirect(
        client: TestClient, account: Account, services: Services,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    path = "/dashboard/settings/tokens"
    token = await csrf_from(client, path)
    before = len(services.directory.tokens(account.org_id))
    created = await post_form(client, path, {"csrf_token": token, "label": "ci",
                                             "scope": "tasks:read"})
    assert created.status == 303 and created.headers["Location"] == path  # reload-safe
    shown = re.search(r'id="new-token">(htk_\w+)<', await (await client.get(path)).text())
    assert shown and len(services.directory.tokens(account.org_id)) == before + 1
    assert not services.redis.keys(keys.web_session_stash("*", "*"))  # gone once shown
    again = await (await client.get(path)).text()
    assert 'id="new-token"' not in again and shown.group(1) not in again
    for action in (path, f"{path}/revoke"):  # the shared admin + CSRF check
        refused = await post_form(client, action, {"scope": "tasks:read",
                                                   "prefix": shown.group(1)[:12]})
        assert refused.status == 403
    assert len(services.directory.tokens(account.org_id)) == before + 1


async def test_file_downloads_stay_inside_the_org(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    other = make_account()
    refs = {}
    for owner in (account, other):
        task = await create(client, owner, example("hpi_onboarding"))
        uploaded = await client.post(
            f"/api/v1/tasks/{task['task_id']}/files/contract?filename=c.pdf",
            data=b"%PDF-1.4 " + owner.org_id.encode(),
            headers={**owner.headers, "Content-Type": "application/pdf"})
        assert uploaded.status == 201
        services.drafts.save(owner.ref(task["task_id"]), {"contract": await uploaded.json()})
        refs[owner.org_id] = task["task_id"]
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    mine = await client.get(f"/dashboard/tasks/{refs[account.org_id]}/files/contract")
    assert mine.status == 200 and await mine.read() == b"%PDF-1.4 " + account.org_id.encode()
    theirs = await client.get(f"/dashboard/tasks/{refs[other.org_id]}/files/contract")
    assert theirs.status == 404 and other.org_id.encode() not in await theirs.read()


async def test_the_sign_in_code_locks_after_five_wrong_tries(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    token = await csrf_from(client, "/dashboard/login")
    await post_form(client, "/dashboard/login", {"csrf_token": token,
                                                 "email": account.member.email})
    code = emailed_code(smtp_server, run_jobs, 1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        response = await post_form(client, "/dashboard/login/code", {"csrf_token": token,
                                                                     "code": wrong})
        assert response.status == 400 and f"{left} tries left" in await response.text()
    locked = await post_form(client, "/dashboard/login/code", {"csrf_token": token,
                                                               "code": code})
    assert locked.status == 403 and "tried too often" in await locked.text()
    assert "inloop_session" not in client.session.cookie_jar.filter_cookies(
        client.make_url("/"))
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_without_smtp_the_sign_in_page_says_codes_cannot_be_mailed(
        client: TestClient, account: Account, services: Services) -> None:
    """`inloop serve` without INLOOP_SMTP_URL: no "a code is on its way" for a mail that
    the worker can never send (issue 15); the page names the setting and the other way in."""
    services.settings.smtp_url = None
    token = await csrf_from(client, "/dashboard/login")
    response = await post_form(client, "/dashboard/login", {"csrf_token": token,
                                                            "email": account.member.email})
    page = await response.text()
    assert response.status == 503 and "INLOOP_SMTP_URL" in page, page
    assert services.jobs["email"].count == 0
