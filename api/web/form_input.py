"""Reading a form POST (urlencoded or multipart) into answers, with size limits.

Everything is read into memory first (bounded), so the CSRF token is checked before any
file is stored. Uploads over the limit become a field error, not a stored file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from api.answers import is_empty
from api.files import (
    MAX_FILES_PER_TASK,
    BadSignature,
    FileStorage,
    FileTooLarge,
    TooManyFiles,
    content_type,
    decode_signature,
    display_name,
)
from api.http.resources import run
from api.models import FileRef, FormField, Task
from api.store import TaskStore

MAX_PARTS = 200
MAX_TEXT_PART = 256 * 1024
CHUNK = 64 * 1024


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Submission:
    fields: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    size: int = 0


def too_large(total: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(max_size=total, actual_size=total + 1)


async def read_submission(request: web.Request, limit: int, total: int) -> Submission:
    """The posted fields and files; a part over `limit` becomes an error, a body over
    `total` (or with too many parts) is refused with 413."""
    if request.content_length is not None and request.content_length > total:
        raise too_large(total)
    if not request.content_type.startswith("multipart/"):
        posted = await request.post()
        return Submission(fields={k: v for k, v in posted.items() if isinstance(v, str)})
    submission, reader = Submission(), await request.multipart()
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            return submission
        if not isinstance(part, BodyPartReader):
            raise too_large(total)  # nested multipart: no browser sends it
        await _read_part(part, submission, limit, total)
    raise too_large(total)


async def _read_part(part: BodyPartReader, submission: Submission, limit: int,
                     total: int) -> None:
    if not part.name:
        await _bounded(part, 0, submission, total)  # drained, but counted
        return
    name = str(part.name)
    text_limit = max(MAX_TEXT_PART, limit * 4 // 3 + 64)  # a signature's data URL
    part_limit = limit if part.filename is not None else text_limit
    data = await _bounded(part, part_limit, submission, total)
    if data is None:
        submission.errors[name] = f"the file is larger than {_mib(limit)}"
    elif part.filename is not None:
        if data:
            ctype = content_type(part.headers.get("Content-Type"))
            submission.uploads[name] = Upload(display_name(part.filename), ctype, data)
    else:
        submission.fields[name] = data.decode("utf-8", errors="replace")


async def _bounded(part: BodyPartReader, limit: int, submission: Submission,
                   total: int) -> bytes | None:
    """The part's bytes, or None (after draining it) if it is longer than `limit`. Every
    byte read, kept or drained, counts toward the body's `total`: 413 once over it, so
    an endless part of a chunked body is stopped."""
    chunks, size = [], 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        submission.size += len(chunk)
        if submission.size > total:
            raise too_large(total)
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


def _mib(limit: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size:
            return f"{limit / size:g} {unit}"
    return f"{limit} bytes"


async def store_file(store: TaskStore, storage: FileStorage, ref: str,
                     data: bytes) -> str:
    """Claim `data` for the task, then store it (so a task over MAX_FILES_PER_TASK, or
    one that has ended, never reaches the disk); its sha256. TooManyFiles if the task is
    full, Conflict if it is no longer pending."""
    digest = await run(lambda: hashlib.sha256(data).hexdigest())
    if not await run(store.claim_file, ref, digest, MAX_FILES_PER_TASK):
        raise TooManyFiles()
    await run(storage.put, data)
    return digest


class StepAnswers:
    """Turns one step's submission into raw answers, storing files as it goes."""

    def __init__(self, task: Task, storage: FileStorage, base_url: str, limit: int,
                 store: TaskStore) -> None:
        self.task = task
        self.storage = storage
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.limit = limit

    async def collect(self, fields: list[FormField], submission: Submission,
                      draft: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """(answers by field name, errors by field name) for `fields`."""
        answers: dict[str, Any] = {}
        errors = {f.name: submission.errors[f.name] for f in fields
                  if f.name in submission.errors}
        for f in fields:
            if f.name in errors:
                answers[f.name] = draft.get(f.name)
                continue
            try:
                answers[f.name] = await self._answer(f, submission, draft)
            except (BadSignature, FileTooLarge, TooManyFiles) as error:
                errors[f.name], answers[f.name] = str(error), draft.get(f.name)
        return answers, errors

    async def _answer(self, f: FormField, submission: Submission,
                      draft: dict[str, Any]) -> Any:
        raw = submission.fields.get(f.name)
        if f.kind == "checkbox":
            return raw is not None
        if f.kind == "file":
            upload = submission.uploads.get(f.name)
            return await self._store(f, upload) if upload else draft.get(f.name)
        if f.kind == "signature":
            if is_empty(raw):
                return draft.get(f.name)
            png = await run(decode_signature, str(raw), self.limit)
            return await self._store(f, Upload("signature.png", "image/png", png))
        return None if is_empty(raw) else raw

    async def _store(self, f: FormField, upload: Upload) -> dict[str, Any]:
        digest = await store_file(self.store, self.storage, self.task.ref, upload.data)
        url = f"{self.base_url}/api/v1/tasks/{self.task.task_id}/files/{f.name}"
        return FileRef(name=upload.filename, size=len(upload.data),
                       content_type=upload.content_type, sha256=digest, url=url).model_dump()
