"""What validation accepts, every page can show; past the bounds, a 400 naming the field.

Through the real app: the API refuses values no surface could show; the web form, the
dashboard task page, its PDF and the email sink show the accepted extremes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pypdf import PdfReader

from api.runtime import Services
from tests.conftest import Account, create
from tests.renderers.bounds import EXTREMES, INPUT_VALUES, SHOWN, body
from tests.renderers.html_tree import find, read
from tests.servers import SmtpServer
from tests.web.helpers import dashboard_sign_in

FIELD = "steps.0.blocks.0.field"
HUGE = "1" + "0" * 400  # a 400-digit integer, as JSON carries it


def range_task(**bounds: Any) -> dict[str, Any]:
    field = {"name": "r", "label": "R", "kind": "range", **bounds}
    return {"title": "Range", "steps": [{"id": "s", "title": "S", "blocks": [
        {"type": "input", "field": field}]}]}


@pytest.mark.parametrize(("task", "loc"), [
    (range_task(min=0, max=1e308, step=1e-10), f"{FIELD}.max {FIELD}.step"),
    (range_task(min=0, max=100, step=1e-320), f"{FIELD}.step"),
    (range_task(min=-1.5e15, max=0), f"{FIELD}.min"),
    (range_task(min=0, max=1e10, step=1), f"{FIELD}.step"),  # 1e10 steps
    ({**body("latest"), "due_at": "9999-12-31T23:59:00-01:00"}, "due_at"),
    ({**body("latest"), "due_at": "9998-12-31T23:59:00-01:00"}, "due_at"),  # 9999 in UTC
    ({**body("earliest"), "due_at": "0999-12-31T23:00:00Z"}, "due_at"),
])
async def test_fields_no_surface_could_show_are_400(client: TestClient, account: Account,
                                                    task: dict[str, Any], loc: str) -> None:
    refused = await create(client, account, task, status=400)
    assert [d["loc"] for d in refused["details"]] == loc.split()


@pytest.mark.parametrize(("name", "raw"), [
    ("moment", '"0001-01-01T00:00:00+01:00"'), ("moment", '"9999-12-31T23:59:00-01:00"'),
    ("moment", '"1000-01-01T00:00:00+00:01"'), ("local", '"0999-12-31T23:59:00"'),
    ("day", '"0999-12-31"'), ("day", '"9999-01-01"'),
    ("wide", "1e308"), ("wide", HUGE), ("wide", f'"{HUGE}"'), ("stars", "1e308"),
    ("stars", HUGE), ("fine", "1e-10"),
])
async def test_answers_no_surface_could_show_are_400(client: TestClient, account: Account,
                                                     name: str, raw: str) -> None:
    task_id = (await create(client, account, body("latest")))["task_id"]
    response = await client.post(
        f"/api/v1/tasks/{task_id}/complete", data=f'{{"data": {{"{name}": {raw}}}}}',
        headers={**account.headers, "Content-Type": "application/json"})
    refused = await response.json()
    assert response.status == 400, refused
    assert [d["loc"] for d in refused["details"]] == [f"data.{name}"]


@pytest.mark.parametrize("end", list(EXTREMES))
async def test_the_web_form_shows_a_draft_at_the_extremes(
        client: TestClient, account: Account, services: Services, end: str) -> None:
    created = await create(client, account, body(end))
    services.drafts.save(account.ref(created["task_id"]), EXTREMES[end])
    response = await client.get(f"/t/{created['link_id']}")
    assert response.status == 200
    elements = read(await response.text())
    for name, value in INPUT_VALUES[end].items():
        assert find(elements, "input", name=name)[0].attrs["value"] == value


@pytest.mark.parametrize("end", list(EXTREMES))
async def test_dashboard_pdf_and_email_show_the_extremes(
        client: TestClient, account: Account, services: Services, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], end: str) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    sink = {"type": "email", "to": "ops@example.com"}
    task_id = (await create(client, account, body(end, sinks=[sink])))["task_id"]
    completed = await client.post(f"/api/v1/tasks/{task_id}/complete",
                                  headers=account.headers, json={"data": EXTREMES[end]})
    assert completed.status == 200, await completed.text()

    page = await client.get(f"/dashboard/tasks/{task_id}")
    assert page.status == 200
    pdf = await client.get(f"/dashboard/tasks/{task_id}/pdf")
    assert pdf.status == 200
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.read())).pages)
    run_jobs(("email",))
    mail = smtp_server.mailbox.wait_for(2)[1]
    mail_text = mail.get_body(("plain",)).get_content()
    page_text = " ".join(e.text for e in read(await page.text()) if e.tag == "td")
    for expected in SHOWN[end]:
        assert expected in page_text and expected in pdf_text, expected
        assert expected in mail_text, expected
    listed = await client.get("/dashboard/api/tasks?tab=completed")
    assert listed.status == 200
    assert [t["task_id"] for t in (await listed.json())["tasks"]] == [task_id]
