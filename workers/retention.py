"""The periodic retention job: ended tasks older than INLOOP_RETENTION_DAYS leave Redis
(the work is api.store.retention's; this reads the settings and runs it)."""

from __future__ import annotations

from api.store.retention import Retention
from workers.context import services


def run() -> str:
    found = services()
    days = found.settings.retention_days
    if not days:
        return "retention disabled"
    retention = Retention(found.store, found.files, found.file_answers.storage,
                          found.settings.archive_dir)
    return f"removed {retention.run(days)} ended tasks"
