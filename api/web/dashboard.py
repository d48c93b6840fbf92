"""The operator dashboard: the org's tasks by tab (with counts), "assigned to me", search,
sortable columns, and live updates.

Live: the page listens to `/dashboard/events` (api.web.live) and, on each change of its
org's tasks, fetches `/dashboard/api/tasks` (the same query) for fresh rows and counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from api.runtime import SERVICES
from api.store.directory import Member
from api.web.access import signed_in_member, signed_in_recently
from api.web.pages import page, render
from api.web.session import CSRF_FIELD, csrf_ok, with_csrf
from api.web.task_list import TABS, ListQuery, columns, tab_counts, task_rows


async def require_member(request: web.Request) -> Member:
    member = await signed_in_member(request)
    if member is None:
        raise web.HTTPSeeOther("/dashboard/login")
    return member


REAUTH = ("Changing settings needs a recent sign-in (within {minutes} minutes). Sign out "
          "and sign in again, then repeat the change.")
Posted = MultiDictProxy[Any]  # what request.post() returns
SettingsPage = Callable[..., Awaitable[web.Response]]  # (request, member, status, *, error)


async def checked_form(request: web.Request, member: Member,
                       again: SettingsPage) -> Posted | web.Response:
    """The posted form when it carries this session's CSRF token and the session began
    recently (INLOOP_WEB_RECENT_SIGN_IN_S); else the page `again`, 403, saying why."""
    form = await request.post()
    if not await csrf_ok(request, form.get(CSRF_FIELD)):
        return await again(request, member, 403, error="The page expired; try again.")
    if not await signed_in_recently(request):
        minutes = request.config_dict[SERVICES].settings.web_recent_sign_in_s // 60
        return await again(request, member, 403, error=REAUTH.format(minutes=minutes))
    return form


async def member_page(request: web.Request, member: Member, template: str,
                      status: int = 200, **context: Any) -> web.Response:
    """A dashboard page (templates extending layout.html): the member, a CSRF token for
    its forms, and the path the header's nav marks as current."""
    return await with_csrf(request, lambda token: page(
        template, status, member=member, csrf_token=token, here=request.path, **context))


async def _listed(request: web.Request, member: Member,
                  query: ListQuery) -> tuple[list[dict[str, Any]], dict[str, int]]:
    listing = request.config_dict[SERVICES].listing
    rows = await asyncio.to_thread(task_rows, listing, member, query)
    counts = await asyncio.to_thread(tab_counts, listing, member, query.mine)
    return rows, counts


async def show_dashboard(request: web.Request) -> web.Response:
    member = await require_member(request)
    query = ListQuery.parse(request.query)
    rows, counts = await _listed(request, member, query)
    tabs = [(key, label, query.params(tab=key), counts[key])
            for key, (label, _) in TABS.items()]
    return await member_page(
        request, member, "dashboard.html", query=query, rows=rows, tabs=tabs,
        columns=columns(query), source="/dashboard/api/tasks" + query.params(),
        base_url=request.config_dict[SERVICES].settings.base_url)


async def tasks_json(request: web.Request) -> web.Response:
    """The rows and tab counts of a dashboard query, and the table body rendered the way
    the page renders it (the live refresh swaps it in)."""
    member = await signed_in_member(request)
    if member is None:
        return web.json_response({"error": "unauthorized"}, status=401)
    rows, counts = await _listed(request, member, ListQuery.parse(request.query))
    body = await asyncio.to_thread(render, "_task_rows.html", rows=rows)
    return web.json_response({"tasks": rows, "counts": counts, "rows_html": body},
                             headers={"Cache-Control": "no-store"})


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app ("" is /dashboard itself)."""
    app.router.add_get("", show_dashboard)
    app.router.add_get("/api/tasks", tasks_json)
