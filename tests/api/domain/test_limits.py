"""api.domain.limits: a Limit behaves as pydantic's Field constraint in requests (errors
and JSON schema alike) and is skipped while a stored record is read."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from api.domain.limits import RECORD, Email, Limit
from api.domain.task import TaskCreate
from tests.fixtures import example

CASES: list[tuple[Any, dict[str, Any], Any]] = [
    (str, {"min_length": 2, "max_length": 3, "pattern": r"^[a-z]+$"}, "abcd"),
    (str, {"min_length": 2}, "a"),
    (str, {"pattern": r"^[a-z]+$"}, "abc\n"),
    (int, {"ge": 60, "le": 100}, 101),
    (int, {"ge": 60}, 59),
    (list[int], {"min_length": 1, "max_length": 2}, [1, 2, 3]),
    (list[int], {"min_length": 1}, []),
]


def errors(adapter: TypeAdapter[Any], value: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    return [(e["type"], e["msg"]) for e in caught.value.errors()]


@pytest.mark.parametrize(("kind", "limits", "bad"), CASES)
def test_a_limit_is_a_field_constraint_in_requests(kind: Any, limits: dict[str, Any],
                                                   bad: Any) -> None:
    limited = TypeAdapter(Annotated[kind, Limit(**limits)])
    constrained = TypeAdapter(Annotated[kind, Field(**limits)])
    assert limited.json_schema() == constrained.json_schema()
    assert errors(limited, bad) == errors(constrained, bad)
    assert limited.validate_python(bad, context=RECORD) == bad


@pytest.mark.parametrize(("kind", "limits", "inside", "outside"), [
    (str, {"min_length": 2, "max_length": 3}, ["ab", "abc", "éé"], ["a", "abcd", "éééé"]),
    (int, {"ge": 60, "le": 100}, [60, 100, "60"], [59, 101, "101"]),
    (list[int], {"min_length": 1, "max_length": 2}, [[1], [1, 2]], [[], [1, 2, 3]]),
])
def test_a_limit_agrees_with_the_constraint_at_its_bounds(
        kind: Any, limits: dict[str, Any], inside: list[Any], outside: list[Any]) -> None:
    """Values plainly within a Limit skip pydantic-core's check: the bounds must agree."""
    limited = TypeAdapter(Annotated[kind, Limit(**limits)])
    constrained = TypeAdapter(Annotated[kind, Field(**limits)])
    for value in inside:
        assert limited.validate_python(value) == constrained.validate_python(value)
    for value in outside:
        assert errors(limited, value) == errors(constrained, value)


def test_a_list_over_its_limit_is_refused_before_its_items() -> None:
    body = {**example("hpi_approval"), "steps": [{"id": "bad id!"}] * 25}
    with pytest.raises(ValidationError) as caught:
        TaskCreate.model_validate(body)
    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [("too_long", ("steps",))]


def test_email_syntax_and_normalisation_apply_to_requests_only() -> None:
    email = TypeAdapter(Annotated[str, Email])
    assert email.validate_python("Ops@EXAMPLE.com") == "Ops@example.com"
    assert errors(email, "not an email")[0][0] == "value_error"
    assert email.validate_python("not an email", context=RECORD) == "not an email"
    assert email.json_schema() == {"format": "email", "type": "string"}
