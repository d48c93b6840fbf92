"""The `inloop` command as people run it: admin commands and `inloop dev`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from api.runtime import Services
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


def _request(url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _start_dev(tmp: Path, port: int, command: tuple[str, ...] = (sys.executable, "-m",
               "api.cli", "dev"), **extra_env: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_"))}
    proc = subprocess.Popen([*command, "--port", str(port)],
                            cwd=tmp, env={**env, **extra_env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.stdout is not None:
        line = proc.stdout.readline()
        lines.append(line)
        if "inloop is running" in line:
            return proc, lines
    proc.kill()
    raise AssertionError("inloop dev did not start:\n" + "".join(lines))


def _stop_dev(proc: subprocess.Popen[str]) -> str:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    return output


def _until_ready(port: int) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("never ready")


@pytest.mark.slow
def test_dev_starts_everything_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    port = free_port()
    proc, lines = _start_dev(tmp_path, port)
    token = re.search(r"htk_\w+", "".join(lines))
    assert token, "".join(lines)
    _until_ready(port)
    assert _listening_on(port) == {"0100007F"}  # 127.0.0.1 only
    created = _request(f"http://127.0.0.1:{port}/api/v1/tasks", token.group(),
                       example("hpi_approval"))
    assert created["url"].startswith(f"http://127.0.0.1:{port}/t/")
    output = _stop_dev(proc)
    assert "Traceback" not in output and "inloop dev stopped" in output
    assert not (tmp_path / ".inloop" / "redis.url").exists()

    proc, lines = _start_dev(tmp_path, port)
    try:
        assert "admin token" not in "".join(lines)  # shown once, on first start only
        _until_ready(port)
        task = _request(f"http://127.0.0.1:{port}/api/v1/tasks/{created['task_id']}",
                        token.group())
        assert task["status"] == "pending"
    finally:
        _stop_dev(proc)
    assert list((tmp_path / ".inloop" / "valkey" / "appendonlydir").iterdir())


@pytest.mark.slow
def test_the_quickstart_script_installs_and_runs_inloop_dev(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "dev.sh"
    port = free_port()
    proc, lines = _start_dev(tmp_path, port, (str(script),),
                             INLOOP_DATA_DIR=str(tmp_path / "data"))
    try:
        assert re.search(r"htk_\w+", "".join(lines)), "".join(lines)
        _until_ready(port)
    finally:
        output = _stop_dev(proc)
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


def test_serve_listens_on_every_interface(redis_url: str, tmp_path: Path) -> None:
    """Procfile platforms route to the web process from outside: `serve` binds 0.0.0.0
    (`--host`/`INLOOP_HOST` narrow it); `dev` keeps to loopback."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("INLOOP_", "SLACK_"))},
           "INLOOP_REDIS_URL": redis_url, "PORT": str(port),
           "INLOOP_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _until_ready(port)
        assert _listening_on(port) == {"00000000"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
