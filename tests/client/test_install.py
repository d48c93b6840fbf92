"""The client installs on its own: a fresh venv gets `inloop_client` and its commands from
PyPI packages (httpx, pydantic), and none of the server's packages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "client"
PROBE = """
import importlib.util, inloop_client
print(inloop_client.__file__)
print(sorted(n for n in ("api", "bot", "workers", "renderers", "mcp", "aiohttp", "redis")
             if importlib.util.find_spec(n)))
"""


@pytest.mark.slow
def test_the_client_installs_alone_in_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The test's own pip installs into the venv (`--python`): no pip bootstrap in the venv.
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--disable-pip-version-check", str(CLIENT)], check=True,
                   capture_output=True, cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True,
                           check=True, cwd=tmp_path, env=env)
    where, leaked = probe.stdout.splitlines()
    assert where.startswith(str(venv)) and leaked == "[]"
    usage = subprocess.run([str(venv / "bin" / "inloop-ask"), "--help"], capture_output=True,
                           text=True, cwd=tmp_path, env=env)
    assert usage.returncode == 0 and "--choices" in usage.stdout
