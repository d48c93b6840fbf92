"""Server-side helpers for the web UI tests (aiohttp test client, no browser)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.conftest import Account
from tests.servers import SmtpServer
from tests.web.conftest import emailed_code

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from(client: TestClient, path: str) -> str:
    """GET `path` (a page with a form) and return its CSRF token."""
    response = await client.get(path, allow_redirects=True)
    found = CSRF.search(await response.text())
    assert found, f"no CSRF token on {path} ({response.status})"
    return found.group(1)


async def post_form(client: TestClient, path: str, fields: dict[str, Any],
                    files: dict[str, tuple[str, bytes, str]] | None = None,
                    headers: dict[str, str] | None = None) -> Any:
    form = FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, data, ctype) in (files or {}).items():
        form.add_field(name, data, filename=filename, content_type=ctype)
    return await client.post(path, data=form, allow_redirects=False, headers=headers)


async def dashboard_sign_in(client: TestClient, account: Account, smtp_server: SmtpServer,
                            run_jobs: Callable[..., int], count: int = 1) -> None:
    token = await csrf_from(client, "/dashboard/login")
    started = await post_form(client, "/dashboard/login", {"csrf_token": token,
                                                           "email": account.member.email})
    assert started.status == 303
    code = emailed_code(smtp_server, run_jobs, count)
    done = await post_form(client, "/dashboard/login/code", {"csrf_token": token,
                                                             "code": code})
    assert done.status == 303 and done.headers["Location"] == "/dashboard"
