"""Markdown to Slack mrkdwn: each construct, escaping, and HTML/Svelte never passing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from renderers.mrkdwn import escape, to_mrkdwn
from renderers.slack_blocks import sections
from tests.renderers.slack_limits import assert_slack_limits
from tests.renderers.strategies import markdown


def test_escape_only_the_three_control_characters() -> None:
    assert escape("a & b < c > d *e* _f_") == "a &amp; b &lt; c &gt; d *e* _f_"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**bold**", "*bold*"),
        ("__bold__", "*bold*"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("~~gone~~", "~gone~"),
        ("# Title", "*Title*"),
        ("## Sub **title**", "*Sub title*"),
        ("[docs](https://example.com/a)", "<https://example.com/a|docs>"),
        ("[w](https://en.wikipedia.org/wiki/Foo_(bar))", "<https://en.wikipedia.org/wiki/Foo_(bar)|w>"),
        ("[q](https://x.io/?a=1&b=2)", "<https://x.io/?a=1&amp;b=2|q>"),
        ("<https://example.com>", "<https://example.com|https://example.com>"),
        ("[mail](mailto:a@b.co)", "<mailto:a@b.co|mail>"),
        ("[relative](docs/a.md)", "relative"),
        ("[js](javascript:alert(1))", "[js](javascript:alert(1))"),
        ("![chart](https://example.com/c.png)", "<https://example.com/c.png|chart>"),
        ("![local](c.png)", "local"),
        ("`a < b && c`", "`a &lt; b &amp;&amp; c`"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("line one  \nline two", "line one\nline two"),
    ],
)
def test_inline_constructs(source: str, expected: str) -> None:
    assert to_mrkdwn(source) == expected


def test_lists_nest_with_bullets_and_numbers() -> None:
    assert to_mrkdwn("- a\n- b\n  - c") == "•   a\n•   b\n    ◦   c"
    assert to_mrkdwn("1. one\n2. two") == "1.  one\n2.  two"


def test_every_line_of_a_quote_is_quoted() -> None:
    assert to_mrkdwn("> one\n> two\n>\n> three\n\nafter") == "> one\n> two\n> three\n\nafter"


def test_fenced_code_loses_its_language_and_keeps_its_text() -> None:
    source = "```python\n#!shebang stays\nif a < b:\n    *x* = _y_\n```"
    assert to_mrkdwn(source) == "```\n#!shebang stays\nif a &lt; b:\n    *x* = _y_\n```"


def test_indented_code_is_a_code_block() -> None:
    assert to_mrkdwn("text\n\n    code <x>\n") == "text\n\n```\ncode &lt;x&gt;\n```"


def test_mentions_and_broadcasts_in_user_text_are_inert() -> None:
    text = to_mrkdwn("hi <@U123> and <!channel> and <#C1> @here")
    assert "<@" not in text and "<!" not in text and "<#" not in text
    assert "@here" in text  # plain text: Slack only pings for the <!here> form


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<script>\nalert(1)\n</script>",
        "<style>p { color: red }</style>",
        "<Chart data={x} />",
        "<Chart\n  data={x}\n/>",
        "<!-- secret -->",
        '<img src=x onerror="alert(1)">',
        "{#if admin}{/if}",
        "{@html evil}",
    ],
)
def test_html_and_svelte_are_dropped(source: str) -> None:
    assert to_mrkdwn(source) == ""


def test_text_around_components_stays() -> None:
    source = ("Before <b>bold</b> {#if x}shown{/if} <script>evil()</script> after"
              "\n\n<Box>\nInside\n</Box>")
    assert to_mrkdwn(source) == "Before bold shown  after\n\nInside"


def test_markdown_inside_an_html_block_still_renders() -> None:
    assert to_mrkdwn("<div>\n**in div** & more\n</div>") == "*in div* &amp; more"


def test_front_matter_is_ignored() -> None:
    assert to_mrkdwn("---\ntitle: Hello\n---\n# Body") == "*Body*"


def test_tables_stay_text_and_rules_vanish() -> None:
    assert to_mrkdwn("| a | b |\n|---|---|\n| 1 | 2 |").startswith("| a | b |")
    assert to_mrkdwn("a\n\n***\n\nb") == "a\n\nb"


def test_empty_and_blank_markdown_give_nothing() -> None:
    assert to_mrkdwn("") == to_mrkdwn("  \n\n ") == ""


@settings(max_examples=60, deadline=None)
@given(markdown(8000))
def test_any_markdown_gives_safe_mrkdwn_sections(source: str) -> None:
    blocks = sections(to_mrkdwn(source))
    if blocks:
        assert_slack_limits({"text": "x", "blocks": blocks[:50]})


@pytest.mark.parametrize(("source", "expected"), [
    ("Type {# to start, then **save** it.", "Type {# to start, then *save* it."),
    ("Email {@ alice and `code}` then text", "Email {@ alice and `code}` then text"),
    ("a {@html '<b>x</b>'} b", "a  b"),
])
def test_an_unclosed_brace_in_prose_is_text_but_html_split_svelte_is_dropped(
        source: str, expected: str) -> None:
    assert to_mrkdwn(source) == expected


def test_unclosed_svelte_head_stays_linear() -> None:
    source = "<svelte:head>" * 7000  # 91 kB, no closing tag: was quadratic (seconds)
    assert to_mrkdwn(source) == ""
