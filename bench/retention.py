"""Retention: Redis memory held by ended tasks, and what the retention job gives back.

    python -m bench.retention [--tasks 100000] [--processes 2]

Creates and completes `--tasks` tasks through the task store (in `--processes`
processes), then runs retention as if `INLOOP_RETENTION_DAYS` had passed, and prints
Valkey's `used_memory` before the tasks, with them, and after retention, and the times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import cast

from api.domain.task import CompletedBy, TaskCreate, task_ref
from api.runtime import Services
from api.store.retention import Retention
from api.store.tasks import utcnow
from bench.common import services_for, valkey
from tests.fixtures import example

BY = CompletedBy(channel="api", id="bench", name="Bench")


def _fill_part(url: str, org_id: str, tasks: int) -> None:
    """One process's share: create and complete `tasks` tasks of the org."""
    services = services_for(url)
    raw = example("hpi_approval")
    body = TaskCreate.model_validate(raw)
    digest = hashlib.sha256(json.dumps(raw).encode()).hexdigest()
    for _ in range(tasks):
        created, _ = services.store.create(body, org_id=org_id, created_by="bench",
                                           body_hash=digest, secrets=[], revealed=[],
                                           **services.tasks.new_link())
        services.store.complete(task_ref(org_id, created["task_id"]),
                                {"decision": "Approve"}, BY)


def _fill(url: str, org_id: str, tasks: int, processes: int) -> float:
    """Python is the bottleneck (models, JSON), so the work is split across processes."""
    shares = [tasks // processes + (i < tasks % processes) for i in range(processes)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_fill_part, [url] * processes, [org_id] * processes, shares))
    return time.perf_counter() - started


def _memory(services: Services) -> int:
    return int(cast(dict[str, int], services.redis.info("memory"))["used_memory"])


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    with valkey() as url:
        services = services_for(url)
        empty = _memory(services)
        org_id = services.directory.create_org("bench-retention")
        filled_in = _fill(url, org_id, args.tasks, args.processes)
        full = _memory(services)
        services.store.clock = lambda: utcnow() + timedelta(days=91)
        started = time.perf_counter()
        removed = Retention(services.store, services.files,
                            services.file_answers.storage).run(90)
        took = time.perf_counter() - started
        after = _memory(services)
    print(f"{args.tasks} tasks created and completed in {filled_in:.1f} s")
    print(f"used_memory: before {_mib(empty)}, with the ended tasks {_mib(full)} "
          f"({(full - empty) / max(args.tasks, 1):.0f} B per task), after retention "
          f"{_mib(after)}")
    print(f"retention removed {removed} tasks in {took:.1f} s "
          f"({removed / max(took, 1e-9):.0f} tasks/s)")


if __name__ == "__main__":
    main()
