"""The shape of a signed Slack request, checked before Bolt dispatches it.

Bolt parses the body as it builds its request, and Bolt and the listeners then index into
it (`body["user"]["id"]`, `view["state"]["values"]`, …). A signed body of another shape
would fail deep inside them with a 500; here it is a 400 naming the field. Only the
request types in SHAPES reach Bolt (any other is a 404, as Bolt answers a request no
listener takes), and only the fields that Bolt and inloop read are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Json,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from slack_bolt.request.async_request import AsyncBoltRequest

from api.domain.errors import Detail, InvalidRequest, NotFound
from api.domain.validation import details_of
from renderers.slack_ids import (
    ACTION_CLAIM,
    ACTION_LINK,
    ACTION_MENU,
    ACTION_OPEN,
    ACTION_RELEASE,
    CALLBACK_REASSIGN,
    MenuChoice,
    QuickAnswer,
    ReassignOf,
    StepOf,
    is_quick,
)

_REF_BUTTONS = (ACTION_OPEN, ACTION_LINK, ACTION_CLAIM, ACTION_RELEASE)

LAST_UNIX_S = 253402300799  # 9999-12-31T23:59:59Z: a datetime answer holds no later one
# What Bolt raises on a body it cannot parse or read (JSON, form encoding, nesting).
_UNREADABLE = (ValueError, TypeError, LookupError, AttributeError, RecursionError)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Id(_Shape):
    id: str


class _User(_Id):
    name: str | None = None
    username: str | None = None


class _Option(_Shape):
    value: str


class _Action(_Shape):
    action_id: str
    block_id: str | None = None
    selected_option: _Option | None = Field(default=None, validate_default=True)
    value: str | None = Field(default=None, validate_default=True)

    @field_validator("selected_option")
    @classmethod
    def _menu_choice(cls, option: _Option | None, info: ValidationInfo) -> _Option | None:
        if info.data.get("action_id") == ACTION_MENU:
            try:
                MenuChoice.model_validate_json(option.value if option else "")
            except ValidationError:
                raise ValueError('a menu option carries {"t": task ref, "do": choice}'
                                 ) from None
        return option

    @field_validator("value")
    @classmethod
    def _inloop_value(cls, value: str | None, info: ValidationInfo) -> str | None:
        """inloop's buttons carry what renderers.slack_ids says they do."""
        action = info.data.get("action_id")
        if action in _REF_BUTTONS and value is None:
            raise ValueError("this button carries a task ref")
        if isinstance(action, str) and is_quick(action):
            try:
                QuickAnswer.model_validate_json(value or "")
            except ValidationError:
                raise ValueError('an answer button carries {"t": task ref, "o": option}'
                                 ) from None
        return value


class BlockActions(_Shape):
    type: Literal["block_actions"]
    user: _User
    actions: list[_Action] = Field(min_length=1)
    trigger_id: str
    channel: _Id | None = None
    view: dict[str, Any] | None = None  # a click in a modal or the App Home
    response_url: str | None = None


class _Element(_Shape):
    """One input's state, as renderers.slack_fields.parse_value reads it."""

    type: str
    value: str | None = None
    selected_option: _Option | None = None
    selected_options: list[_Option] | None = None
    selected_date: str | None = None
    selected_date_time: int | None = Field(default=None, ge=0, le=LAST_UNIX_S)


class _State(_Shape):
    values: dict[str, dict[str, _Element]]


class _View(_Shape):
    type: str
    callback_id: str
    private_metadata: Json[StepOf]  # of every step modal inloop opens
    state: _State


class ViewSubmission(_Shape):
    type: Literal["view_submission"]
    user: _User
    view: _View


class _ReassignView(_View):
    private_metadata: Json[ReassignOf]  # type: ignore[assignment]  # the reassign modal's


class ReassignSubmission(ViewSubmission):
    view: _ReassignView


class _Event(_Shape):
    type: str


class EventCallback(_Shape):
    type: Literal["event_callback"]
    event_id: str
    event: _Event


class UrlVerification(_Shape):
    type: Literal["url_verification"]
    challenge: str


SHAPES: dict[str, type[_Shape]] = {"block_actions": BlockActions,
                                   "view_submission": ViewSubmission,
                                   "event_callback": EventCallback,
                                   "url_verification": UrlVerification}


def bolt_request(body: bytes, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """Bolt's request for a signed body, once its shape is one inloop handles (else a
    400, or a 404 for a request type inloop does not listen to)."""
    try:
        request = AsyncBoltRequest(body=body.decode(), query=query, headers=dict(headers))
    except _UNREADABLE:
        raise InvalidRequest([Detail("body", "not a Slack request body (JSON, or a form "
                                             "with a JSON payload object)", "parse")]) from None
    check_shape(request.body)
    return request


def _callback(body: dict[str, Any]) -> Any:
    view = body.get("view")
    return view.get("callback_id") if isinstance(view, dict) else None


def check_shape(body: Any) -> None:
    kind = body.get("type") if isinstance(body, dict) else None
    if not isinstance(kind, str):
        raise InvalidRequest([Detail("type", "a Slack request names its type", "missing")])
    shape = SHAPES.get(kind)
    if shape is ViewSubmission and _callback(body) == CALLBACK_REASSIGN:
        shape = ReassignSubmission
    if shape is None:
        raise NotFound(f"inloop does not handle Slack {kind[:40]!r} requests")
    try:
        shape.model_validate(body)
    except ValidationError as error:
        raise InvalidRequest(details_of(error)) from None
