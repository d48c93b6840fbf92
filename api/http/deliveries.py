"""Delivery records of sink events (issue 5 fills this in)."""

from __future__ import annotations

from aiohttp import web


def register(app: web.Application) -> None:
    """Mount the deliveries routes."""
