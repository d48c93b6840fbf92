"""What the form template needs to draw one field: ids, the value as the input takes it,
hints, the error and the ids that describe the input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from api.domain.fields import FormField
from renderers.values import file_summary, number

DATA_URL = "data:image/png;base64,"


@dataclass(frozen=True)
class FieldView:
    field: FormField
    id: str
    value: str
    error: str | None
    hint: str | None
    describedby: str | None
    options: tuple[tuple[str, str], ...] = ()  # (value, text)
    checked: bool = False
    current_file: str | None = None


def field_view(form_field: FormField, answer: Any, error: str | None) -> FieldView:
    """The template's view of `form_field` with its answer so far and its error, if any."""
    ident = f"field-{form_field.name}"
    hint = _hint(form_field)
    ids = [f"{ident}-hint" if hint else "", f"{ident}-error" if error else ""]
    return FieldView(
        field=form_field,
        id=ident,
        value=_value(form_field, answer),
        error=error,
        hint=hint,
        describedby=" ".join(i for i in ids if i) or None,
        options=_options(form_field),
        checked=answer is True,
        current_file=file_summary(answer) if isinstance(answer, Mapping) else None,
    )


def _hint(form_field: FormField) -> str | None:
    if form_field.kind == "range":
        low, high = number(form_field.min or 0), number(form_field.max or 0)
        return f"From {low} to {high} in steps of {number(form_field.step or 1)}."
    if form_field.kind == "signature":
        return "Draw with a mouse, finger or pen, or type your name."
    return None


def _options(form_field: FormField) -> tuple[tuple[str, str], ...]:
    if form_field.kind == "rating":
        top = form_field.max_rating or 5
        return tuple((str(n), f"{n} of {top} stars") for n in range(1, top + 1))
    return tuple((o, o) for o in form_field.options or [])


def _value(form_field: FormField, answer: Any) -> str:
    if answer is None or isinstance(answer, bool | Mapping):
        return _default(form_field)
    if form_field.kind == "date":
        return _date_value(str(answer), form_field.include_time)
    if form_field.kind == "signature":
        return answer if isinstance(answer, str) and answer.startswith(DATA_URL) else ""
    if isinstance(answer, int | float):
        return number(answer)
    return str(answer)


def _default(form_field: FormField) -> str:
    """A slider always has a value: show the one the browser would pick, the middle step."""
    if form_field.kind != "range":
        return ""
    low, high, step = form_field.min or 0.0, form_field.max or 0.0, form_field.step or 1.0
    middle = low + round((high - low) / 2 / step) * step
    return number(min(middle, high))


def _date_value(answer: str, with_time: bool) -> str:
    try:
        if not with_time:
            return date.fromisoformat(answer).isoformat()
        moment = datetime.fromisoformat(answer.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M")
