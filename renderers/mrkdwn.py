"""Markdown (mdsvex) to Slack mrkdwn.

slackify-markdown does the markdown-it walk; around it we escape every `& < >` (it lets
`<!channel>` and `<@U…>` through and leaves code unescaped), drop HTML and Svelte instead of
showing them (see `renderers.mdsvex`), keep code verbatim and quote every line of a quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from slackify_markdown.slackify import SlackifyMarkdown

from renderers import mdsvex

_QUOTE_OPEN, _QUOTE_CLOSE = "\x03", "\x04"  # sentinels: mdsvex.clean_source strips controls
_QUOTED = re.compile(f"{_QUOTE_OPEN}([^{_QUOTE_OPEN}{_QUOTE_CLOSE}]*){_QUOTE_CLOSE}")
_BLANK_LINES = re.compile(r"\n{3,}")
_LINKABLE = re.compile(r"^(?:https?://[^\s/?#]|mailto:)", re.I)


def escape(text: str) -> str:
    """`text` safe inside mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Slack mrkdwn for `markdown`, without HTML or Svelte; "" when nothing is left."""
    md = MarkdownIt("gfm-like", renderer_cls=_Renderer, options_update=_OPTIONS).disable("table")
    tokens = mdsvex.parse(md, markdown)
    text = md.renderer.render(tokens, md.options, {})
    while _QUOTED.search(text):  # innermost quotes first
        text = _QUOTED.sub(_quote, text)
    return _BLANK_LINES.sub("\n\n", text).strip()


_OPTIONS = {"html": True, "linkify": False, "breaks": False}


def _quote(match: re.Match[str]) -> str:
    lines = [line for line in match.group(1).split("\n") if line.strip()]
    return "\n" + "\n".join(f"> {line}" for line in lines) + "\n\n"


Env = dict[str, Any]


class _Renderer(SlackifyMarkdown):  # type: ignore[misc]  # slackify-markdown is untyped
    """slackify-markdown's renderer with full escaping and verbatim (escaped) code."""

    def text(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        return escape(tokens[idx].content)

    def code_inline(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        return f"`{escape(tokens[idx].content)}`"

    def fence(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        # The info string (language) is dropped: Slack would print it as code.
        return f"```\n{escape(tokens[idx].content)}```{self.NEW_LINE * 2}"

    code_block = fence

    def link_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        href = str(tokens[idx].attrs.get("href", ""))
        # Slack links only absolute URLs; a relative link keeps just its text.
        linked = bool(_LINKABLE.match(href))
        env.setdefault("links", []).append(linked)
        if not linked:
            return ""
        return f"<{escape(href)}" if tokens[idx + 1].nesting == -1 else f"<{escape(href)}|"

    def link_close(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        return ">" if env.get("links") and env["links"].pop() else ""

    def image(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        src = str(tokens[idx].attrs.get("src", ""))
        label = escape(tokens[idx].content or str(tokens[idx].attrs.get("title") or ""))
        if not _LINKABLE.match(src):
            return label
        return f"<{escape(src)}|{label}>" if label else f"<{escape(src)}>"

    def html_inline(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        return ""  # mdsvex.parse removed these already; never pass HTML through

    html_block = html_inline

    def blockquote_open(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        return _QUOTE_OPEN

    def blockquote_close(self, tokens: Sequence[Token], idx: int, options: Any, env: Env) -> str:
        return _QUOTE_CLOSE
