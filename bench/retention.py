"""Retention: Redis memory held by ended tasks, and what the retention job gives back.

    python -m bench.retention [--tasks 100000] [--threads 8]

Creates and completes `--tasks` tasks through the task store (a few threads overlap the
round trips), then runs retention as if `INLOOP_RETENTION_DAYS` had passed, and prints
Valkey's `used_memory` before the tasks, with them, and after retention, and the times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import cast

from api.domain.task import CompletedBy, TaskCreate
from api.runtime import Services
from api.store.retention import Retention
from api.store.tasks import utcnow
from bench.common import services_for, valkey
from tests.fixtures import example

BY = CompletedBy(channel="api", id="bench", name="Bench")


def _one(services: Services, org_id: str, body: TaskCreate, digest: str) -> None:
    created, _ = services.store.create(body, org_id=org_id, created_by="bench",
                                       body_hash=digest, secrets=[], revealed=[],
                                       **services.tasks.new_link())
    ref = services.store.get(org_id, created["task_id"]).ref
    services.store.complete(ref, {"decision": "Approve"}, BY)


def _fill(services: Services, tasks: int, threads: int) -> float:
    org_id = services.directory.create_org("bench-retention")
    raw = example("hpi_approval")
    body, digest = TaskCreate.model_validate(raw), hashlib.sha256(
        json.dumps(raw).encode()).hexdigest()
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: _one(services, org_id, body, digest), range(tasks)))
    return time.perf_counter() - started


def _memory(services: Services) -> int:
    return int(cast(dict[str, int], services.redis.info("memory"))["used_memory"])


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with valkey() as url:
        services = services_for(url)
        empty = _memory(services)
        filled_in = _fill(services, args.tasks, args.threads)
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
