"""Every Prometheus metric inloop exports, and their exposition (`GET /metrics`).

The server and the workers are separate processes: with `PROMETHEUS_MULTIPROC_DIR` set
(set by the CLI before this module is imported: api/cli.py) each process writes its
values to files there and a scrape adds them up. Queue depths are read from Redis at
scrape time by the process that answers it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from api.domain.task import Task

# Read at import, as prometheus-client chooses its mode: a later change (a test calling the
# CLI's main in-process) must not switch the exposition to files this process never wrote.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
CONTENT_TYPE = CONTENT_TYPE_LATEST

TASKS_CREATED = Counter("inloop_tasks_created", "Tasks created")
TASKS_ENDED = Counter("inloop_tasks_ended", "Tasks ended, by status and outcome",
                      ["status", "outcome"])
TIME_TO_ANSWER = Histogram("inloop_task_answer_seconds", "From creation to completion",
                           buckets=(60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400))
DELIVERIES = Counter("inloop_deliveries", "Sink delivery attempts, by kind and result",
                     ["kind", "result"])
DELIVERY_SECONDS = Histogram("inloop_delivery_seconds", "Sink delivery attempt latency",
                             ["kind"])
SLACK_CALLS = Counter("inloop_slack_api_calls", "Slack Web API calls, by method",
                      ["method"])
SLACK_ERRORS = Counter("inloop_slack_api_errors", "Slack Web API errors, by method and error",
                       ["method", "error"])
WAITERS = Gauge("inloop_waiters", "Open ?wait= requests", multiprocess_mode="livesum")


def task_ended(task: Task) -> None:
    TASKS_ENDED.labels(task.status, outcome(task)).inc()
    if task.completed_at is not None:
        TIME_TO_ANSWER.observe((task.completed_at - task.created_at).total_seconds())


def outcome(task: Task) -> str:
    """How it ended: a team's decision, the answering channel, the first error's code, or
    `cancelled`. (Every completed task has an `outcome`; only a decision tells more than
    the channel.)"""
    if task.outcome in ("approved", "rejected"):
        return task.outcome
    if task.completed_by is not None:
        return task.completed_by.channel
    if task.errors:
        return task.errors[0].code
    return task.status


class QueueDepths:
    """Jobs waiting in each RQ queue, read when scraped."""

    def __init__(self, depths: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self._depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("inloop_queue_depth", "Jobs waiting, by queue",
                                   labels=["queue"])
        for name, depth in self._depths():
            family.add_metric([name], depth)
        yield family


def exposition(depths: Callable[[], Iterable[tuple[str, int]]]) -> bytes:
    """The text format of every process's metrics (this one's alone without a directory)
    and the queue depths."""
    registry = REGISTRY
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, MULTIPROC_DIR)
    scraped = CollectorRegistry()
    scraped.register(QueueDepths(depths))
    return generate_latest(registry) + generate_latest(scraped)
