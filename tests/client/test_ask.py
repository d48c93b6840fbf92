"""`ask()` against the real app: the task it creates, the answer it returns, and each way
a task can end without one."""

from __future__ import annotations

import enum
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import pytest
from inloop_client import (
    AskTimeout,
    AsyncClient,
    Client,
    Conflict,
    InvalidAnswer,
    Rating,
    Signature,
    TaskCancelled,
    TaskExpired,
    TaskRejected,
    Textarea,
    UnsupportedForm,
    UploadedFile,
)
from inloop_client.ask import _rejected
from inloop_client.models import WaitResult
from pydantic import BaseModel, Field

from tests.client.conftest import LiveServer, pending_task
from tests.conftest import AccountFactory
from tests.images import png
from tests.ports import free_port


class Region(enum.Enum):
    EU = "eu"
    US = "us"


class Refund(BaseModel):
    decision: Literal["approve", "reject"]
    region: Region
    reason: Literal["damaged", "late", "lost", "wrong", "other", "fraud"]
    notify: bool = False
    refund_on: date
    call_at: datetime | None = None
    amount: float = Field(ge=0, le=500, multiple_of=0.5, title="Amount (EUR)")
    items: int = Field(ge=1, le=10, default=1)
    score: Annotated[int, Rating(5)]
    ticket: str = Field(description="Zendesk ticket id")
    summary: str = Field(max_length=2000)
    note: Annotated[str | None, Textarea()] = None
    receipt: UploadedFile
    signature: Annotated[UploadedFile, Signature()]


KINDS = {"decision": "radio", "region": "radio", "reason": "select", "notify": "checkbox",
         "refund_on": "date", "call_at": "date", "amount": "range", "items": "range",
         "score": "rating", "ticket": "text", "summary": "textarea", "note": "textarea",
         "receipt": "file", "signature": "signature"}


def _fields(live: LiveServer, task_id: str) -> dict[str, dict[str, Any]]:
    task = live.client().get_task(task_id)
    return {b["field"]["name"]: b["field"] for s in task.steps for b in s["blocks"]
            if b["type"] == "input"}


def test_choices_become_one_required_field_and_the_answer_is_the_option(
        live: LiveServer, background: ThreadPoolExecutor) -> None:
    client = live.client()
    asked = background.submit(live.client().ask, "Deploy 4.2 to production?",
                              choices=["Approve", "Reject"], assignee="ops@acme.example",
                              timeout=30)
    task = pending_task(client)
    assert task.title == "Deploy 4.2 to production?"
    assert task.assignee_email == "ops@acme.example"
    field = _fields(live, task.task_id)["answer"]
    assert (field["kind"], field["required"], field["options"]) == (
        "radio", True, ["Approve", "Reject"])
    client.complete(task.task_id, {"answer": "Approve"})
    assert asked.result(timeout=10) == "Approve"


def test_more_than_five_choices_are_a_select(live: LiveServer) -> None:
    client = live.client()
    with pytest.raises(AskTimeout) as timed_out:
        client.ask("Which region?", choices=list("ABCDEF"), timeout=0)
    assert _fields(live, timed_out.value.task_id)["answer"]["kind"] == "select"


def test_a_form_maps_every_type_and_returns_a_validated_instance(
        live: LiveServer, background: ThreadPoolExecutor) -> None:
    client = live.client()
    asked = background.submit(live.client().ask, "Review this refund", form=Refund,
                              payload={"order": 42}, timeout=30)
    task = pending_task(client)
    fields = _fields(live, task.task_id)
    assert {name: f["kind"] for name, f in fields.items()} == KINDS
    assert fields["amount"]["label"] == "Amount (EUR)"
    assert fields["ticket"]["placeholder"] == "Zendesk ticket id"
    assert fields["call_at"]["include_time"] is True
    assert (fields["amount"]["min"], fields["amount"]["max"], fields["amount"]["step"]) == (
        0, 500, 0.5)
    assert fields["score"]["max_rating"] == 5
    assert [n for n, f in fields.items() if f["required"]] == [
        "decision", "region", "reason", "refund_on", "amount", "score", "ticket", "summary",
        "receipt", "signature"]
    receipt = client.upload_file(task.task_id, "receipt", b"receipt", "text/plain", "r.txt")
    signed = client.upload_file(task.task_id, "signature", png(), "image/png")
    client.complete(task.task_id, {
        "decision": "approve", "region": "us", "reason": "fraud", "notify": True,
        "refund_on": "2026-03-01", "call_at": "2026-03-02T10:30:00+00:00", "amount": 12.5,
        "score": 4, "ticket": "ZD-1", "summary": "Box arrived crushed.",
        "receipt": receipt.model_dump(), "signature": signed.model_dump()})
    answer = asked.result(timeout=10)
    assert isinstance(answer, Refund)
    assert (answer.region, answer.reason, answer.notify, answer.items) == (
        Region.US, "fraud", True, 1)
    assert answer.refund_on == date(2026, 3, 1) and answer.call_at is not None
    assert answer.call_at.hour == 10 and answer.amount == 12.5 and answer.note is None
    assert answer.receipt.sha256 == receipt.sha256 and answer.signature.name == signed.name


def test_a_long_question_is_cut_for_the_title_and_given_whole(
        live: LiveServer, background: ThreadPoolExecutor) -> None:
    question = "Why did the nightly build fail? " * 10
    asked = background.submit(live.client().ask, question, timeout=30)
    task = pending_task(live.client())
    assert len(task.title) == 200 and question.startswith(task.title)
    assert (task.model_extra or {})["instructions_mdsvex"] == question
    assert _fields(live, task.task_id)["answer"]["kind"] == "textarea"
    live.client().complete(task.task_id, {"answer": "flaky test"})
    assert asked.result(timeout=10) == "flaky test"


def test_fields_ask_a_rest_form_and_return_the_answers(
        live: LiveServer, background: ThreadPoolExecutor) -> None:
    fields = [{"name": "why", "label": "Why?", "kind": "text", "required": True},
              {"name": "sure", "label": "Sure?", "kind": "checkbox"}]
    asked = background.submit(live.client().ask, "Roll back?\nProd is on fire.",
                              fields=fields, timeout=30)
    task = pending_task(live.client())
    assert task.title == "Roll back? Prod is on fire."
    assert (task.model_extra or {})["instructions_mdsvex"] == "Roll back?\nProd is on fire."
    live.client().complete(task.task_id, {"why": "errors", "sure": True})
    assert asked.result(timeout=10) == {"why": "errors", "sure": True}
    with pytest.raises(UnsupportedForm, match="one of form, fields and choices"):
        live.client().ask("Both?", fields=fields, choices=["A"])


def test_create_options_pass_through_and_a_timeout_leaves_the_task_open(
        live: LiveServer) -> None:
    client = live.client()
    with pytest.raises(AskTimeout) as timed_out:
        client.ask("Ship it?", choices=["Yes", "No"], assignee=live.account.member.id,
                   tags=["release"], corr_id="run-7", payload={"build": 7},
                   priority="high", expires_in=3600, process_id="p", process_step="s",
                   sinks=[{"type": "nats", "subject": "inloop.tasks"}], timeout=0.3)
    assert isinstance(timed_out.value, TimeoutError)
    task = client.get_task(timed_out.value.task_id)
    assert task.status == "pending" and task.assignee_member_id == live.account.member.id
    extra = task.model_extra or {}
    assert (task.tags, task.payload, extra["corr_id"], extra["priority"]) == (
        ["release"], {"build": 7}, "run-7", "high")
    assert task.expires_at is not None and extra["sinks"][0]["subject"] == "inloop.tasks"


def test_asking_again_after_a_crash_reattaches_to_the_same_task(live: LiveServer) -> None:
    """The first asker is killed while it waits; asking again with the same key returns
    the first task's answer and creates no second task."""
    code = ("from inloop_client import Client; Client().ask('Deploy 4.2?', "
            "choices=['Approve', 'Reject'], idempotency_key='deploy-4.2')")
    asker = subprocess.Popen([sys.executable, "-c", code], env=live.env())
    client = live.client()
    try:
        task = pending_task(client)
    finally:
        os.kill(asker.pid, signal.SIGKILL)
        asker.wait(10)
    client.complete(task.task_id, {"answer": "Approve"})
    again = client.ask("Deploy 4.2?", choices=["Approve", "Reject"],
                       idempotency_key="deploy-4.2", timeout=5)
    assert again == "Approve"
    assert [t.task_id for t in client.list_tasks()] == [task.task_id]


def test_the_default_key_is_the_request_so_the_same_ask_reattaches(live: LiveServer) -> None:
    client = live.client()
    with pytest.raises(AskTimeout) as first:
        client.ask("Rotate the keys?", choices=["Yes", "No"], timeout=0)
    with pytest.raises(AskTimeout) as second:
        client.ask("Rotate the keys?", choices=["Yes", "No"], timeout=0)
    assert first.value.task_id == second.value.task_id
    with pytest.raises(AskTimeout) as other:
        client.ask("Rotate the keys now?", choices=["Yes", "No"], timeout=0)
    assert other.value.task_id != first.value.task_id
    assert len(list(client.list_tasks())) == 2


def test_the_same_key_in_two_orgs_makes_two_tasks(live: LiveServer,
                                                  make_account: AccountFactory) -> None:
    """Task ids belong to the org: another org asking the same gets a task of its own."""
    other = live.client(make_account().token)
    with pytest.raises(AskTimeout) as mine:
        live.client().ask("Rotate the keys?", choices=["Yes", "No"], timeout=0)
    with pytest.raises(AskTimeout) as theirs:
        other.ask("Rotate the keys?", choices=["Yes", "No"], timeout=0)
    assert mine.value.task_id == theirs.value.task_id
    assert [t.task_id for t in other.list_tasks()] == [theirs.value.task_id]
    assert len(list(live.client().list_tasks())) == 1


def test_the_same_question_with_other_options_is_a_conflict(live: LiveServer) -> None:
    with pytest.raises(AskTimeout):
        live.client().ask("Ship it?", choices=["Yes", "No"], priority="low", timeout=0)
    with pytest.raises(Conflict, match="another idempotency_key"):
        live.client().ask("Ship it?", choices=["Yes", "No"], priority="high", timeout=0)


def test_a_key_reused_for_another_question_is_a_conflict(live: LiveServer) -> None:
    client = live.client()
    with pytest.raises(AskTimeout):
        client.ask("First?", idempotency_key="k", timeout=0)
    with pytest.raises(Conflict, match="another idempotency_key"):
        client.ask("Second?", idempotency_key="k", timeout=0)


def test_a_cancelled_task_raises_task_cancelled_with_the_reason(
        live: LiveServer, background: ThreadPoolExecutor) -> None:
    asked = background.submit(live.client().ask, "Deploy?", timeout=30)
    task = pending_task(live.client())
    live.client().cancel(task.task_id, "release pulled")
    with pytest.raises(TaskCancelled) as cancelled:
        asked.result(timeout=10)
    assert cancelled.value.reason == "release pulled"
    assert cancelled.value.task_id == task.task_id


def test_an_expired_task_raises_task_expired(live: LiveServer,
                                             background: ThreadPoolExecutor) -> None:
    asked = background.submit(live.client().ask, "Deploy?", expires_in=60, timeout=30)
    task = pending_task(live.client())
    store = live.services.store
    assert task.expires_at is not None
    store.clock = lambda: task.expires_at + timedelta(seconds=1)  # type: ignore[operator]
    assert store.expire(live.account.ref(task.task_id)) is not None
    with pytest.raises(TaskExpired) as expired:
        asked.result(timeout=10)
    assert expired.value.errors[0]["code"] == "expired"


def test_a_reject_option_raises_task_rejected(live: LiveServer,
                                              background: ThreadPoolExecutor) -> None:
    """Today's server has no approval policies (it ignores `approval`): the client applies
    the approval's own rule to the answer. A server with teams of approvers sends
    `outcome`, which the client takes as is (next test)."""
    approval = {"decision_field": "answer", "reject_options": ["Reject"]}
    asked = background.submit(live.client().ask, "Deploy?", choices=["Approve", "Reject"],
                              approval=approval, timeout=30)
    task = pending_task(live.client())
    live.client().complete(task.task_id, {"answer": "Reject"})
    with pytest.raises(TaskRejected) as rejected:
        asked.result(timeout=10)
    assert rejected.value.data == {"answer": "Reject"}


def test_the_servers_outcome_decides_rejection_when_it_gives_one() -> None:
    rule = {"decision_field": "answer", "reject_options": ["Reject"]}

    def result(outcome: str | None, answer: str) -> WaitResult:
        return WaitResult(task_id="t", status="completed", data={"answer": answer},
                          outcome=outcome)

    assert _rejected(result("rejected", "Approve"), None)
    assert not _rejected(result("approved", "Reject"), rule)
    assert not _rejected(result("completed", "Reject"), rule)
    assert _rejected(result(None, "Reject"), rule)
    assert not _rejected(result(None, "Reject"), None)


class Unmappable(BaseModel):
    count: int
    tags: list[str]


def test_an_unmappable_model_is_refused_before_any_request(live: LiveServer) -> None:
    unreachable = Client(f"http://127.0.0.1:{free_port()}", "htk_x")
    with pytest.raises(UnsupportedForm) as refused:
        unreachable.ask("Count?", form=Unmappable)
    assert "'count': a number needs ge= and le=" in str(refused.value)
    assert "'tags': no form field kind" in str(refused.value)
    with pytest.raises(UnsupportedForm):
        live.client().ask("Count?", form=Unmappable)
    assert list(live.client().list_tasks()) == []


class Ticket(BaseModel):
    ticket: str = Field(pattern=r"^ZD-\d+$")


def test_an_answer_the_model_refuses_is_an_invalid_answer(
        live: LiveServer, background: ThreadPoolExecutor) -> None:
    asked = background.submit(live.client().ask, "Which ticket?", form=Ticket, timeout=30)
    task = pending_task(live.client())
    live.client().complete(task.task_id, {"ticket": "not a ticket"})
    with pytest.raises(InvalidAnswer) as invalid:
        asked.result(timeout=10)
    assert invalid.value.data == {"ticket": "not a ticket"}


async def test_async_ask_reports_each_wait_to_a_coroutine(live: LiveServer) -> None:
    import asyncio

    waits: list[tuple[str, float]] = []

    async def on_wait(task_id: str, elapsed: float) -> None:
        waits.append((task_id, elapsed))

    async with AsyncClient(live.url, live.account.token) as client:
        asked = asyncio.create_task(client.ask("Go?", choices=["Yes", "No"], timeout=30,
                                               poll_s=0.2, on_wait=on_wait))
        while len(waits) < 3:
            await asyncio.sleep(0.05)
        await client.complete(waits[0][0], {"answer": "Yes"})
        assert await asked == "Yes"
    assert waits[0][1] == 0.0 and waits[-1][1] > waits[1][1] > 0
