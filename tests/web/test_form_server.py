"""The web form without a browser: CSRF, 410 pages, upload limits, GET is read-only."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from aiohttp.test_utils import TestClient

from api.domain.task import CompletedBy, Task, TaskError
from api.runtime import Services
from api.store import keys
from api.web.history_view import timeline
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.images import png
from tests.web.helpers import csrf_from, post_form

PDF = b"%PDF-1.4 contract"
PNG = png()
BOUNDARY = "inloop-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


async def onboarding(client: TestClient, account: Account) -> dict[str, Any]:
    return await create(client, account, example("hpi_onboarding"))


def state(services: Services, ref: str) -> tuple[str, int, bytes | None]:
    task = services.store.load(ref)
    return task.status, task.version, services.redis.get(keys.task_draft(ref))


async def test_get_never_changes_state(client: TestClient, account: Account,
                                       services: Services) -> None:
    task = await onboarding(client, account)
    external = await create(client, account, {**example("hpi_approval"),
                                              "assignee_email": "ext@partner.example"})
    paths = [f"/t/{task['link_id']}", f"/t/{task['link_id']}?step=3&nav=submit",
             f"/t/{task['link_id']}/files/contract", f"/t/{external['link_id']}",
             f"/t/{external['link_id']}/verify", f"/t/{external['link_id']}/verify/send",
             "/dashboard", "/dashboard/login", "/dashboard/settings/tokens"]
    for path in paths:
        response = await client.get(path, allow_redirects=True)
        assert response.status in (200, 404, 405), (path, response.status)
    assert state(services, account.ref(task["task_id"])) == ("pending", 1, None)
    assert state(services, account.ref(external["task_id"])) == ("pending", 1, None)
    assert services.jobs["email"].count == 0
    assert not services.redis.keys(keys.otp_code("*", "*"))


async def test_post_without_a_matching_csrf_token_is_refused(
        client: TestClient, account: Account, services: Services) -> None:
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=1"
    token = await csrf_from(client, path)
    answers = {"full_name": "Mallory", "nav": "next"}
    for fields in (answers, {**answers, "csrf_token": "x" * 43},
                   {**answers, "csrf_token": ""}):
        response = await post_form(client, path, fields)
        assert response.status == 403
        assert "Please try again" in await response.text()
    client.session.cookie_jar.clear()  # the right token without its cookie
    response = await post_form(client, path, {**answers, "csrf_token": token})
    assert response.status == 403
    assert state(services, account.ref(task["task_id"])) == ("pending", 1, None)


async def test_steps_validate_server_side_and_keep_a_draft(
        client: TestClient, account: Account, services: Services) -> None:
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}"
    token = await csrf_from(client, path)
    bad = await post_form(client, f"{path}?step=1", {"csrf_token": token, "nav": "next",
                                                     "department": "Nope"})
    page = await bad.text()
    assert bad.status == 400
    assert "this field is required" in page and "must be one of the listed options" in page
    ok = await post_form(client, f"{path}?step=1", {"csrf_token": token, "nav": "next",
                                                    "full_name": "Ada"})
    assert ok.status == 303 and ok.headers["Location"] == f"{path}?step=2"
    assert services.drafts.load(account.ref(task["task_id"])) == {"full_name": "Ada",
                                                          "department": None}
    # e.g. from Slack
    services.drafts.save(account.ref(task["task_id"]), {"department": "Sales"})
    page = await (await client.get(f"{path}?step=1")).text()
    assert 'value="Ada"' in page and '<option value="Sales" selected>' in page


async def test_upload_limit_is_a_form_error(client: TestClient, account: Account,
                                            services: Services) -> None:
    services.settings.max_upload_bytes = 1024
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    response = await post_form(client, path, {"csrf_token": token, "nav": "next"},
                               {"contract": ("big.pdf", b"x" * 2048, "application/pdf")})
    assert response.status == 400
    body = await response.text()
    assert "the file is larger than 1 KiB" in body
    assert not (services.settings.files_dir).exists()
    small = await post_form(client, path, {"csrf_token": token, "nav": "next"},
                            {"contract": ("../../etc/passwd", PDF, "text/html")})
    assert small.status == 303
    ref = services.drafts.load(account.ref(task["task_id"]))["contract"]
    assert "/" not in ref["name"] and not ref["name"].startswith(".")
    assert ref["content_type"] == "text/html"  # served only as an attachment, sandboxed
    stored = services.settings.files_dir / ref["sha256"][:2] / ref["sha256"]
    assert stored.read_bytes() == PDF and ref["sha256"] == hashlib.sha256(PDF).hexdigest()
    download = await client.get(f"/t/{task['link_id']}/files/contract")
    assert download.status == 200 and await download.read() == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


async def test_signature_must_be_a_png(client: TestClient, account: Account,
                                       services: Services) -> None:
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=3"
    token = await csrf_from(client, path)
    gif = "data:image/png;base64,R0lGODlhAQABAAAAACw="
    response = await post_form(client, path, {"csrf_token": token, "nav": "submit",
                                              "signature": gif})
    assert response.status == 400 and "must be a PNG image" in await response.text()
    assert state(services, account.ref(task["task_id"]))[0] == "pending"


async def test_a_signature_over_the_body_limit_is_accepted_as_multipart(
        client: TestClient, account: Account, services: Services) -> None:
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=3"
    token = await csrf_from(client, path)
    signature = png(800, 400, noise=True)  # over 1 MiB, under the upload limit
    assert len(signature) > services.settings.max_body_bytes
    # Text parts only, as a browser sends the signature pad's hidden input.
    fields = {"csrf_token": token, "nav": "next", "signature": data_url(signature)}
    body = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n" for name, value in fields.items()) + f"--{BOUNDARY}--\r\n"
    response = await client.post(path, data=io.BytesIO(body.encode()), allow_redirects=False,
                                 headers={"Content-Type": MULTIPART})
    assert response.status == 303, await response.text()
    ref = services.drafts.load(account.ref(task["task_id"]))["signature"]
    assert ref["sha256"] == hashlib.sha256(signature).hexdigest()
    assert ref["size"] == len(signature)


async def test_finished_tasks_show_a_410_page(client: TestClient, account: Account,
                                              services: Services) -> None:
    done, cancelled, expired = [await onboarding(client, account) for _ in range(3)]
    services.store.cancel(account.ref(cancelled["task_id"]), "no longer needed")
    services.store.fail(account.ref(expired["task_id"]),
                        [TaskError(code="expired", message="late")])
    by = CompletedBy(channel="api", id=account.member.id, name="A")
    services.store.complete(account.ref(done["task_id"]), {"full_name": "A"}, by)
    for task, heading in ((done, "This task is done"), (cancelled, "was cancelled"),
                          (expired, "has expired")):
        for method in ("GET", "POST"):
            response = await client.request(method, f"/t/{task['link_id']}")
            assert response.status == 410 and heading in await response.text()
    missing = await client.get("/t/00000000-0000-0000-0000-000000000000")
    assert missing.status == 404


async def test_pages_send_a_strict_content_security_policy(client: TestClient,
                                                           account: Account) -> None:
    task = await onboarding(client, account)
    response = await client.get(f"/t/{task['link_id']}")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    html = await response.text()
    assert "<script>" not in html and "onclick" not in html


async def test_file_download_needs_a_token_of_the_same_org(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, app: Any) -> None:

    task = await create(client, account, example("hpi_onboarding"))
    refs = {}
    for field, name, kind, data in (("contract", "c.pdf", "application/pdf", PDF),
                                    ("signature", "s.png", "image/png", PNG)):
        uploaded = await client.post(
            f"/api/v1/tasks/{task['task_id']}/files/{field}?filename={name}", data=data,
            headers={**account.headers, "Content-Type": kind})
        refs[field] = await uploaded.json()
    done = await client.post(f"/api/v1/tasks/{task['task_id']}/complete",
                             headers=account.headers,
                             json={"data": {"full_name": "A", **refs}})
    assert done.status == 200
    assert refs["contract"]["sha256"] == services.file_answers.storage.put(PDF)  # stored by content
    path = f"/api/v1/tasks/{task['task_id']}/files/contract"
    assert (await client.get(path)).status == 401
    other = make_account()
    assert (await client.get(path, headers=other.headers)).status == 404
    writer = make_account(scopes=("tasks:create",), org_id=account.org_id)
    assert (await client.get(path, headers=writer.headers)).status == 403
    response = await client.get(path, headers=account.headers)
    assert response.status == 200 and await response.read() == PDF
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"c.pdf\"; filename*=UTF-8''c.pdf")
    assert (await client.get(path[:-8] + "full_name", headers=account.headers)).status == 404


async def test_cookies_are_secure_behind_https(client: TestClient, account: Account,
                                               services: Services) -> None:
    services.settings.base_url = "https://inloop.example"
    task = await onboarding(client, account)
    response = await client.get(f"/t/{task['link_id']}")
    assert "Secure" in response.headers["Set-Cookie"]


async def test_a_body_over_the_total_limit_is_413(client: TestClient, account: Account,
                                                  services: Services) -> None:
    services.settings.max_upload_bytes = 1024
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    extra = {f"junk{i}": ("j.bin", b"j" * 1000, "application/octet-stream")
             for i in range(1200)}  # each part is under the limit, the body is not
    response = await post_form(client, path, {"csrf_token": token, "nav": "next"}, extra)
    assert response.status == 413 and "Too large" in await response.text()
    assert state(services, account.ref(task["task_id"])) == ("pending", 1, None)


async def answer_by_link(client: TestClient, account: Account, services: Services,
                         extra: dict[str, Any]) -> Task:
    task = await create(client, account, {**example("hpi_approval"), **extra})
    path = f"/t/{task['link_id']}"
    token = await csrf_from(client, path)
    done = await post_form(client, path, {"csrf_token": token, "nav": "submit",
                                          "decision": "Approve"})
    assert done.status == 200 and "Thank you" in await done.text()
    return services.store.load(account.ref(task["task_id"]))


async def test_a_link_answer_names_the_assignee_or_anyone_with_the_link(
        client: TestClient, account: Account, services: Services) -> None:
    cases = [({}, "anyone with the link"), ({"assignee_name": "Dana Ops"}, "Dana Ops"),
             ({"assignee_member_id": account.member.id}, account.member.name)]
    for extra, name in cases:
        task = await answer_by_link(client, account, services, extra)
        assert task.completed_by == CompletedBy(channel="web", id="link", name=name)
        history = services.approvals.history(task)
        assert timeline(task, history, "someone", [])[-1][1].endswith(
            f"answered by {name} via web")
