"""The answers PDF: every field kind, unicode, images, escaping, long answers."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from api.domain.fields import validate_answers
from api.domain.task import Task
from renderers.pdf import task_pdf
from renderers.values import display_value
from tests.images import huge_png
from tests.renderers.conftest import NOW, example_task, make_task
from tests.renderers.strategies import answers, task_bodies

UPLOAD = {"name": "contract 東京.pdf", "size": 123_456, "content_type": "application/pdf",
          "sha256": "0123456789abcdef" * 4, "url": "https://files.example/1"}
FOOTER = re.compile(r"\Ainloop · task \S+\nPage \d+\n")
SIGNED = {**UPLOAD, "name": "signature.png", "content_type": "image/png", "size": 900}


def png(width: int = 300, height: int = 100) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def completed(task: Task, data: dict[str, Any], name: str = "Zoë 東京 ★") -> Task:
    return Task.model_validate({
        **task.model_dump(), "status": "completed", "completed_at": NOW, "data": data,
        "completed_by": {"channel": "web", "id": "u1", "name": name}})


def text_of(pdf: bytes, footers: bool = True) -> str:
    """The PDF's text, page by page; each page's starts with its footer (drawn first)."""
    pages = (page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "\n".join(p if footers else FOOTER.sub("", p) for p in pages)


def squeezed_body_of(pdf: bytes) -> str:
    """The PDF's text without whitespace or its page footers, which would otherwise split
    an answer that runs on to the next page."""
    return "".join(text_of(pdf, footers=False).split())


def images_in(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def onboarding_done() -> Task:
    data = {"full_name": "Zoë 東京 ★ <b>&amp;</b>", "department": "HR", "contract": UPLOAD,
            "approved": True, "signature": SIGNED}
    return completed(example_task("hpi_onboarding"), data)


def test_header_steps_labels_and_answers(onboarding_done: Task) -> None:
    pdf = task_pdf(onboarding_done, images={"signature": png()})
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for expected in ("New employee onboarding", f"Task {onboarding_done.task_id}",
                     "Completed by Zoë 東京 ★ (via web)", "24 February 2026, 12:00 UTC",
                     "Personal Information", "Full Name", "Zoë 東京 ★ <b>&amp;</b>",
                     "Department", "HR", "Upload Documents", "contract 東京.pdf",
                     "123.5 kB", "application/pdf", "0123456789abcdef" * 4,
                     "Approve onboarding?", "Yes", "Manager Signature"):
        assert expected in text, expected
    assert images_in(pdf) == 1


def test_a_missing_or_broken_signature_image_prints_the_file_reference(
    onboarding_done: Task,
) -> None:
    for images in (None, {"signature": b"not a png"}):
        pdf = task_pdf(onboarding_done, images=images)
        assert images_in(pdf) == 0
        assert "signature.png" in text_of(pdf)


@pytest.mark.parametrize("stored", [huge_png(), huge_png(4001, 10), png()[:60],
                                    b"\x89PNG\r\n\x1a\n" + b"\0" * 64],
                         ids=["bomb", "too-wide", "truncated", "magic-only"])
def test_a_hostile_or_broken_stored_signature_prints_a_placeholder(
    onboarding_done: Task, stored: bytes,
) -> None:
    """Stored before signatures were checked: a decompression bomb, too wide, truncated."""
    pdf = task_pdf(onboarding_done, images={"signature": stored})
    assert images_in(pdf) == 0
    text = text_of(pdf)
    assert "the signature image could not be shown" in text and "signature.png" in text


def test_ratings_dates_ranges_and_unanswered_fields() -> None:
    data = {"role": "PM", "start_date": "2026-02-20T08:30:00+00:00", "ease_of_use": 7,
            "overall_rating": 4}
    text = text_of(task_pdf(completed(example_task("hpi_feedback"), data)))
    for expected in ("Your Role", "PM", "20 February 2026, 08:30 UTC", "Ease of Use", "7",
                     "★★★★☆ (4/5)", "Additional Comments", "—"):
        assert expected in text, expected


def test_checkbox_no_and_plain_dates() -> None:
    body = {"title": "T", "steps": [{"id": "s", "title": "S", "blocks": [
        {"type": "input", "field": {"name": "ok", "label": "OK?", "kind": "checkbox"}},
        {"type": "input", "field": {"name": "day", "label": "Day", "kind": "date"}}]}]}
    text = text_of(task_pdf(completed(make_task(body), {"ok": False, "day": "2026-03-01"})))
    assert "No" in text and "1 March 2026" in text


def test_pending_and_cancelled_tasks_render_too(approval: Task) -> None:
    cancelled = Task.model_validate({**approval.model_dump(), "status": "cancelled",
                                     "cancel_reason": "Not needed"})
    text = text_of(task_pdf(cancelled))
    assert "Status: cancelled" in text and "Cancelled: Not needed" in text
    assert "Completed by" not in text_of(task_pdf(approval))


def test_output_is_reproducible(onboarding_done: Task) -> None:
    assert task_pdf(onboarding_done) == task_pdf(onboarding_done)


def test_long_answers_flow_over_pages_and_emoji_do_not_break_it() -> None:
    body = {"title": "Long 😀", "steps": [{"id": "s", "title": "S", "blocks": [
        {"type": "input", "field": {"name": "essay", "label": "Essay", "kind": "textarea"}}]}]}
    essay = ("Lorem ipsum dolor sit amet 東京 😀 " * 1500) + "x" * 5000
    pdf = task_pdf(completed(make_task(body), {"essay": essay}))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 5
    assert "Lorem ipsum dolor sit amet 東京" in reader.pages[0].extract_text()


ESSAY = {"title": "Essay", "steps": [{"id": "s", "title": "S", "blocks": [
    {"type": "input", "field": {"name": "essay", "label": "Essay", "kind": "textarea"}}]}]}
HOSTILE_ANSWERS = {  # the longest textarea answer (50 000); seconds before, unbounded
    "blank lines": "\n" * 50_000,  # minutes (reportlab re-wrapped the rest at each page)
    "short lines": "a\n" * 25_000,  # over 90 s
    "a font change a character": "a東" * 25_000,  # 36 s
    "escapes": "<&>" * 16_000,  # 28 s
    "one long word": "a" * 50_000,  # 1.9 s
    "cjk": "東" * 50_000,
    "emoji": "😀" * 50_000,
}


@pytest.mark.parametrize("answer", HOSTILE_ANSWERS.values(), ids=HOSTILE_ANSWERS.keys())
def test_any_answer_prints_within_a_budget(answer: str) -> None:
    started = time.perf_counter()
    pdf = task_pdf(completed(make_task(ESSAY), {"essay": answer}))
    assert time.perf_counter() - started < 5  # about 1 s at most on a slow machine
    assert pdf.startswith(b"%PDF")


def test_a_task_too_long_for_one_pdf_ends_with_a_note() -> None:
    body = {"title": "Long", "steps": [{"id": "s", "title": "S", "blocks": [
        {"type": "input", "field": {"name": f"f{i}", "label": f"Part {i}", "kind": "textarea"}}
        for i in range(20)]}]}
    words = "Lorem ipsum dolor sit amet. " * 1_700  # 47 600 characters each
    pdf = PdfReader(io.BytesIO(task_pdf(completed(make_task(body),
                                                 {f"f{i}": words for i in range(20)}))))
    assert "Part 0" in pdf.pages[0].extract_text()
    last = pdf.pages[-1].extract_text()
    assert "This PDF ends here: the task is too long to print in full." in last
    assert "Part 19" not in last and len(pdf.pages) < 200
    assert "This PDF ends here" not in text_of(task_pdf(completed(make_task(body), {})))


def test_blank_lines_keep_one_gap_and_lines_stay_apart() -> None:
    text = text_of(task_pdf(completed(make_task(ESSAY), {"essay": "one\n\n\n\ntwo\nthree"})))
    assert "one\ntwo\nthree" in text


def test_an_answer_running_onto_the_next_page_reads_whole_between_the_footers() -> None:
    """The property below compares answers with the PDF's text: an answer whose first
    characters straddle a page break has the next page's footer inside them."""
    task = make_task(ESSAY)
    for lines in range(1, 200):
        essay = "x\n" * lines + " ".join(["ninechars"] * 30)
        pdf = task_pdf(completed(task, {"essay": essay}))
        if "".join(essay.split())[:60] not in "".join(text_of(pdf).split()):
            break  # page 2's footer falls within the answer's first 60 characters
    else:
        pytest.fail("no answer started at the foot of a page")
    assert "".join(essay.split()) in squeezed_body_of(pdf)


COVERED = st.text(st.sampled_from(list("abcXYZ019 <&>\"'Zoëßçñ東京語★☆ПриветΩμέγα€")), min_size=1,
                  max_size=300).filter(str.strip)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_every_answer_of_a_valid_task_is_in_the_pdf(data: st.DataObject) -> None:
    task = make_task(data.draw(task_bodies(max_blocks=4)))
    given_answers = data.draw(answers(task.fields()))
    for field in task.fields():
        if field.kind in ("text", "textarea") and field.name in given_answers:
            given_answers[field.name] = data.draw(COVERED)
    clean, problems = validate_answers(task.fields(), given_answers)
    assert problems == []
    squeezed = squeezed_body_of(task_pdf(completed(task, clean), images={}))
    for field in task.fields():
        if field.name in clean and field.kind not in ("select", "radio"):
            value = clean[field.name]
            shown = value["name"] if isinstance(value, dict) else display_value(field, value)
            assert "".join(shown.split())[:60] in squeezed, (field.kind, shown)
