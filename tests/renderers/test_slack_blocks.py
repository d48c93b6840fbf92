"""Text helpers: cutting to Slack's limits without breaking mrkdwn."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from renderers.mrkdwn import to_mrkdwn
from renderers.slack_blocks import (
    callout,
    escaped,
    fit_links,
    one_line,
    plain,
    slack_date,
    split_mrkdwn,
    truncate,
    web_step_url,
)
from tests.renderers.slack_limits import CONTROL
from tests.renderers.strategies import markdown


def test_web_step_urls(approval) -> None:
    assert web_step_url(approval, 0) == "http://localhost:8000/t/l1?step=1"
    assert web_step_url(approval, 2) == "http://localhost:8000/t/l1?step=3"


def test_truncate_ends_with_an_ellipsis_only_when_cut() -> None:
    assert truncate("short", 24) == "short"
    assert truncate("Approve deployment to production", 24) == "Approve deployment to p…"
    assert len(truncate("x" * 500, 75)) == 75


def test_one_line_collapses_whitespace_and_has_a_fallback() -> None:
    assert one_line(" a \n\t b\x00 ", 10) == "a b"
    assert one_line(" \n ", 10, fallback="Field") == "Field"
    assert plain("x" * 30, 24)["text"] == "x" * 23 + "…"


def test_escaped_never_cuts_an_entity() -> None:
    for limit in range(2, 30):
        text = escaped("<&>" * 20, limit)
        assert len(text) <= limit
        assert text.rstrip("…").endswith(";") or text == "…"


def test_slack_date_formats_in_the_readers_zone_with_an_iso_fallback() -> None:
    moment = datetime(2026, 2, 24, 12, 0, tzinfo=UTC)
    expected = "<!date^1771934400^{date_short_pretty} {time}|2026-02-24T12:00+00:00>"
    assert slack_date(moment) == expected
    assert slack_date(moment.replace(tzinfo=None)) == expected


def test_callout_keeps_a_leading_quote_on_its_own_line() -> None:
    assert callout("warning", "careful") == ":warning: careful"
    assert callout("info", "> quoted") == ":information_source:\n> quoted"


def test_split_prefers_paragraphs_then_lines() -> None:
    text = "a" * 2000 + "\n\n" + "b" * 2000 + "\n" + "c" * 500
    assert split_mrkdwn(text) == ["a" * 2000, "b" * 2000 + "\n" + "c" * 500]


def test_split_never_cuts_a_link_or_entity() -> None:
    text = ("word &amp; <https://example.com/a|a link with spaces> " * 200).strip()
    for chunk in split_mrkdwn(text, 300):
        assert chunk.count("<") == chunk.count(">")
        assert chunk.count("&") == chunk.count(";")


def test_split_turns_a_link_too_long_for_a_section_into_text() -> None:
    url = "https://example.com/" + "a&amp;b" * 700
    text = f"<{url}|the report> and <{url}> and <https://example.com/short|ok>"
    chunks = split_mrkdwn(text)
    assert all(CONTROL.search(c) is None for c in chunks)
    joined = " ".join(chunks)
    assert joined.startswith("the report and https://example.com/a&amp;b")
    assert "…" in joined and "<https://example.com/short|ok>" in joined
    assert all(c.count("&") == c.count(";") for c in chunks)


def test_split_closes_and_reopens_a_code_block() -> None:
    text = "```\n" + "\n".join(f"line {i}" for i in range(1000)) + "\n```"
    chunks = split_mrkdwn(text)
    assert len(chunks) > 1
    assert all(c.startswith("```") and c.endswith("```") for c in chunks)


@settings(max_examples=50, deadline=None)
@given(markdown(), st.integers(50, 3000))
def test_split_chunks_are_within_the_limit_and_keep_the_text(source: str, limit: int) -> None:
    text = to_mrkdwn(source)
    chunks = split_mrkdwn(text, limit)
    assert all(0 < len(c) <= limit and c.strip() for c in chunks)
    def squeeze(s: str) -> str:
        return "".join(s.replace("```", "").split())

    assert all(CONTROL.search(c) is None for c in chunks)
    assert squeeze("".join(chunks)) == squeeze(fit_links(text, limit - 8))
