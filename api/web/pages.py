"""HTML responses of the web UI: the Jinja environment, security headers, message pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from api.http.deps import run
from api.store.codes import EmailCodes
from api.store.files import FileStorage
from renderers import html as renderer

HERE = Path(__file__).parent
STATIC_PREFIX = "/static"
ASSETS_PREFIX = "/assets"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Only our own pages may frame ours (the dashboard shows a pending task's form).
    "X-Frame-Options": "SAMEORIGIN",
    # Task links are bearer secrets: never leak them to other sites in Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class WebContext:
    env: jinja2.Environment
    storage: FileStorage
    codes: EmailCodes


WEB = web.AppKey("web", WebContext)


def build_env() -> jinja2.Environment:
    """Our templates first, then the renderer's (for base.html and message.html)."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(HERE / "templates"),
                                  jinja2.PackageLoader("renderers", "templates")])
    env = jinja2.Environment(loader=loader, autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.globals.update(static_prefix=STATIC_PREFIX, assets=ASSETS_PREFIX)
    return env


def html_response(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html",
                        charset="utf-8", headers=SECURITY_HEADERS)


async def page(request: web.Request, template: str, status: int = 200,
               **context: Any) -> web.Response:
    """Render one of our templates (they extend the renderer's base.html) in a worker
    thread: a page as large as a task, or a list of them, never holds up the event loop."""
    body = await run(request.app[WEB].env.get_template(template).render, **context)
    return html_response(body, status)


def message(heading: str, paragraph: str, status: int = 200) -> web.Response:
    """A plain page with a heading and a sentence (gone, forbidden, thank you...)."""
    body = renderer.render_page("message.html", heading=heading, paragraph=paragraph,
                                message=paragraph, static_prefix=STATIC_PREFIX)
    return html_response(body, status)
