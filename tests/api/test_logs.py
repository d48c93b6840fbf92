"""INLOOP_LOG_FORMAT=json: one JSON object per line with the bound context's fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from api import logs
from api.domain.task import Task


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the root logger writes once the CLI configured it for JSON."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("json")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    yield out
    root.handlers[:], root.level = saved[0], saved[1]


def test_json_lines_carry_the_bound_task_and_the_extra_fields(lines: io.StringIO) -> None:
    task = Task.model_construct(task_id="t-1", org_id="org-1", corr_id="corr-9")
    with logs.bind(**logs.task_fields(task)):
        logging.getLogger("inloop.test").warning("sent %s", "it", extra={"attempt": 2})
    logging.getLogger("inloop.test").info("after")
    first, second = (json.loads(line) for line in lines.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "inloop.test"
    assert first["message"] == "sent it" and first["attempt"] == 2
    assert (first["task_id"], first["org_id"], first["corr_id"]) == ("t-1", "org-1", "corr-9")
    assert first["time"].startswith("20")
    assert "task_id" not in second

