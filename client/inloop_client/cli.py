"""`inloop-ask`: ask a person from a shell or a CI pipeline and print the answer.

Exit codes: 0 answered (or approved), 1 rejected, 2 cancelled or expired (or failed),
3 no answer within --timeout (the task stays open), 4 any other error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from inloop_client._client import Client
from inloop_client.ask import Answered, AskOptions, ask_flow
from inloop_client.errors import AskTimeout, InloopError, TaskEnded, TaskRejected

ANSWERED, REJECTED, ENDED, TIMED_OUT, ERROR = 0, 1, 2, 3, 4
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def duration(text: str) -> float:
    """Seconds from `90`, `30s`, `5m`, `1h` or `2d`."""
    match = DURATION.match(text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90, 30s, 5m, 1h")
    return float(match[1]) * UNITS[match[2]]


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors are errors (4), not "ended"
        self.print_usage(sys.stderr)
        self.exit(ERROR, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="inloop-ask", description="Ask a person through inloop and print the "
                "answer. Exit 0 answered, 1 rejected, 2 cancelled or expired, 3 timeout, "
                "4 error. INLOOP_URL and INLOOP_TOKEN configure the server.")
    p.add_argument("question")
    p.add_argument("--choices", type=_csv, help="comma-separated options, e.g. Approve,Reject")
    p.add_argument("--reject", type=_csv, default=[],
                   help="choices that reject (exit 1), e.g. Reject")
    p.add_argument("--assignee", help="an email, a member id, or `me`")
    p.add_argument("--channel", help="a Slack channel instead of a person, e.g. #ops")
    p.add_argument("--timeout", type=duration, help="stop waiting after this (90, 30s, 5m, 1h)")
    p.add_argument("--expires-in", type=duration, help="the task fails as expired after this")
    p.add_argument("--tag", action="append", default=[], help="repeatable")
    p.add_argument("--priority", choices=["low", "medium", "high", "urgent"])
    p.add_argument("--payload", type=json.loads, help="JSON object shown with the task")
    p.add_argument("--key", help="idempotency key (default: derived from the request)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--url", help="server URL (default INLOOP_URL)")
    p.add_argument("--token", help="API token (default INLOOP_TOKEN)")
    return p


def options(args: argparse.Namespace) -> AskOptions:
    """`ask()` options from the command line."""
    chosen: dict[str, Any] = {
        "choices": args.choices, "assignee": args.assignee, "slack_channel": args.channel,
        "timeout": args.timeout, "tags": args.tag or None, "priority": args.priority,
        "payload": args.payload, "idempotency_key": args.key,
        "expires_in": int(args.expires_in) if args.expires_in else None}
    if args.reject:
        chosen["approval"] = {"decision_field": "answer", "reject_options": args.reject}
    return AskOptions(**{k: v for k, v in chosen.items() if v is not None})  # type: ignore[typeddict-item]


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(value, indent=2, default=str))
    elif isinstance(value, str):
        print(value)
    else:
        print(json.dumps(value, default=str))


def _answered(done: Answered, as_json: bool) -> int:
    _print(done.result.model_dump(mode="json") | {"answer": done.answer} if as_json
           else done.answer, as_json)
    return ANSWERED


def _failed(error: InloopError, as_json: bool) -> int:
    if isinstance(error, TaskRejected):
        _print({"task_id": error.task_id, "status": "completed", "outcome": "rejected",
                "data": error.data} if as_json else error.data.get("answer", error.data),
               as_json)
        return REJECTED
    print(f"inloop-ask: {error}", file=sys.stderr)
    code = ENDED if isinstance(error, TaskEnded) else (
        TIMED_OUT if isinstance(error, AskTimeout) else ERROR)
    if as_json and code != ERROR:
        _print({"task_id": getattr(error, "task_id", None), "error": str(error)}, as_json)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if set(args.reject) - set(args.choices or ()):
        print("inloop-ask: --reject must name some of --choices", file=sys.stderr)
        return ERROR
    try:
        with Client(args.url, args.token) as client:
            done = client._run(ask_flow(args.question, None, options(args)))
    except InloopError as error:
        return _failed(error, args.json)
    return _answered(done, args.json)


def main() -> None:
    try:
        sys.exit(run())
    except KeyboardInterrupt:
        sys.exit(ERROR)
