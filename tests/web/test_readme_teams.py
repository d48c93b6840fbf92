"""The README's "Teams of approvers" commands, run as written (bash, curl, python3) against
the live app: every call succeeds and shows what the README says it shows."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from tests.api.http.teams import COMPLETE
from tests.conftest import Account, AccountFactory

ROOT = Path(__file__).resolve().parents[2]


def teams_script(base: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    use_it = readme[readme.index("## Use it\n"):]
    helper = re.search(r"^task_id\(\) .*$", use_it, re.M)
    section = readme[readme.index("## Teams of approvers\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert helper and len(blocks) == 7
    return "\n".join([helper.group(0), *blocks]).replace("localhost:8000",
                                                          base.removeprefix("http://"))


async def test_the_teams_commands_work_as_written(live_url: str, account: Account,
                                                  make_account: AccountFactory) -> None:
    alice, carol, dan = (make_account(COMPLETE, org_id=account.org_id) for _ in range(3))
    env = {**os.environ, "TOKEN": account.token, "ALICE": alice.token,
           "ALICE_ID": alice.member.id, "CAROL_ID": carol.member.id, "DAN_ID": dan.member.id}
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", teams_script(live_url), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    output = out.decode()
    assert process.returncode == 0, (output, err.decode())
    assert '"error"' not in output, output
    assert '"outcome": "approved"' in output and '"status": "in_progress"' in output
    carol_then_dan = (f'"assignees": [{{"member_id": "{carol.member.id}", '
                      f'"email": "{carol.member.email}", "name": "{carol.member.name}", '
                      f'"phone": null}}, {{"member_id": "{dan.member.id}"')
    assert carol_then_dan in output, output
    assert '"cancel_reason": "parent cancelled"' in output
    assert '"kind": "reassigned"' in output and '"kind": "cancelled"' in output
