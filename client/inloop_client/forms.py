"""A pydantic model as a form, and a form's answer as an instance of that model.

| Model field                                 | Field kind                            |
|---------------------------------------------|---------------------------------------|
| `Literal[...]` or an `Enum`                 | radio (≤ 5 options), else select      |
| `bool`                                      | checkbox                              |
| `date` / `datetime`                         | date / date with `include_time`       |
| `int` or `float` with `ge` and `le`         | range (`multiple_of` is the step)     |
| `Annotated[int, Rating(5)]`                 | rating                                |
| `str`                                       | text (textarea: `max_length` > 200    |
|                                             | or `Annotated[str, Textarea()]`)      |
| `UploadedFile` (or with `File()`)           | file                                  |
| `Annotated[UploadedFile, Signature()]`      | signature                             |

A model with any other field is refused (`UnsupportedForm`) before a request is made.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from inloop_client.errors import InvalidAnswer, UnsupportedForm
from inloop_client.models import FormField, InputBlock, Step, UploadedFile

M = TypeVar("M", bound=BaseModel)
RADIO_MAX = 5
BLOCKS_PER_STEP = 50
TEXTAREA_OVER = 200
PLACEHOLDER_MAX = 150
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Rating:
    """`Annotated[int, Rating(5)]`: a 1..max star rating."""

    max: int = 5


@dataclass(frozen=True)
class Textarea:
    """`Annotated[str, Textarea()]`: a multi-line answer."""


@dataclass(frozen=True)
class File:
    """`Annotated[UploadedFile, File()]`: a file upload (the default for `UploadedFile`)."""


@dataclass(frozen=True)
class Signature:
    """`Annotated[UploadedFile, Signature()]`: a drawn signature (PNG)."""


@dataclass(frozen=True)
class _Type:
    base: Any
    meta: tuple[Any, ...]
    nullable: bool

    def marker(self, kind: type) -> Any:
        return next((m for m in self.meta if isinstance(m, kind)), None)

    def bound(self, kind: type, attr: str) -> Any:
        found = self.marker(kind)
        return None if found is None else getattr(found, attr)


def _unwrap(annotation: Any, meta: tuple[Any, ...] = ()) -> _Type:
    """The field's base type, its `Annotated` metadata, and whether it allows None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        return _unwrap(inner, meta + tuple(extra))
    if origin in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) != 1:
            raise UnsupportedForm(f"a union of {len(rest)} types has no field kind")
        inner = _unwrap(rest[0], meta)
        return _Type(inner.base, inner.meta, True)
    return _Type(annotation, meta, False)


def _type_of(info: FieldInfo) -> _Type:
    return _unwrap(info.annotation, tuple(info.metadata))


def _options(base: Any) -> dict[str, Any] | None:
    """Option text -> model value for a Literal or an Enum, else None."""
    if get_origin(base) is Literal:
        values: list[Any] = list(get_args(base))
    elif isinstance(base, type) and issubclass(base, enum.Enum):
        return {str(m.value): m for m in base}
    else:
        return None
    return {str(v): v for v in values}


def _number(t: _Type) -> dict[str, Any]:
    rating = t.marker(Rating)
    if rating is not None and t.base is int:
        return {"kind": "rating", "max_rating": rating.max}
    low, high = t.bound(at.Ge, "ge"), t.bound(at.Le, "le")
    if low is None or high is None:
        raise UnsupportedForm("a number needs ge= and le= (a range), or "
                              "Annotated[int, Rating(n)]")
    step = t.bound(at.MultipleOf, "multiple_of")
    if step is None:
        step = 1 if t.base is int else (high - low) / 100
    return {"kind": "range", "min": low, "max": high, "step": step}


def _text(t: _Type) -> dict[str, Any]:
    long = (t.bound(at.MaxLen, "max_length") or 0) > TEXTAREA_OVER
    return {"kind": "textarea" if long or t.marker(Textarea) else "text"}


def _upload(t: _Type) -> dict[str, Any]:
    return {"kind": "signature" if t.marker(Signature) else "file"}


def _kind(t: _Type) -> dict[str, Any]:
    options = _options(t.base)
    if options is not None:
        return {"kind": "radio" if len(options) <= RADIO_MAX else "select",
                "options": list(options)}
    base = t.base
    if base is bool:
        return {"kind": "checkbox"}
    if base is datetime or base is date:
        return {"kind": "date", "include_time": base is datetime or None}
    if base is int or base is float:
        return _number(t)
    if base is str:
        return _text(t)
    if isinstance(base, type) and issubclass(base, UploadedFile):
        return _upload(t)
    raise UnsupportedForm(f"no form field kind for {base!r} (see the table in "
                          "inloop_client.forms)")


def _words(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


def _placeholder(info: FieldInfo) -> str | None:
    parts = [info.description] if info.description else []
    if not info.is_required() and info.default not in (None, False):
        parts.append(f"Default: {info.default}")
    text = " · ".join(parts)
    return text[:PLACEHOLDER_MAX] or None


def _field(name: str, info: FieldInfo) -> FormField:
    if not FIELD_NAME.match(name):
        raise UnsupportedForm("a form field name is 1-64 lowercase letters, digits and _, "
                              "starting with a letter (give the field such an alias)")
    t = _type_of(info)
    spec = _kind(t)
    required = info.is_required() and not t.nullable and spec["kind"] != "checkbox"
    try:
        return FormField(name=name, label=info.title or _words(name), required=required,
                         placeholder=_placeholder(info), **spec)
    except ValidationError as error:
        raise UnsupportedForm(error.errors()[0]["msg"]) from None


def form_fields(model: type[BaseModel]) -> list[FormField]:
    """The model's fields as form fields; `UnsupportedForm` naming every field that
    cannot be asked for."""
    fields, problems = [], []
    for name, info in model.model_fields.items():
        try:
            fields.append(_field(info.alias or name, info))
        except UnsupportedForm as error:
            problems.append(f"field {name!r}: {error}")
    if problems or not fields:
        raise UnsupportedForm(f"{model.__name__} cannot be a form: "
                              + ("; ".join(problems) or "it has no fields"))
    return fields


def steps_for(fields: list[FormField], title: str) -> list[Step]:
    """The fields as form steps of at most 50 inputs each."""
    chunks = [fields[i:i + BLOCKS_PER_STEP] for i in range(0, len(fields), BLOCKS_PER_STEP)]
    return [Step(id=f"step{n + 1}", title=title,
                 blocks=[InputBlock(field=f) for f in chunk])
            for n, chunk in enumerate(chunks)]


def _decode(t: _Type, value: Any) -> Any:
    options = _options(t.base)
    return options.get(value, value) if options is not None and isinstance(value, str) else value


def to_model(model: type[M], data: Mapping[str, Any], task_id: str) -> M:
    """The answer as a validated instance: option texts become their Literal or Enum
    values, an unticked checkbox is False, an unanswered optional field its default."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key, t = info.alias or name, _type_of(info)
        if key in data:
            values[key] = _decode(t, data[key])
        elif t.base is bool:
            values[key] = False
        elif t.nullable and info.is_required():
            values[key] = None
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise InvalidAnswer(f"the answer to task {task_id} does not fit {model.__name__}: "
                            f"{error}", task_id=task_id, data=dict(data)) from None
