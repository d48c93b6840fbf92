"""One bad input per rule: each is a 400 naming the offending field."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Account, AccountFactory
from tests.fixtures import example

Body = dict[str, Any]


def field(**overrides: Any) -> Body:
    return {"type": "input", "field": {"name": "f", "label": "F", "kind": "text", **overrides}}


def with_blocks(*blocks: Body) -> Body:
    return {"title": "T", "steps": [{"id": "s", "title": "S", "blocks": list(blocks)}]}


def patched(change: Callable[[Body], None]) -> Body:
    body = copy.deepcopy(example("hpi_approval"))
    change(body)
    return body


CASES: list[tuple[str, Body, str]] = [
    ("empty title", patched(lambda b: b.update(title="")), "title"),
    ("long title", patched(lambda b: b.update(title="x" * 201)), "title"),
    ("missing steps", {"title": "T"}, "steps"),
    ("no steps", patched(lambda b: b.update(steps=[])), "steps"),
    ("step without blocks", patched(lambda b: b["steps"][0].update(blocks=[])),
     "steps.0.blocks"),
    ("step without title", patched(lambda b: b["steps"][0].pop("title")), "steps.0.title"),
    ("duplicate step id", patched(lambda b: b["steps"].append(
        {"id": "approval", "title": "Again", "blocks": [field(name="other")]})), "steps.1.id"),
    ("step id not a string", patched(lambda b: b["steps"][0].update(id=["x"])), "steps.0.id"),
    ("step id format", patched(lambda b: b["steps"][0].update(id="a b")), "steps.0.id"),
    ("duplicate step id after a non-object step", {"title": "T", "steps": [
        5, {"id": "a", "title": "A", "blocks": [field(name="x")]},
        {"id": "a", "title": "B", "blocks": [field(name="y")]}]}, "steps.2.id"),
    ("field name not a string", with_blocks(field(name={"a": 1})),
     "steps.0.blocks.0.field.name"),
    ("min on text", with_blocks(field(min=1)), "steps.0.blocks.0.field.min"),
    ("max_rating on select", with_blocks(field(kind="select", options=["a"], max_rating=3)),
     "steps.0.blocks.0.field.max_rating"),
    ("option over 500 characters", with_blocks(field(kind="select", options=["x" * 501])),
     "steps.0.blocks.0.field.options"),
    ("both assignee fields", patched(lambda b: b.update(assignee_member_id="me",
                                                        assignee_email="a@example.com")),
     "assignee_email"),
    ("unknown block type", with_blocks({"type": "video"}), "steps.0.blocks.0"),
    ("callout severity", with_blocks({"type": "callout", "severity": "loud", "content": "x"}),
     "steps.0.blocks.0.severity"),
    ("markdown block over 20 000", with_blocks({"type": "mdsvex", "content": "x" * 20_001}),
     "steps.0.blocks.0.content"),
    ("markdown over 200 000 in all (the reported 1 MB attack)", with_blocks(
        *[{"type": "mdsvex", "content": "![" * 10_000} for _ in range(50)]),
     "steps.0.blocks.10.content"),
    ("instructions over the total", patched(lambda b: b.update(
        instructions_mdsvex="x" * 20_000, steps=[{**b["steps"][0], "blocks": [
            *b["steps"][0]["blocks"], *[{"type": "mdsvex", "content": "x" * 20_000}] * 9]}])),
     "steps.0.blocks.11.content"),
    ("bad field name", with_blocks(field(name="Bad Name")), "steps.0.blocks.0.field.name"),
    ("duplicate field name", with_blocks(field(name="a"), field(name="a")),
     "steps.0.blocks.1.field.name"),
    ("unknown kind", with_blocks(field(kind="color")), "steps.0.blocks.0.field.kind"),
    ("select without options", with_blocks(field(kind="select")),
     "steps.0.blocks.0.field.options"),
    ("duplicate options", with_blocks(field(kind="radio", options=["a", "a"])),
     "steps.0.blocks.0.field.options"),
    ("empty option", with_blocks(field(kind="select", options=["a", " "])),
     "steps.0.blocks.0.field.options"),
    ("101 options", with_blocks(field(kind="select", options=[str(i) for i in range(101)])),
     "steps.0.blocks.0.field.options"),
    ("options on text", with_blocks(field(options=["a"])), "steps.0.blocks.0.field.options"),
    ("range min >= max", with_blocks(field(kind="range", min=5, max=5)),
     "steps.0.blocks.0.field.max"),
    ("range step 0", with_blocks(field(kind="range", min=0, max=5, step=0)),
     "steps.0.blocks.0.field.step"),
    ("rating 11", with_blocks(field(kind="rating", max_rating=11)),
     "steps.0.blocks.0.field.max_rating"),
    ("rating 0", with_blocks(field(kind="rating", max_rating=0)),
     "steps.0.blocks.0.field.max_rating"),
    ("task_id not a uuid", patched(lambda b: b.update(task_id="abc")), "task_id"),
    ("expires_in too short", patched(lambda b: b.update(expires_in=59)), "expires_in"),
    ("expires_in too long", patched(lambda b: b.update(expires_in=2_592_001)), "expires_in"),
    ("bad assignee email", patched(lambda b: b.update(assignee_email="nope")),
     "assignee_email"),
    ("unknown member", patched(lambda b: b.update(assignee_member_id="mem_missing")),
     "assignee_member_id"),
    ("payload not object", patched(lambda b: b.update(payload=[1])), "payload"),
    ("priority", patched(lambda b: b.update(priority="asap")), "priority"),
    ("due_at without zone", patched(lambda b: b.update(due_at="2026-01-01T10:00:00")),
     "due_at"),
    ("unknown sink", patched(lambda b: b.update(sinks=[{"type": "sms"}])), "sinks.0"),
    ("webhook url", patched(lambda b: b.update(sinks=[{"type": "webhook", "url": "ftp://x"}])),
     "sinks.0.url"),
    ("webhook secret too short", patched(lambda b: b.update(sinks=[
        {"type": "webhook", "url": "https://example.com/h", "secret": "short"}])),
     "sinks.0.secret"),
    ("webhook secret not base64", patched(lambda b: b.update(sinks=[
        {"type": "webhook", "url": "https://example.com/h", "secret": "whsec_" + "-" * 32}])),
     "sinks.0.secret"),
    ("whsec_ secret too short", patched(lambda b: b.update(sinks=[
        {"type": "webhook", "url": "https://example.com/h", "secret": "whsec_" + "A" * 22}])),
     "sinks.0.secret"),
    ("sink event", patched(lambda b: b.update(
        sinks=[{"type": "nats", "subject": "a.b", "events": ["done"]}])), "sinks.0.events.0"),
    ("nats subject", patched(lambda b: b.update(sinks=[{"type": "nats", "subject": "a b"}])),
     "sinks.0.subject"),
    ("email sink to", patched(lambda b: b.update(sinks=[{"type": "email", "to": "x"}])),
     "sinks.0.to"),
]


@pytest.mark.parametrize(("case", "body", "loc"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_400_with_loc(client: TestClient, account: Account, case: str,
                                         body: Body, loc: str) -> None:
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    payload = await response.json()
    assert response.status == 400, payload
    assert payload["error"] == "invalid_request"
    assert loc in [d["loc"] for d in payload["details"]], payload["details"]
    assert all({"loc", "msg", "type"} <= set(d) for d in payload["details"])


async def test_every_violation_is_listed_at_once(client: TestClient, account: Account) -> None:
    body = with_blocks(field(name="a", kind="select"), field(name="a", kind="rating",
                                                            max_rating=99))
    body["title"] = ""
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    locs = {d["loc"] for d in (await response.json())["details"]}
    assert {"title", "steps.0.blocks.0.field.options", "steps.0.blocks.1.field.max_rating",
            "steps.0.blocks.1.field.name"} <= locs


async def test_unknown_fields_from_integrations_are_ignored(client: TestClient,
                                                            account: Account) -> None:
    body = {**example("hpi_approval"), "n8n_execution_id": "42"}
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status == 201


@pytest.mark.parametrize(("content_type", "raw"), [
    ("application/json", b"{not json"),
    ("text/plain", b'{"title": "x"}'),
    ("application/json", b"\xff\xfe"),
])
async def test_malformed_body_is_400(client: TestClient, account: Account, content_type: str,
                                     raw: bytes) -> None:
    response = await client.post("/api/v1/tasks", data=raw,
                                 headers={**account.headers, "Content-Type": content_type})
    payload = await response.json()
    assert response.status == 400 and payload["details"][0]["loc"] == "body"


async def test_body_over_one_mebibyte_is_413(client: TestClient, account: Account) -> None:
    body = {**example("hpi_approval"), "payload": {"blob": "x" * (1024 * 1024)}}
    response = await client.post("/api/v1/tasks", data=io.BytesIO(json.dumps(body).encode()),
                                 headers={**account.headers, "Content-Type": "application/json"})
    assert response.status == 413
    assert (await response.json())["error"] == "payload_too_large"


COMPLETE_CASES: list[tuple[str, str, Body, str]] = [
    ("required missing", "hpi_approval", {"comments": "hi"}, "data.decision"),
    ("not an option", "hpi_approval", {"decision": "Maybe"}, "data.decision"),
    ("unknown field", "hpi_approval", {"decision": "Approve", "extra": 1}, "data.extra"),
    ("text not string", "hpi_approval", {"decision": "Approve", "comments": 5},
     "data.comments"),
    ("range above max", "hpi_feedback", {"ease_of_use": 11}, "data.ease_of_use"),
    ("range off step", "hpi_feedback", {"ease_of_use": 2.5}, "data.ease_of_use"),
    ("range not number", "hpi_feedback", {"ease_of_use": "lots"}, "data.ease_of_use"),
    ("rating zero", "hpi_feedback", {"overall_rating": 0}, "data.overall_rating"),
    ("rating above max", "hpi_feedback", {"overall_rating": 6}, "data.overall_rating"),
    ("rating fraction", "hpi_feedback", {"overall_rating": 3.5}, "data.overall_rating"),
    ("bad datetime", "hpi_feedback", {"start_date": "yesterday"}, "data.start_date"),
    ("radio not option", "hpi_feedback", {"role": "CEO"}, "data.role"),
    ("checkbox not bool", "hpi_onboarding", {"approved": "yes"}, "data.approved"),
    ("file not a reference", "hpi_onboarding", {"contract": "contract.pdf"}, "data.contract"),
]


@pytest.mark.parametrize(("case", "name", "data", "loc"), COMPLETE_CASES,
                         ids=[c[0] for c in COMPLETE_CASES])
async def test_bad_answers_are_400_with_loc_and_change_nothing(
        client: TestClient, account: Account, case: str, name: str, data: Body,
        loc: str) -> None:
    created = await client.post("/api/v1/tasks", json=example(name), headers=account.headers)
    task_id = (await created.json())["task_id"]
    response = await client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data},
                                 headers=account.headers)
    payload = await response.json()
    assert response.status == 400, payload
    assert loc in [d["loc"] for d in payload["details"]]
    task = await (await client.get(f"/api/v1/tasks/{task_id}", headers=account.headers)).json()
    assert task["status"] == "pending" and task["data"] == {} and task["version"] == 1


async def test_date_without_time_rejects_garbage_and_normalises(client: TestClient,
                                                                account: Account) -> None:
    body = with_blocks(field(name="day", kind="date", required=True))
    task_id = (await (await client.post("/api/v1/tasks", json=body,
                                        headers=account.headers)).json())["task_id"]
    bad = await client.post(f"/api/v1/tasks/{task_id}/complete",
                            json={"data": {"day": "2026-13-01"}}, headers=account.headers)
    assert bad.status == 400
    good = await client.post(f"/api/v1/tasks/{task_id}/complete",
                             json={"data": {"day": "2026-02-24"}}, headers=account.headers)
    assert (await good.json())["data"] == {"day": "2026-02-24"}


async def test_another_orgs_member_cannot_be_the_assignee(
        client: TestClient, account: Account, make_account: AccountFactory) -> None:
    stranger = make_account()
    body = {**example("hpi_approval"), "assignee_member_id": stranger.member.id}
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status == 400
    assert [d["loc"] for d in (await response.json())["details"]] == ["assignee_member_id"]
