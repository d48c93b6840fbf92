"""The dashboard's list without a browser: tab counts, sorting, empty states, Settings."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp.test_utils import TestClient

from api.web.task_list import ListQuery
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.helpers import dashboard_sign_in


async def test_tabs_count_the_orgs_tasks_by_status(
        client: TestClient, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    other = make_account()
    await create(client, other, example("hpi_approval"))
    ids = [(await create(client, account, example("hpi_approval")))["task_id"]
           for _ in range(4)]
    await client.post(f"/api/v1/tasks/{ids[0]}/complete", headers=account.headers,
                      json={"data": {"decision": "Approve"}})
    await client.post(f"/api/v1/tasks/{ids[1]}/cancel", headers=account.headers, json={})
    mine = await create(client, account, {**example("hpi_approval"),
                                          "assignee_member_id": account.member.id})
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    listed = await (await client.get("/dashboard/api/tasks")).json()
    assert listed["counts"] == {"pending": 3, "in_progress": 0, "completed": 1, "closed": 1}
    assert listed["rows_html"].count("<tr ") == 3
    only_mine = await (await client.get("/dashboard/api/tasks?mine=1")).json()
    assert only_mine["counts"] == {"pending": 1, "in_progress": 0, "completed": 0, "closed": 0}
    assert [t["task_id"] for t in only_mine["tasks"]] == [mine["task_id"]]
    page = await (await client.get("/dashboard")).text()
    assert re.search(r'data-count="pending">3<', page)


async def test_columns_sort_both_ways_and_say_so(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    for title, priority in (("beta", "low"), ("Alpha", "urgent"), ("gamma", "medium")):
        await create(client, account, {**example("hpi_approval"), "title": title,
                                       "priority": priority})
    await dashboard_sign_in(client, account, smtp_server, run_jobs)

    async def titles(query: str) -> list[str]:
        listed = await (await client.get("/dashboard/api/tasks" + query)).json()
        return [t["title"] for t in listed["tasks"]]

    assert await titles("") == ["gamma", "Alpha", "beta"]  # newest first
    assert await titles("?sort=title") == ["Alpha", "beta", "gamma"]
    assert await titles("?sort=title&dir=desc") == ["gamma", "beta", "Alpha"]
    assert await titles("?sort=priority") == ["Alpha", "gamma", "beta"]  # urgent first
    assert await titles("?sort=nonsense&dir=up") == ["gamma", "Alpha", "beta"]
    page = await (await client.get("/dashboard?sort=title")).text()
    assert re.search(r'aria-sort="ascending"><a class="sort" href="\?sort=title&amp;dir=desc"',
                     page)


def test_a_query_string_round_trips_without_its_defaults() -> None:
    query = ListQuery.parse({"tab": "completed", "q": " x ", "sort": "title", "dir": "asc"})
    assert query == ListQuery(tab="completed", q="x", sort="title", dir="asc")
    assert query.params() == "?tab=completed&q=x&sort=title"
    assert ListQuery.parse({"tab": "nope"}).params(mine=True) == "?mine=1"


async def test_an_empty_list_says_what_to_do_next(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    page = await (await client.get("/dashboard")).text()
    assert "Nothing pending" in page and "curl -X POST" in page and "/api/v1/tasks" in page
    found = await (await client.get("/dashboard?q=zebra")).text()
    assert "Nothing matches “zebra”" in found and "Clear the search" in found


async def test_settings_lists_what_the_member_may_change(
        client: TestClient, account: Account, make_account: AccountFactory,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    page = await (await client.get("/dashboard/settings")).text()
    assert 'href="/dashboard/settings/tokens"' in page
    assert re.search(r'<a href="/dashboard/settings" aria-current="page">Settings</a>', page)
    client.session.cookie_jar.clear()  # another browser
    member = make_account(org_id=account.org_id)  # not an admin
    await dashboard_sign_in(client, member, smtp_server, run_jobs, count=2)
    page = await (await client.get("/dashboard/settings")).text()
    assert 'href="/dashboard/settings/tokens"' not in page
