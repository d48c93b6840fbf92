"""Teams of approvers over the API: quorum, early reject, who may respond, claims,
reassignment, history, parents and children, and /wait (issue 12)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.domain.task import ExternalMessage
from api.runtime import Services
from api.store.jobs import JOBS, rq_job_id
from tests.api.http.teams import APPROVE, REJECT, Team, call, make_team, respond, team_task
from tests.conftest import AccountFactory, create


@pytest.fixture
def team(make_account: AccountFactory) -> Team:
    return make_team(make_account)


async def _new(client: TestClient, team: Team, **extra: Any) -> str:
    body = team_task(extra.pop("assignees", team.assignees()), **extra)
    return str((await create(client, team.admin, body))["task_id"])


async def test_two_of_three_approve_and_the_third_is_too_late(client: TestClient,
                                                              team: Team) -> None:
    task_id = await _new(client, team)
    first = await respond(client, team.members[0], task_id, APPROVE)
    assert first["status"] == "pending" and first["outcome"] is None
    member = team.members[0].member  # `by` is {channel, id, name}: on_behalf only when true
    assert [r["by"] for r in first["responses"]] == [{"channel": "api", "id": member.id,
                                                      "name": member.name}]
    done = await respond(client, team.members[1], task_id, {**APPROVE, "note": "ok"})
    assert (done["status"], done["outcome"]) == ("completed", "approved")
    assert done["data"] == {"decision": "Approve", "note": "ok"}  # the ending response
    assert [r["decision"] for r in done["responses"]] == ["approve", "approve"]
    assert done["completed_by"]["id"] == team.members[1].member.id
    await respond(client, team.members[2], task_id, APPROVE, status=409)


async def test_a_reject_ends_the_task_at_once(client: TestClient, team: Team) -> None:
    task_id = await _new(client, team)
    await respond(client, team.members[0], task_id, APPROVE)
    done = await respond(client, team.members[2], task_id, REJECT)
    assert (done["status"], done["outcome"]) == ("completed", "rejected")


async def test_one_response_per_person_and_only_assignees_or_admins(client: TestClient,
                                                                    team: Team) -> None:
    task_id = await _new(client, team)
    await respond(client, team.members[0], task_id, APPROVE)
    again = await respond(client, team.members[0], task_id, APPROVE, status=409)
    assert "already responded" in again["message"]
    await respond(client, team.outsider, task_id, APPROVE, status=403)
    done = await respond(client, team.admin, task_id, APPROVE)  # on behalf of the org
    assert done["status"] == "completed"
    assert done["responses"][-1]["by"] == {"channel": "api", "id": team.admin.member.id,
                                           "name": team.admin.member.name, "on_behalf": True}


async def test_me_and_emails_resolve_and_all_means_everyone(client: TestClient,
                                                            team: Team) -> None:
    body = team_task(["me", {"email": team.members[0].member.email.upper()},
                      {"email": "guest@example.com", "name": "Guest"}],
                     approval={"required": "all"})
    created = await create(client, team.admin, body)
    task = await call(client, team.admin, "GET", f"/{created['task_id']}")
    assert [a.get("member_id") for a in task["assignees"]] == [
        team.admin.member.id, team.members[0].member.id, None]
    assert task["assignees"][2]["email"] == "guest@example.com" and task["requires_otp"]
    await respond(client, team.members[0], created["task_id"], {"decision": "Hold"})
    still = await respond(client, team.admin, created["task_id"], {"decision": "Hold"})
    assert still["status"] == "pending"  # the guest has not answered: all means all


async def test_hpi_tasks_keep_todays_rule(client: TestClient, team: Team) -> None:
    body = {**team_task([]), "assignee_member_id": team.members[0].member.id}
    del body["assignees"], body["approval"]
    created = await create(client, team.admin, body)
    task = await call(client, team.admin, "GET", f"/{created['task_id']}")
    assert task["assignees"] == [{"member_id": team.members[0].member.id,
                                  "email": team.members[0].member.email,
                                  "name": team.members[0].member.name, "phone": None}]
    done = await respond(client, team.outsider, created["task_id"], APPROVE)
    assert done["status"] == "completed" and done["outcome"] == "completed"


async def test_claim_release_and_take_over(client: TestClient, team: Team) -> None:
    a, b = team.members[0], team.members[1]
    task_id = await _new(client, team)
    claimed = await call(client, a, "POST", f"/{task_id}/claim")
    assert claimed["status"] == "in_progress"
    assert claimed["claimed_by"]["id"] == a.member.id
    await call(client, b, "POST", f"/{task_id}/claim", 409)
    await respond(client, b, task_id, APPROVE, status=409)
    await call(client, b, "POST", f"/{task_id}/release", 403)
    await call(client, team.outsider, "POST", f"/{task_id}/claim", 403)
    await call(client, b, "POST", f"/{task_id}/claim", 403, take_over=True)  # not an admin
    taken = await call(client, team.admin, "POST", f"/{task_id}/claim", take_over=True)
    assert taken["claimed_by"]["id"] == team.admin.member.id
    released = await call(client, team.admin, "POST", f"/{task_id}/release")
    assert released["status"] == "pending" and released["claimed_by"] is None
    await call(client, a, "POST", f"/{task_id}/release", 409)  # nothing to release
    await respond(client, b, task_id, APPROVE)


async def test_a_claim_and_a_partial_response_never_end_a_wait(client: TestClient,
                                                               team: Team) -> None:
    task_id = await _new(client, team)
    waiting = asyncio.ensure_future(call(client, team.admin, "GET", f"/{task_id}/wait?timeout=30"))
    await asyncio.sleep(0.2)
    await call(client, team.members[0], "POST", f"/{task_id}/claim")
    await respond(client, team.members[0], task_id, APPROVE)
    await asyncio.sleep(0.5)  # the waiter has been woken (a claim and a response) by now
    assert not waiting.done()
    await respond(client, team.members[1], task_id, APPROVE)
    result = await asyncio.wait_for(waiting, 10)
    assert set(result) == {"task_id", "status", "data", "completed_at", "outcome", "responses"}
    assert (result["status"], result["outcome"]) == ("completed", "approved")
    assert len(result["responses"]) == 2


async def test_wait_keeps_hpis_shape_for_single_response_tasks(client: TestClient,
                                                               team: Team) -> None:
    task_id = await _new(client, team, approval={"required": 1})
    await respond(client, team.members[2], task_id, APPROVE)
    result = await call(client, team.admin, "GET", f"/{task_id}/wait?timeout=0")
    assert set(result) == {"task_id", "status", "data", "completed_at"}


async def test_reassign_own_place_or_by_admin(client: TestClient, team: Team) -> None:
    a, b, c, d = team.members
    task_id = await _new(client, team)
    await call(client, team.outsider, "POST", f"/{task_id}/reassign", 403,
               to={"member_id": d.member.id})
    await call(client, a, "POST", f"/{task_id}/reassign", 403,  # not a's own place
               **{"from": {"member_id": b.member.id}, "to": {"member_id": d.member.id}})
    moved = await call(client, a, "POST", f"/{task_id}/reassign",
                       to={"member_id": d.member.id}, reason="on leave")
    assert [x["member_id"] for x in moved["assignees"]] == [d.member.id, b.member.id,
                                                           c.member.id]
    await respond(client, a, task_id, APPROVE, status=403)
    await call(client, team.admin, "POST", f"/{task_id}/reassign", 400,
               to={"member_id": "nobody"})
    taken = await call(client, b, "POST", f"/{task_id}/reassign", 400, to={"member_id":
                                                                          c.member.id})
    assert [d["loc"] for d in taken["details"]] == ["to"]  # c is an assignee already
    external = await call(client, team.admin, "POST", f"/{task_id}/reassign",
                          **{"from": {"member_id": b.member.id},
                             "to": {"email": "ext@example.com"}})
    assert external["requires_otp"] is True  # the external assignee verifies by email
    await respond(client, d, task_id, APPROVE)
    await respond(client, c, task_id, APPROVE)
    await call(client, d, "POST", f"/{task_id}/reassign", 409, to={"member_id": a.member.id})


async def test_history_tells_the_story_in_order(client: TestClient, team: Team) -> None:
    a, b = team.members[0], team.members[1]
    task_id = await _new(client, team)
    await call(client, a, "POST", f"/{task_id}/claim")
    await call(client, a, "POST", f"/{task_id}/release")
    await respond(client, a, task_id, APPROVE)
    await call(client, b, "POST", f"/{task_id}/reassign", to={"member_id":
                                                               team.members[3].member.id})
    await respond(client, team.members[2], task_id, REJECT)
    history = await call(client, team.admin, "GET", f"/{task_id}/history")
    assert history["task_id"] == task_id
    kinds = [e["kind"] for e in history["entries"]]
    assert kinds == ["created", "claimed", "released", "responded", "reassigned",
                     "responded", "completed"]
    assert history["entries"][1]["detail"] == {}  # a plain claim: no nulls
    responded = history["entries"][5]
    assert responded["by"]["id"] == team.members[2].member.id
    assert responded["detail"]["decision"] == "reject"
    assert history["entries"][-1]["detail"]["outcome"] == "rejected"


async def test_children_are_listed_filtered_and_cancelled_with_the_parent(
        client: TestClient, team: Team) -> None:
    parent = await _new(client, team)
    children = [await _new(client, team, parent_task_id=parent) for _ in range(2)]
    await respond(client, team.members[0], children[1], REJECT)  # ended: stays completed
    got = await call(client, team.admin, "GET", f"/{parent}")
    assert got["children"] == [{"task_id": children[0], "status": "pending"},
                               {"task_id": children[1], "status": "completed"}]
    listed = await call(client, team.admin, "GET", f"?parent={parent}")
    assert {t["task_id"] for t in listed["tasks"]} == set(children)
    cancelled = await call(client, team.admin, "POST", f"/{parent}/cancel", reason="scrapped")
    assert cancelled["cancelled_by"]["id"] == team.admin.member.id
    child = await call(client, team.admin, "GET", f"/{children[0]}")
    assert (child["status"], child["cancel_reason"]) == ("cancelled", "parent cancelled")
    assert (await call(client, team.admin, "GET", f"/{children[1]}"))["status"] == "completed"


def _bad(team: Team, **changes: Any) -> dict[str, Any]:
    body = team_task(team.assignees())
    for key, value in changes.items():
        body[key] = value
    return body


@pytest.mark.parametrize(("changes", "loc"), [
    ({"assignees": [{"member_id": "no-such-member"}]}, "assignees.0.member_id"),
    ({"approval": {"required": 4}}, "approval.required"),
    ({"approval": {"required": 0}}, "approval.required"),
    ({"approval": {"required": "most"}}, "approval.required"),
    ({"assignees": [{"email": "not-an-address"}]}, "assignees.0.email"),
    ({"assignees": ["you"]}, "assignees.0"),
    ({"approval": {"decision_field": "note"}}, "approval.decision_field"),
    ({"approval": {"decision_field": "decision", "reject_options": ["Nope"]}},
     "approval.reject_options.0"),
    ({"expires_in": 3600, "on_expiry": {"complete_with": {"decision": "Maybe"}}},
     "on_expiry.complete_with.decision"),
    ({"remind": {"after": 30}}, "remind.after"),
    ({"approval": {"claim_ttl": 5}}, "approval.claim_ttl"),
    ({"escalate": {"after": 60, "to": [{"member_id": "ghost"}]}},
     "escalate.to.0.member_id"),
    ({"parent_task_id": "6f1f6c0e-3c55-4b8e-9d0a-1a4b8f3f1e11"}, "parent_task_id"),
    ({"assignee_email": "x@example.com"}, "assignees"),
])
async def test_bad_team_requests_are_400_with_their_loc(client: TestClient, team: Team,
                                                        changes: dict[str, Any],
                                                        loc: str) -> None:
    body = await create(client, team.admin, _bad(team, **changes), status=400)
    assert loc in [d["loc"] for d in body["details"]], body


async def test_one_person_listed_twice_is_400_at_the_second(client: TestClient,
                                                             team: Team) -> None:
    a = team.members[0].member
    twice = [["me", {"member_id": team.admin.member.id}],
             [{"member_id": a.id}, {"email": a.email.upper()}],
             [{"email": "guest@example.com"}, {"email": "Guest@Example.com"}],
             [{"member_id": a.id}, {"member_id": a.id}]]
    for assignees in twice:
        body = await create(client, team.admin, team_task(assignees, approval={
            "required": "all"}), status=400)
        assert [(d["loc"], d["type"]) for d in body["details"]] == [("assignees.1",
                                                                     "duplicate")], body
    escalate = {"after": 60, "to": ["me", {"member_id": team.admin.member.id}]}
    body = await create(client, team.admin, _bad(team, escalate=escalate), status=400)
    assert [d["loc"] for d in body["details"]] == ["escalate.to.1"]


async def test_an_escalation_may_not_grow_the_team_past_50(client: TestClient,
                                                            team: Team) -> None:
    guests = [{"email": f"guest{i}@example.com"} for i in range(47)]  # a team of 49
    to = [{"email": "boss@example.com"}, {"email": "cto@example.com"}]
    body = team_task([*team.assignees(2), *guests], escalate={"after": 60, "to": to})
    refused = await create(client, team.admin, body, status=400)
    assert [d["loc"] for d in refused["details"]] == ["escalate.to"]
    await create(client, team.admin, {**body, "escalate": {"after": 60, "to": to,
                                                            "mode": "replace"}})
    one_new = [to[0], guests[0]]  # the guest is on the team already: 50 in all
    await create(client, team.admin, {**body, "escalate": {"after": 60, "to": one_new}})


async def test_another_orgs_parent_is_400(client: TestClient, team: Team,
                                          make_account: AccountFactory) -> None:
    stranger = make_account(admin=True)
    other = await create(client, stranger, team_task([{"member_id": stranger.member.id}],
                                                     approval={"required": 1}))
    body = await create(client, team.admin, _bad(team, parent_task_id=other["task_id"]), 400)
    assert [d["loc"] for d in body["details"]] == ["parent_task_id"]


async def test_cancelling_a_claimed_task_ends_the_claim(client: TestClient,
                                                        team: Team) -> None:
    task_id = await _new(client, team)
    await call(client, team.members[0], "POST", f"/{task_id}/claim")
    cancelled = await call(client, team.admin, "POST", f"/{task_id}/cancel")
    assert (cancelled["status"], cancelled["claimed_by"]) == ("cancelled", None)
    assert (await call(client, team.admin, "GET", "?status=in_progress"))["tasks"] == []
    await call(client, team.members[0], "POST", f"/{task_id}/release", 409)


async def test_a_claim_changes_the_status_index(client: TestClient, team: Team,
                                                services: Services) -> None:
    task_id = await _new(client, team)
    await call(client, team.members[0], "POST", f"/{task_id}/claim")
    listed = await call(client, team.admin, "GET", "?status=in_progress")
    assert [t["task_id"] for t in listed["tasks"]] == [task_id]
    assert (await call(client, team.admin, "GET", "?status=pending"))["tasks"] == []
    mine = await call(client, team.admin, "GET", f"?assignee={team.members[2].member.id}")
    assert [t["task_id"] for t in mine["tasks"]] == [task_id]


async def test_slack_messages_are_updated_and_told_of_a_reassignment(
        client: TestClient, team: Team, services: Services) -> None:
    task_id = await _new(client, team)
    ref = team.admin.ref(task_id)
    services.store.update(ref, lambda t: t.external_message_ids.append(
        ExternalMessage(channel="D123", ts="1764700000.000100")))
    slack = services.jobs["slack"]
    await respond(client, team.members[0], task_id, APPROVE)
    assert slack.fetch_job(rq_job_id(f"slack-update:{ref}")) is not None
    await call(client, team.members[1], "POST", f"/{task_id}/reassign",
               to={"member_id": team.members[3].member.id}, reason="away")
    [notify] = [j for j in slack.get_jobs() if j.func_name == JOBS["slack.notify"].path]
    assert list(notify.args[:2]) == [ref, "reassigned"]
    assert notify.args[2]["to"]["member_id"] == team.members[3].member.id
    assert notify.args[2]["by"]["id"] == team.members[1].member.id
    history = await call(client, team.admin, "GET", f"/{task_id}/history")
    delivered = [e for e in history["entries"] if e["kind"] == "delivered"]
    assert delivered == [{"at": "2025-12-02T18:26:40.000100Z", "kind": "delivered",
                          "detail": {"channel": "slack", "to": "D123"}}]
