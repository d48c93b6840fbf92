"""Dashboard -> Settings: the index of its sections (templates/_settings.html lists them;
each section is a page of its own module, e.g. api.web.tokens)."""

from __future__ import annotations

from aiohttp import web

from api.web.dashboard import member_page, require_member


async def show_settings(request: web.Request) -> web.Response:
    member = await require_member(request)
    return await member_page(request, member, "settings.html")


def register(app: web.Application) -> None:
    """Routes of the /dashboard sub-app."""
    app.router.add_get("/settings", show_settings)
