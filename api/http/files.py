"""File answers over REST: `POST /api/v1/tasks/{task_id}/files/{field}` uploads one (the
raw body; `tasks:complete`) and `GET` downloads it (`tasks:read`), own org only."""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.domain.errors import BadSignature, Conflict, Detail, InvalidRequest, NotFound, TooManyFiles
from api.domain.fields import UPLOAD_KINDS, FileRef
from api.domain.task import Task
from api.domain.uploads import clean_signature, content_type, display_name, file_headers
from api.http.deps import principal
from api.runtime import SERVICES

CHUNK = 64 * 1024
PATH = "/tasks/{task_id}/files/{field}"


async def api_upload(request: web.Request) -> web.Response:
    """The raw body becomes the file answer's reference (`?filename=`, the Content-Type
    header), to pass in `complete`."""
    who = await principal(request, "tasks:complete")
    services = request.config_dict[SERVICES]
    task = await asyncio.to_thread(services.store.get, who.org_id,
                                   request.match_info["task_id"])
    field = next((f for f in task.fields() if f.name == request.match_info["field"]
                  and f.kind in UPLOAD_KINDS), None)
    if field is None:
        raise NotFound("no such file field")
    if not task.open:  # before reading the body; the claim re-checks atomically
        raise Conflict(f"the task is {task.status}")
    data = await read_body(request, services.settings.max_upload_bytes)
    if not data:
        raise InvalidRequest([Detail("body", "the file must be 1 byte to "
                                     f"{services.settings.max_upload_bytes} bytes")])
    if field.kind == "signature":
        data = await _signature(data)
    ref = await _stored_ref(request, task, field.name, data)
    return web.json_response(ref.model_dump(), status=201)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body (however it arrives: buffered, chunked), 413 once over `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


async def _signature(data: bytes) -> bytes:
    try:
        return await asyncio.to_thread(clean_signature, data)
    except BadSignature as error:
        raise InvalidRequest([Detail("body", str(error))]) from None


async def _stored_ref(request: web.Request, task: Task, field: str, data: bytes) -> FileRef:
    files = request.config_dict[SERVICES].file_answers
    try:
        digest = await asyncio.to_thread(files.store, task.ref, data)
    except TooManyFiles as error:
        raise InvalidRequest([Detail("body", str(error), "too_many_files")]) from None
    return files.ref(task, field, name=display_name(request.query.get("filename")),
                     size=len(data), content_type=content_type(request.content_type),
                     sha256=digest)


async def api_download(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    services = request.config_dict[SERVICES]
    task = await asyncio.to_thread(services.store.get, who.org_id, request.match_info["task_id"])
    ref, data = await asyncio.to_thread(services.file_answers.read, task,
                                        request.match_info["field"])
    return web.Response(body=data, content_type=ref.content_type, headers=file_headers(ref))


def register(app: web.Application) -> None:
    app.router.add_get(PATH, api_download)
    app.router.add_post(PATH, api_upload)
