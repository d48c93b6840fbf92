"""The checks of a new team task's request that need its form or the service's timer
minimum (issue 12): 400 details with their loc. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from api.domain.approval import Approval, Escalate, OnExpiry, Remind
from api.domain.errors import Detail
from api.domain.fields import FormField, validate_answers


def check_approval(approval: Approval, fields: Sequence[FormField], assignees: int,
                   channel: bool) -> list[Detail]:
    """Request rules that need the form and the assignees (400 details with their loc)."""
    details = _check_required(approval.required, assignees, channel)
    if approval.decision_field is None:
        return details
    field = next((f for f in fields if f.name == approval.decision_field), None)
    if field is None or field.kind not in ("select", "radio") or not field.required:
        details.append(Detail("approval.decision_field",
                              "the decision field must be a required select or radio field"))
        return details
    options = set(field.options or [])
    details += [Detail(f"approval.reject_options.{i}", f"{value!r} is not an option of "
                       f"{field.name}") for i, value in enumerate(approval.reject_options or [])
                if value not in options]
    return details


def _check_required(required: int | Literal["all"], assignees: int,
                    channel: bool) -> list[Detail]:
    """`required` fits the team; a task without assignees (anyone with its link or an
    org token answers) takes one response, a channel task any number."""
    if required == "all" and assignees == 0:
        return [Detail("approval.required", '"all" needs assignees')]
    if isinstance(required, int) and not channel and required > max(assignees, 1):
        return [Detail("approval.required",
                       f"required ({required}) is more than the {assignees} assignee(s)")]
    return []


def check_default(on_expiry: OnExpiry, fields: Sequence[FormField],
                  expires_in: int | None) -> list[Detail]:
    """The default answer on expiry obeys the form like any answer."""
    if expires_in is None:
        return [Detail("on_expiry", "on_expiry needs expires_in")]
    _, details = validate_answers(fields, on_expiry.complete_with,
                                  loc_prefix="on_expiry.complete_with")
    return details


def check_schedules(remind: Remind | None, escalate: Escalate | None,
                    claim_ttl: int | None, expires_in: int | None,
                    minimum: int) -> list[Detail]:
    """Every timer is at least `minimum` seconds (INLOOP_MIN_SCHEDULE_S), `expires_in` too:
    by default HPI's 60 s, lowered with the others so tests see the default on expiry."""
    timers = {"remind.after": remind.after if remind else None,
              "remind.every": remind.every if remind else None,
              "escalate.after": escalate.after if escalate else None,
              "approval.claim_ttl": claim_ttl, "expires_in": expires_in}
    return [Detail(loc, f"must be at least {minimum} seconds")
            for loc, seconds in timers.items() if seconds is not None and seconds < minimum]
