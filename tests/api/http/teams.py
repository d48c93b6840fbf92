"""Shared parts of the teams-of-approvers tests: a team in one org, the task body, calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import Account, AccountFactory

DECISION = {"name": "decision", "label": "Decision", "kind": "radio", "required": True,
            "options": ["Approve", "Reject", "Hold"]}
APPROVE, REJECT = {"decision": "Approve"}, {"decision": "Reject"}
COMPLETE = ("tasks:create", "tasks:read", "tasks:complete", "tasks:cancel")


@dataclass
class Team:
    admin: Account
    members: list[Account]  # assignees-to-be, tokens without admin
    outsider: Account  # same org, not an assignee

    def assignees(self, count: int = 3) -> list[dict[str, str]]:
        return [{"member_id": m.member.id} for m in self.members[:count]]


def make_team(make_account: AccountFactory, size: int = 4) -> Team:
    admin = make_account(admin=True)
    members = [make_account(COMPLETE, org_id=admin.org_id) for _ in range(size)]
    return Team(admin, members, make_account(COMPLETE, org_id=admin.org_id))


def team_task(assignees: list[Any], **extra: Any) -> dict[str, Any]:
    approval = {"required": 2, "decision_field": "decision", "reject_options": ["Reject"]}
    return {"title": "Ship the release", "assignees": assignees, "approval": approval,
            "steps": [{"id": "s1", "title": "Decide", "blocks": [
                {"type": "input", "field": DECISION},
                {"type": "input", "field": {"name": "note", "label": "Note", "kind": "text"}}]}],
            **extra}


async def call(client: TestClient, account: Account, method: str, path: str,
               status: int = 200, **json: Any) -> Any:
    response = await client.request(method, f"/api/v1/tasks{path}", headers=account.headers,
                                    json=json or None)
    body = await response.json()
    assert response.status == status, body
    return body


async def respond(client: TestClient, account: Account, task_id: str,
                  data: dict[str, Any], status: int = 200) -> Any:
    return await call(client, account, "POST", f"/{task_id}/complete", status, data=data)
