"""HTML of the web UI: the one Jinja environment (templates in `templates/`, CSS and JS in
`static/`, no CDN), the task form's step pages, security headers, message pages."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from api.domain.task import Task
from api.store.authenticators import Authenticators
from api.store.codes import EmailCodes
from renderers import budget
from renderers.html import FILTERS, step_view

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"  # served at both prefixes, the URLs pages have always used
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
    """What pages use beside Services; api.server puts it on the root app under WEB."""

    codes: EmailCodes
    authenticators: Authenticators


WEB = web.AppKey("web", WebContext)


@cache
def environment() -> jinja2.Environment:
    """The web UI's one Jinja environment: autoescaped, strict about undefined names."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(static_prefix=STATIC_PREFIX, assets=ASSETS_PREFIX)
    env.filters.update(FILTERS)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


@budget.steps(budget.PAGE_STEPS)
def render_step(task: Task, step_index: int, answers: Mapping[str, Any],
                errors: Mapping[str, str], *, csrf_token: str, action: str,
                team: Mapping[str, Any] | None = None) -> str:
    """One step (0-based) of `task` as a full HTML page with its form (and a team task's
    progress and claim, `team`); its markdown shares one page budget of parser steps."""
    return render("step.html", **step_view(task, step_index, answers, errors),
                  csrf_token=csrf_token, action=action, team=team)


def html_response(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html",
                        charset="utf-8", headers=SECURITY_HEADERS)


async def page(template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template in a worker thread: a page as large as a task, or a list of
    them, never holds up the event loop."""
    body = await asyncio.to_thread(render, template, **context)
    return html_response(body, status)


def message(heading: str, paragraph: str, status: int = 200) -> web.Response:
    """A plain page with a heading and a sentence (gone, forbidden, thank you...)."""
    body = render("message.html", heading=heading, message=paragraph)
    return html_response(body, status)
