"""Downloads of uploaded files and signatures.

`GET /api/v1/tasks/{task_id}/files/{field}` (tasks:read token, own org only) and the web
form's own `GET /t/{link_id}/files/{field}`. Always an attachment with nosniff and a
sandboxing CSP, so an uploaded HTML file can never run on our origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from api.errors import NotFound
from api.http.resources import SERVICES, principal, run
from api.models import UPLOAD_KINDS, FileRef, Task
from api.web.form import open_task
from api.web.pages import WEB


def _ascii_name(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                   for c in name)


def file_headers(ref: FileRef) -> dict[str, str]:
    disposition = (f"attachment; filename=\"{_ascii_name(ref.name)}\"; "
                   f"filename*=UTF-8''{quote(ref.name, safe='')}")
    return {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store"}


async def file_ref(request: web.Request, task: Task, field: str) -> FileRef:
    """The file answer to `field`: the completed data, else the draft of a pending task."""
    if not any(f.name == field and f.kind in UPLOAD_KINDS for f in task.fields()):
        raise NotFound("no such file field")
    value: Any = task.data.get(field)
    if value is None and task.status == "pending":
        value = (await run(request.app[SERVICES].store.load_draft, task.task_id)).get(field)
    if not isinstance(value, dict):
        raise NotFound("no file was uploaded for this field")
    return FileRef.model_validate(value)


async def file_response(request: web.Request, task: Task, field: str) -> web.Response:
    ref = await file_ref(request, task, field)
    try:
        data = await run(request.app[WEB].storage.read, ref.sha256)
    except FileNotFoundError:
        raise NotFound("the file is no longer stored") from None
    return web.Response(body=data, content_type=ref.content_type, headers=file_headers(ref))


async def api_download(request: web.Request) -> web.Response:
    who = await principal(request, "tasks:read")
    task = await run(request.app[SERVICES].store.get, who.org_id, request.match_info["task_id"])
    return await file_response(request, task, request.match_info["field"])


async def form_download(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    return await file_response(request, opened[0], request.match_info["field"])
