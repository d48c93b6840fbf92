"""The dashboard task page's timeline: the task's history (api.approvals.history: created,
delivered, claimed, released, responded, reassigned, reminded, escalated, ended) as
sentences, with Slack delivery problems and each sink's latest attempt beside it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.domain.approval import HistoryEntry
from api.domain.task import Task

Line = tuple[datetime, str]


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def timeline(task: Task, entries: list[HistoryEntry], creator: str,
             deliveries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What happened to the task, oldest first: (when, a sentence)."""
    lines = [(e.at, sentence(e, task, creator)) for e in entries if e.kind != "sink"]
    lines += [(p.at, f"Slack delivery problem: {p.message}") for p in task.delivery_problems]
    lines += [sink_line(d) for d in deliveries if d["attempts"]]
    return [(when(moment), text) for moment, text in sorted(lines, key=lambda line: line[0])]


def _names(people: list[dict[str, Any]]) -> str:
    return ", ".join(p.get("name") or p.get("email") or p.get("member_id", "?") for p in people)


def _by(entry: HistoryEntry) -> str:
    if entry.by is None:
        return "inloop"
    return entry.by.name + (" (on behalf of the org)" if entry.by.on_behalf else "")


def _delivered(e: HistoryEntry) -> str:
    if e.detail.get("channel") == "email":
        return f"link emailed to {e.detail.get('to')}"
    return f"delivered to Slack ({e.detail.get('to')})"


def _responded(e: HistoryEntry) -> str:
    verb = {"approve": "approved", "reject": "rejected"}.get(e.detail.get("decision") or "",
                                                             "responded")
    return f"{_by(e)} {verb} via {e.by.channel if e.by else 'web'}"


def _claimed(e: HistoryEntry) -> str:
    over = e.detail.get("took_over")
    return f"claimed by {_by(e)}" + (" (taking it over)" if over else "")


def _reassigned(e: HistoryEntry) -> str:
    reason = f": {e.detail['reason']}" if e.detail.get("reason") else ""
    return (f"{_names([e.detail.get('from', {})])} reassigned to "
            f"{_names([e.detail.get('to', {})])} by {_by(e)}{reason}")


def _escalated(e: HistoryEntry) -> str:
    added = _names(e.detail.get("added", []))
    if e.detail.get("mode") == "replace":
        return f"escalated: {_names(e.detail.get('removed', []))} replaced by {added}"
    return f"escalated: {added} added"


def _completed(e: HistoryEntry) -> str:
    by = e.detail.get("by") or {}
    outcome = f" ({e.detail['outcome']})" if e.detail.get("outcome") else ""
    return f"answered by {by.get('name', '?')} via {by.get('channel', '?')}{outcome}"


def _cancelled(e: HistoryEntry) -> str:
    reason = f": {e.detail['reason']}" if e.detail.get("reason") else ""
    return f"cancelled{reason}" + (f" (by {e.by.name})" if e.by else "")


SENTENCES: dict[str, Callable[[HistoryEntry], str]] = {
    "delivered": _delivered, "responded": _responded, "claimed": _claimed,
    "released": lambda e: f"released by {_by(e)}" if e.by else "released automatically",
    "reassigned": _reassigned, "escalated": _escalated,
    "reminded": lambda e: f"reminder {e.detail.get('n')} sent to "
                          f"{_names(e.detail.get('waiting', []))}",
    "completed": _completed, "cancelled": _cancelled,
}


def sentence(entry: HistoryEntry, task: Task, creator: str) -> str:
    if entry.kind == "created":
        return f"created by {creator}"
    if entry.kind == "failed":
        return "failed: " + "; ".join(e.message for e in task.errors)
    return SENTENCES[entry.kind](entry)


def sink_line(delivery: dict[str, Any]) -> Line:
    """A sink delivery's state as of its latest attempt."""
    last = delivery["attempts"][-1]
    sink = f"{delivery['sink_type']} {delivery['target']} ({delivery['event']})"
    tries = f"{delivery['attempt_count']} attempt{'s' * (delivery['attempt_count'] != 1)}"
    outcome = f"HTTP {last['status_code']}" if last.get("status_code") else last.get("error")
    if delivery["status"] == "delivered":
        text = f"{sink} delivered after {tries}"
    elif delivery["status"] == "gave_up":
        text = f"{sink} gave up after {tries}, last: {outcome}"
    else:
        text = f"{sink} not delivered yet ({tries}, last: {outcome}); retrying"
    return datetime.fromisoformat(last["at"]), text
