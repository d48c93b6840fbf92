"""One checker for Block Kit surfaces: slack_sdk's model validation plus the limits it
does not check (FIELD-NOTES.md), and mrkdwn that user text cannot break out of."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# An `&` is always an entity, a `<` always opens a link or a date this code wrote.
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
CONTROL = re.compile(r"<(?!(?:https?://|mailto:|!date\^\d+\^)[^<>]*>)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def assert_slack_limits(surface: dict[str, Any]) -> None:
    """Fail unless `surface` (a modal/home view or a `{"text", "blocks"}` message) is
    something Slack accepts."""
    if surface.get("type") in ("modal", "home"):
        _view(surface)
    else:
        _message(surface)
    blocks = surface["blocks"]
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), f"duplicate block ids: {Counter(ids).most_common(3)}"
    for block in blocks:
        _block(block)
    _texts(surface)


def _view(view: dict[str, Any]) -> None:
    View(**view).to_dict()
    assert 1 <= len(view["blocks"]) <= 100
    assert len(json.dumps(view)) < 250_000, "view_too_large"
    if view["type"] != "modal":
        return
    for key in ("title", "close", "submit"):
        if key in view:
            _plain(view[key], 24)
    assert "title" in view
    if any(b["type"] == "input" for b in view["blocks"]):
        assert "submit" in view, "a view with input blocks needs submit"
    assert len(view.get("private_metadata", "")) <= 3000
    assert len(view.get("callback_id", "")) <= 255
    assert not {b["type"] for b in view["blocks"]} & {"markdown", "table"}


def _message(message: dict[str, Any]) -> None:
    assert isinstance(message["text"], str) and message["text"].strip()
    assert len(message["text"]) <= 40_000
    assert 1 <= len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).to_dict()  # type: ignore[union-attr]
        assert block["type"] != "input"


def _plain(text: dict[str, Any], limit: int) -> None:
    assert text["type"] == "plain_text", text
    assert text["text"].strip(), "empty plain_text"
    assert len(text["text"]) <= limit, (len(text["text"]), limit, text["text"][:80])


def _text(text: dict[str, Any], limit: int) -> None:
    assert text["type"] in ("plain_text", "mrkdwn")
    assert text["text"].strip(), "empty text"
    assert len(text["text"]) <= limit, (len(text["text"]), limit)


def _block(block: dict[str, Any]) -> None:
    assert len(block.get("block_id", "")) <= 255
    kind = block["type"]
    if kind == "section":
        _text(block["text"], 3000)
        if "accessory" in block:
            _element(block["accessory"])
    elif kind == "header":
        _plain(block["text"], 150)
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= 10
        for element in block["elements"]:
            _text(element, 3000)
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= 25
        action_ids = [e["action_id"] for e in block["elements"]]
        assert len(action_ids) == len(set(action_ids)), "duplicate action_id in a block"
        for element in block["elements"]:
            _element(element)
    elif kind == "input":
        _plain(block["label"], 2000)
        if "hint" in block:
            _plain(block["hint"], 2000)
        assert isinstance(block["optional"], bool)
        _element(block["element"])
    else:
        raise AssertionError(f"unexpected block type {kind}")


def _element(element: dict[str, Any]) -> None:
    assert 1 <= len(element.get("action_id", "x")) <= 255
    CHECKS[element["type"]](element)


def _button(element: dict[str, Any]) -> None:
    _plain(element["text"], 75)
    assert len(element.get("value", "")) <= 2000
    assert len(element.get("url", "")) <= 3000
    assert element.get("style", "primary") in ("primary", "danger")
    if "confirm" in element:
        confirm = element["confirm"]
        for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
            _plain(confirm[key], limit)


def _options(element: dict[str, Any], most: int) -> None:
    options = element["options"]
    assert 1 <= len(options) <= most, f"{element['type']} has {len(options)} options"
    for option in options:
        _plain(option["text"], 75)
        assert 1 <= len(option["value"]) <= 150
    values = [o["value"] for o in options]
    assert len(values) == len(set(values)), "duplicate option values"
    if "initial_option" in element:
        assert element["initial_option"] in options
    for initial in element.get("initial_options", []):
        assert initial in options


def _select(element: dict[str, Any]) -> None:
    _options(element, 100)
    if "placeholder" in element:
        _plain(element["placeholder"], 150)


def _text_input(element: dict[str, Any]) -> None:
    most = element.get("max_length", 3000)
    assert 1 <= most <= 3000 and element.get("min_length", 0) <= 3000
    assert len(element.get("initial_value", "")) <= most
    if "placeholder" in element:
        _plain(element["placeholder"], 150)


def _number_input(element: dict[str, Any]) -> None:
    decimal = element["is_decimal_allowed"]
    assert isinstance(decimal, bool)
    numbers = {}
    for key in ("min_value", "max_value", "initial_value"):
        if key in element:
            assert isinstance(element[key], str), f"{key} must be a string"
            numbers[key] = Decimal(element[key])
            assert decimal or numbers[key] == numbers[key].to_integral_value()
    low, high = numbers.get("min_value"), numbers.get("max_value")
    if low is not None and high is not None:
        assert low <= high
    if "initial_value" in numbers:
        assert low is None or low <= numbers["initial_value"]
        assert high is None or numbers["initial_value"] <= high


def _datepicker(element: dict[str, Any]) -> None:
    assert "initial_date" not in element or DATE.match(element["initial_date"])


def _datetimepicker(element: dict[str, Any]) -> None:
    initial = element.get("initial_date_time", 0)
    assert isinstance(initial, int) and initial >= 0


def _overflow(element: dict[str, Any]) -> None:
    _options(element, 5)


def _users_select(element: dict[str, Any]) -> None:
    if "placeholder" in element:
        _plain(element["placeholder"], 150)


CHECKS = {
    "button": _button,
    "overflow": _overflow,
    "users_select": _users_select,
    "static_select": _select,
    "radio_buttons": lambda e: _options(e, 10),
    "checkboxes": lambda e: _options(e, 10),
    "plain_text_input": _text_input,
    "number_input": _number_input,
    "datepicker": _datepicker,
    "datetimepicker": _datetimepicker,
}


def _texts(node: Any) -> None:
    """Every mrkdwn text anywhere: entities and links only as the renderer writes them."""
    if isinstance(node, list):
        for item in node:
            _texts(item)
    elif isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            text = node["text"]
            assert not ENTITY.search(text), f"bare & in {text[:200]!r}"
            assert not CONTROL.search(text), f"unexpected < in {text[:200]!r}"
            assert ">" not in _without_markup(text), f"bare > in {text[:200]!r}"
        for value in node.values():
            _texts(value)


def _without_markup(text: str) -> str:
    """`text` without the links, dates and quote markers the renderer writes."""
    text = re.sub(r"<(?:https?://|mailto:|!date\^)[^<>]*>", "", text)
    return re.sub(r"(?m)^(?:> )+", "", text)  # nested quotes: "> > "
