"""The pure rules of teams of approvers: shapes, quorum and early reject, request checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from api.domain.approval import (
    Actor,
    Approval,
    Assignee,
    OnExpiry,
    Remind,
    Response,
    TeamFields,
    decision_of,
    required_count,
    verdict,
)
from api.domain.fields import FormField
from api.domain.team_checks import check_approval, check_default, check_schedules

DECISION = FormField(name="decision", label="Decision", kind="radio", required=True,
                     options=["Approve", "Reject", "Escalate"])
NOTE = FormField(name="note", label="Note", kind="text")
TEAM = [Assignee(member_id="m1"), Assignee(member_id="m2"), Assignee(email="c@example.com")]


def response(data: dict[str, Any], approval: Approval | None) -> Response:
    return Response(by=Actor(channel="api", id="x", name="X"), data=data,
                    at=datetime.now(UTC), decision=decision_of(approval, data))


def test_assignees_take_members_emails_and_me() -> None:
    team = TeamFields.model_validate({"assignees": ["me", {"member_id": "m1"},
                                                    {"email": "A@Example.com", "name": "A"}]})
    assert team.assignees is not None and len(team.assignees) == 3
    with pytest.raises(ValidationError):
        TeamFields.model_validate({"assignees": [{"member_id": "m"}] * 51})
    with pytest.raises(ValidationError):
        TeamFields.model_validate({"assignees": []})


def test_reject_options_need_a_decision_field() -> None:
    with pytest.raises(ValidationError, match="decision_field"):
        Approval.model_validate({"required": 2, "reject_options": ["Reject"]})


def test_two_of_three_approve_and_one_reject_ends_at_once() -> None:
    approval = Approval(required=2, decision_field="decision", reject_options=["Reject"])
    first = [response({"decision": "Approve"}, approval)]
    assert verdict(approval, TEAM, first) is None
    assert verdict(approval, TEAM, [*first, response({"decision": "Approve"}, approval)]) \
        == "approved"
    assert verdict(approval, TEAM, [response({"decision": "Reject"}, approval)]) == "rejected"


def test_all_means_every_assignee_and_no_decision_field_completes() -> None:
    approval = Approval(required="all")
    assert required_count(approval, TEAM) == 3
    two = [response({"note": "a"}, approval), response({"note": "b"}, approval)]
    assert verdict(approval, TEAM, two) is None
    assert verdict(approval, TEAM, [*two, response({}, approval)]) == "completed"


def test_only_the_current_assignees_count_after_a_replacement() -> None:
    approval = Approval(required="all")
    early = response({"note": "a"}, approval).model_copy(update={"assignee": "member:m0"})
    mine = response({"note": "b"}, approval).model_copy(update={"assignee": TEAM[0].key})
    assert verdict(approval, TEAM[:2], [early, mine]) is None  # m0 was replaced: m2 waits
    assert verdict(approval, TEAM[:1], [early, mine]) == "completed"


def test_a_single_assignee_task_ends_on_its_first_response() -> None:
    assert required_count(None, []) == 1
    assert verdict(None, [], [response({"note": "x"}, None)]) == "completed"


@pytest.mark.parametrize(("approval", "assignees", "channel", "locs"), [
    (Approval(required=4), 3, False, ["approval.required"]),
    (Approval(required=4), 0, True, []),
    (Approval(decision_field="decision", reject_options=["Reject"]), 0, False, []),
    (Approval(required=2), 0, False, ["approval.required"]),
    (Approval(required="all"), 0, False, ["approval.required"]),
    (Approval(required="all"), 0, True, ["approval.required"]),
    (Approval(decision_field="note"), 3, False, ["approval.decision_field"]),
    (Approval(decision_field="missing"), 3, False, ["approval.decision_field"]),
    (Approval(decision_field="decision", reject_options=["Reject", "Nope"]), 3, False,
     ["approval.reject_options.1"]),
    (Approval(required=2, decision_field="decision", reject_options=["Reject"]), 3, False, []),
])
def test_approval_is_checked_against_the_form_and_the_team(
        approval: Approval, assignees: int, channel: bool, locs: list[str]) -> None:
    details = check_approval(approval, [DECISION, NOTE], assignees, channel)
    assert [d.loc for d in details] == locs


def test_the_default_on_expiry_obeys_the_form() -> None:
    ok = OnExpiry(complete_with={"decision": "Reject"})
    assert check_default(ok, [DECISION, NOTE], 3600) == []
    bad = OnExpiry(complete_with={"decision": "Maybe", "other": 1})
    assert sorted(d.loc for d in check_default(bad, [DECISION, NOTE], 3600)) == \
        ["on_expiry.complete_with.decision", "on_expiry.complete_with.other"]
    assert [d.loc for d in check_default(ok, [DECISION], None)] == ["on_expiry"]


def test_timers_respect_the_minimum() -> None:
    details = check_schedules(Remind(after=30, every=120), None, 3600, None, minimum=60)
    assert [d.loc for d in details] == ["remind.after"]
    assert check_schedules(Remind(after=1), None, None, 1, minimum=1) == []
    assert [d.loc for d in check_schedules(None, None, None, 59, minimum=60)] == ["expires_in"]
