"""A task at the edges of what the models accept (api.domain.fields MIN_YEAR..MAX_YEAR, range
bounds, steps and ratings), with answers at both ends, shared by the surface tests."""

from __future__ import annotations

from typing import Any

FIELDS: list[dict[str, Any]] = [
    {"name": "moment", "label": "Moment", "kind": "date", "include_time": True},
    {"name": "local", "label": "Local", "kind": "date", "include_time": True},
    {"name": "day", "label": "Day", "kind": "date"},
    {"name": "wide", "label": "Wide", "kind": "range", "min": -1e15, "max": 1e15, "step": 2e6},
    {"name": "fine", "label": "Fine", "kind": "range", "min": 0, "max": 1, "step": 1e-9},
    {"name": "stars", "label": "Stars", "kind": "rating", "max_rating": 10},
]
# Offsets of almost a day, so the UTC moment sits exactly on the bound.
EXTREMES: dict[str, dict[str, Any]] = {
    "earliest": {"moment": "1000-01-01T23:59:00+23:59", "local": "1000-01-01T00:00:00",
                 "day": "1000-01-01", "wide": -1e15, "fine": 1e-9, "stars": 1},
    "latest": {"moment": "9998-12-31T00:00:00-23:59", "local": "9998-12-31T23:59:00",
               "day": "9998-12-31", "wide": 1e15, "fine": 0.999999999, "stars": 10},
}
DUE = {"earliest": "1000-01-01T00:00:00Z", "latest": "9998-12-31T23:59:59Z"}
# What the web form's inputs hold (date-times in UTC, as datetime-local takes them).
INPUT_VALUES = {
    "earliest": {"moment": "1000-01-01T00:00", "local": "1000-01-01T00:00",
                 "day": "1000-01-01", "wide": "-1000000000000000", "fine": "0.000000001"},
    "latest": {"moment": "9998-12-31T23:59", "local": "9998-12-31T23:59",
               "day": "9998-12-31", "wide": "1000000000000000", "fine": "0.999999999"},
}
# What people read (PDF, email, dashboard).
SHOWN = {
    "earliest": ["1 January 1000, 00:00 UTC", "1 January 1000", "-1000000000000000",
                 "0.000000001", "(1/10)"],
    "latest": ["31 December 9998, 23:59 UTC", "31 December 9998", "1000000000000000",
               "0.999999999", "(10/10)"],
}


def body(end: str, **extra: Any) -> dict[str, Any]:
    """A create body with the boundary fields and a due date at `end`."""
    blocks = [{"type": "input", "field": f} for f in FIELDS]
    return {"title": f"Bounds {end}", "due_at": DUE[end],
            "steps": [{"id": "s1", "title": "Edges", "blocks": blocks}], **extra}
