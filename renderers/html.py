"""A task step as an accessible HTML form, and the page layout the web UI shares.

Templates live in `renderers/templates/` (autoescaped Jinja2), CSS and JS in
`renderers/static/` (no CDN), referenced through `static_prefix`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import nh3
from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from api.domain.fields import UPLOAD_KINDS
from api.domain.task import InputBlock, Task
from renderers import budget, mdsvex
from renderers.html_fields import field_view
from renderers.values import number

STATIC_PREFIX = "/static"


def markdown_html(text: str) -> Markup:
    """Markdown (mdsvex) as safe HTML: markdown-it, HTML and Svelte dropped, then nh3."""
    # html=True only lets mdsvex.parse find the HTML to drop it; nothing raw is rendered.
    md = MarkdownIt("js-default", {"html": True})
    html = md.renderer.render(mdsvex.parse(md, text), md.options, {})
    return Markup(nh3.clean(html))  # noqa: S704 - nh3 sanitised it


@cache
def environment() -> Environment:
    """The Jinja2 environment of the renderers' templates (shared with the web UI)."""
    env = Environment(
        loader=PackageLoader("renderers", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = markdown_html
    env.filters["number"] = number
    return env


def render_page(template_name: str, **context: Any) -> str:
    """Render a template of `environment()`; `static_prefix` defaults to "/static"."""
    context.setdefault("static_prefix", STATIC_PREFIX)
    return environment().get_template(template_name).render(**context)


@budget.steps(budget.PAGE_STEPS)
def render_step(
    task: Task,
    step_index: int,
    answers: Mapping[str, Any],
    errors: Mapping[str, str],
    *,
    csrf_token: str,
    action: str,
    static_prefix: str = STATIC_PREFIX,
) -> str:
    """One step (0-based) of `task` as a full HTML page with its form; its markdown shares
    one page budget of parser steps.

    `answers` prefill the inputs; `errors` (by field name) go next to their fields, and
    any other key into the summary at the top."""
    step = task.steps[step_index]
    views = {
        b.field.name: field_view(b.field, answers.get(b.field.name), errors.get(b.field.name))
        for b in step.blocks
        if isinstance(b, InputBlock)
    }
    return render_page(
        "step.html",
        task=task,
        step=step,
        step_index=step_index,
        views=views,
        summary=_summary(views, errors),
        multipart=any(f.kind in UPLOAD_KINDS for f in step.fields()),
        csrf_token=csrf_token,
        action=action,
        static_prefix=static_prefix,
    )


def _summary(views: Mapping[str, Any], errors: Mapping[str, str]) -> list[tuple[str, str]]:
    """(link target, message) for the error summary, fields first in form order."""
    linked = [(f"#{v.id}", f"{v.field.label}: {v.error}") for v in views.values() if v.error]
    return linked + [("", message) for key, message in errors.items() if key not in views]
