"""Who a team task's people are: request assignees resolved through the directory (a
member by id, "me", a member's email, or an external address), and the checks of a new
team task that need the directory, the form or the store (400 details with their loc)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.domain.approval import (
    MAX_ASSIGNEES,
    Assignee,
    AssigneeIn,
    Escalate,
    MemberAssignee,
)
from api.domain.errors import Detail, NotFound
from api.domain.task import TaskCreate
from api.domain.team_checks import check_approval, check_default, check_schedules
from api.store.directory import Directory, Member
from api.store.tasks import TaskStore


def of_member(member: Member, name: str | None = None,
              phone: str | None = None) -> Assignee:
    return Assignee(member_id=member.id, email=member.email, name=name or member.name,
                    phone=phone)


class Resolver:
    def __init__(self, directory: Directory, store: TaskStore, *, min_schedule_s: int) -> None:
        self.directory = directory
        self.store = store
        self.min_schedule_s = min_schedule_s

    def people(self, org_id: str, me: str, items: Sequence[AssigneeIn],
               loc: str) -> tuple[list[Assignee], list[Detail]]:
        """`items` resolved ("me" is member `me`); a detail for each unknown member and
        for each person listed twice ("me", their member id and their email are one
        person; addresses compare case-insensitively)."""
        found: dict[str, Assignee] = {}
        details: list[Detail] = []
        for i, item in enumerate(items):
            person = self.person(org_id, me, item)
            if person is None:
                details.append(Detail(f"{loc}.{i}.member_id", "no such member in this org",
                                      "not_found"))
            elif _identity(person) in found:
                details.append(Detail(f"{loc}.{i}", "this person is already listed",
                                      "duplicate"))
            else:
                found[_identity(person)] = person
        return list(found.values()), details

    def person(self, org_id: str, me: str, item: AssigneeIn) -> Assignee | None:
        if isinstance(item, (str, MemberAssignee)):
            member_id = item.member_id if isinstance(item, MemberAssignee) else "me"
            member = self.directory.find_member(org_id, me if member_id == "me" else member_id)
            return of_member(member) if member else None
        member = self.directory.member_by_email(org_id, item.email)
        if member is not None:
            return of_member(member, item.name, item.phone)
        return Assignee(email=item.email, name=item.name, phone=item.phone)

    def team(self, org_id: str, me: str, body: TaskCreate,
             hpi: dict[str, Any]) -> tuple[dict[str, Any], list[Detail]]:
        """The record fields of a new task's team and the request's violations; `hpi` is
        what the service resolved of the assignee_* fields (a one-item team)."""
        details: list[Detail] = []
        if body.assignees is None:
            assignees = _from_hpi(body, hpi)
        else:
            assignees, details = self.people(org_id, me, body.assignees, "assignees")
        details += self._checks(org_id, me, body, assignees)
        fields: dict[str, Any] = {"assignees": assignees,
                                  "team": body.assignees is not None or body.approval is not None}
        if body.assignees is not None and any(a.member_id is None for a in assignees):
            fields["requires_otp"] = True  # external assignees verify their address
        return fields, details

    def _checks(self, org_id: str, me: str, body: TaskCreate,
                team: list[Assignee]) -> list[Detail]:
        fields = body.fields()
        details = check_schedules(body.remind, body.escalate,
                                  body.approval.claim_ttl if body.approval else None,
                                  body.expires_in, self.min_schedule_s)
        if body.approval is not None:
            details += check_approval(body.approval, fields, len(team),
                                      channel=bool(body.slack_channel))
        if body.on_expiry is not None:
            details += check_default(body.on_expiry, fields, body.expires_in)
        if body.escalate is not None:
            details += self._escalation(org_id, me, body.escalate, team)
        return details + self._parent(org_id, body.parent_task_id)

    def _escalation(self, org_id: str, me: str, escalate: Escalate,
                    team: list[Assignee]) -> list[Detail]:
        """Its people exist, and adding them keeps the team within MAX_ASSIGNEES."""
        people, details = self.people(org_id, me, escalate.to, "escalate.to")
        grown = {_identity(a) for a in (team if escalate.mode == "add" else [])}
        if len(grown | {_identity(p) for p in people}) > MAX_ASSIGNEES:
            details.append(Detail("escalate.to", f"the escalation would make more than "
                                  f"{MAX_ASSIGNEES} assignees"))
        return details

    def _parent(self, org_id: str, parent_task_id: str | None) -> list[Detail]:
        if parent_task_id is None:
            return []
        try:
            self.store.get(org_id, parent_task_id)
        except NotFound:
            return [Detail("parent_task_id", "no such task in this org", "not_found")]
        return []


def _identity(person: Assignee) -> str:
    """Who a person is: a member by id, anyone else by their address in any case."""
    return person.key if person.member_id else person.key.lower()


def _from_hpi(body: TaskCreate, hpi: dict[str, Any]) -> list[Assignee]:
    member_id = hpi.get("assignee_member_id")
    email = hpi.get("assignee_email") or body.assignee_email
    if not (member_id or email):
        return []
    return [Assignee(member_id=member_id, email=email,
                     name=hpi.get("assignee_name") or body.assignee_name,
                     phone=body.assignee_phone)]
