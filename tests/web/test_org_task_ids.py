"""Task ids belong to their org: two orgs hold the same task_id as two tasks, and each
sees, answers and is told about only its own (API, files, deliveries, links, codes)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.runtime import Services
from api.web.session import TASK_COOKIE
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.images import png
from tests.servers import SmtpServer
from tests.web.conftest import emailed_code
from tests.web.helpers import csrf_from, dashboard_sign_in, post_form
from tests.workers.receiver import Receiver

TASK_ID = "3f2b8a1c-5d4e-4f60-8a7b-9c0d1e2f3a4b"


def body(title: str, **extra: Any) -> dict[str, Any]:
    return {**example("hpi_onboarding"), "title": title, "task_id": TASK_ID, **extra}


async def upload(client: TestClient, account: Account, field: str, data: bytes,
                 content_type: str = "application/pdf") -> dict[str, Any]:
    response = await client.post(f"/api/v1/tasks/{TASK_ID}/files/{field}?filename=f",
                                 data=data, headers={**account.headers,
                                                     "Content-Type": content_type})
    assert response.status == 201
    ref: dict[str, Any] = await response.json()
    return ref


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


async def get(client: TestClient, account: Account, path: str) -> tuple[int, Any]:
    response = await client.get(f"/api/v1/tasks{path}", headers=account.headers)
    return response.status, await response.json()


async def test_two_orgs_create_read_list_and_replay_the_same_task_id(
        client: TestClient, account: Account, make_account: AccountFactory) -> None:
    other = make_account()
    mine = await create(client, account, body("Ours"))
    theirs = await create(client, other, body("Theirs"))  # was 409 "already in use"
    assert mine["task_id"] == theirs["task_id"] == TASK_ID
    assert mine["link_id"] != theirs["link_id"]
    for who, title in ((account, "Ours"), (other, "Theirs")):
        assert (await get(client, who, f"/{TASK_ID}"))[1]["title"] == title
        listed = (await get(client, who, ""))[1]["tasks"]
        assert [(t["task_id"], t["title"]) for t in listed] == [(TASK_ID, title)]
    replayed = await client.post("/api/v1/tasks", json=body("Theirs"), headers=other.headers)
    assert replayed.status == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert await replayed.json() == theirs
    changed = await client.post("/api/v1/tasks", json=body("Changed"), headers=other.headers)
    assert changed.status == 409  # within one org the id is still taken


async def test_complete_wait_and_cancel_reach_only_the_callers_task(
        client: TestClient, account: Account, make_account: AccountFactory) -> None:
    other = make_account()
    for who in (account, other):
        await create(client, who, {**example("hpi_approval"), "task_id": TASK_ID})
    done = await client.post(f"/api/v1/tasks/{TASK_ID}/complete", headers=account.headers,
                             json={"data": {"decision": "Approve"}})
    assert done.status == 200, await done.text()
    assert (await get(client, account, f"/{TASK_ID}/wait?timeout=1"))[1]["status"] == \
        "completed"
    assert (await get(client, other, f"/{TASK_ID}/wait?timeout=1"))[1]["status"] == "pending"
    cancelled = await client.post(f"/api/v1/tasks/{TASK_ID}/cancel", json={"reason": "no"},
                                  headers=other.headers)
    assert cancelled.status == 200
    assert (await get(client, account, f"/{TASK_ID}"))[1]["status"] == "completed"
    assert (await get(client, other, f"/{TASK_ID}"))[1]["status"] == "cancelled"


async def test_files_deliveries_links_and_dashboards_stay_with_their_org(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, receiver: Receiver, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    other = make_account(admin=True)
    created = {}
    for who, title in ((account, "Ours"), (other, "Theirs")):
        hook = {"type": "webhook", "url": f"{receiver.url}?org={who.org_id}"}
        created[who.org_id] = await create(client, who, body(title, sinks=[hook]))
        data = {"full_name": title, "department": "HR", "approved": True,
                "contract": await upload(client, who, "contract", f"%PDF {title}".encode()),
                "signature": await upload(client, who, "signature", png(), "image/png")}
        done = await client.post(f"/api/v1/tasks/{TASK_ID}/complete", json={"data": data},
                                 headers=who.headers)
        assert done.status == 200, await done.text()

    run_jobs(("webhook",))
    events = {json.loads(r.body)["task"]["data"]["full_name"]: json.loads(r.body)
              for r in receiver.received}
    assert set(events) == {"Ours", "Theirs"}
    assert events["Ours"]["id"] != events["Theirs"]["id"]  # receivers dedupe on it
    for who, title in ((account, "Ours"), (other, "Theirs")):
        file = await client.get(f"/api/v1/tasks/{TASK_ID}/files/contract",
                                headers=who.headers)
        assert await file.read() == f"%PDF {title}".encode()
        [delivery] = (await get(client, who, f"/{TASK_ID}/deliveries"))[1]["deliveries"]
        assert delivery["status"] == "delivered" and delivery["task_id"] == TASK_ID
        assert delivery["event_id"] == events[title]["id"]
        link = await client.get(f"/t/{created[who.org_id]['link_id']}")
        assert link.status == 410  # answered: the link shows its own task's state

    await dashboard_sign_in(client, other, smtp_server, run_jobs)
    page = await client.get(f"/dashboard/tasks/{TASK_ID}")
    assert page.status == 200 and "Theirs" in await page.text()


async def test_an_email_code_opens_only_its_own_orgs_task(
        client: TestClient, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    external = {"assignee_email": "ext@partner.example"}
    mine = await create(client, account, body("Ours", **external))
    theirs = await create(client, make_account(), body("Theirs", **external))
    verify = f"/t/{mine['link_id']}/verify"
    token = await csrf_from(client, verify)
    assert (await post_form(client, f"{verify}/send", {"csrf_token": token})).status == 303
    ok = await post_form(client, verify, {"csrf_token": token,
                                          "code": emailed_code(smtp_server, run_jobs, 1)})
    assert ok.status == 303
    session = ok.cookies[TASK_COOKIE].value
    assert (await client.get(f"/t/{mine['link_id']}")).status == 200
    # The same session presented for the other org's task with the same task_id:
    stranger = await client.get(f"/t/{theirs['link_id']}", allow_redirects=False,
                                headers={"Cookie": f"{TASK_COOKIE}={session}"})
    assert stranger.status == 303
    assert stranger.headers["Location"] == f"/t/{theirs['link_id']}/verify"


def test_task_ids_are_per_org_in_storage(services: Services, account: Account,
                                         make_account: AccountFactory) -> None:
    other = make_account()
    assert account.ref(TASK_ID) != other.ref(TASK_ID)
    assert uuid.UUID(account.ref(TASK_ID)).version == 5
