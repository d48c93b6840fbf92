"""Each field kind as a Block Kit input, prefilled, and its state parsed back."""

from __future__ import annotations

from typing import Any

import pytest

from api.domain.fields import FormField
from renderers.slack_fields import input_block, parse_value


def field(kind: str, **extra: Any) -> FormField:
    return FormField.model_validate({"name": "f", "label": "Label", "kind": kind, **extra})


def element(kind: str, answer: Any = None, **extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = input_block(field(kind, **extra), answer)
    result: dict[str, Any] = block["element"]
    return result


def test_input_block_ids_label_and_optional() -> None:
    block = input_block(field("text", required=True), None)
    assert block["block_id"] == "f:f" and block["element"]["action_id"] == "value"
    assert block["label"]["text"] == "Label" and block["optional"] is False
    assert input_block(field("text"), None)["optional"] is True


def test_blank_label_falls_back_to_the_field_name() -> None:
    assert input_block(field("text", label="   "), None)["label"]["text"] == "f"


def test_text_and_textarea() -> None:
    assert element("text", placeholder="Your name") == {
        "type": "plain_text_input", "multiline": False, "max_length": 3000,
        "placeholder": {"type": "plain_text", "text": "Your name", "emoji": True},
        "action_id": "value",
    }
    assert element("textarea", "line 1\nline 2")["multiline"] is True
    assert element("textarea", "line 1\nline 2")["initial_value"] == "line 1\nline 2"


def test_an_answer_too_long_for_slack_is_not_prefilled_but_explained() -> None:
    block = input_block(field("textarea"), "x" * 3001)
    assert "initial_value" not in block["element"]
    assert "too long for Slack" in block["hint"]["text"]


def test_select_uses_option_indexes_and_shortens_long_options() -> None:
    long = "A" * 200
    block = input_block(field("select", options=["Yes", long]), long)
    select = block["element"]
    assert select["type"] == "static_select"
    assert [o["value"] for o in select["options"]] == ["0", "1"]
    assert select["options"][1]["text"]["text"] == "A" * 74 + "…"
    assert select["initial_option"] == select["options"][1]
    assert "shortened" in block["hint"]["text"]


def test_radio_with_more_than_ten_options_becomes_a_select() -> None:
    assert element("radio", options=[str(i) for i in range(10)])["type"] == "radio_buttons"
    assert element("radio", options=[str(i) for i in range(11)])["type"] == "static_select"
    assert element("radio", "3", options=["1", "2", "3"])["initial_option"]["value"] == "2"


def test_checkbox_is_one_yes_option() -> None:
    unchecked = element("checkbox", False)
    assert unchecked == {"type": "checkboxes", "action_id": "value",
                         "options": [{"text": {"type": "plain_text", "text": "Yes",
                                               "emoji": True}, "value": "true"}]}
    assert element("checkbox", True)["initial_options"] == unchecked["options"]


def test_date_and_datetime_pickers() -> None:
    assert element("date", "2026-02-24") == {"type": "datepicker", "action_id": "value",
                                             "initial_date": "2026-02-24"}
    assert "initial_date" not in element("date", "not a date")
    moment = element("date", "2026-02-24T12:00:00+00:00", include_time=True)
    assert moment == {"type": "datetimepicker", "action_id": "value",
                      "initial_date_time": 1771934400}
    assert element("date", "2026-02-24T12:00", include_time=True)["initial_date_time"] == 1771934400
    assert "initial_date_time" not in element("date", "1960-01-01T00:00", include_time=True)


def test_range_is_a_number_input_with_string_bounds_and_a_hint() -> None:
    block = input_block(field("range", min=0, max=10, step=1), 7)
    assert block["element"] == {"type": "number_input", "action_id": "value",
                                "is_decimal_allowed": False, "min_value": "0",
                                "max_value": "10", "initial_value": "7"}
    assert block["hint"]["text"] == "From 0 to 10 in steps of 1."
    fractional = element("range", 2.5, min=0, max=5, step=0.5)
    assert fractional["is_decimal_allowed"] is True and fractional["initial_value"] == "2.5"
    assert element("range", min=0, max=1, step=1e-7)["min_value"] == "0"


def test_rating_is_radio_buttons_of_stars() -> None:
    rating = element("rating", 4, max_rating=5)
    assert rating["type"] == "radio_buttons"
    assert [o["text"]["text"] for o in rating["options"]][:2] == ["★☆☆☆☆ (1/5)", "★★☆☆☆ (2/5)"]
    assert rating["initial_option"]["value"] == "4"
    assert len(element("rating", max_rating=10)["options"]) == 10


SELECTED = {"text": {"type": "plain_text", "text": "x"}, "value": "1"}


@pytest.mark.parametrize(
    ("kind", "extra", "state", "expected"),
    [
        ("text", {}, {"type": "plain_text_input", "value": "Zoë <&>"}, "Zoë <&>"),
        ("text", {}, {"type": "plain_text_input", "value": None}, None),
        ("select", {"options": ["a", "b"]}, {"type": "static_select", "selected_option": SELECTED},
         "b"),
        ("radio", {"options": ["a", "b"]}, {"type": "radio_buttons", "selected_option": None},
         None),
        ("radio", {"options": ["a"]}, {"type": "radio_buttons",
                                       "selected_option": {**SELECTED, "value": "7"}}, "7"),
        ("rating", {}, {"type": "radio_buttons", "selected_option": SELECTED}, 1),
        ("checkbox", {}, {"type": "checkboxes", "selected_options": [SELECTED]}, True),
        ("checkbox", {}, {"type": "checkboxes", "selected_options": []}, False),
        ("date", {}, {"type": "datepicker", "selected_date": "2026-02-24"}, "2026-02-24"),
        ("date", {"include_time": True}, {"type": "datetimepicker",
                                          "selected_date_time": 1771934400},
         "2026-02-24T12:00:00+00:00"),
        ("date", {"include_time": True}, {"type": "datetimepicker"}, None),
        ("range", {}, {"type": "number_input", "value": "7"}, 7),
        ("range", {}, {"type": "number_input", "value": "7.0"}, 7),
        ("range", {}, {"type": "number_input", "value": "2.5"}, 2.5),
        ("range", {}, {"type": "number_input", "value": "many"}, "many"),
        ("range", {}, {"type": "number_input", "value": None}, None),
    ],
)
def test_parse_value(kind: str, extra: dict[str, Any], state: dict[str, Any],
                     expected: Any) -> None:
    value = parse_value(field(kind, **extra), state)
    assert value == expected and type(value) is type(expected)
