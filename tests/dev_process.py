"""`inloop dev` as a subprocess, the way people run it (tests/test_cli.py and the
browser test of its sign-in link)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def start_dev(tmp: Path, port: int, command: tuple[str, ...] = (sys.executable, "-m",
              "api.cli", "dev"), **extra_env: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`inloop dev` in `tmp` without INLOOP_/SLACK_ settings, once it says it runs; the
    lines it printed until then (the banner)."""
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


def stop_dev(proc: subprocess.Popen[str]) -> str:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    return output


def until_ready(port: int) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("never ready")
