"""Dashboard search reaches past the newest page of tasks."""

from __future__ import annotations

from api.runtime import Services
from api.web.task_list import ListQuery, task_rows
from tests.conftest import Account
from tests.fixtures import example


def test_search_finds_an_old_task_behind_many_newer_ones(services: Services,
                                                         account: Account) -> None:
    who = services.directory.authenticate(account.token)
    oldest, _ = services.tasks.create(who, {**example("hpi_approval"), "title": "Needle 42",
                                            "tags": ["rare"]})
    for i in range(260):
        services.tasks.create(who, {**example("hpi_approval"), "title": f"Hay {i}"})
    for q in ("needle", "RARE"):
        rows = task_rows(services.listing, account.member, ListQuery(q=q))
        assert [r["task_id"] for r in rows] == [oldest["task_id"]]
    assert len(task_rows(services.listing, account.member, ListQuery(q="hay"))) == 100
