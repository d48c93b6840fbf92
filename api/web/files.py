"""Downloads of uploaded files and signatures.

The web form's own `GET /t/{link_id}/files/{field}`, the dashboard's and the REST API's
(api.http.files) answer with a file from `FileAnswers.read` (api.service): always an
attachment with nosniff and a sandboxing CSP, so an uploaded HTML file never runs on our
origin.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.domain.task import Task
from api.domain.uploads import file_headers
from api.runtime import SERVICES
from api.web.form import draft_owner, open_task


async def file_response(request: web.Request, task: Task, field: str,
                        person: str | None = None) -> web.Response:
    ref, data = await asyncio.to_thread(request.config_dict[SERVICES].file_answers.read, task,
                                        field, person)
    return web.Response(body=data, content_type=ref.content_type, headers=file_headers(ref))


async def form_download(request: web.Request) -> web.Response:
    opened = await open_task(request)
    if isinstance(opened, web.Response):
        return opened
    task, who = opened
    return await file_response(request, task, request.match_info["field"],
                               draft_owner(task, who))
