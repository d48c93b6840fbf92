"""A task step as the view model of the web form, and markdown as safe HTML.

The templates that draw them live with the web UI (`api/web/templates/`, rendered by
`api.web.pages`); `FILTERS` are what those templates need from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from api.domain.fields import UPLOAD_KINDS
from api.domain.task import InputBlock, Task
from renderers import mdsvex
from renderers.html_fields import field_view
from renderers.values import number


def markdown_html(text: str) -> Markup:
    """Markdown (mdsvex) as safe HTML: markdown-it, HTML and Svelte dropped, then nh3."""
    # html=True only lets mdsvex.parse find the HTML to drop it; nothing raw is rendered.
    md = MarkdownIt("js-default", {"html": True})
    html = md.renderer.render(mdsvex.parse(md, text), md.options, {})
    return Markup(nh3.clean(html))  # noqa: S704 - nh3 sanitised it


FILTERS: dict[str, Callable[..., Any]] = {"markdown": markdown_html, "number": number}


def step_view(task: Task, step_index: int, answers: Mapping[str, Any],
              errors: Mapping[str, str]) -> dict[str, Any]:
    """What step.html needs to draw step `step_index` (0-based) of `task`.

    `answers` prefill the inputs; `errors` (by field name) go next to their fields, and
    any other key into the summary at the top."""
    step = task.steps[step_index]
    views = {
        b.field.name: field_view(b.field, answers.get(b.field.name), errors.get(b.field.name))
        for b in step.blocks
        if isinstance(b, InputBlock)
    }
    return {
        "task": task,
        "step": step,
        "step_index": step_index,
        "views": views,
        "summary": _summary(views, errors),
        "multipart": any(f.kind in UPLOAD_KINDS for f in step.fields()),
    }


def _summary(views: Mapping[str, Any], errors: Mapping[str, str]) -> list[tuple[str, str]]:
    """(link target, message) for the error summary, fields first in form order."""
    linked = [(f"#{v.id}", f"{v.field.label}: {v.error}") for v in views.values() if v.error]
    return linked + [("", message) for key, message in errors.items() if key not in views]
