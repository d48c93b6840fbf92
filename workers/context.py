"""The worker process's services, installed once by the entry point.

RQ calls jobs and their callbacks as plain functions by dotted path, so they cannot
receive constructor arguments; the worker entry point (or a test) installs the services
here before working.
"""

from __future__ import annotations

from api.runtime import Services

_installed: list[Services] = []


def install(services: Services) -> None:
    _installed[:] = [services]


def services() -> Services:
    if not _installed:
        raise RuntimeError("worker services are not installed; start with `inloop worker`")
    return _installed[0]
