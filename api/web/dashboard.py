"""The operator dashboard: the org's tasks by tab, "assigned to me", search, live updates.

The page polls `/dashboard/api/tasks` (same query) every few seconds, so a task created
over the API shows up without a reload.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from api.domain.task import Task
from api.runtime import SERVICES
from api.store.directory import Member
from api.store.listing import Filters, Listing
from api.web.access import signed_in_member
from api.web.pages import page
from api.web.session import with_csrf

TABS = {"pending": ("Pending", ("pending",)), "completed": ("Completed", ("completed",)),
        "closed": ("Cancelled & failed", ("cancelled", "failed"))}
PAGE_SIZE = 100
SEARCH_DEPTH = 5000  # tasks per status a search looks through, newest first


async def require_member(request: web.Request) -> Member:
    member = await signed_in_member(request)
    if member is None:
        raise web.HTTPSeeOther("/dashboard/login")
    return member


async def member_page(request: web.Request, member: Member, template: str,
                      status: int = 200, **context: Any) -> web.Response:
    """A dashboard page: the member, a CSRF token for its forms and the nav."""
    return await with_csrf(request, lambda token: page(
        template, status, member=member, csrf_token=token, **context))


def _query(request: web.Request) -> tuple[str, bool, str]:
    tab = request.query.get("tab", "pending")
    return (tab if tab in TABS else "pending", request.query.get("mine") == "1",
            request.query.get("q", "").strip()[:200])


def _matches(task: Task, q: str) -> bool:
    needle = q.lower()
    return not needle or needle in task.title.lower() or any(
        needle in tag.lower() for tag in task.tags)


def task_rows(listing: Listing, member: Member, tab: str, mine: bool,
              q: str) -> list[dict[str, Any]]:
    """The tab's tasks, newest first, as plain rows (the page and the JSON share them)."""
    found: list[Task] = []
    for status in TABS[tab][1]:
        filters = Filters(status=status, assignee=member.id if mine else None)
        found += _search(listing, member.org_id, filters, q)
    found.sort(key=lambda t: t.created_at, reverse=True)
    return [_row(t) for t in found][:PAGE_SIZE]


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
            "priority": task.priority, "tags": task.tags,
            "assignee": task.assignee_name or task.assignee_email or "",
            "created_at": task.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "href": f"/dashboard/tasks/{task.task_id}"}


async def show_dashboard(request: web.Request) -> web.Response:
    member = await require_member(request)
    tab, mine, q = _query(request)
    listing = request.config_dict[SERVICES].listing
    rows = await asyncio.to_thread(task_rows, listing, member, tab, mine, q)
    query = urlencode({"tab": tab, "mine": "1" if mine else "", "q": q})
    tabs = [(key, label, "?" + urlencode({"tab": key, "mine": "1" if mine else "", "q": q}))
            for key, (label, _) in TABS.items()]
    return await member_page(request, member, "dashboard.html", tab=tab, mine=mine, q=q,
                       rows=rows, tabs=tabs, source=f"/dashboard/api/tasks?{query}")


async def tasks_json(request: web.Request) -> web.Response:
    member = await signed_in_member(request)
    if member is None:
        return web.json_response({"error": "unauthorized"}, status=401)
    tab, mine, q = _query(request)
    listing = request.config_dict[SERVICES].listing
    rows = await asyncio.to_thread(task_rows, listing, member, tab, mine, q)
    return web.json_response({"tasks": rows}, headers={"Cache-Control": "no-store"})


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app ("" is /dashboard itself)."""
    app.router.add_get("", show_dashboard)
    app.router.add_get("/api/tasks", tasks_json)
