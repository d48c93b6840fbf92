"""Reading a form POST (urlencoded or multipart) into answers, with size limits.

The CSRF token comes first (the form's first field, so a browser sends it as the first
part) and is checked before any other part is read: a forged POST costs one small part.
File parts are then streamed to temporary files (hashed on the way), never held in
memory; text parts are kept, bounded. Uploads over the limit become a field error, not a
stored file, and a body over the request's total is refused with 413.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import BodyPartReader, MultipartReader, web

from api.domain.errors import BadSignature, FileTooLarge, Forged, TooManyFiles
from api.domain.fields import FormField, is_empty
from api.domain.task import Task
from api.domain.uploads import content_type, decode_signature, display_name
from api.service import FileAnswers
from api.web.session import CSRF_FIELD, csrf_ok

MAX_PARTS = 200
MAX_TEXT_PART = 256 * 1024
MAX_TOKEN_PART = 256
CHUNK = 64 * 1024


@dataclass
class Upload:
    """A received file part, waiting in a temporary file until it is stored."""

    filename: str
    content_type: str
    path: Path
    size: int
    sha256: str


@dataclass
class Limits:
    file: int  # one file part
    total: int  # the whole body
    incoming: Path  # where file parts wait


@dataclass
class Submission:
    fields: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    size: int = 0
    spooled: list[Path] = field(default_factory=list)

    def count(self, size: int, total: int) -> None:
        """Every byte read, kept or drained, counts toward the body's `total`: 413 once
        over it, so an endless part of a chunked body is stopped."""
        self.size += size
        if self.size > total:
            raise too_large(total)

    def discard(self) -> None:
        """Remove the temporary files that were not stored."""
        for path in self.spooled:
            with suppress(FileNotFoundError):
                path.unlink()


def too_large(total: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(max_size=total, actual_size=total + 1)


async def read_submission(request: web.Request, limits: Limits) -> Submission:
    """The posted fields and files, once the CSRF token is right (Forged if not); a part
    over `limits.file` becomes an error, a body over `limits.total` (or with too many
    parts) is refused with 413. The caller discards the submission when done."""
    if request.content_length is not None and request.content_length > limits.total:
        raise too_large(limits.total)
    if not request.content_type.startswith("multipart/"):
        posted = await request.post()  # bounded by the app's client_max_size
        if not await csrf_ok(request, posted.get(CSRF_FIELD)):
            raise Forged()
        return Submission(fields={k: v for k, v in posted.items() if isinstance(v, str)})
    submission = Submission()
    try:
        await _read_parts(request, await request.multipart(), submission, limits)
    except BaseException:
        await asyncio.to_thread(submission.discard)
        raise
    return submission


async def _read_parts(request: web.Request, reader: MultipartReader,
                      submission: Submission, limits: Limits) -> None:
    token = await _next_part(reader, limits.total)
    if token is None or token.name != CSRF_FIELD or token.filename is not None:
        raise Forged()
    value = await _bounded(token, MAX_TOKEN_PART, submission, limits.total)
    if value is None or not await csrf_ok(request, value.decode(errors="replace")):
        raise Forged()
    for _ in range(MAX_PARTS):
        part = await _next_part(reader, limits.total)
        if part is None:
            return
        await _read_part(part, submission, limits)
    raise too_large(limits.total)


async def _next_part(reader: MultipartReader, total: int) -> BodyPartReader | None:
    part = await reader.next()
    if part is not None and not isinstance(part, BodyPartReader):
        raise too_large(total)  # nested multipart: no browser sends it
    return part


async def _read_part(part: BodyPartReader, submission: Submission, limits: Limits) -> None:
    if not part.name:
        await _bounded(part, 0, submission, limits.total)  # drained, but counted
        return
    name = str(part.name)
    if part.filename is not None:
        upload = await _spool(part, submission, limits)
        if upload is None:
            submission.errors[name] = f"the file is larger than {_mib(limits.file)}"
        elif upload.size:
            submission.uploads[name] = upload
        return
    text_limit = max(MAX_TEXT_PART, limits.file * 4 // 3 + 64)  # a signature's data URL
    data = await _bounded(part, text_limit, submission, limits.total)
    if data is None:
        submission.errors[name] = f"the file is larger than {_mib(limits.file)}"
    else:
        submission.fields[name] = data.decode("utf-8", errors="replace")


async def _bounded(part: BodyPartReader, limit: int, submission: Submission,
                   total: int) -> bytes | None:
    """The part's bytes, or None (after draining it) if it is longer than `limit`."""
    chunks, size = [], 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        submission.count(len(chunk), total)
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


async def _spool(part: BodyPartReader, submission: Submission,
                 limits: Limits) -> Upload | None:
    """The file part written to a temporary file and hashed as it arrives, or None
    (nothing kept, the rest drained) once it is longer than `limits.file`."""
    out, path = await asyncio.to_thread(_temp_file, limits.incoming)
    submission.spooled.append(path)
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            submission.count(len(chunk), limits.total)
            if size <= limits.file:
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
    finally:
        await asyncio.to_thread(out.close)
    if size > limits.file:
        await asyncio.to_thread(path.unlink)
        return None
    return Upload(display_name(part.filename), content_type(part.headers.get("Content-Type")),
                  path, size, digest.hexdigest())


def _temp_file(directory: Path) -> tuple[BinaryIO, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="upload-")
    return os.fdopen(fd, "wb"), Path(name)


def _mib(limit: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size:
            return f"{limit / size:g} {unit}"
    return f"{limit} bytes"


class StepAnswers:
    """Turns one step's submission into raw answers, storing files as it goes."""

    def __init__(self, task: Task, files: FileAnswers, limit: int) -> None:
        self.task = task
        self.files = files
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
            png = await asyncio.to_thread(decode_signature, str(raw), self.limit)
            digest = await asyncio.to_thread(self.files.store, self.task.ref, png)
            return self._ref(f, "signature.png", len(png), "image/png", digest)
        return None if is_empty(raw) else raw

    async def _store(self, f: FormField, upload: Upload) -> dict[str, Any]:
        await asyncio.to_thread(self.files.adopt, self.task.ref, upload.path, upload.sha256)
        return self._ref(f, upload.filename, upload.size, upload.content_type, upload.sha256)

    def _ref(self, f: FormField, name: str, size: int, ctype: str,
             digest: str) -> dict[str, Any]:
        return self.files.ref(self.task, f.name, name=name, size=size, content_type=ctype,
                              sha256=digest).model_dump()
