"""Form fields as Block Kit input blocks, and Slack's `view.state.values` back to answers.

Option values are option indexes, so options of any length fit Slack's 150-character value
limit; the answer is always the option's full text.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from api.domain.fields import FormField
from renderers.slack_blocks import OPTION_TEXT, SLACK_TIMES, Block, one_line, plain
from renderers.slack_ids import VALUE_ACTION, field_block_id
from renderers.values import number, stars

MAX_INPUT = 3000  # plain_text_input max_length
MAX_RADIO = 10
LABEL = 2000
Element = dict[str, Any]


def input_block(field: FormField, answer: Any) -> Block:
    """The input block asking for `field`, prefilled with `answer`."""
    block: Block = {
        "type": "input",
        "block_id": field_block_id(field.name),
        "label": plain(field.label, LABEL, fallback=field.name),
        "element": {**_ELEMENTS[field.kind](field, answer), "action_id": VALUE_ACTION},
        "optional": not field.required,
    }
    hints = _hints(field, answer)
    if hints:
        block["hint"] = plain(" ".join(hints), LABEL)
    return block


def _hints(field: FormField, answer: Any) -> list[str]:
    hints = []
    if field.kind == "range":
        low, high = number(field.min or 0), number(field.max or 0)
        hints.append(f"From {low} to {high} in steps of {number(field.step or 1)}.")
    if isinstance(answer, str) and len(answer) > MAX_INPUT and field.kind in ("text", "textarea"):
        hints.append("Your earlier answer is too long for Slack; edit it in the browser.")
    if any(len(one_line(o, 10_000)) > OPTION_TEXT for o in _choices(field)):
        hints.append("Some options are shortened; the browser form shows them in full.")
    return hints


def _finite(*numbers: float | None) -> bool:
    return all(n is not None and math.isfinite(n) for n in numbers)


def _choices(field: FormField) -> list[str]:
    return field.options or [] if field.kind in ("select", "radio") else []


def _text(field: FormField, answer: Any, multiline: bool = False) -> Element:
    element: Element = {"type": "plain_text_input", "multiline": multiline, "max_length": MAX_INPUT}
    if field.placeholder and field.placeholder.strip():
        element["placeholder"] = plain(field.placeholder, 150)
    if isinstance(answer, str) and 0 < len(answer) <= MAX_INPUT:
        element["initial_value"] = answer
    return element


def _option(text: str, value: str) -> Element:
    return {"text": plain(text, OPTION_TEXT), "value": value}


def _with_initial(element: Element, options: list[Element], value: str | None) -> Element:
    chosen = [o for o in options if o["value"] == value]
    return {**element, "initial_option": chosen[0]} if chosen else element


def _choice(field: FormField, answer: Any) -> Element:
    choices = field.options or []
    options = [_option(text, str(i)) for i, text in enumerate(choices)]
    initial = str(choices.index(answer)) if answer in choices else None
    if field.kind == "radio" and len(options) <= MAX_RADIO:
        return _with_initial({"type": "radio_buttons", "options": options}, options, initial)
    placeholder = plain(field.placeholder or "Choose an option", 150)
    element = {"type": "static_select", "options": options, "placeholder": placeholder}
    return _with_initial(element, options, initial)


def _rating(field: FormField, answer: Any) -> Element:
    top = field.max_rating or 5
    options = [_option(stars(n, top), str(n)) for n in range(1, top + 1)]
    initial = str(answer) if isinstance(answer, int) and not isinstance(answer, bool) else None
    return _with_initial({"type": "radio_buttons", "options": options}, options, initial)


def _checkbox(field: FormField, answer: Any) -> Element:
    option = _option("Yes", "true")
    element: Element = {"type": "checkboxes", "options": [option]}
    return {**element, "initial_options": [option]} if answer is True else element


def _date(field: FormField, answer: Any) -> Element:
    if field.include_time:
        moment = _parse(datetime.fromisoformat, answer)
        aware = moment and (moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        if aware is None or int(aware.timestamp()) not in SLACK_TIMES:
            return {"type": "datetimepicker"}  # the person picks again
        return {"type": "datetimepicker", "initial_date_time": int(aware.timestamp())}
    day = _parse(date.fromisoformat, answer)
    return {"type": "datepicker", **({"initial_date": day.isoformat()} if day else {})}


def _parse(parse: Callable[[str], Any], answer: Any) -> Any:
    try:
        return parse(answer.replace("Z", "+00:00")) if isinstance(answer, str) else None
    except ValueError:
        return None


def _range(field: FormField, answer: Any) -> Element:
    decimal = not all(float(n).is_integer() for n in (field.min, field.max, field.step) if n)
    element: Element = {"type": "number_input", "is_decimal_allowed": decimal}
    for key, bound in (("min_value", field.min), ("max_value", field.max)):
        if bound is not None:  # the model fills in finite defaults for range fields
            element[key] = number(bound)
    if _is_number(answer) and _finite(answer) and (decimal or float(answer).is_integer()):
        element["initial_value"] = number(answer)
    return element


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_ELEMENTS: dict[str, Callable[[FormField, Any], Element]] = {
    "text": _text,
    "textarea": lambda field, answer: _text(field, answer, multiline=True),
    "select": _choice,
    "radio": _choice,
    "checkbox": _checkbox,
    "date": _date,
    "range": _range,
    "rating": _rating,
}


def parse_value(field: FormField, state: dict[str, Any]) -> Any:
    """The answer in one element's state (`state.values[block][action]`), or None."""
    return _PARSERS.get(state.get("type"), _typed_value)(field, state)


def _typed_value(field: FormField, state: dict[str, Any]) -> Any:
    return state.get("value")


def _selected(field: FormField, state: dict[str, Any]) -> Any:
    return _option_answer(field, (state.get("selected_option") or {}).get("value"))


def _moment(field: FormField, state: dict[str, Any]) -> str | None:
    stamp = state.get("selected_date_time")
    return None if stamp is None else datetime.fromtimestamp(int(stamp), UTC).isoformat()


_PARSERS: dict[Any, Callable[[FormField, dict[str, Any]], Any]] = {
    "static_select": _selected,
    "radio_buttons": _selected,
    "checkboxes": lambda field, state: bool(state.get("selected_options")),
    "datepicker": lambda field, state: state.get("selected_date"),
    "datetimepicker": _moment,
    "number_input": lambda field, state: _number(state.get("value")),
}


def _option_answer(field: FormField, value: str | None) -> Any:
    if value is None or not value.isdigit():
        return value  # validation reports it
    if field.kind == "rating":
        return int(value)
    choices = field.options or []
    return choices[int(value)] if int(value) < len(choices) else value


def _number(value: str | None) -> Any:
    try:
        parsed = float(value) if value is not None else None
    except ValueError:
        return value  # validation reports it
    if parsed is not None and math.isfinite(parsed) and parsed.is_integer():
        return int(parsed)
    return parsed
