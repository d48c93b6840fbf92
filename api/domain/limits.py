"""Request limits that a stored record does not re-apply.

The request and the stored record share their shapes (steps, fields, sinks). A limit on
them is declared once, as `Annotated[str, Limit(max_length=200)]`: it is enforced when a
request is validated, written into the JSON schema (so the OpenAPI document shows it), and
skipped when a stored record is read (validation context RECORD, see `Task.read`), so
tightening a limit never makes existing tasks unreadable. Validators of the shared shapes
that enforce request rules start with `if not in_request(info): return value`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic.networks import validate_email
from pydantic_core import PydanticKnownError, SchemaValidator, ValidationError, core_schema

RECORD: Final = {"stored_record": True}  # the context of reading a stored record

# JSON schema keywords of each constraint, by the JSON type it constrains.
_KEYWORDS = {
    "string": {"min_length": "minLength", "max_length": "maxLength", "pattern": "pattern"},
    "array": {"min_length": "minItems", "max_length": "maxItems"},
    "integer": {"ge": "minimum", "le": "maximum"},
}
_PLAIN: dict[str, Callable[..., core_schema.CoreSchema]] = {
    "str": core_schema.str_schema, "int": core_schema.int_schema,
    "list": lambda **limits: core_schema.list_schema(core_schema.any_schema(), **limits)}


def in_request(info: ValidationInfo) -> bool:
    """Whether request rules apply: always, except while reading a stored record."""
    return info.context is not RECORD


@dataclass(frozen=True)
class Limit:
    """Constraints of a str, int or list, checked by pydantic-core itself (same errors as
    `Field(max_length=...)`), only in requests."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    ge: int | None = None
    le: int | None = None

    def _given(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        inner = handler(source)
        plain = SchemaValidator(_PLAIN[inner["type"]](**self._given()))
        is_list = inner["type"] == "list"

        within = self._within

        def check(value: Any, validate: core_schema.ValidatorFunctionWrapHandler,
                  info: ValidationInfo) -> Any:
            if not in_request(info):
                return validate(value)
            if is_list and isinstance(value, list) and not within(value):
                _check(plain, value)  # a list too long is refused before its items
            result = validate(value)
            if not within(result):
                _check(plain, result)
            return result

        return core_schema.with_info_wrap_validator_function(check, inner)

    def _within(self, value: Any) -> bool:
        """Whether `value` plainly meets the sizes and bounds (a request's values nearly
        always do): pydantic-core's own check, which gives the errors, then runs only for
        the others and for patterns. A check costs a Python call per limited value."""
        if self.pattern is not None:
            return False
        if isinstance(value, (str, list)):
            return ((self.min_length is None or len(value) >= self.min_length)
                    and (self.max_length is None or len(value) <= self.max_length))
        if isinstance(value, int) and not isinstance(value, bool):
            return ((self.ge is None or value >= self.ge)
                    and (self.le is None or value <= self.le))
        return False

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        keywords = _KEYWORDS[json_schema["type"]]
        return {**json_schema, **{keywords[k]: v for k, v in self._given().items()}}


def _check(plain: SchemaValidator, value: Any) -> None:
    try:
        plain.validate_python(value)
    except ValidationError as error:
        first = error.errors()[0]
        raise PydanticKnownError(first["type"], first.get("ctx")) from None  # type: ignore[arg-type]


class Email:
    """An email address (pydantic's EmailStr rules and normalisation) in requests; a
    stored record keeps the address it was given."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def check(value: str, info: ValidationInfo) -> str:
            return validate_email(value)[1] if in_request(info) else value

        return core_schema.with_info_after_validator_function(check, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "format": "email"}


class Shape(BaseModel):
    """Requests, and the records that keep them, ignore unknown keys: integrations send
    extra fields."""

    model_config = ConfigDict(extra="ignore")
