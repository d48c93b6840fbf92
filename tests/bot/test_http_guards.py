"""What `POST /slack/events` refuses before Bolt acts (bot/http.py, bot/signing.py,
bot/envelope.py): bad signature headers (401), signed bodies of another shape (400, never
a 500), replays of one signed request (acked, no effect), and response_urls off Slack's
hooks host (never followed)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from api.runtime import Services
from api.settings import Settings
from api.store import keys
from api.store.slack import REQUEST_TTL_S
from bot import notes
from bot.respond import trusted_response_url
from renderers.slack_ids import (
    ACTION_CLAIM,
    ACTION_LINK,
    ACTION_MENU,
    ACTION_OPEN,
    ACTION_QUICK,
    CALLBACK_REASSIGN,
)
from tests.bot.conftest import Slack, signed_headers, two_step_task
from tests.fixtures import example
from tests.slack import ASSIGNEE, OTHER, SECRET, Poster, quick_task
from tests.slack_stub import SlackStub

DM = "D" + ASSIGNEE[0]
FORM = "application/x-www-form-urlencoded"


def _form(payload: Any) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def _click(task_id: str = "t") -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": ASSIGNEE[0]}, "trigger_id": "x",
            "actions": [{"action_id": ACTION_OPEN, "value": task_id}]}


def _stamp(offset: int = 0) -> str:
    return str(int(time.time()) + offset)


def _sig(stamp: str, body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


BODY = _form(_click()).encode()


def _signed_at(stamp: str) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": _sig(stamp, BODY)}

BAD_HEADERS: dict[str, Callable[[], dict[str, str]]] = {
    "none": dict,
    "no signature": lambda: {"X-Slack-Request-Timestamp": _stamp()},
    "no timestamp": lambda: {"X-Slack-Signature": _sig(_stamp(), BODY)},
    "timestamp abc": lambda: {"X-Slack-Request-Timestamp": "abc",
                              "X-Slack-Signature": _sig("abc", BODY)},
    "empty timestamp": lambda: {"X-Slack-Request-Timestamp": "",
                                "X-Slack-Signature": _sig("", BODY)},
    "float": lambda: {"X-Slack-Request-Timestamp": _stamp() + ".5",
                      "X-Slack-Signature": _sig(_stamp() + ".5", BODY)},
    "exponent": lambda: {"X-Slack-Request-Timestamp": "1e400",
                         "X-Slack-Signature": _sig("1e400", BODY)},
    "huge": lambda: {"X-Slack-Request-Timestamp": "9" * 400,
                     "X-Slack-Signature": _sig("9" * 400, BODY)},
    "negative": lambda: {"X-Slack-Request-Timestamp": "-5", "X-Slack-Signature": _sig("-5", BODY)},
    "plus sign": lambda: {"X-Slack-Request-Timestamp": "+" + _stamp(),
                          "X-Slack-Signature": _sig("+" + _stamp(), BODY)},
    "padded": lambda: {"X-Slack-Request-Timestamp": " " + _stamp(),
                       "X-Slack-Signature": _sig(" " + _stamp(), BODY)},
    # Past Slack's 5-minute window by 30 s: slack for a slow machine between here and the
    # check, which could otherwise bring a barely-future stamp back into the window.
    "stale": lambda: _signed_at(_stamp(-330)),
    "future": lambda: _signed_at(_stamp(330)),
    "garbled signature": lambda: {"X-Slack-Request-Timestamp": _stamp(),
                                  "X-Slack-Signature": "garbage"},
    "non-hex signature": lambda: {"X-Slack-Request-Timestamp": _stamp(),
                                  "X-Slack-Signature": "v0=" + "g" * 64},
    "non-ascii signature": lambda: {"X-Slack-Request-Timestamp": _stamp(),
                                    "X-Slack-Signature": "v0=" + "é" * 64},
    "other version": lambda: {"X-Slack-Request-Timestamp": _stamp(),
                              "X-Slack-Signature": "v1=" + _sig(_stamp(), BODY)[3:]},
    "wrong secret": lambda: {"X-Slack-Request-Timestamp": _stamp(),
                             "X-Slack-Signature": _sig(_stamp(), BODY, "other")},
}


@pytest.mark.parametrize("case", BAD_HEADERS)
async def test_bad_signature_headers_are_401(case: str, slack: Slack,
                                             slack_stub: SlackStub) -> None:
    headers = {**BAD_HEADERS[case](), "Content-Type": FORM}
    response = await slack.client.post("/slack/events", data=BODY, headers=headers)
    assert response.status == 401, await response.text()
    assert (await response.json())["error"] == "unauthorized"
    assert not slack_stub.calls


def test_the_test_signature_matches_slack_sdks() -> None:
    stamp = _stamp()
    assert _sig(stamp, BODY) == signed_headers(BODY.decode(), FORM)["X-Slack-Signature"]


def _view(**view: Any) -> dict[str, Any]:
    base = {"type": "modal", "callback_id": "inloop_step", "state": {"values": {}},
            "private_metadata": json.dumps({"ref": "t", "step": 0})}
    return {"type": "view_submission", "user": {"id": ASSIGNEE[0]}, "view": {**base, **view}}


def _values(element: dict[str, Any]) -> dict[str, Any]:
    return {"values": {"f:x": {"value": {"type": "datetimepicker", **element}}}}


def _event(**body: Any) -> str:
    return json.dumps({"type": "event_callback", "event_id": "Ev1",
                       "event": {"type": "app_home_opened", "user": ASSIGNEE[0]}, **body})


MALFORMED: dict[str, tuple[str, str, str]] = {  # case: content type, body, loc
    "bad percent-encoding": (FORM, "payload=%ZZ", "body"),
    "no payload": (FORM, "a=b", "type"),
    "payload not json": (FORM, "payload=notjson", "body"),
    "payload a list": (FORM, _form("[1, 2]"), "body"),
    "payload a number": (FORM, _form("1"), "body"),
    "payload null": (FORM, _form("null"), "body"),
    "payload deeply nested": (FORM, _form("[" * 100_000), "body"),
    "json broken": ("application/json", "{", "body"),
    "json a string": ("application/json", '"x"', "body"),
    "json deeply nested": ("application/json", '{"a":' * 100_000, "body"),
    "no type": (FORM, _form({}), "type"),
    "type not a string": (FORM, _form({"type": 5}), "type"),
    "actions not a list": (FORM, _form({**_click(), "actions": "x"}), "actions"),
    "actions empty": (FORM, _form({**_click(), "actions": []}), "actions"),
    "action not an object": (FORM, _form({**_click(), "actions": [1]}), "actions.0"),
    "action_id missing": (FORM, _form({**_click(), "actions": [{"value": "t"}]}),
                          "actions.0.action_id"),
    "action value a number": (FORM, _form({**_click(), "actions": [
        {"action_id": ACTION_OPEN, "value": 5}]}), "actions.0.value"),
    "link without a ref": (FORM, _form({**_click(), "actions": [
        {"action_id": ACTION_LINK}]}), "actions.0.value"),
    "user missing": (FORM, _form({**_click(), "user": None}), "user"),
    "user id a number": (FORM, _form({**_click(), "user": {"id": 5}}), "user.id"),
    "user name a list": (FORM, _form({**_click(), "user": {"id": "U", "name": []}}),
                         "user.name"),
    "channel a string": (FORM, _form({**_click(), "channel": "C1"}), "channel"),
    "response_url an object": (FORM, _form({**_click(), "response_url": {}}), "response_url"),
    "team a number": (FORM, _form({**_click(), "team": 5}), "body"),
    "view missing": (FORM, _form({"type": "view_submission", "user": {"id": "U"}}), "view"),
    "view a string": (FORM, _form({**_view(), "view": "x"}), "view"),
    "metadata not json": (FORM, _form(_view(private_metadata="x")), "view.private_metadata"),
    "metadata without step": (FORM, _form(_view(private_metadata='{"ref": "t"}')),
                              "view.private_metadata.step"),
    "negative step": (FORM, _form(_view(private_metadata='{"ref": "t", "step": -1}')),
                      "view.private_metadata.step"),
    "claim without a ref": (FORM, _form({**_click(), "actions": [
        {"action_id": ACTION_CLAIM}]}), "actions.0.value"),
    "menu option not inloop's": (FORM, _form({**_click(), "actions": [
        {"action_id": ACTION_MENU, "selected_option": {"value": "x"}}]}),
        "actions.0.selected_option"),
    "reassign metadata of a step": (FORM, _form(_view(callback_id=CALLBACK_REASSIGN)),
                                    "view.private_metadata.reassign"),
    "state missing": (FORM, _form({**_view(), "view": {"callback_id": "inloop_step",
                                                       "private_metadata": "{}"}}),
                      "view.state"),
    "values a list": (FORM, _form(_view(state={"values": []})), "view.state.values"),
    "element a string": (FORM, _form(_view(state={"values": {"f:x": {"value": "x"}}})),
                         "view.state.values.f:x.value"),
    "value a number": (FORM, _form(_view(state=_values({"value": 5}))),
                       "view.state.values.f:x.value.value"),
    "date-time huge": (FORM, _form(_view(state=_values({"selected_date_time": 10**30}))),
                       "view.state.values.f:x.value.selected_date_time"),
    "date-time a float": (FORM, _form(_view(state=_values({"selected_date_time": 1.5}))),
                          "view.state.values.f:x.value.selected_date_time"),
    "option a string": (FORM, _form(_view(state=_values({"selected_option": "0"}))),
                        "view.state.values.f:x.value.selected_option"),
    "challenge missing": ("application/json", '{"type": "url_verification"}', "challenge"),
    "event missing": ("application/json", '{"type": "event_callback", "event_id": "E"}',
                      "event"),
    "event a string": ("application/json", _event(event="x"), "event"),
    "event id an object": ("application/json", _event(event_id={"a": 1}), "event_id"),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_signed_malformed_bodies_are_400(case: str, slack: Slack,
                                               slack_stub: SlackStub) -> None:
    content_type, body, loc = MALFORMED[case]
    response = await slack.post(body, content_type)
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert answer["error"] == "invalid_request"
    assert loc in [d["loc"] for d in answer["details"]], answer
    assert not slack_stub.calls


async def test_a_signed_body_that_is_not_utf8_is_400(slack: Slack) -> None:
    body, stamp = b"payload=\xff\xfe", _stamp()
    response = await slack.client.post("/slack/events", data=body, headers={
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": _sig(stamp, body),
        "Content-Type": FORM})
    assert response.status == 400


@pytest.mark.parametrize("payload", [{"type": "view_closed", "view": []},
                                     {"type": "shortcut", "callback_id": 5},
                                     {"type": "block_suggestion", "user": {"id": "U"}}])
async def test_request_types_inloop_does_not_handle_are_404(payload: dict[str, Any],
                                                            slack: Slack) -> None:
    response = await slack.interact(payload)  # view_closed with a list view was a 500
    assert response.status == 404


async def test_a_step_the_task_does_not_have_is_a_note(post_task: Poster, slack: Slack,
                                                       services: Services) -> None:
    task_id = await post_task(two_step_task(), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    view = await slack.opened_view()
    forged = {**view, "private_metadata": json.dumps({"ref": task_id, "step": 7})}
    answer = await slack.submit(ASSIGNEE, forged, {"name": "Ada"})
    assert answer == {"response_action": "errors", "errors": {"f:name": notes.STALE_FORM}}
    assert services.store.load(task_id).status == "pending"


# -- every field of real requests, replaced by a value of another type --------------

ODD_VALUES: list[Any] = [None, 0, -1, 10**30, "", "x", True, [], [{}], {}, {"id": 5}]
_MISSING = object()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(body))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if new is _MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


async def _requests(post_task: Poster, slack: Slack) -> list[tuple[str, dict[str, Any]]]:
    """Real requests of each type inloop handles (the view's blocks left out: neither
    Bolt nor inloop reads them back)."""
    task_id = await post_task(two_step_task(), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    view = {k: v for k, v in (await slack.opened_view()).items() if k != "blocks"}
    submission = slack.submission(ASSIGNEE, {**view, "blocks": []}, {})
    submission["view"]["state"] = _values({"selected_date_time": 1_700_000_000})
    quick = json.dumps({"t": await post_task(quick_task(), assignee_email=ASSIGNEE[1]),
                        "o": 0})
    event = json.loads(_event())
    return [(FORM, slack.click_payload(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)),
            (FORM, slack.click_payload(OTHER, ACTION_QUICK, quick, channel="C0ELSE")),
            (FORM, submission), ("application/json", event),
            ("application/json", {"type": "url_verification", "challenge": "c"})]


@pytest.mark.slow
async def test_no_field_of_another_type_makes_a_500(
        post_task: Poster, slack: Slack, caplog: pytest.LogCaptureFixture,
        jobs: Callable[[], Awaitable[int]]) -> None:
    """Each field of each request, deleted or replaced by each odd value: 200, 400 or 404,
    and no listener fails (Bolt logs those at ERROR, also after an ack)."""
    statuses: dict[int, int] = {}
    for content_type, body in await _requests(post_task, slack):
        for path in _paths(body):
            for new in [_MISSING, *ODD_VALUES]:
                changed = _replaced(body, path, new)
                raw = _form(changed) if content_type == FORM else json.dumps(changed)
                response = await slack.post(raw, content_type)
                assert response.status in (200, 400, 404), (path, new, await response.text())
                statuses[response.status] = statuses.get(response.status, 0) + 1
    await jobs()  # lets listeners still running after their ack finish
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failed, failed[0].getMessage()
    assert statuses[200] and statuses[400] and statuses[404]


# -- replays ---------------------------------------------------------------------------

async def test_a_replayed_click_is_acked_and_does_nothing(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, services: Services) -> None:
    task_id = await post_task(example("hpi_approval"), assignee_email=ASSIGNEE[1])
    body = _form(slack.click_payload(ASSIGNEE, ACTION_OPEN, task_id, channel=DM))
    headers = signed_headers(body, FORM)
    first = await slack.client.post("/slack/events", data=body, headers=headers)
    again = await slack.client.post("/slack/events", data=body, headers=headers)
    assert (first.status, again.status, await again.text()) == (200, 200, "")
    await slack_stub.wait_for("views.open")
    await asyncio.sleep(0.2)  # time for a listener the replay might have started
    assert len(slack_stub.of("views.open")) == 1
    assert not slack_stub.of("response_url")  # no "form not opened" note either
    ttl = services.redis.ttl(keys.slack_request(headers["X-Slack-Signature"]))
    assert REQUEST_TTL_S - 5 < ttl <= REQUEST_TTL_S


async def test_a_replayed_submission_does_not_undo_a_later_one(
        post_task: Poster, slack: Slack, services: Services) -> None:
    task_id = await post_task(two_step_task(), assignee_email=ASSIGNEE[1])
    await slack.click(ASSIGNEE, ACTION_OPEN, task_id, channel=DM)
    view = await slack.opened_view()
    body = _form(slack.submission(ASSIGNEE, view, {"name": "Ada"}))
    headers = signed_headers(body, FORM)
    first = await slack.client.post("/slack/events", data=body, headers=headers)
    assert (await first.json())["response_action"] == "update"
    await slack.submit(ASSIGNEE, view, {"name": "Grace"})  # the person changed their answer
    replay = await slack.client.post("/slack/events", data=body, headers=headers)
    assert (replay.status, await replay.text()) == (200, "")
    assert services.drafts.load(task_id) == {"name": "Grace"}


# -- response_url ----------------------------------------------------------------------

@pytest.fixture
async def elsewhere() -> Any:
    """A loopback server that is not Slack, recording what reaches it."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(str(request.url))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, hits
    await server.close()


async def test_a_response_url_elsewhere_is_never_posted_to(
        post_task: Poster, slack: Slack, slack_stub: SlackStub, elsewhere: Any) -> None:
    server, hits = elsewhere
    task_id = await post_task(quick_task(), assignee_email=ASSIGNEE[1])
    payload = slack.click_payload(OTHER, ACTION_OPEN, task_id, channel="C0ELSE")
    payload["response_url"] = str(server.make_url("/steal"))
    assert (await slack.interact(payload)).status == 200
    (note,) = await slack_stub.wait_for("chat.postEphemeral")  # told another way
    assert (note.args["user"], note.args["text"]) == (OTHER[0], notes.NOT_YOURS)
    assert not hits and not slack_stub.of("response_url")


def test_response_urls_are_followed_only_to_slack(settings: Settings,
                                                   slack_stub: SlackStub) -> None:
    stub = f"http://127.0.0.1:{slack_stub.port}"
    followed = ["https://hooks.slack.com/actions/T1/1/x", "https://HOOKS.slack.com:443/a",
                f"{stub}/respond/1"]
    refused = ["http://hooks.slack.com/actions/T1/1/x", "https://hooks.slack.com:8443/a",
               "https://hooks.slack.com.evil.test/a", "https://evil.test/hooks.slack.com",
               "https://hooks.slack.com@evil.test/", "https://u:p@hooks.slack.com/a",
               "https://evil.test\\@hooks.slack.com/", "https://slack.com/api/x",
               f"http://127.0.0.1:{slack_stub.port + 1}/respond/1", f"https{stub[4:]}/r",
               "/respond/1", "hooks.slack.com/a", "", "https://[::1/", "javascript:alert(1)"]
    assert [u for u in followed if not trusted_response_url(u, settings)] == []
    assert [u for u in refused if trusted_response_url(u, settings)] == []
    unset = settings.model_copy(update={"slack_api_url": None})
    assert not trusted_response_url(f"{stub}/respond/1", unset)
    assert trusted_response_url(followed[0], unset)
