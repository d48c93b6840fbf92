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
    """What the handler the CLI installs for INLOOP_LOG_FORMAT=json writes."""
    out = io.StringIO()
    logger = logging.getLogger("inloop.test")
    json_lines = logs.handler("json", out)
    logger.addHandler(json_lines)
    yield out
    logger.removeHandler(json_lines)


def test_json_lines_carry_the_bound_task_and_the_extra_fields(lines: io.StringIO) -> None:
    task = Task.model_construct(task_id="t-1", org_id="org-1", corr_id="corr-9")
    with logs.bind(**logs.task_fields(task)):
        logging.getLogger("inloop.test").warning("sent %s", "it", extra={"attempt": 2})
    logging.getLogger("inloop.test").warning("after")
    first, second = (json.loads(line) for line in lines.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "inloop.test"
    assert first["message"] == "sent it" and first["attempt"] == 2
    assert (first["task_id"], first["org_id"], first["corr_id"]) == ("t-1", "org-1", "corr-9")
    assert first["time"].startswith("20")
    assert "task_id" not in second



def test_the_innermost_binding_wins(lines: io.StringIO) -> None:
    with logs.bind(request_id="r-1", task_id="outer"), logs.bind(task_id="inner"):
        logging.getLogger("inloop.test").warning("nested")
    line = json.loads(lines.getvalue())
    assert (line["request_id"], line["task_id"]) == ("r-1", "inner")
