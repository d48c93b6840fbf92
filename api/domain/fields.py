"""Form fields: their kinds, their shape (`FormField`, the `FileRef` of an upload) and the
validation of answers, shared by every channel (API, web form, Slack).

Answers arrive as JSON-ish values keyed by field name; the result is the clean, typed
`data` stored on the task: strings, numbers, booleans, ISO dates and file references.
Empty optional answers are dropped. Errors carry the field name so each surface can put
the message next to its input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from api.domain.errors import AnswerError, Detail
from api.domain.limits import Limit, Shape, in_request

FieldKind = Literal[
    "text", "textarea", "select", "radio", "checkbox", "date", "range", "rating", "file",
    "signature",
]
CHOICE_KINDS = frozenset({"select", "radio"})
UPLOAD_KINDS = frozenset({"file", "signature"})
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Bounds every surface (web form, Slack, PDF, email, dashboard) can show. Years keep four
# digits with a day to spare, so no UTC offset carries a moment out of datetime's range.
MIN_YEAR, MAX_YEAR = 1000, 9998
MAX_RANGE_BOUND = 1e15  # |min|, |max| and numeric answers: integers stay exact in float64
MIN_RANGE_STEP = 1e-9
MAX_RANGE_STEPS = 1e9  # (max - min) / step: the multiple-of-step check stays exact


def within_years(moment: date | datetime) -> bool:
    """Whether `moment` (and, when aware, its UTC form) lies in MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return False
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return MIN_YEAR <= moment.astimezone(UTC).year <= MAX_YEAR
    return True


def is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate, which no UTF-8 output can carry."""
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate (JSON escapes \ud800 to \udfff)
        return False
    return True


class FormField(Shape):
    name: Annotated[str, Limit(max_length=64, pattern=FIELD_NAME.pattern)]
    label: Annotated[str, Limit(min_length=1, max_length=2000)]
    kind: FieldKind
    required: bool = False
    placeholder: Annotated[str, Limit(max_length=150)] | None = None
    options: list[str] | None = Field(default=None, validate_default=True)
    include_time: bool = False
    min: float | None = Field(default=None, validate_default=True, allow_inf_nan=False)
    max: float | None = Field(default=None, validate_default=True, allow_inf_nan=False)
    step: float | None = Field(default=None, validate_default=True, allow_inf_nan=False)
    max_rating: int | None = Field(default=None, validate_default=True)

    @field_validator("options")
    @classmethod
    def _options(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if not in_request(info):
            return value
        kind = info.data.get("kind")
        if kind not in CHOICE_KINDS:
            if value is not None:
                raise ValueError(f"options apply only to select and radio, not {kind}")
            return None
        if not value:
            raise ValueError(f"a {kind} field needs 1 to 100 options")
        if len(value) > 100:
            raise ValueError("at most 100 options")
        if any(not o.strip() for o in value):
            raise ValueError("options must be non-empty strings")
        if any(len(o) > 500 for o in value):
            raise ValueError("an option is at most 500 characters")
        if len(set(value)) != len(value):
            raise ValueError("options must be unique")
        return value

    @field_validator("min", "max", "step")
    @classmethod
    def _range_numbers(cls, value: float | None, info: ValidationInfo) -> float | None:
        if not in_request(info):
            return value
        if info.data.get("kind") != "range":
            if value is not None:
                raise ValueError(f"{info.field_name} applies only to range fields")
            return None
        default = {"min": 0.0, "max": 100.0, "step": 1.0}[str(info.field_name)]
        value = default if value is None else value
        problem = (_range_step(value, info.data) if info.field_name == "step"
                   else _range_bound(str(info.field_name), value, info.data))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("max_rating")
    @classmethod
    def _max_rating(cls, value: int | None, info: ValidationInfo) -> int | None:
        if not in_request(info):
            return value
        if info.data.get("kind") != "rating":
            if value is not None:
                raise ValueError("max_rating applies only to rating fields")
            return None
        value = 5 if value is None else value
        if not 1 <= value <= 10:
            raise ValueError("max_rating must be between 1 and 10")
        return value


def _range_bound(name: str, value: float, data: dict[str, Any]) -> str | None:
    if abs(value) > MAX_RANGE_BOUND:
        return f"{name} must be between -{MAX_RANGE_BOUND:g} and {MAX_RANGE_BOUND:g}"
    if name == "max" and "min" in data and value <= data["min"]:
        return "max must be greater than min"
    return None


def _range_step(step: float, data: dict[str, Any]) -> str | None:
    if step < MIN_RANGE_STEP:
        return f"step must be at least {MIN_RANGE_STEP:g}"
    if "min" in data and "max" in data and (data["max"] - data["min"]) / step > MAX_RANGE_STEPS:
        return f"step is too small: (max - min) / step must be at most {MAX_RANGE_STEPS:g}"
    return None


class FileRef(BaseModel):
    """An uploaded file or signature as it appears in `data`."""

    name: str
    size: int
    content_type: str
    sha256: str
    url: str


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
