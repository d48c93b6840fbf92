"""Web form, external-assignee codes and the operator dashboard (issue 6 fills this in)."""

from __future__ import annotations

from aiohttp import web


def register(app: web.Application) -> None:
    """Mount the web UI routes."""
