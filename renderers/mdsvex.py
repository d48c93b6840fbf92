"""mdsvex (markdown with Svelte) as markdown-it tokens, with all HTML and Svelte removed.

Every surface shows mdsvex as plain markdown: raw HTML and Svelte components are recognised
(markdown-it's `html` option) only so that they can be dropped, never passed through.
`<script>`/`<style>` blocks and comments vanish with their content; other tags vanish while
the text between them stays as markdown; Svelte logic tags (`{#if}`, `{:else}`, `{/if}`,
`{@html x}`) are removed from text. Front matter is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.S)
_TAG = re.compile(
    r"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|<!\[CDATA\[.*?(?:]]>|\Z)|<[/!]?[A-Za-z][^<>]*>", re.S
)
_RAW_BLOCK = re.compile(r"\s*<(?:script|style|textarea|!--|\?|!)", re.I)
_RAW_OPEN = re.compile(r"<(?:script|style|textarea)\b", re.I)
_RAW_CLOSE = re.compile(r"</(?:script|style|textarea)\s*>", re.I)
_SVELTE = re.compile(r"\{[#:/@][^{}]*\}")


def clean_source(text: str) -> str:
    """The markdown of `text` without control characters and front matter."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _FRONT_MATTER.sub("", text, count=1)


def parse(md: MarkdownIt, text: str) -> list[Token]:
    """Block tokens of `text` without HTML or Svelte; `md` must have the html option on."""
    return _clean_blocks(md, md.parse(clean_source(text)), reparse=True)


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
    previous, rest = None, html
    while previous != rest:  # tags hidden inside attribute values surface one level at a time
        previous, rest = rest, _TAG.sub("", rest)
    return _clean_blocks(md, md.parse(rest), reparse=False) if rest.strip() else []


def _clean_inline(children: Sequence[Token]) -> list[Token]:
    out: list[Token] = []
    in_raw = False
    for token in children:
        if token.type == "html_inline":
            in_raw = bool(_RAW_OPEN.match(token.content)) or (
                in_raw and not _RAW_CLOSE.match(token.content)
            )
            continue
        if in_raw:
            continue
        if token.type == "text":
            token.content = _SVELTE.sub("", token.content)
        out.append(token)
    return out
