"""markdown-it parsing with a bounded amount of work per block of markdown.

markdown-it-py is super-linear on some input (in `"![" * 10000` every unclosed bracket
re-scans what follows it: seconds per block) and slow on other input (about 5 µs per
token: 20 000 characters of `*a` are 20 000 tokens). So one parse may take `MAX_STEPS`
steps, counted wherever markdown-it does work: each pass of the inline rules, each token
skipped while looking for a link's end, each time the block rules try a line, each block
token made, each link destination (and every few of its characters).
A block that runs out raises `TooComplex`, and its caller shows it verbatim. A
page (web form step, Slack modal or message) has `PAGE_STEPS` for all of its blocks, so
fifty blocks that each stay just under `MAX_STEPS` cannot add up either. Steps rather
than a clock: the same markdown renders the same way on a busy machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from api.domain.errors import TooComplex

# A step took 1 to 9 µs on a slow, shared test machine, so a block parses in well under
# 100 ms there. 20 kB of prose with links needs 3 000 to 6 000 steps; a list or table of
# 400 rows about 8 000.
MAX_STEPS = 8_000
PAGE_STEPS = 60_000  # room for 200 kB of prose; past it a page's blocks are verbatim
# Deeper quotes, lists or links are cut off by markdown-it (commonmark's own value; the
# "js-default" preset allows 100, and every level multiplies the work on brackets).
MAX_NESTING = 20
BLOCK_STEPS = 3  # a block starts: every block rule tries it
LINE_STEPS = 2  # a line of a paragraph, quote or list: the rules that could end it try it
# A link destination is read a character at a time (8 a step), then normalised (3 steps).
DESTINATION_CHARS, DESTINATION_STEPS = 8, 3
_RULE = "inloop_steps"
_TOKENS_SEEN = "inloop_block_tokens"  # in the parse's env: block tokens already counted
# The block rules' lists of rules that may end a paragraph, quote, list or reference:
# each is tried on every line, so each of these checks counts too.
_TERMINATORS = ["paragraph", "reference", "blockquote", "list"]
# How far markdown-it reads a link destination: to a space or control character, or past
# the 33rd "(" (its nesting limit).
_DESTINATION_PARENS = re.compile(r"(?:[^\x00-\x20\x7f(]*+\(){33}")
_DESTINATION_RUN = re.compile(r"[^\x00-\x20\x7f]*+")
# The steps left of each budget counting now, outermost first.
_LEFT: ContextVar[tuple[list[int], ...]] = ContextVar("markdown_steps_left", default=())


def bounded(md: MarkdownIt) -> MarkdownIt:
    """`md` counting its steps (once per instance) and nesting at most `MAX_NESTING` deep;
    steps count only inside `steps()`."""
    md.options["maxNesting"] = min(md.options["maxNesting"], MAX_NESTING)
    if _RULE in md.inline.ruler.get_all_rules():
        return md
    md.inline.ruler.before(md.inline.ruler.get_all_rules()[0], _RULE, _inline_step)
    md.block.ruler.before(md.block.ruler.get_all_rules()[0], _RULE, _block_step,
                          {"alt": _TERMINATORS})
    md.core.ruler.after("block", _RULE, _block_tokens)
    md.helpers = SimpleNamespace(  # type: ignore[assignment]
        parseLinkLabel=md.helpers.parseLinkLabel,
        parseLinkDestination=_counted_destination(md.helpers.parseLinkDestination),
        parseLinkTitle=md.helpers.parseLinkTitle,
    )
    skip = md.inline.skipToken

    def counted_skip(state: StateInline) -> None:
        _spend(1)
        skip(state)

    md.inline.skipToken = counted_skip  # type: ignore[method-assign]
    return md


@contextmanager
def steps(limit: int = MAX_STEPS) -> Iterator[None]:
    """Count the parses inside against `limit` steps, and against the budgets around
    (a page's around a block's). Also a decorator."""
    token = _LEFT.set((*_LEFT.get(), [limit]))
    try:
        yield
    finally:
        _LEFT.reset(token)


def verbatim(text: str) -> list[Token]:
    """`text` shown as it is: one preformatted block (a single token, whatever its length,
    so even a page of blocks past their budgets renders in linear time)."""
    if not text.strip():
        return []
    return [Token("code_block", "code", 0, content=text.strip("\n") + "\n", block=True)]


def _spend(count: int) -> None:
    for left in _LEFT.get():
        left[0] -= count
        if left[0] < 0:
            raise TooComplex


def _inline_step(state: StateInline, silent: bool) -> bool:
    _spend(1)
    return False  # counts, then lets the real rules run


def _block_step(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    # silent: checking whether a line ends a paragraph, quote or list; a table row is one
    # such check but a dozen tokens
    _spend((LINE_STEPS if silent else BLOCK_STEPS) + _new_tokens(state))
    return False


def _block_tokens(state: StateCore) -> Any:
    _spend(_new_tokens(state))  # those made since the last check


def _new_tokens(state: StateBlock | StateCore) -> int:
    seen = int(state.env.get(_TOKENS_SEEN, 0))  # env is markdown-it's untyped dict
    state.env[_TOKENS_SEEN] = len(state.tokens)
    return len(state.tokens) - seen


def _counted_destination(parse: Callable[[str, int, int], Any]) -> Callable[[str, int, int], Any]:
    def counted(text: str, pos: int, end: int) -> Any:
        _spend(DESTINATION_STEPS + _destination_length(text, pos, end) // DESTINATION_CHARS)
        return parse(text, pos, end)

    return counted


def _destination_length(text: str, pos: int, end: int) -> int:
    if text.startswith("<", pos):
        return 0  # `<…>` ends at the next `<`, `>` or line break
    parens = _DESTINATION_PARENS.match(text, pos, end)
    run = parens or _DESTINATION_RUN.match(text, pos, end)
    return run.end() - pos if run else 0
