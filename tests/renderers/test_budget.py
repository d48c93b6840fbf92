"""Markdown made to be slow renders fast: each block within a parser-step budget (shown
verbatim past it), each page within one budget for all its blocks.

The time budgets are generous (this machine is shared and slow): each pattern took up to
70 ms here once bounded, and up to 2 s per block before ("![" * 10000 in the HTML form).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from markdown_it import MarkdownIt

from api.domain.errors import TooComplex
from api.domain.task import MAX_MARKDOWN
from api.web.pages import render_step
from renderers import budget
from renderers.html import markdown_html
from renderers.mrkdwn import to_mrkdwn
from renderers.slack_message import is_quick_task, task_message
from renderers.slack_modal import modal_view
from tests.renderers.conftest import one_step_task

BLOCK_SECONDS = 0.5


def filled(piece: str) -> str:
    """`piece` repeated to the largest block the API accepts."""
    return (piece * (MAX_MARKDOWN // len(piece) + 1))[:MAX_MARKDOWN]


PATTERNS = {
    "unclosed brackets": filled("["),
    "unclosed images": filled("!["),
    "brackets and text": filled("[a"),
    "a bracket a line": filled("[\n"),
    "balanced brackets": "[" * (MAX_MARKDOWN // 2) + "]" * (MAX_MARKDOWN // 2),
    "link openers": filled("[a]("),
    "image destinations": filled("![](a"),
    "a long destination, often": "[a](" * 30 + "x" * (MAX_MARKDOWN - 120),
    "emphasis": filled("*a"),
    "stars": filled("*"),
    "underscores": filled("_a"),
    "strikes": filled("~~a"),
    "nested quotes": filled("> "),
    "nested lists": "".join("  " * i + "- a\n" for i in range(2000))[:MAX_MARKDOWN],
    "bullets": filled("- "),
    "backticks": filled("`"),
    "pipes": filled("|"),
    "table rows": "| a | b |\n|---|---|\n" + filled("| 1 | 2 |\n")[:MAX_MARKDOWN - 20],
    "wide table": "|" + "a|" * 3000 + "\n|" + "-|" * 3000 + "\n|" + "1|" * 3000,
    "angle brackets": filled("<"),
    "tags nested in attributes": "<div>\n" + "<a " * 4990 + ">" * 4990,
    "entities": filled("&#"),
    "backslashes": filled("\\"),
    "lines": filled("a\n"),
    "headings": filled("# a\n"),
    "reference definitions": filled("[r]: /u\n"),
    "references": "[r]: /u\n\n" + filled("[r] ")[:MAX_MARKDOWN - 10],
    "autolinks": filled("<http://"),
    "svelte": filled("{#"),
}
RENDERERS: dict[str, Callable[[str], Any]] = {"html": markdown_html, "mrkdwn": to_mrkdwn}


def timed(render: Callable[[str], Any], source: str, runs: int = 3) -> float:
    """The fastest of `runs` renders: a garbage-collection pause or a busy neighbour in
    one run says nothing of the renderer (the unbounded one takes seconds every run)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        render(source)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("source", PATTERNS.values(), ids=PATTERNS.keys())
def test_each_pathological_block_renders_within_its_budget(renderer: str, source: str) -> None:
    assert timed(RENDERERS[renderer], source) < BLOCK_SECONDS


def test_a_block_past_the_budget_is_shown_verbatim_without_html_or_svelte() -> None:
    source = "**kept** <script>gone()</script> {#if x}<b>tag</b>\n\n" + filled("![")[:15_000]
    html = markdown_html(source)
    assert html.startswith("<pre><code>**kept**  tag\n\n![![") and "<strong>" not in html
    assert "gone" not in html and "&lt;b&gt;" not in html and "if x" not in html
    mrkdwn = to_mrkdwn(source)
    assert mrkdwn.startswith("```\n**kept**  tag\n\n![![") and "gone" not in mrkdwn


def test_a_long_ordinary_document_still_renders_as_markdown() -> None:
    sentence = ("The *quarterly* report is due; see [the guide](https://example.com/guide) "
                "and the `budget.xlsx` sheet. ")
    section = (f"## Background\n\n{sentence * 3}\n\n- check the totals\n"
               "- sign the last page\n\n> Ask Zoë if unsure.\n\n")
    html = markdown_html(filled(section))
    assert html.count("<h2>") > 30 and html.count('href="https://example.com/guide"') > 90
    assert "<pre>" not in html and "<blockquote>" in html and "<em>quarterly</em>" in html


def test_the_blocks_of_a_page_share_one_budget() -> None:
    """50 blocks that each fit in a block's budget, but not together in a page's: the
    first render as markdown, the rest verbatim, and the page stays fast."""
    blocks = [{"type": "mdsvex", "content": "*a* " * 900} for _ in range(49)]
    task = one_step_task(*blocks, {"name": "f", "label": "F", "kind": "text"})
    started = time.perf_counter()
    html = render_step(task, 0, {}, {}, csrf_token="t", action="/a")
    assert time.perf_counter() - started < 10 * BLOCK_SECONDS
    rendered = html.split('<div class="markdown">')[1:]
    assert "<em>a</em>" in rendered[0] and "<pre><code>*a* *a*" in rendered[-1]
    assert to_mrkdwn("*a* " * 900).startswith("_a_ _a_")  # alone, a block is markdown


@pytest.mark.parametrize("surface", ["modal", "message"])
def test_slack_views_share_one_budget_too(surface: str) -> None:
    blocks = [{"type": "mdsvex", "content": "![" * 2000} for _ in range(49)]
    task = one_step_task(*blocks, {"name": "f", "label": "F", "kind": "radio",
                                   "options": ["Yes", "No"], "required": True})
    assert surface == "modal" or is_quick_task(task)  # the message shows the blocks too
    render = {"modal": lambda: modal_view(task, 0, {}), "message": lambda: task_message(task)}
    started = time.perf_counter()
    render[surface]()
    assert time.perf_counter() - started < 2 * BLOCK_SECONDS  # Slack waits 3 s at most


def test_budgets_nest_and_every_one_counts() -> None:
    md = budget.bounded(MarkdownIt("commonmark"))
    assert md.options["maxNesting"] == budget.MAX_NESTING
    assert budget.bounded(md) is md  # counted once, however often it is bounded
    with budget.steps(1_000), budget.steps(budget.MAX_STEPS):
        md.parse("*a* " * 200)  # about 400 steps
        with pytest.raises(TooComplex):
            md.parse("*a* " * 200)  # the outer budget is spent, not the inner one
    md.parse("[" * 5000)  # outside any budget nothing is counted
