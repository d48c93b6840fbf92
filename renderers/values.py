"""Answers as people read them (PDF, Slack summaries): stars, Yes/No, dates, file sizes.

Values are the clean ones `api.domain.fields.validate_answers` stores; anything unexpected is
shown as its text rather than failing the whole document.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from api.domain.fields import FormField

EMPTY = "—"


def stars(value: int, top: int) -> str:
    """A rating as stars, e.g. "★★★★☆ (4/5)"."""
    value = max(0, min(value, top))
    return "★" * value + "☆" * (top - value) + f" ({value}/{top})"


def human_date(value: str, with_time: bool = False) -> str:
    """An ISO date as "24 February 2026", with time "24 February 2026, 12:00 UTC"."""
    if not with_time:
        day = date.fromisoformat(value)
        return f"{day.day} {day:%B %Y}"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    zone = ""
    if moment.tzinfo is not None:
        moment, zone = moment.astimezone(UTC), " UTC"
    return f"{moment.day} {moment:%B %Y, %H:%M}{zone}"


def human_size(size: int) -> str:
    """A byte count as "532 B", "12.3 kB", "4.0 MB"."""
    amount = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    raise AssertionError("unreachable")


def number(value: float) -> str:
    """A number without a needless ".0" or an exponent."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")  # repr is the shortest exact form


def file_summary(value: Mapping[str, Any]) -> str:
    """An uploaded file as "contract.pdf (12.3 kB)"."""
    return f"{value.get('name', 'file')} ({human_size(int(value.get('size', 0)))})"


def display_value(field: FormField, value: Any) -> str:
    """One answer as text."""
    if value is None:
        return EMPTY
    try:
        return _DISPLAY.get(field.kind, _text)(field, value)
    except (TypeError, ValueError, AttributeError):
        return str(value)


def _text(field: FormField, value: Any) -> str:
    return str(value)


_DISPLAY: dict[str, Callable[[FormField, Any], str]] = {
    "checkbox": lambda field, value: "Yes" if value else "No",
    "rating": lambda field, value: stars(int(value), field.max_rating or 5),
    "date": lambda field, value: human_date(value, field.include_time),
    "range": lambda field, value: number(value),
    "file": lambda field, value: file_summary(value),
    "signature": lambda field, value: file_summary(value),
}
