"""`inloop-ask`, run as the installed command: its output and exit codes."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from collections.abc import Callable

import pytest
from inloop_client.cli import duration

from tests.client.conftest import LiveServer, pending_task

INLOOP_ASK = shutil.which("inloop-ask") or "inloop-ask"


def _run(live: LiveServer, *args: str, answer: Callable[[str], None] | None = None,
         **env: str) -> subprocess.CompletedProcess[str]:
    """Run inloop-ask; `answer(task_id)` acts on its task while it waits."""
    proc = subprocess.Popen([INLOOP_ASK, *args], env={**live.env(), **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if answer is not None:
            answer(pending_task(live.client()).task_id)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_answered_prints_the_answer_and_exits_0(live: LiveServer) -> None:
    done = _run(live, "Deploy 4.2?", "--choices", "Approve,Reject", "--assignee",
                "ops@acme.example", "--timeout", "1h",
                answer=lambda tid: live.client().complete(tid, {"answer": "Approve"}))
    assert (done.returncode, done.stdout) == (0, "Approve\n"), done.stderr


def test_json_prints_the_whole_result(live: LiveServer) -> None:
    done = _run(live, "Deploy?", "--choices", "Approve,Reject", "--json",
                answer=lambda tid: live.client().complete(tid, {"answer": "Approve"}))
    result = json.loads(done.stdout)
    assert done.returncode == 0
    assert (result["status"], result["data"], result["answer"]) == (
        "completed", {"answer": "Approve"}, "Approve")


def test_rejected_exits_1(live: LiveServer) -> None:
    done = _run(live, "Deploy?", "--choices", "Approve,Reject", "--reject", "Reject",
                answer=lambda tid: live.client().complete(tid, {"answer": "Reject"}))
    assert (done.returncode, done.stdout) == (1, "Reject\n"), done.stderr


def test_cancelled_exits_2_with_the_reason(live: LiveServer) -> None:
    done = _run(live, "Deploy?", answer=lambda tid: live.client().cancel(tid, "pulled"))
    assert done.returncode == 2 and "cancelled: pulled" in done.stderr


def test_no_answer_within_the_timeout_exits_3(live: LiveServer) -> None:
    done = _run(live, "Deploy?", "--timeout", "1s")
    assert done.returncode == 3 and "stays open" in done.stderr
    assert [t.status for t in live.client().list_tasks()] == ["pending"]


@pytest.mark.parametrize("args", [("Deploy?",), ("Deploy?", "--timeout", "soon")])
def test_errors_exit_4(live: LiveServer, args: tuple[str, ...]) -> None:
    done = _run(live, *args, INLOOP_TOKEN="htk_invalid")
    assert done.returncode == 4 and done.stderr


def test_durations() -> None:
    assert [duration(t) for t in ("90", "30s", "5m", "1h", "1.5h", "2d")] == [
        90, 30, 300, 3600, 5400, 172800]
    with pytest.raises(argparse.ArgumentTypeError):
        duration("1 week")
