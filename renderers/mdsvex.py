"""mdsvex (markdown with Svelte) as markdown-it tokens, with all HTML and Svelte removed.

Every surface shows mdsvex as plain markdown: raw HTML and Svelte components are recognised
(markdown-it's `html` option) only so that they can be dropped, never passed through.
`<script>`/`<style>` blocks and comments vanish with their content; other tags vanish while
the text between them stays as markdown; Svelte logic tags (`{#if}`, `{:else}`, `{/if}`,
`{@html x}`) are removed from text, whole even when HTML inside splits them. Svelte's
special elements (`<svelte:head>…</svelte:head>` with its content, `<svelte:component/>`)
are not HTML to markdown-it, so they are removed from the source first (in code too).
A declaration-like line (`<!channel> please review`) loses the tag, not its text.
Front matter is ignored. A block too complex to parse within `renderers.budget` is shown
verbatim (as preformatted text), its tags and Svelte removed all the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from api.domain.errors import TooComplex
from renderers import budget

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.S)
_TAG = re.compile(
    r"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|<!\[CDATA\[.*?(?:]]>|\Z)|<[/!]?[A-Za-z][^<>]*>", re.S
)
_RAW_BLOCK = re.compile(r"\s*<(?:script|style|textarea|!--|\?|!\[CDATA\[)", re.I)
_RAW_OPEN = re.compile(r"<(?:script|style|textarea)\b", re.I)
_RAW_CLOSE = re.compile(r"</(?:script|style|textarea)\s*>", re.I)
_SVELTE = re.compile(r"\{[#:/@][^{}]*\}")
_SVELTE_OPEN = re.compile(r"\{[#:/@][^{}]*\Z")  # a logic tag that HTML inside it cut short
# Tempered: a scan never runs past the next opening tag, so unclosed ones stay linear.
_SVELTE_HEAD = re.compile(
    r"<svelte:head\b[^<>]*>(?:(?!<svelte:head\b).)*?</svelte:head\s*>", re.S | re.I)
_SVELTE_ELEMENT = re.compile(r"</?svelte:[\w-]+\b[^<>]*>", re.I)
_RAW_ELEMENT = re.compile(r"<(script|style|textarea)\b.*?(?:</\1\s*>|\Z)", re.S | re.I)
# Each pass uncovers one level of tags nested in attribute values (one pass per level made
# `"<div " * 3000` quadratic); tags nested deeper than this are shown as escaped text.
TAG_PASSES = 8


def clean_source(text: str) -> str:
    """The markdown of `text` without control characters and front matter."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _FRONT_MATTER.sub("", text, count=1)
    return _SVELTE_ELEMENT.sub("", _SVELTE_HEAD.sub("", text))


def parse(md: MarkdownIt, text: str) -> list[Token]:
    """Block tokens of `text` without HTML or Svelte, or its text verbatim when parsing it
    would take more than `budget.MAX_STEPS`; `md` must have the html option on."""
    source, md = clean_source(text), budget.bounded(md)
    try:
        with budget.steps():
            return _clean_blocks(md, md.parse(source), reparse=True)
    except TooComplex:
        return budget.verbatim(_without_markup(source))


def _without_markup(text: str) -> str:
    """`text` without HTML elements, tags or Svelte logic tags (one linear pass each)."""
    return _SVELTE.sub("", _TAG.sub("", _RAW_ELEMENT.sub("", text)))


def _clean_blocks(md: MarkdownIt, tokens: Sequence[Token], *, reparse: bool) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        if token.type == "html_block":
            if reparse:
                out.extend(_without_tags(md, token.content))
            continue
        if token.children is not None:
            token.children = _clean_inline(token.children)
        out.append(token)
    return out


def _without_tags(md: MarkdownIt, html: str) -> list[Token]:
    """The markdown left in an HTML block once its tags are gone."""
    if _RAW_BLOCK.match(html):
        return []
    rest = html
    for _ in range(TAG_PASSES):  # tags hidden in attribute values surface a level a pass
        rest, found = _TAG.subn("", rest)
        if not found:
            break
    return _clean_blocks(md, md.parse(rest), reparse=False) if rest.strip() else []


def _clean_inline(children: Sequence[Token]) -> list[Token]:
    out: list[Token] = []
    in_raw = in_svelte = False
    for index, token in enumerate(children):
        if in_svelte:
            if token.type != "text" or "}" not in token.content:
                continue  # inside `{@html '<b>…'}`: HTML tokens and text alike
            token.content, in_svelte = token.content.split("}", 1)[1], False
        if token.type == "html_inline":
            in_raw = bool(_RAW_OPEN.match(token.content)) or (
                in_raw and not _RAW_CLOSE.match(token.content)
            )
            continue
        if in_raw:
            continue
        if token.type == "text":
            cut = index + 1 < len(children) and children[index + 1].type == "html_inline"
            token.content, in_svelte = _without_svelte(token.content, cut)
        out.append(token)
    return out


def _without_svelte(text: str, cut_by_html: bool) -> tuple[str, bool]:
    """`text` without Svelte logic tags; True when one is left open at its end because
    HTML follows (`{@html '<b>…'}`): a lone `{#` in prose is only text."""
    text = _SVELTE.sub("", text)
    opened = _SVELTE_OPEN.search(text) if cut_by_html else None
    return (text[: opened.start()], True) if opened else (text, False)
