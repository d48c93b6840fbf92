"""Hypothesis strategies: `TaskCreate`-valid request bodies covering every block and field
kind (long, unicode and markup-laden text included, and markdown written to be slow to
parse), and valid answers for their fields."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from api.domain.fields import FormField, check_answer
from api.domain.task import MAX_TASK_MARKDOWN

KINDS = ("text", "textarea", "select", "radio", "checkbox", "date", "range", "rating", "file",
         "signature")
SLACK_KINDS = tuple(k for k in KINDS if k not in ("file", "signature"))
PIECES = (
    "<&>", "<!channel>", "<@U123|me>", "&amp;", "&lt;", "*", "_", "~", "`", "```", "|", "\n",
    "\n\n", "東京", "Zoë", "★", "😀", "👩‍👩‍👧", "\u200b", "\t", "\x00", "{#if x}", "{/if}",
    "<script>alert(1)</script>", "<Chart data={x} />", " ", "word ", "#", "> ", "- ",
)
MARKDOWN = (
    "# Heading <&>", "**bold** and _italic_ and ~~strike~~", "- a\n- b\n  - nested",
    "1. one\n2. two", "> quoted\n> still quoted", "```python\nif a < b && c > d:\n    pass\n```",
    "`code <b>&`", "[wiki](https://en.wikipedia.org/wiki/Foo_(bar))", "[rel](docs/a.md)",
    "![img](https://example.com/i.png)", "<script>alert(1)</script>", "<Chart data={x} />",
    "{#if a}shown{:else}other{/if}", "<div>\n**in html**\n</div>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "<!-- hidden -->", "line  \nbreak", "***", "<@U123> <!here> @channel", "[js](javascript:x)",
    "<https://example.com/auto?a=1&b=2>", "---\ntitle: front\n---",
)


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Short random text, runs of tricky pieces, or one piece repeated up to `max_size`."""
    piece = st.sampled_from(PIECES) | st.text(min_size=1, max_size=6)
    candidates = st.one_of(
        st.text(max_size=min(max_size, 30)),
        st.lists(piece, max_size=10).map("".join),
        st.builds(lambda p, n: p * n, piece, st.integers(1, max_size)),
    )
    return candidates.map(lambda s: s[:max_size]).filter(lambda s: len(s) >= min_size)


def long_link() -> st.SearchStrategy[str]:
    """A link (markdown or autolink) whose URL alone may exceed a section's 3000."""
    url = st.builds(lambda n, q: f"https://example.com/{'p' * n}?q={'a&b' * q}",
                    st.integers(1, 6000), st.integers(0, 300))
    label = st.sampled_from(["", "the report", "<&> *bold*"])
    return st.builds(lambda u, t: f"[{t}]({u})" if t else f"<{u}>", url, label)


# What makes markdown-it slow: unclosed brackets, deep nesting, long runs of one
# character, huge tables, many lines, link destinations, reference definitions.
PATHOLOGICAL = (
    "[", "![", "[a", "[a][", "[\n", "[a](", "![](a", "[a](<", "](", "*", "*a", "**a", "_a",
    "*_", "~~a", "> ", ">", "- ", "1. ", "- > ", "`", "```\n", "|", "| a | b |\n", "<", "<a ",
    "<div ", "<!--", "&#", "&amp;", "\\", "{#", "a\n", "# a\n", "[r]: /u\n", "[r] ", "<http://",
)


def pathological(max_size: int = 20_000) -> st.SearchStrategy[str]:
    """One construct repeated, nested lists and quotes, tags nested in attributes."""
    repeated = st.builds(lambda p, n: p * n, st.sampled_from(PATHOLOGICAL),
                         st.integers(1, max_size))
    lists = st.integers(1, 2000).map(lambda n: "".join("  " * i + "- a\n" for i in range(n)))
    quotes = st.integers(1, 5000).map(lambda n: "> " * n + "a")
    tags = st.integers(1, 5000).map(lambda n: "<div>\n" + "<a " * n + ">" * n)
    table = st.integers(1, 3000).map(lambda n: "|" + "a|" * n + "\n|" + "-|" * n)
    return st.one_of(repeated, lists, quotes, tags, table).map(lambda s: s[:max_size])


def markdown(max_size: int = 20_000) -> st.SearchStrategy[str]:
    piece = st.sampled_from(MARKDOWN) | text(200) | long_link()
    constructs = st.lists(piece, max_size=8).map("\n\n".join)
    repeated = st.builds(lambda m, n: ("\n\n".join(m) + "\n\n") * n,
                         st.lists(st.sampled_from(MARKDOWN), min_size=1, max_size=4),
                         st.integers(1, 400))
    return st.one_of(constructs, repeated, text(max_size)).map(lambda s: s[:max_size])


def hostile_markdown(max_size: int = 20_000) -> st.SearchStrategy[str]:
    """Ordinary or pathological markdown, half and half."""
    return markdown(max_size) | pathological(max_size)


def _options(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    count = st.sampled_from([1, 2, 3, 5, 6, 10, 11, 100])
    base = text(500, 1)
    return st.builds(
        lambda n, b: {"options": [f"{b[:490]} {i}".strip() or str(i) for i in range(n)]},
        count, base,
    )


def _range() -> st.SearchStrategy[dict[str, Any]]:
    whole = st.builds(lambda low, span, step: {"min": low, "max": low + span, "step": step},
                      st.integers(-1000, 1000), st.integers(1, 10_000), st.integers(1, 50))
    fractional = st.builds(
        lambda low, step, n: {"min": low / 4, "max": low / 4 + step * n, "step": step},
        st.integers(-400, 400), st.sampled_from([0.1, 0.25, 0.5, 0.01, 1.5, 1e-7]),
        st.integers(1, 1000),
    )
    extreme = st.sampled_from([{}, {"min": -1e9, "max": 1e9, "step": 2},  # the model's bounds
                               {"min": -1e15, "max": 1e15, "step": 2e6},
                               {"min": 0, "max": 1, "step": 1e-9}])
    return st.one_of(whole, fractional, extreme)


EXTRAS = {
    "select": lambda: _options("select"),
    "radio": lambda: _options("radio"),
    "date": lambda: st.fixed_dictionaries({"include_time": st.booleans()}),
    "range": _range,
    "rating": lambda: st.fixed_dictionaries({}, optional={"max_rating": st.integers(1, 10)}),
}


@st.composite
def form_field(draw: st.DrawFn, name: str, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    kind = draw(st.sampled_from(kinds))
    body = {"name": name, "label": draw(text(2000, 1)), "kind": kind,
            "required": draw(st.booleans())}
    if draw(st.booleans()):
        body["placeholder"] = draw(text(150))
    body.update(draw(EXTRAS.get(kind, lambda: st.just({}))()))
    return body


@st.composite
def step(draw: st.DrawFn, index: int, kinds: tuple[str, ...], max_blocks: int,
         markdowns: Callable[[], st.SearchStrategy[str]]) -> dict[str, Any]:
    blocks = []
    for position in range(draw(st.integers(1, max_blocks))):
        block_type = draw(st.sampled_from(["input", "input", "mdsvex", "callout"]))
        if block_type == "input":
            field = draw(form_field(f"f{index}_{position}{draw(st.sampled_from('abz_'))}", kinds))
            blocks.append({"type": "input", "field": field})
        elif block_type == "mdsvex":
            blocks.append({"type": "mdsvex", "content": draw(markdowns())})
        else:
            severity = draw(st.sampled_from(["info", "success", "warning", "error"]))
            content = draw(markdowns().filter(bool))
            blocks.append({"type": "callout", "severity": severity, "content": content})
    body = {"id": draw(st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)),
            "title": draw(text(200, 1)), "blocks": blocks}
    if draw(st.booleans()):
        body["description_mdsvex"] = draw(markdowns())
    return body


@st.composite
def task_bodies(
    draw: st.DrawFn, kinds: tuple[str, ...] = KINDS, max_steps: int = 3, max_blocks: int = 6,
    hostile: bool = False,
) -> dict[str, Any]:
    """A `POST /api/v1/tasks` body that `TaskCreate` accepts; `hostile`: its markdown may be
    written to be slow to render."""
    markdowns = hostile_markdown if hostile else markdown
    steps = [draw(step(i, kinds, max_blocks, markdowns))
             for i in range(draw(st.integers(1, max_steps)))]
    body: dict[str, Any] = {"title": draw(text(200, 1)), "steps": steps,
                            "priority": draw(st.sampled_from(["low", "medium", "high", "urgent"]))}
    optional = {
        "instructions_mdsvex": markdowns(),
        "assignee_name": text(200),
        "due_at": st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    return _within_total(body)


def _within_total(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with its markdown cut to `MAX_TASK_MARKDOWN` in all, counted in the API's order
    (a callout keeps one character: it may not be empty)."""
    places = [(body, "instructions_mdsvex")] + [
        (where, key) for step in body["steps"]
        for where, key in [(step, "description_mdsvex"),
                           *((b, "content") for b in step["blocks"] if b["type"] != "input")]]
    left = MAX_TASK_MARKDOWN - len(places)
    for where, key in places:
        if key in where:
            where[key] = where[key][:max(left, 1 if where.get("type") == "callout" else 0)]
            left -= len(where[key])
    return body


def _range_answer(field: FormField) -> st.SearchStrategy[Any]:
    low, high, step_size = field.min or 0.0, field.max or 0.0, field.step or 1.0
    count = math.floor((high - low) / step_size + 1e-9)
    values = st.integers(0, count).map(lambda k: low + k * step_size)
    return values.map(lambda v: int(v) if v.is_integer() else v)


FILE = {"name": "scan 東京.pdf", "size": 123_456, "content_type": "application/pdf",
        "sha256": "ab" * 32, "url": "https://files.example/1"}
SIGNATURE = {**FILE, "name": "signature.png", "content_type": "image/png"}


def answer(field: FormField) -> st.SearchStrategy[Any]:
    """A value `api.domain.fields.check_answer` accepts for `field` (never an empty one)."""
    moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                           timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
    strategies = {
        "text": lambda: text(300, 1),
        "textarea": lambda: text(3000, 1),
        "select": lambda: st.sampled_from(field.options or []),
        "radio": lambda: st.sampled_from(field.options or []),
        "checkbox": lambda: st.just(True) if field.required else st.booleans(),
        "date": lambda: (moments if field.include_time else st.dates()).map(
            lambda d: d.isoformat()),
        "range": lambda: _range_answer(field),
        "rating": lambda: st.integers(1, field.max_rating or 5),
        "file": lambda: st.just(FILE),
        "signature": lambda: st.just(SIGNATURE),
    }
    return strategies[field.kind]().filter(lambda v: _accepted(field, v))


def _accepted(field: FormField, value: Any) -> bool:
    try:
        return check_answer(field, value) is not None
    except ValueError:
        return False


@st.composite
def answers(draw: st.DrawFn, fields: list[FormField]) -> dict[str, Any]:
    """Answers to `fields`: every required one, some optional ones."""
    chosen = {}
    for field in fields:
        if field.required or field.kind == "checkbox" or draw(st.booleans()):
            chosen[field.name] = draw(answer(field))
    return chosen
