"""What the form template gets for each field."""

from __future__ import annotations

from typing import Any

import pytest

from api.domain.fields import FormField
from renderers.html_fields import field_view


def field(kind: str, **extra: Any) -> FormField:
    return FormField.model_validate({"name": "f", "label": "F", "kind": kind, **extra})


def test_ids_and_described_by() -> None:
    view = field_view(field("range"), None, "too big")
    assert view.id == "field-f"
    assert view.describedby == "field-f-hint field-f-error"
    assert field_view(field("text"), None, None).describedby is None


@pytest.mark.parametrize(("bounds", "default"), [({"min": 0, "max": 10}, "5"),
                                                 ({"min": 0, "max": 9, "step": 2}, "4"),
                                                 ({"min": 0.5, "max": 1, "step": 0.25}, "0.75")])
def test_an_unanswered_slider_starts_in_the_middle(bounds: dict[str, float], default: str) -> None:
    assert field_view(field("range", **bounds), None, None).value == default


@pytest.mark.parametrize(
    ("extra", "answer", "value"),
    [({}, "2026-02-24", "2026-02-24"), ({}, "garbage", ""),
     ({"include_time": True}, "2026-02-24T12:00:00+01:00", "2026-02-24T11:00"),
     ({"include_time": True}, "2026-02-24T12:00", "2026-02-24T12:00"),
     ({"include_time": True}, "nope", "")],
)
def test_dates_in_the_form_inputs_take(extra: dict[str, Any], answer: str, value: str) -> None:
    assert field_view(field("date", **extra), answer, None).value == value


def test_only_png_data_urls_go_back_into_the_signature_input() -> None:
    assert field_view(field("signature"), "data:image/png;base64,AAAA", None).value.startswith(
        "data:image/png")
    assert field_view(field("signature"), "javascript:alert(1)", None).value == ""
    stored = {"name": "s.png", "size": 10, "content_type": "image/png", "sha256": "a" * 64,
              "url": "https://x"}
    view = field_view(field("signature"), stored, None)
    assert view.value == "" and view.current_file == "s.png (10 B)"


def test_options_and_checked() -> None:
    assert field_view(field("rating", max_rating=3), 2, None).options == (
        ("1", "1 of 3 stars"), ("2", "2 of 3 stars"), ("3", "3 of 3 stars"))
    assert field_view(field("select", options=["a", "b"]), "b", None).options == (
        ("a", "a"), ("b", "b"))
    assert field_view(field("checkbox"), True, None).checked
    assert not field_view(field("checkbox"), "true", None).checked
