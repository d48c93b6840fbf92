"""Downloads of uploaded files and signatures.

`GET /api/v1/tasks/{task_id}/files/{field}` (tasks:read token, own org only) and the web
form's own `GET /t/{link_id}/files/{field}`. Always an attachment with nosniff and a
sandboxing CSP, so an uploaded HTML file can never run on our origin.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.domain.errors import BadSignature, Conflict, Detail, InvalidRequest, NotFound, TooManyFiles
from api.domain.fields import UPLOAD_KINDS, FileRef
from api.domain.task import Task
from api.domain.uploads import clean_signature, content_type, display_name, file_headers
from api.http.deps import SERVICES, principal, run
from api.web.form import open_task
from api.web.form_input import store_file
from api.web.pages import WEB

CHUNK = 64 * 1024


async def file_ref(request: web.Request, task: Task, field: str) -> FileRef:
    """The file answer to `field`: the completed data, else the draft of a pending task."""
    if not any(f.name == field and f.kind in UPLOAD_KINDS for f in task.fields()):
        raise NotFound("no such file field")
    value: Any = task.data.get(field)
    if value is None and task.status == "pending":
        value = (await run(request.app[SERVICES].drafts.load, task.ref)).get(field)
    if not isinstance(value, dict):
        raise NotFound("no file was uploaded for this field")
    return FileRef.model_validate(value)


async def file_response(request: web.Request, task: Task, field: str) -> web.Response:
    ref = await file_ref(request, task, field)
    if not await run(request.app[SERVICES].files.owns, task.ref, ref.sha256):
        raise NotFound("no file was uploaded for this field")
    try:
        data = await run(request.app[WEB].storage.read, ref.sha256)
    except FileNotFoundError:
        raise NotFound("the file is no longer stored") from None
    return web.Response(body=data, content_type=ref.content_type, headers=file_headers(ref))


async def api_upload(request: web.Request) -> web.Response:
    """`POST /api/v1/tasks/{id}/files/{field}`: the raw body becomes the file answer's
    reference (`?filename=`, the Content-Type header), to pass in `complete`."""
    who = await principal(request, "tasks:complete")
    services = request.app[SERVICES]
    task = await run(services.store.get, who.org_id, request.match_info["task_id"])
    field = next((f for f in task.fields() if f.name == request.match_info["field"]
                  and f.kind in UPLOAD_KINDS), None)
    if field is None:
        raise NotFound("no such file field")
    if task.status != "pending":  # before reading the body; the claim re-checks atomically
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
        return await run(clean_signature, data)
    except BadSignature as error:
        raise InvalidRequest([Detail("body", str(error))]) from None


async def _stored_ref(request: web.Request, task: Task, field: str, data: bytes) -> FileRef:
    services = request.app[SERVICES]
    try:
        digest = await store_file(services.files, request.app[WEB].storage, task.ref, data)
    except TooManyFiles as error:
        raise InvalidRequest([Detail("body", str(error), "too_many_files")]) from None
    url = f"{services.settings.base_url.rstrip('/')}/api/v1/tasks/{task.task_id}/files/{field}"
    return FileRef(name=display_name(request.query.get("filename")), size=len(data),
                   content_type=content_type(request.content_type), sha256=digest, url=url)


async def api_download(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    task = await run(request.app[SERVICES].store.get, who.org_id, request.match_info["task_id"])
    return await file_response(request, task, request.match_info["field"])


async def form_download(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    return await file_response(request, opened[0], request.match_info["field"])
