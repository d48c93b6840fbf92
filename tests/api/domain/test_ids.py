"""UUID strings made without uuid.UUID (api/domain/ids.py) read as the uuid module's."""

from __future__ import annotations

import uuid

from api.domain.ids import name_uuid, random_uuid
from api.domain.task import TASK_REF_NAMESPACE, task_ref


def test_name_uuids_match_uuid5() -> None:
    namespace = uuid.uuid4()
    for name in ("org_1:task", "", "é—𝄞", "x" * 300):
        assert name_uuid(namespace, name) == str(uuid.uuid5(namespace, name))


def test_task_refs_are_unchanged() -> None:
    """Stored keys, jobs and Slack values name tasks by these: they must never move."""
    task_ref.cache_clear()
    assert task_ref("org_a", "t-1") == str(uuid.uuid5(TASK_REF_NAMESPACE, "org_a:t-1"))


def test_random_uuids_are_version_4_and_distinct() -> None:
    made = {random_uuid() for _ in range(2000)}
    assert len(made) == 2000
    for text in made:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
