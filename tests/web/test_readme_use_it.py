"""The README's "Use it" commands, run as written (bash, curl, python3) against the live
app: each one works with the fixtures given, and the list by tag finds its task."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from tests.conftest import Account

ROOT = Path(__file__).resolve().parents[2]


def use_it_script(base: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use it\n"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    script = block.group(1).replace("localhost:8000", base.removeprefix("http://"))
    return "\n".join(line for line in script.splitlines()
                     if not line.startswith("export TOKEN="))  # the test's token instead


async def test_the_use_it_commands_work_as_written(live_url: str, account: Account) -> None:
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", use_it_script(live_url), cwd=ROOT,
        env={**os.environ, "TOKEN": account.token},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    output = out.decode()
    assert process.returncode == 0, (output, err.decode())
    assert '"status": "completed", "data": {"decision": "Approve"}' in output
    listed = re.search(r'\{"tasks": \[\{"title": "([^"]+)".*?"tags": \["deploy"\]', output)
    assert listed and listed.group(1) == "Deploy 4.2?", output
    assert '"status": "cancelled"' in output and "superseded by release 42" in output
