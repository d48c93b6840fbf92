"""Block Kit building blocks: text objects cut to Slack's limits, buttons, dates.

Lengths are counted in code points. Limits are from FIELD-NOTES.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from api.domain.task import Task
from renderers.mrkdwn import escape
from renderers.slack_ids import ACTION_WEB

SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
ELLIPSIS = "…"
SLACK_TIMES = range(0, 10_000_000_000)  # unix seconds Slack takes (1970 to 2286)

Block = dict[str, Any]
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_LINK = re.compile(r"<((?:https?://|mailto:)[^<>|]*)(?:\|([^<>]*))?>")
_PART_ENTITY = re.compile(r"&[#\w]*$")
URL_TEXT = 100  # an over-long link without a label shows this much of its URL


SEVERITY = {
    "info": ":information_source:",
    "success": ":white_check_mark:",
    "warning": ":warning:",
    "error": ":rotating_light:",
}


def callout(severity: str, text: str) -> str:
    """mrkdwn led by the severity's emoji; a leading quote or code block keeps its line."""
    separator = "\n" if text.startswith((">", "```")) else " "
    return f"{SEVERITY[severity]}{separator}{text}"


def web_step_url(task: Task, step_index: int) -> str:
    """The web form of `task` opened at `step_index` (0-based; the form's `?step=N` counts
    from 1)."""
    return f"{task.url}?step={step_index + 1}"


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def one_line(text: str, limit: int, fallback: str = "Untitled") -> str:
    """`text` on one line, whitespace collapsed, cut to `limit`; `fallback` when blank."""
    text = _SPACE.sub(" ", _CONTROL.sub("", text)).strip()
    return truncate(text or fallback, limit)


def plain(text: str, limit: int, fallback: str = "Untitled") -> dict[str, Any]:
    return {"type": "plain_text", "text": one_line(text, limit, fallback), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:10] if t]}


def button(text: str, action_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id, **extra}


def link(url: str, text: str) -> str:
    """A mrkdwn link; `text` must already be mrkdwn."""
    return f"<{escape(url)}|{text}>"


def web_button(text: str, url: str) -> dict[str, Any]:
    # A url button still sends block_actions: ACTION_WEB lets the bot ack it.
    return button(text, ACTION_WEB, url=url)


def slack_date(moment: datetime, layout: str = "{date_short_pretty} {time}") -> str:
    """A date Slack shows in the reader's time zone, with an ISO fallback (alone for a
    moment outside SLACK_TIMES)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = aware.isoformat(timespec="minutes")
    stamp = int(aware.timestamp())
    return f"<!date^{stamp}^{layout}|{fallback}>" if stamp in SLACK_TIMES else fallback


def split_mrkdwn(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """mrkdwn cut into non-empty chunks of at most `limit`, at paragraph or line breaks
    where possible; a code block cut in two is closed and reopened."""
    chunks: list[str] = []
    text = fit_links(text.strip(), limit - 8)
    while len(text) > limit:
        cut = _cut_point(text, limit - 8)  # room to close and reopen a code fence
        head, text = text[:cut].rstrip(), text[cut:].strip()
        if head.count("```") % 2:
            head, text = head + "\n```", "```\n" + text
        if head.strip():
            chunks.append(head)
    return [*chunks, text] if text else chunks


def fit_links(text: str, limit: int) -> str:
    """mrkdwn whose links longer than `limit` (a chunk could only cut them in two, leaving
    an unclosed `<https://…`) became their label, or their URL cut short as plain text."""

    def shorten(match: re.Match[str]) -> str:
        if len(match.group(0)) <= limit:
            return match.group(0)
        return match.group(2) or _PART_ENTITY.sub("", match.group(1)[: URL_TEXT - 1]) + ELLIPSIS

    return _LINK.sub(shorten, text)


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        while at > limit // 2:
            if _inside(text, at) is None:
                return at
            at = window.rfind(separator, 0, at)
    start = _inside(text, limit)
    return start if start else limit


def _inside(text: str, at: int) -> int | None:
    """Where the `<link>` or `&entity;` that position `at` would cut starts, if any."""
    link = text.rfind("<", 0, at)
    if link > text.rfind(">", 0, at):
        return link
    entity = text.rfind("&", max(0, at - 5), at)
    return entity if entity >= 0 and ";" not in text[entity:at] else None


def sections(text: str) -> list[Block]:
    """mrkdwn as as many sections as its length needs."""
    return [section(chunk) for chunk in split_mrkdwn(text)]


def escaped(text: str, limit: int) -> str:
    """User text escaped for mrkdwn, cut to `limit` without leaving half an entity."""
    text = escape(_CONTROL.sub("", text))
    if len(text) <= limit:
        return text
    cut = limit - 1
    entity = _inside(text, cut)
    return text[: cut if entity is None else entity].rstrip() + ELLIPSIS
