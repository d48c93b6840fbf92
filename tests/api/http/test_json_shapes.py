"""Bad JSON shapes (too deep, lone surrogates, non-finite numbers) are a 400, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.domain.errors import AnswerError
from api.domain.fields import FormField, check_answer
from api.domain.validation import MAX_JSON_DEPTH
from tests.conftest import Account, create
from tests.fixtures import example


async def _post(client: TestClient, account: Account, path: str,
                raw: str) -> tuple[int, dict[str, Any]]:
    response = await client.post(path, data=raw.encode("utf-8", "surrogatepass"), headers={
        **account.headers, "Content-Type": "application/json"})
    return response.status, await response.json()


def _with_payload(payload: str) -> str:
    return json.dumps(example("hpi_approval"))[:-1] + ', "payload": ' + payload + "}"


def _nested(depth: int, kind: str) -> str:
    opening, closing = ('{"a": ', "}") if kind == "object" else ("[", "]")
    return opening * depth + "1" + closing * depth


@pytest.mark.parametrize("depth", [50, 100, 200, 480, 520, 700, 900, 990, 2000, 5000])
@pytest.mark.parametrize("kind", ["object", "array"])
async def test_a_deep_payload_is_400_at_every_depth(client: TestClient, account: Account,
                                                    depth: int, kind: str) -> None:
    payload = '{"deep": ' + _nested(depth, kind) + "}"
    status, body = await _post(client, account, "/api/v1/tasks", _with_payload(payload))
    assert status == 400, body
    assert {d["loc"] for d in body["details"]} <= {"payload", "body"}


async def test_a_payload_within_the_depth_is_stored(client: TestClient,
                                                    account: Account) -> None:
    status, body = await _post(client, account, "/api/v1/tasks",
                               _with_payload('{"deep": ' + _nested(30, "array") + "}"))
    assert status == 201, body


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 700])
async def test_deep_answers_are_400(client: TestClient, account: Account, depth: int) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    status, body = await _post(client, account, f"/api/v1/tasks/{task_id}/complete",
                               '{"data": {"comments": ' + _nested(depth, "array") + "}}")
    assert status == 400, body
    assert body["details"][0]["loc"] in ("data", "body")


@pytest.mark.parametrize(("payload", "loc"), [
    ('{"note": "\\udfff"}', "payload.note"),
    ('{"note": ["ok", "x\\ud800y"]}', "payload.note.1"),
    ('{"\\udfff": 1}', "payload.\\udfff"),
    ('{"a": {"\\ud800b": {"c": 1}}}', "payload.a.\\ud800b"),
])
async def test_lone_surrogates_in_a_payload_are_400(client: TestClient, account: Account,
                                                    payload: str, loc: str) -> None:
    status, body = await _post(client, account, "/api/v1/tasks", _with_payload(payload))
    assert status == 400, body
    assert [d["loc"] for d in body["details"]] == [loc]
    assert body["details"][0]["type"] == "unicode_invalid"


async def test_a_surrogate_pair_is_one_character_and_is_kept(client: TestClient,
                                                             account: Account) -> None:
    status, body = await _post(client, account, "/api/v1/tasks",
                               _with_payload('{"\\ud83d\\ude00": "\\ud83d\\ude00"}'))
    assert status == 201, body
    task = await (await client.get(f"/api/v1/tasks/{body['task_id']}",
                                   headers=account.headers)).json()
    assert task["payload"] == {"\U0001f600": "\U0001f600"}


async def test_a_lone_surrogate_in_a_text_answer_is_400(client: TestClient,
                                                        account: Account) -> None:
    task_id = (await create(client, account, example("hpi_approval")))["task_id"]
    path = f"/api/v1/tasks/{task_id}"
    status, body = await _post(client, account, f"{path}/complete",
                               '{"data": {"decision": "Approve", "comments": "\\ud800"}}')
    assert status == 400, body
    assert [d["loc"] for d in body["details"]] == ["data.comments"]
    task = await (await client.get(path, headers=account.headers)).json()
    assert task["status"] == "pending"


def test_a_lone_surrogate_is_refused_by_the_answer_rules_of_every_channel() -> None:
    field = FormField(name="note", label="Note", kind="text")
    with pytest.raises(AnswerError, match="surrogate"):
        check_answer(field, "x\udfff")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
async def test_non_finite_numbers_are_400(client: TestClient, account: Account,
                                          number: str) -> None:
    status, body = await _post(client, account, "/api/v1/tasks",
                               _with_payload('{"n": ' + number + "}"))
    assert status == 400, body
    assert body["details"][0]["loc"] == "body"
