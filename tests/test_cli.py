"""The `inloop` command as people run it: admin commands and `inloop dev`."""

from __future__ import annotations

import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pyotp
import pytest

from api.cli import METRICS_ENV, metrics_directory
from api.crypto import SecretBox, new_key
from api.runtime import Services
from api.store.authenticators import Authenticators
from api.store.guesses import Guesses
from tests.conftest import Account
from tests.dev_process import start_dev, stop_dev, until_ready
from tests.fixtures import example
from tests.ports import free_port


def inloop(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_admin_commands_make_a_working_token(services: Services, redis_url: str) -> None:
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url}
    org_id = inloop("org", "create", "acme", env=env)
    member_id = inloop("member", "add", "--org", "acme", "--email", "Ops@Acme.example",
                       "--name", "Ops", "--admin", env=env)
    token = inloop("token", "create", "--org", "acme", "--member", "ops@acme.example",
                   "--scope", "tasks:create", "--scope", "tasks:read", env=env)
    who = services.directory.authenticate(token)
    assert (who.org_id, who.member.id, who.member.admin) == (org_id, member_id, True)
    assert who.scopes == {"tasks:create", "tasks:read"}
    listed = inloop("token", "list", "--org", "acme", env=env)
    assert listed.startswith(f"{token[:12]}  member {member_id}  scopes tasks:create tasks:read")
    assert token not in listed
    assert inloop("token", "revoke", token[:12], env=env) == f"revoked {token[:12]}"
    assert inloop("token", "list", "--org", "acme", env=env) == ""
    with pytest.raises(Exception, match="invalid API token"):
        services.directory.authenticate(token)


def test_member_reset_totp_removes_an_authenticator_app_without_the_key(
        services: Services, redis_url: str) -> None:
    env = {**os.environ, "INLOOP_REDIS_URL": redis_url}  # no INLOOP_SECRET_KEY
    member = services.directory.add_member(services.directory.create_org("acme"),
                                           "ops@acme.example", "Ops")
    apps = Authenticators(services.redis, SecretBox(new_key()), Guesses(15, 150, 3600))
    apps.begin(member.id)
    assert apps.confirm(member.id, pyotp.TOTP(apps.pending_seed(member.id) or "").now())
    command = ("member", "reset-totp", "--org", "acme", "--member", "Ops@acme.example")
    assert inloop(*command, env=env) == "reset ops@acme.example's authenticator app"
    assert apps.enrolled_at(member.id) is None
    assert inloop(*command, env=env) == "ops@acme.example had no authenticator app"


def _request(url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_dev_starts_everything_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    port = free_port()
    proc, lines = start_dev(tmp_path, port)
    token = re.search(r"htk_\w+", "".join(lines))
    assert token, "".join(lines)
    until_ready(port)
    assert _listening_on(port) == {"0100007F"}  # 127.0.0.1 only
    created = _request(f"http://127.0.0.1:{port}/api/v1/tasks", token.group(),
                       example("hpi_approval"))
    assert created["url"].startswith(f"http://127.0.0.1:{port}/t/")
    _check_the_banner_sign_in_link("".join(lines), port)
    output = stop_dev(proc)
    assert "Traceback" not in output and "inloop dev stopped" in output
    assert not (tmp_path / ".inloop" / "redis.url").exists()

    proc, lines = start_dev(tmp_path, port)
    try:
        assert "admin token" not in "".join(lines)  # shown once, on first start only
        until_ready(port)
        task = _request(f"http://127.0.0.1:{port}/api/v1/tasks/{created['task_id']}",
                        token.group())
        assert task["status"] == "pending"
        reminder = re.search(r"a new API token: inloop (token create .*)", "".join(lines))
        assert reminder, "".join(lines)  # the README's command, run as printed
        env = {k: v for k, v in os.environ.items() if not k.startswith("INLOOP_")}
        new = subprocess.run([sys.executable, "-m", "api.cli", *reminder.group(1).split()],
                             cwd=tmp_path, env=env, text=True, capture_output=True,
                             timeout=60, check=True).stdout.strip()
        assert _request(f"http://127.0.0.1:{port}/api/v1/tasks/{created['task_id']}",
                        new)["task_id"] == created["task_id"]
    finally:
        stop_dev(proc)
    assert list((tmp_path / ".inloop" / "valkey" / "appendonlydir").iterdir())


def _check_the_banner_sign_in_link(banner: str, port: int) -> None:
    """The banner names the dashboard and the admin, and its link signs in once;
    the mail catcher's page is there (no INLOOP_SMTP_URL)."""
    assert f"dashboard: http://127.0.0.1:{port}/dashboard  (admin: admin@localhost)" in banner
    link = re.search(rf"(http://127\.0\.0\.1:{port}/dev/sign-in/\S+)", banner)
    assert link, banner
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with browser.open(link.group(1), timeout=10) as signed_in:
        assert signed_in.url == f"http://127.0.0.1:{port}/dashboard"
        assert "Sign out" in signed_in.read().decode()
    with pytest.raises(urllib.error.HTTPError, match="410"):
        browser.open(link.group(1), timeout=10)
    with browser.open(f"http://127.0.0.1:{port}/dev/mail", timeout=10) as mail:
        assert "Mail caught by inloop dev" in mail.read().decode()


@pytest.mark.slow
def test_the_quickstart_script_installs_and_runs_inloop_dev(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "dev.sh"
    port = free_port()
    proc, lines = start_dev(tmp_path, port, (str(script),),
                             INLOOP_DATA_DIR=str(tmp_path / "data"))
    try:
        assert re.search(r"htk_\w+", "".join(lines)), "".join(lines)
        until_ready(port)
    finally:
        output = stop_dev(proc)
    assert "Traceback" not in output
    assert (tmp_path / "data" / "valkey").is_dir()


def test_dev_bootstrap_completes_a_half_done_first_start(services: Services) -> None:
    from api.devserver import ADMIN_EMAIL, DEFAULT_ORG, bootstrap

    org_id = services.directory.create_org(DEFAULT_ORG)  # died right after this
    token = bootstrap(services.directory)
    assert token is not None
    assert services.directory.authenticate(token).org_id == org_id
    assert bootstrap(services.directory) is None  # a second start makes no new token
    assert services.directory.member_by_email(org_id, ADMIN_EMAIL) is not None


def test_dev_bootstrap_makes_the_token_a_first_start_died_before(services: Services) -> None:
    from api.devserver import ADMIN_EMAIL, DEFAULT_ORG, bootstrap

    org_id = services.directory.create_org(DEFAULT_ORG)
    admin = services.directory.add_member(org_id, ADMIN_EMAIL, "Admin", admin=True)
    token = bootstrap(services.directory)  # the admin exists, its token was never made
    assert token is not None
    assert services.directory.authenticate(token).member.id == admin.id
    assert bootstrap(services.directory) is None


def _listening_on(port: int) -> set[str]:
    """The IPv4 addresses (hex, as /proc shows them) listening on `port`."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return {local.split(":")[0] for local, state in (
        (row.split()[1], row.split()[3]) for row in rows)
        if state == "0A" and int(local.split(":")[1], 16) == port}


@contextmanager
def _serving(redis_url: str, tmp_path: Path, **extra_env: str) -> Iterator[int]:
    """`inloop serve` running on a free port (yielded) until the block ends."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_"))},
           "INLOOP_REDIS_URL": redis_url, "PORT": str(port),
           "INLOOP_DATA_DIR": str(tmp_path), **extra_env}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until_ready(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_listens_on_every_interface(redis_url: str, tmp_path: Path) -> None:
    """Procfile platforms route to the web process from outside: `serve` binds 0.0.0.0
    (`--host`/`INLOOP_HOST` narrow it); `dev` keeps to loopback."""
    with _serving(redis_url, tmp_path) as port:
        assert _listening_on(port) == {"00000000"}
        for path in ("/dev/mail", "/dev/sign-in/x"):  # `inloop dev`'s own routes
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)


def _closed(sock: socket.socket, trickle: bool) -> bool:
    """Whether the server closed the connection (whatever it sent before); else send one
    more header line when `trickle`, as slowloris does."""
    readable = select.poll()  # not select.select: it refuses descriptors past 1023
    readable.register(sock, select.POLLIN)
    try:
        while readable.poll(0):
            if not sock.recv(4096):
                return True
        if trickle:
            sock.sendall(b"X-Trickle: 1\r\n")
    except OSError:
        return True
    return False


def _left_open(trickling: list[socket.socket], quiet: list[socket.socket],
               budget_s: float) -> int:
    """Trickle a header line on each open `trickling` socket every 0.2 s until all
    sockets are closed or `budget_s` has passed; how many are still open."""
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        trickling = [s for s in trickling if not _closed(s, trickle=True)]
        quiet = [s for s in quiet if not _closed(s, trickle=False)]
        if not trickling and not quiet:
            return 0
        time.sleep(0.2)
    return len(trickling) + len(quiet)


def test_serve_closes_connections_that_never_complete_a_request(
        redis_url: str, tmp_path: Path, account: Account) -> None:
    """Slowloris: a request head trickled line by line, a connection that sends nothing,
    and an idle keep-alive connection are each closed once INLOOP_HEADER_TIMEOUT_S has
    passed; a request that takes longer than that to answer is not cut."""
    with _serving(redis_url, tmp_path, INLOOP_HEADER_TIMEOUT_S="1") as port, ExitStack() as open_:
        def connect() -> socket.socket:
            return open_.enter_context(socket.create_connection(("127.0.0.1", port)))

        trickling = [connect() for _ in range(20)]
        for sock in trickling:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: inloop\r\n")
        silent, kept = connect(), connect()
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: inloop\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert _left_open(trickling, [silent, kept], budget_s=6) == 0
        assert time.monotonic() - started > 0.5  # they were open until the timeout
        created = _request(f"http://127.0.0.1:{port}/api/v1/tasks", account.token,
                           example("hpi_approval"))
        waited = _request(f"http://127.0.0.1:{port}/api/v1/tasks/{created['task_id']}"
                          "/wait?timeout=2", account.token)
        assert waited["status"] == "pending"


def test_a_starting_server_keeps_the_metrics_of_live_processes(tmp_path: Path) -> None:
    """`inloop serve` empties PROMETHEUS_MULTIPROC_DIR of an earlier run, not of the
    processes running beside it (one server per core, the workers): their values stay in
    the scrape."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / f"counter_{gone.pid}.db").write_bytes(b"old run")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"a run of the same pid")
    live = tmp_path / f"counter_{os.getppid()}.db"
    live.write_bytes(b"a sibling's")
    saved = os.environ.get(METRICS_ENV)
    try:
        metrics_directory(tmp_path, clean=True)
    finally:
        os.environ.pop(METRICS_ENV)
        if saved is not None:
            os.environ[METRICS_ENV] = saved
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]
