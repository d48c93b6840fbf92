"""Logging for every entry point: text by default, one JSON object per line with
INLOOP_LOG_FORMAT=json (python-json-logger).

JSON lines carry `time`, `level`, `logger`, `message`, the `extra` fields a call passes,
and the context `bind` holds for the current request or job (`corr_id`, `task_id`).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from api.domain.task import Task

TEXT_FORMAT = "%(asctime)s %(name)s %(message)s"
RENAMED = {"levelname": "level", "name": "logger"}
_context: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("inloop_log_context", default=())


def configure(log_format: str) -> None:
    """Install the root handler once, as the CLI starts."""
    logging.basicConfig(level=logging.INFO, handlers=[handler(log_format)])


def handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """Lines to `stream` (stderr) in `log_format`, with the bound context."""
    out = logging.StreamHandler(stream)
    out.setFormatter(formatter(log_format))
    out.addFilter(add_context)
    return out


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(["levelname", "name", "message"], rename_fields=RENAMED,
                             timestamp="time")
    return logging.Formatter(TEXT_FORMAT)


class bind:
    """Add `fields` to every record logged inside (this request's or job's context).
    A class with slots, not a generator: every open request (10,000 parked `/wait`
    calls) holds one."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: str) -> None:
        self._fields = tuple(fields.items())

    def __enter__(self) -> None:
        self._token = _context.set((*_context.get(), *self._fields))

    def __exit__(self, *_exc: object) -> None:
        _context.reset(self._token)


def bind_task(**fields: str) -> None:
    """Add `fields` for the rest of the current asyncio task, with no exit to run: for a
    request, which aiohttp runs in a task of its own with its own copy of the context, so
    the fields end with the request, and a parked one holds no frame for them."""
    _context.set((*_context.get(), *fields.items()))


def add_context(record: logging.LogRecord) -> bool:
    for key, value in reversed(_context.get()):  # the innermost binding wins
        if not hasattr(record, key):
            setattr(record, key, value)
    return True


def task_fields(task: Task) -> dict[str, str]:
    """What names a task in the logs: its org's task_id, org and corr_id (when given)."""
    fields = {"task_id": task.task_id, "org_id": task.org_id}
    if task.corr_id:
        fields["corr_id"] = task.corr_id
    return fields
