"""Downloads of uploaded files and signatures.

The web form's own `GET /t/{link_id}/files/{field}`, the dashboard's and the REST API's
(api.http.files) all answer with `file_response`: always an attachment with nosniff and
a sandboxing CSP, so an uploaded HTML file can never run on our origin.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.domain.errors import NotFound
from api.domain.fields import UPLOAD_KINDS, FileRef
from api.domain.task import Task
from api.domain.uploads import file_headers
from api.runtime import SERVICES
from api.web.form import open_task
from api.web.pages import WEB


async def file_ref(request: web.Request, task: Task, field: str) -> FileRef:
    """The file answer to `field`: the completed data, else the draft of a pending task."""
    if not any(f.name == field and f.kind in UPLOAD_KINDS for f in task.fields()):
        raise NotFound("no such file field")
    value: Any = task.data.get(field)
    if value is None and task.status == "pending":
        value = (await asyncio.to_thread(request.config_dict[SERVICES].drafts.load,
                                        task.ref)).get(field)
    if not isinstance(value, dict):
        raise NotFound("no file was uploaded for this field")
    return FileRef.model_validate(value)


async def file_response(request: web.Request, task: Task, field: str) -> web.Response:
    ref = await file_ref(request, task, field)
    if not await asyncio.to_thread(request.config_dict[SERVICES].files.owns, task.ref,
                                   ref.sha256):
        raise NotFound("no file was uploaded for this field")
    try:
        data = await asyncio.to_thread(request.config_dict[WEB].storage.read, ref.sha256)
    except FileNotFoundError:
        raise NotFound("the file is no longer stored") from None
    return web.Response(body=data, content_type=ref.content_type, headers=file_headers(ref))


async def form_download(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    return await file_response(request, opened[0], request.match_info["field"])
