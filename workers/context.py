"""The worker process's services, installed once by the entry point.

RQ calls jobs as plain functions by dotted path, so they cannot receive constructor
arguments; the worker entry point (or a test) installs the services here before working.
"""

from __future__ import annotations

from redis import Redis

from api.runtime import Services
from api.store.jobs import JobQueues
from api.store.tasks import TaskStore

_installed: list[Services] = []


def install(services: Services) -> None:
    _installed[:] = [services]


def services() -> Services:
    if not _installed:
        raise RuntimeError("worker services are not installed; start with `inloop worker`")
    return _installed[0]


def callback_store(connection: Redis) -> TaskStore:
    """A store for RQ callbacks, which may run in any process holding only `connection`
    (registry cleanup): enough to record on tasks, never to build links."""
    return TaskStore(connection, JobQueues(connection), base_url="")
