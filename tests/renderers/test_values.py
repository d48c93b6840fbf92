"""Answers as people read them."""

from __future__ import annotations

from typing import Any

import pytest

from api.domain.fields import FormField
from renderers.values import display_value, human_date, human_size, number, stars


def field(kind: str, **extra: Any) -> FormField:
    return FormField.model_validate({"name": "f", "label": "F", "kind": kind, **extra})


@pytest.mark.parametrize(
    ("value", "top", "shown"),
    [(4, 5, "★★★★☆ (4/5)"), (1, 1, "★ (1/1)"), (12, 10, "★" * 10 + " (10/10)")],
)
def test_stars(value: int, top: int, shown: str) -> None:
    assert stars(value, top) == shown


def test_dates() -> None:
    assert human_date("2026-02-04") == "4 February 2026"
    assert human_date("2026-02-24T12:00:00+01:00", True) == "24 February 2026, 11:00 UTC"
    assert human_date("2026-02-24T12:00:00Z", True) == "24 February 2026, 12:00 UTC"
    assert human_date("2026-02-24T12:00", True) == "24 February 2026, 12:00"


@pytest.mark.parametrize(("size", "shown"), [(0, "0 B"), (999, "999 B"), (12_345, "12.3 kB"),
                                             (4_000_000, "4.0 MB"), (5 * 10**12, "5000.0 GB")])
def test_sizes(size: int, shown: str) -> None:
    assert human_size(size) == shown


@pytest.mark.parametrize(("value", "shown"), [(5, "5"), (5.0, "5"), (2.5, "2.5"),
                                              (1e-7, "0.0000001"), (1e16, "10000000000000000"),
                                              (float("inf"), "inf")])
def test_numbers(value: float, shown: str) -> None:
    assert number(value) == shown


FILE = {"name": "scan.pdf", "size": 2048, "content_type": "application/pdf", "sha256": "a" * 64,
        "url": "https://x/1"}


@pytest.mark.parametrize(
    ("kind", "extra", "value", "shown"),
    [
        ("text", {}, "Zoë <&>", "Zoë <&>"),
        ("select", {"options": ["a"]}, "a", "a"),
        ("checkbox", {}, True, "Yes"),
        ("checkbox", {}, False, "No"),
        ("rating", {"max_rating": 5}, 3, "★★★☆☆ (3/5)"),
        ("date", {}, "2026-02-24", "24 February 2026"),
        ("date", {"include_time": True}, "2026-02-24T12:00:00+00:00",
         "24 February 2026, 12:00 UTC"),
        ("range", {"step": 0.5}, 7.5, "7.5"),
        ("file", {}, FILE, "scan.pdf (2.0 kB)"),
        ("signature", {}, FILE, "scan.pdf (2.0 kB)"),
        ("text", {}, None, "—"),
        ("date", {}, "not a date", "not a date"),
        ("rating", {}, "x", "x"),
    ],
)
def test_display_value(kind: str, extra: dict[str, Any], value: Any, shown: str) -> None:
    assert display_value(field(kind, **extra), value) == shown
