"""The task page's timeline sentences, one per kind of history entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.domain.approval import Actor, HistoryEntry
from api.runtime import Services
from api.web.history_view import timeline
from tests.conftest import Account
from tests.fixtures import example

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANN = Actor(channel="web", id="m1", name="Ann")
BOSS = Actor(channel="api", id="m2", name="Boss", on_behalf=True)


def entry(minute: int, kind: str, actor: Actor | None = None,
          **detail: object) -> HistoryEntry:
    return HistoryEntry(at=T0 + timedelta(minutes=minute), kind=kind,  # type: ignore[arg-type]
                        by=actor, detail=detail)


def test_every_kind_reads_as_a_sentence_in_time_order(services: Services,
                                                      account: Account) -> None:
    who = services.directory.authenticate(account.token)
    created, _ = services.tasks.create(who, example("hpi_approval"))
    task = services.store.get(account.org_id, created["task_id"])
    entries = [
        entry(9, "completed", outcome="approved", by={"channel": "web", "name": "Ann"}),
        entry(0, "created", created_by="m0"),
        entry(1, "delivered", channel="email", to="eve@example.com"),
        entry(2, "claimed", ANN),
        entry(3, "released"),
        entry(4, "responded", BOSS, decision="reject"),
        entry(5, "reassigned", ANN, **{"from": {"name": "Eve"}, "to": {"email": "z@x.io"}},
              reason="away"),
        entry(6, "reminded", n=2, waiting=[{"name": "Zed"}, {"email": "q@x.io"}]),
        entry(7, "escalated", mode="replace", added=[{"name": "Max"}],
              removed=[{"name": "Zed"}]),
        entry(8, "cancelled", ANN, reason="done elsewhere"),
    ]
    lines = timeline(task, entries, "Creator", [])
    assert [text for _, text in lines] == [
        "created by Creator",
        "link emailed to eve@example.com",
        "claimed by Ann",
        "released automatically",
        "Boss (on behalf of the org) rejected via api",
        "Eve reassigned to z@x.io by Ann: away",
        "reminder 2 sent to Zed, q@x.io",
        "escalated: Zed replaced by Max",
        "cancelled: done elsewhere (by Ann)",
        "answered by Ann via web (approved)",
    ]
    assert lines[0][0] == "2026-12-01 09:00:00 UTC"
