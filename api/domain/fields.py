"""Validation of answers, shared by every channel (API, web form, Slack).

Answers arrive as JSON-ish values keyed by field name; the result is the clean, typed
`data` stored on the task: strings, numbers, booleans, ISO dates and file references.
Empty optional answers are dropped. Errors carry the field name so each surface can put
the message next to its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from api.domain.errors import AnswerError, Detail
from api.domain.task import MAX_YEAR, MIN_YEAR, FileRef, FormField, within_years
from api.domain.validation import is_unicode

MAX_TEXT = 10_000
MAX_TEXTAREA = 50_000


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(limit: int) -> Callable[[FormField, Any], Any]:
    def check(field: FormField, value: Any) -> str:
        if not isinstance(value, str):
            raise AnswerError("must be text")
        if len(value) > limit:
            raise AnswerError(f"must be at most {limit} characters")
        if not is_unicode(value):
            raise AnswerError("must be valid Unicode text (it holds a lone surrogate)")
        return value

    return check


def _choice(field: FormField, value: Any) -> str:
    if not isinstance(value, str) or value not in (field.options or []):
        raise AnswerError("must be one of the listed options")
    return value


def _checkbox(field: FormField, value: Any) -> bool:
    if not isinstance(value, bool):
        raise AnswerError("must be true or false")
    if field.required and not value:
        raise AnswerError("must be checked")
    return value


def _date(field: FormField, value: Any) -> str:
    if not isinstance(value, str):
        raise AnswerError("must be a date string")
    moment = _moment(value) if field.include_time else _day(value)
    if not within_years(moment):
        raise AnswerError(f"must lie in the years {MIN_YEAR} to {MAX_YEAR} (in UTC too)")
    return moment.isoformat()


def _moment(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AnswerError("must be a date and time like 2026-02-24T12:00") from None


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AnswerError("must be a date like 2026-02-24") from None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AnswerError("must be a number")
    try:
        number = float(value)
    except ValueError:
        raise AnswerError("must be a number") from None
    except OverflowError:  # an integer of hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise AnswerError("must be a finite number")
    return number


def _range(field: FormField, value: Any) -> int | float:
    number = _number(value)
    low, high, step = field.min or 0.0, field.max or 0.0, field.step or 1.0
    if not low <= number <= high:
        raise AnswerError(f"must be between {_fmt(low)} and {_fmt(high)}")
    steps = (number - low) / step
    # float64 error grows with the step count (at most MAX_RANGE_STEPS): tolerate it.
    if abs(steps - round(steps)) > 1e-6 * max(1.0, steps / 1e6):
        raise AnswerError(f"must be a multiple of {_fmt(step)} from {_fmt(low)}")
    return int(number) if number.is_integer() and float(step).is_integer() else number


def _rating(field: FormField, value: Any) -> int:
    number = _number(value)
    top = field.max_rating or 5
    if not number.is_integer() or not 1 <= number <= top:
        raise AnswerError(f"must be a whole number from 1 to {top}")
    return int(number)


def _upload(field: FormField, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise AnswerError("must be an uploaded file")
    try:
        ref = FileRef.model_validate(value)
    except ValueError:
        raise AnswerError("must be an uploaded file reference") from None
    if field.kind == "signature" and ref.content_type != "image/png":
        raise AnswerError("a signature must be a PNG image")
    return ref.model_dump()


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


_CHECKS: dict[str, Callable[[FormField, Any], Any]] = {
    "text": _text(MAX_TEXT),
    "textarea": _text(MAX_TEXTAREA),
    "select": _choice,
    "radio": _choice,
    "checkbox": _checkbox,
    "date": _date,
    "range": _range,
    "rating": _rating,
    "file": _upload,
    "signature": _upload,
}


def check_answer(field: FormField, value: Any) -> Any:
    """The clean value of one answer, or `None` for an empty optional one."""
    if is_empty(value) or (field.kind == "checkbox" and value is False and not field.required):
        if field.required:
            raise AnswerError("this field is required")
        return False if field.kind == "checkbox" and value is False else None
    return _CHECKS[field.kind](field, value)


def validate_answers(
    fields: Iterable[FormField], data: Mapping[str, Any], *, loc_prefix: str = "data"
) -> tuple[dict[str, Any], list[Detail]]:
    """Check `data` against `fields`: the clean answers and every violation at once."""
    fields = list(fields)
    known = {f.name for f in fields}
    clean: dict[str, Any] = {}
    details = [
        Detail(f"{loc_prefix}.{name}", "unknown field", "extra_forbidden")
        for name in data
        if name not in known
    ]
    for field in fields:
        try:
            value = check_answer(field, data.get(field.name))
        except AnswerError as error:
            details.append(Detail(f"{loc_prefix}.{field.name}", str(error), "answer_error"))
            continue
        if value is not None:
            clean[field.name] = value
    return clean, details
