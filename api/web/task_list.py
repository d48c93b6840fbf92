"""The dashboard's task list: what a query asks for (tab, "assigned to me", search, sort),
the matching rows, and the count of each tab. The page and its live refresh share them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from api.domain.task import Task
from api.store.directory import Member
from api.store.listing import Filters, Listing
from api.web.team import shown

# tab -> (label, statuses it shows)
TABS = {"pending": ("Pending", ("pending",)), "in_progress": ("In progress", ("in_progress",)),
        "completed": ("Completed", ("completed",)),
        "closed": ("Cancelled & failed", ("cancelled", "failed"))}
PAGE_SIZE = 100
SEARCH_DEPTH = 5000  # tasks per status a search looks through, newest first
PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
# column -> (label, sort key, first direction of a click)
COLUMNS: dict[str, tuple[str, Any, str]] = {
    "title": ("Title", lambda t: t.title.casefold(), "asc"),
    "status": ("Status", lambda t: t.status, "asc"),
    "priority": ("Priority", lambda t: PRIORITY_RANK.get(t.priority, 1), "desc"),
    "assignee": ("Assignee", lambda t: assignee(t).casefold(), "asc"),
    "created": ("Created", lambda t: t.created_at, "desc"),
}


@dataclass(frozen=True)
class ListQuery:
    tab: str = "pending"
    mine: bool = False
    q: str = ""
    sort: str = "created"
    dir: str = "desc"

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ListQuery:
        """What the page's query string asks for; anything unknown reads as the default."""
        tab, sort = query.get("tab", ""), query.get("sort", "")
        sort = sort if sort in COLUMNS else "created"
        direction = query.get("dir", "")
        return cls(tab=tab if tab in TABS else "pending", mine=query.get("mine") == "1",
                   q=query.get("q", "").strip()[:200], sort=sort,
                   dir=direction if direction in ("asc", "desc") else COLUMNS[sort][2])

    def params(self, **changes: Any) -> str:
        """This query (with `changes`) as a query string, defaults left out."""
        query = replace(self, **changes)
        pairs = {"tab": "" if query.tab == "pending" else query.tab,
                 "mine": "1" if query.mine else "", "q": query.q,
                 "sort": "" if query.sort == "created" else query.sort,
                 "dir": "" if query.dir == COLUMNS[query.sort][2] else query.dir}
        return "?" + urlencode({k: v for k, v in pairs.items() if v})


def assignee(task: Task) -> str:
    """Who the task is for: a team's first three names and "+N more"."""
    if not task.is_team:
        return task.assignee_name or task.assignee_email or ""
    names = [shown(a) for a in task.assignees]
    return ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")


def _matches(task: Task, q: str) -> bool:
    needle = q.lower()
    return not needle or needle in task.title.lower() or any(
        needle in tag.lower() for tag in task.tags)


def task_rows(listing: Listing, member: Member, query: ListQuery) -> list[dict[str, Any]]:
    """The tab's matching tasks (the newest PAGE_SIZE), in the query's order, as rows."""
    found: list[Task] = []
    for status in TABS[query.tab][1]:
        filters = Filters(status=status, assignee=member.id if query.mine else None)
        found += _search(listing, member.org_id, filters, query.q)
    found.sort(key=lambda t: t.created_at, reverse=True)
    found = found[:PAGE_SIZE]
    found.sort(key=COLUMNS[query.sort][1], reverse=query.dir == "desc")
    return [_row(t) for t in found]


def _search(listing: Listing, org_id: str, filters: Filters, q: str) -> list[Task]:
    """Up to PAGE_SIZE matches, newest first, looking through at most SEARCH_DEPTH tasks."""
    found: list[Task] = []
    cursor, seen = None, 0
    while seen < SEARCH_DEPTH and len(found) < PAGE_SIZE:
        page, cursor = listing.page(org_id, filters, limit=200, cursor=cursor)
        seen += len(page)
        found += [t for t in page if _matches(t, q)]
        if cursor is None:
            break
    return found[:PAGE_SIZE]


def _row(task: Task) -> dict[str, Any]:
    return {"task_id": task.task_id, "title": task.title, "status": task.status,
            "priority": task.priority, "tags": task.tags, "assignee": assignee(task),
            "created_at": task.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "href": f"/dashboard/tasks/{task.task_id}"}


def tab_counts(listing: Listing, member: Member, mine: bool) -> dict[str, int]:
    """How many tasks each tab holds (the member's own with `mine`), search aside."""
    statuses = [s for _, shown in TABS.values() for s in shown]
    counted = listing.counts(member.org_id, statuses, assignee=member.id if mine else None)
    return {tab: sum(counted[s] for s in shown) for tab, (_, shown) in TABS.items()}


def columns(query: ListQuery) -> dict[str, dict[str, str]]:
    """The table's sortable headers by column: each a link that sorts by it (the current
    one: the other way round)."""
    found = {}
    for key, (label, _, first) in COLUMNS.items():
        current = key == query.sort
        direction = ("asc" if query.dir == "desc" else "desc") if current else first
        found[key] = {"label": label, "href": query.params(sort=key, dir=direction),
                      "aria_sort": ("ascending" if query.dir == "asc" else "descending")
                      if current else "none"}
    return found
