"""mdsvex cleaning shared by the mrkdwn and HTML renderers."""

from __future__ import annotations

from markdown_it import MarkdownIt

from renderers.mdsvex import clean_source, parse


def types(text: str) -> list[str]:
    return [t.type for t in parse(MarkdownIt("commonmark", {"html": True}), text)]


def inline_text(text: str) -> str:
    tokens = parse(MarkdownIt("commonmark", {"html": True}), text)
    return "".join(c.content for t in tokens if t.children for c in t.children)


def test_clean_source_drops_controls_and_front_matter() -> None:
    assert clean_source("---\ntitle: x\n---\nbody\x00\x03\r\nnext") == "body\nnext"
    assert clean_source("text\n---\nnot front matter\n---") == "text\n---\nnot front matter\n---"


def test_no_html_token_survives() -> None:
    source = "<script>evil</script>\n\n<div>\n*a*\n</div>\n\ntext <b>b</b> <!-- c -->\n\n<?php x ?>"
    assert not {"html_block", "html_inline"} & set(types(source))
    assert "evil" not in inline_text(source) and "a" in inline_text(source)


def test_inline_raw_text_elements_vanish_with_their_content() -> None:
    assert inline_text("a <script>evil()</script> b <style>p{}</style> c") == "a  b  c"
    assert inline_text("a <script>never closed") == "a "


def test_tags_inside_attributes_do_not_survive() -> None:
    assert inline_text('<div title="<b>x</b>">\nkept\n</div>').strip() == "kept"


def test_svelte_logic_tags_are_removed_but_expressions_stay() -> None:
    assert inline_text("{#each items as item}{item}{/each} {:else} {@html raw}") == "{item}  "


def test_code_keeps_what_looks_like_html_or_svelte() -> None:
    assert inline_text("`<b>{#if x}</b>`") == "<b>{#if x}</b>"
    tokens = parse(MarkdownIt("commonmark", {"html": True}), "```\n<script>{#if}</script>\n```")
    assert tokens[0].content == "<script>{#if}</script>\n"


def test_svelte_special_elements_vanish() -> None:
    source = ("<svelte:head><title>Secret</title></svelte:head>\n\n"
              "body <svelte:component this={X} />")
    assert inline_text(source).strip() == "body"
    assert "svelte" not in inline_text("<svelte:window on:keydown={k}/>\n\nkept")


def test_a_svelte_tag_with_html_inside_vanishes_whole() -> None:
    assert inline_text("{@html '<script>alert(1)</script>'} after") == " after"
    assert inline_text("a {#if x}<b>y</b>{/if} b") == "a y b"


def test_a_declaration_like_line_keeps_its_text() -> None:
    assert inline_text("<!channel> please review").strip() == "please review"
    assert types("<!DOCTYPE html>\n\ntext") == ["paragraph_open", "inline", "paragraph_close"]
