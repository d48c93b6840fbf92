"""A Slack Web API stub served over HTTP on loopback, in its own thread and event loop
(so blocking RQ jobs and the async app under test can both call it).

It records every call, checks the bot token, validates views and blocks with slack_sdk's
models and unique block and action ids, enforces single-use 3-second trigger ids, refuses
a thread reply under a message it never posted (so a test sees every reply land in a
thread of the task's), and answers 429 when told to.

Workspaces: each bot token belongs to one team (`tokens`), and a call sees only its team's
users and the channels given a team (`channel_team`). The OAuth install is played too:
`GET /oauth/v2/authorize` approves at once for the workspace set in `installing` and
sends the browser back with a code, which `oauth.v2.access` exchanges (with the app's
client id and secret) for that workspace's bot token; `apps.uninstall` revokes a token.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from yarl import URL

from tests.ports import free_port

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM = "T0001"
TRIGGER_TTL_S = 3.0
CLIENT_ID = "111.222"
CLIENT_SECRET = "test-client-secret"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    team: str | None = None  # the team of the token it used


@dataclass(frozen=True)
class Workspace:
    """A workspace an admin installs the app into (`SlackStub.installing`)."""

    team_id: str
    name: str
    token: str
    enterprise_id: str | None = None
    installer: str = "UADMIN"


class Invalid(Exception):
    """A request Slack would refuse; the message is Slack's error code."""


@dataclass
class SlackStub:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # email -> user
    channels: dict[str, str] = field(default_factory=dict)  # name -> channel id
    members: dict[str, list[str]] = field(default_factory=dict)  # channel id -> user ids
    members_page: int = 2  # conversations.members page size: small, so tests paginate
    members_delay_s: float = 0  # how long Slack takes per conversations.members page
    not_joined: set[str] = field(default_factory=set)  # public channels the bot is not in
    response_url_status: int = 200  # what response_url posts get (404: expired or used)
    response_users: dict[str, str] = field(default_factory=dict)  # response_url id -> user
    tokens: dict[str, str] = field(default_factory=lambda: {TOKEN: TEAM})  # token -> team
    channel_team: dict[str, str] = field(default_factory=dict)  # channel id -> team
    installing: Workspace | None = None  # what the authorize page installs into
    codes: dict[str, Workspace] = field(default_factory=dict)  # OAuth code -> workspace
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rate_limited: dict[str, list[int]] = field(default_factory=dict)  # method -> Retry-After
    failing: dict[str, str] = field(default_factory=dict)  # method -> Slack error, every call
    triggers: dict[str, float] = field(default_factory=dict)
    port: int = 0
    acks: list[dict[str, Any]] = field(default_factory=list)  # Socket Mode acks received
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _team: str = TEAM  # the team of the call being answered (one at a time: one loop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- test helpers ---------------------------------------------------------------

    def add_user(self, user_id: str, email: str, name: str, team: str = TEAM) -> None:
        self.users[email] = {"id": user_id, "name": name, "real_name": name.title(),
                             "team_id": team, "profile": {"email": email}}

    def trigger(self) -> str:
        trigger_id = f"{next(self._ids)}.{time.time():.0f}.trigger"
        self.triggers[trigger_id] = time.monotonic()
        return trigger_id

    def response_url(self, user_id: str) -> str:
        """A loopback response_url of `user_id`'s interaction; what is posted to it is
        recorded as a "response_url" call, with that user."""
        url_id = str(next(self._ids))
        self.response_users[url_id] = user_id
        return f"http://127.0.0.1:{self.port}/respond/{url_id}"

    def rate_limit(self, method: str, *retry_after: int) -> None:
        """The next calls of `method` get 429 with these Retry-After values."""
        self.rate_limited[method] = list(retry_after)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5) -> list[Call]:
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        found = self.of(method)
        assert len(found) >= count, f"{method}: {len(found)} of {count} calls; {self.calls}"
        return found

    # -- HTTP -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        team = self.tokens.get(_token(request, args) or "")
        self.calls.append(Call(method, args, time.time(), team))
        waits = self.rate_limited.get(method)
        if waits:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(waits.pop(0))})
        if method == "apps.connections.open":
            return self._connections_open(request, args)
        if method == "conversations.members":
            await asyncio.sleep(self.members_delay_s)
        try:
            if method == "oauth.v2.access":
                return web.json_response({"ok": True, **self._oauth_access(request, args)})
            if team is None:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            self._team = team
            return web.json_response({"ok": True, **self._answer(method, args)})
        except Invalid as error:
            return web.json_response({"ok": False, "error": str(error)})

    # -- OAuth ----------------------------------------------------------------------

    async def authorize_page(self, request: web.Request) -> web.Response:
        """Slack's authorize page, approved at once for `installing`."""
        assert self.installing is not None, "set stub.installing first"
        assert request.query.get("client_id") == CLIENT_ID
        self.calls.append(Call("oauth.authorize", dict(request.query), time.time()))
        code = f"code-{next(self._ids)}"
        self.codes[code] = self.installing
        back = URL(request.query["redirect_uri"]).update_query(
            code=code, state=request.query.get("state", ""))
        raise web.HTTPFound(str(back))

    def _oauth_access(self, request: web.Request, args: dict[str, Any]) -> dict[str, Any]:
        if _client_credentials(request, args) != (CLIENT_ID, CLIENT_SECRET):
            raise Invalid("invalid_client_id")
        workspace = self.codes.pop(str(args.get("code")), None)
        if workspace is None:
            raise Invalid("invalid_code")  # unknown, or used already
        self.tokens[workspace.token] = workspace.team_id
        enterprise = {"id": workspace.enterprise_id, "name": "Grid"} \
            if workspace.enterprise_id else None
        return {"access_token": workspace.token, "token_type": "bot", "app_id": "A1",
                "scope": "chat:write,users:read", "bot_user_id": "UBOT",
                "team": {"id": workspace.team_id, "name": workspace.name},
                "enterprise": enterprise, "is_enterprise_install": False,
                "authed_user": {"id": workspace.installer}}

    def _uninstall(self, args: dict[str, Any]) -> dict[str, Any]:
        if (args.get("client_id"), args.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            raise Invalid("invalid_client_id")
        for token, team in list(self.tokens.items()):
            if team == self._team:
                del self.tokens[token]
        return {}

    async def respond(self, request: web.Request) -> web.Response:
        user = self.response_users.get(request.match_info["id"])
        args = {**await request.json(), "url": str(request.url), "user": user}
        self.calls.append(Call("response_url", args, time.time()))
        if self.response_url_status != 200:
            return web.Response(status=self.response_url_status, text="expired_url")
        return web.Response(text="ok")

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in self.failing:
            raise Invalid(self.failing[method])
        handler = self._handlers().get(method)
        if handler is None:
            raise Invalid("unknown_method")
        return handler(args)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "apps.uninstall": self._uninstall,
            "auth.test": lambda a: {"team_id": self._team, "team": "Test", "user_id": "UBOT",
                                    "bot_id": "BBOT", "user": "inloop",
                                    "url": "https://test.slack.com/"},
            "users.lookupByEmail": self._lookup,
            "users.info": self._user_info,
            "conversations.open": lambda a: {"channel": {"id": "D" + a["users"]}},
            "conversations.members": self._members,
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "chat.postEphemeral": self._ephemeral,
            "views.open": self._views_open,
            "views.update": self._view_ok,
            "views.publish": self._view_ok,
        }

    def _lookup(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("email", "")).lower())
        if user is None or user["team_id"] != self._team:
            raise Invalid("users_not_found")
        return {"user": user}

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        for user in self.users.values():
            if user["id"] == args.get("user"):
                return {"user": user}
        raise Invalid("user_not_found")

    def _members(self, args: dict[str, Any]) -> dict[str, Any]:
        """One page of a channel's members (`members_page` at most, whatever `limit` asks);
        the cursor is the offset of the next page."""
        members = self.members.get(str(args.get("channel")))
        if members is None:
            raise Invalid("channel_not_found")
        start = int(args.get("cursor") or 0)
        end = start + self.members_page
        following = str(end) if end < len(members) else ""
        return {"members": members[start:end], "response_metadata": {"next_cursor": following}}

    def _channel(self, name: str) -> str:
        if name.startswith("U") and name.isupper():
            return "D" + name  # a user id: the app's DM with that user
        if name[:1] in ("C", "D", "G") and name[1:].isalnum() and name.isupper():
            found: str | None = name  # a channel id: the stub takes any
        else:
            found = self.channels.get(name.lstrip("#"))
        if found is None or self.channel_team.get(found, self._team) != self._team:
            raise Invalid("channel_not_found")
        return found

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(args.get("channel", "")))
        _check_blocks(args.get("blocks"), 50)
        thread = args.get("thread_ts")
        if thread is not None and (channel, str(thread)) not in self.messages:
            raise Invalid("thread_not_found")
        if len(str(args.get("text") or "")) > 40_000:
            raise Invalid("msg_too_long")
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        self.messages[(channel, ts)] = {"text": args.get("text"), "blocks": args.get("blocks")}
        return {"channel": channel, "ts": ts, "message": self.messages[(channel, ts)]}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("ts")))
        if key not in self.messages:
            raise Invalid("message_not_found")
        _check_blocks(args.get("blocks"), 50)
        self.messages[key] = {"text": args.get("text"), "blocks": args.get("blocks")}
        return {"channel": key[0], "ts": key[1]}

    def _ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._channel(str(args.get("channel", ""))) in self.not_joined:
            raise Invalid("not_in_channel")  # chat:write.public covers postMessage only
        return {"message_ts": f"{int(time.time())}.{next(self._ids):06d}"}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id"))
        issued = self.triggers.pop(trigger, None)
        if issued is None:
            raise Invalid("invalid_trigger_id")  # unknown or already used
        if time.monotonic() - issued > TRIGGER_TTL_S:
            raise Invalid("expired_trigger_id")
        return self._view_ok(args)

    def _view_ok(self, args: dict[str, Any]) -> dict[str, Any]:
        view = check_view(args.get("view"))
        return {"view": {"id": f"V{next(self._ids)}", **view}}

    # -- Socket Mode ----------------------------------------------------------------

    def _connections_open(self, request: web.Request, args: dict[str, Any]) -> web.Response:
        if _token(request, args) != APP_TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for message in ws:
            self.acks.append(json.loads(message.data))
        return ws

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push a Socket Mode envelope to the connected app; its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind == "interactive"}
        future = asyncio.run_coroutine_threadsafe(self.sockets[-1].send_json(envelope),
                                                  self._loop)
        future.result(5)
        return envelope_id

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self.port = free_port()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(5), "Slack stub did not start"

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_get("/link", self._socket)
        app.router.add_post("/respond/{id}", self.respond)
        app.router.add_get("/oauth/v2/authorize", self.authorize_page)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._runner = runner
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        for ws in self.sockets:
            asyncio.run_coroutine_threadsafe(ws.close(), self._loop).result(5)
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.can_read_body:
        args.update(await request.post())
    for name in ("blocks", "view", "attachments"):
        if isinstance(args.get(name), str):
            args[name] = json.loads(args[name])
    return args


def _client_credentials(request: web.Request, args: dict[str, Any]) -> tuple[Any, Any]:
    """HTTP Basic (slack_sdk's way for oauth.v2.access), else the form's fields."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return client_id, secret
    return args.get("client_id"), args.get("client_secret")


def _token(request: web.Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else args.get("token")


def _check_blocks(blocks: Any, limit: int) -> None:
    if blocks is None:
        return
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise Invalid("invalid_blocks")
    _unique_ids(blocks)
    for block in blocks:
        parsed = Block.parse(block)
        if parsed is None:
            raise Invalid("invalid_blocks")
        try:
            parsed.to_dict()
        except SlackObjectFormationError as error:
            raise Invalid("invalid_blocks") from error


def _unique_ids(blocks: list[Any]) -> None:
    """Slack refuses two blocks with one block_id, and two elements of a block with one
    action_id (`invalid_blocks`; slack_sdk checks neither)."""
    block_ids = [b["block_id"] for b in blocks if isinstance(b, dict) and "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        raise Invalid("invalid_blocks")
    for block in blocks:
        elements = block.get("elements") if isinstance(block, dict) else None
        if block.get("type") == "actions" and isinstance(elements, list):
            action_ids = [e.get("action_id") for e in elements if isinstance(e, dict)]
            if len(action_ids) != len(set(action_ids)):
                raise Invalid("invalid_blocks")


def check_view(view: Any) -> dict[str, Any]:
    """The view as slack_sdk's model accepts it, or `invalid_arguments`."""
    if not isinstance(view, dict):
        raise Invalid("invalid_arguments")
    try:
        checked: dict[str, Any] = View(**view).to_dict()
    except (SlackObjectFormationError, TypeError) as error:
        raise Invalid("invalid_arguments") from error
    limit = 100
    if len(view.get("blocks", [])) > limit or len(json.dumps(view)) > 250_000:
        raise Invalid("invalid_arguments")
    return checked
