"""The web form: every field kind, progress, navigation, errors, prefill, markdown, layout."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.domain.task import Task
from api.web.pages import environment, render, render_step
from renderers.html import markdown_html
from tests.renderers.conftest import make_task, one_step_task
from tests.renderers.html_tree import Element, by_id, find, read
from tests.renderers.strategies import answers, task_bodies

SIGNATURE_PNG = "data:image/png;base64,iVBORw0KGgo="
EVERY_KIND: list[dict[str, Any]] = [
    {"name": "name", "label": "Name", "kind": "text", "required": True, "placeholder": "Zoë"},
    {"name": "notes", "label": "Notes", "kind": "textarea"},
    {"name": "team", "label": "Team", "kind": "select", "options": ["Eng", "Ops"]},
    {"name": "role", "label": "Role", "kind": "radio", "options": ["Dev", "PM"]},
    {"name": "agree", "label": "I agree", "kind": "checkbox", "required": True},
    {"name": "day", "label": "Day", "kind": "date"},
    {"name": "when", "label": "When", "kind": "date", "include_time": True},
    {"name": "ease", "label": "Ease", "kind": "range", "min": 0, "max": 10, "step": 0.5},
    {"name": "stars", "label": "Stars", "kind": "rating", "max_rating": 5},
    {"name": "scan", "label": "Scan", "kind": "file", "required": True},
    {"name": "sign", "label": "Sign", "kind": "signature", "required": True},
]
ANSWERS = {"name": "Zoë <&>", "notes": "a\nb", "team": "Ops", "role": "PM", "agree": True,
           "day": "2026-02-24", "when": "2026-02-24T12:30:00+01:00", "ease": 7.5, "stars": 4,
           "sign": SIGNATURE_PNG}


def page(task: Task, index: int = 0, answers: dict[str, Any] | None = None,
         errors: dict[str, str] | None = None) -> list[Element]:
    html = render_step(task, index, answers or {}, errors or {}, csrf_token="tok<&>",
                       action="/t/l1?step=0")
    return read(html)


@pytest.fixture
def every_kind() -> Task:
    return one_step_task(*EVERY_KIND)


def test_form_posts_with_csrf_and_multipart_for_files(every_kind: Task) -> None:
    elements = page(every_kind)
    (form,) = find(elements, "form")
    assert form.attrs["method"] == "post" and form.attrs["action"] == "/t/l1?step=0"
    assert form.attrs["enctype"] == "multipart/form-data"
    assert find(elements, "input", type="hidden", name="csrf_token")[0].attrs["value"] == "tok<&>"


def test_a_signature_alone_posts_multipart() -> None:
    # A signature's data URL is capped by the upload limit, not the 1 MiB form body limit.
    task = one_step_task({"name": "sig", "label": "Signature", "kind": "signature"})
    assert find(page(task), "form")[0].attrs["enctype"] == "multipart/form-data"


def test_no_multipart_without_a_file(approval: Task) -> None:
    assert "enctype" not in find(page(approval), "form")[0].attrs


def test_every_label_names_its_input(every_kind: Task) -> None:
    elements = page(every_kind)
    for label in find(elements, "label"):
        target = by_id(elements, label.attrs["for"] or "")
        assert target.tag in ("input", "select", "textarea")
    for name in ("name", "notes", "team", "agree", "day", "when", "ease", "scan"):
        assert find(elements, "label", for_=f"field-{name}")


def test_each_kind_has_its_control(every_kind: Task) -> None:
    elements = page(every_kind, answers=ANSWERS)
    assert by_id(elements, "field-name").attrs == {
        "type": "text", "id": "field-name", "name": "name", "value": "Zoë <&>",
        "placeholder": "Zoë", "required": None}
    assert by_id(elements, "field-notes").text == "a\nb"
    assert [e.attrs["value"] for e in find(elements, "option") if "selected" in e.attrs] == ["Ops"]
    radios = find(elements, "input", name="role")
    assert [e.attrs["value"] for e in radios if "checked" in e.attrs] == ["PM"]
    assert by_id(elements, "field-agree").attrs["type"] == "checkbox"
    assert "checked" in by_id(elements, "field-agree").attrs
    assert by_id(elements, "field-day").attrs["value"] == "2026-02-24"
    when = by_id(elements, "field-when")
    assert when.attrs["type"] == "datetime-local" and when.attrs["value"] == "2026-02-24T11:30"
    assert by_id(elements, "field-scan").attrs["type"] == "file"


def test_range_is_a_slider_showing_its_value(every_kind: Task) -> None:
    elements = page(every_kind, answers=ANSWERS)
    slider = by_id(elements, "field-ease")
    assert {k: slider.attrs[k] for k in ("type", "min", "max", "step", "value")} == {
        "type": "range", "min": "0", "max": "10", "step": "0.5", "value": "7.5"}
    output = by_id(elements, slider.attrs["data-output"] or "")
    assert output.tag == "output" and output.text == "7.5"
    assert by_id(page(every_kind), "field-ease-value").text == "5"  # the browser's default


def test_rating_is_a_group_of_star_radios(every_kind: Task) -> None:
    elements = page(every_kind, answers=ANSWERS)
    group = by_id(elements, "field-stars")
    assert group.tag == "fieldset" and "Stars" in group.text
    radios = find(elements, "input", name="stars")
    assert [r.attrs["type"] for r in radios] == ["radio"] * 5  # arrow keys move between stars
    assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == ["4"]
    assert "4 of 5 stars" in group.text


def test_signature_pad_keeps_a_png_data_url_in_a_hidden_input(every_kind: Task) -> None:
    elements = page(every_kind, answers=ANSWERS)
    pad = by_id(elements, "field-sign")
    assert "data-signature" in pad.attrs
    assert find(elements, "canvas")
    hidden = find(elements, "input", name="sign")[0]
    assert hidden.attrs["type"] == "hidden" and hidden.attrs["value"] == SIGNATURE_PNG
    assert find(elements, "button", type="button")[0].text.strip() == "Clear"


def test_uploaded_files_are_mentioned_and_no_longer_required(every_kind: Task) -> None:
    upload = {"name": "scan.pdf", "size": 2048, "content_type": "application/pdf",
              "sha256": "a" * 64, "url": "https://x/1"}
    elements = page(every_kind, answers={"scan": upload, "sign": upload})
    assert "required" not in by_id(elements, "field-scan").attrs
    text = " ".join(e.text for e in find(elements, "p", class_="current"))
    assert "scan.pdf (2.0 kB)" in text and "Signed already" in text


def test_errors_sit_next_to_their_fields(every_kind: Task) -> None:
    errors = {"name": "this field is required", "stars": "must be 1 to 5", "_form": "Try again"}
    elements = page(every_kind, errors=errors)
    name = by_id(elements, "field-name")
    assert name.attrs["aria-invalid"] == "true"
    assert by_id(elements, name.attrs["aria-describedby"] or "").text.strip().endswith(
        "this field is required")
    for radio in find(elements, "input", name="stars"):
        assert radio.attrs["aria-describedby"] == "field-stars-error"
    (summary,) = find(elements, "div", class_="error-summary")
    assert summary.attrs["role"] == "alert"
    links = [a.attrs["href"] for a in find(elements, "a")
             if str(a.attrs.get("href")).startswith("#field")]
    assert links == ["#field-name", "#field-stars"]
    assert "Try again" in summary.text


def test_hints_describe_their_inputs(every_kind: Task) -> None:
    elements = page(every_kind)
    assert by_id(elements, "field-ease").attrs["aria-describedby"] == "field-ease-hint"
    assert by_id(elements, "field-ease-hint").text == "From 0 to 10 in steps of 0.5."


def test_progress_and_navigation(onboarding: Task) -> None:
    first, middle, last = (page(onboarding, i) for i in range(3))
    assert "Step 2 of 3" in by_id(middle, "progress").text
    assert [(b.attrs["value"], b.text) for b in find(first, "button", name="nav")] == [
        ("next", "Next")]
    assert [(b.attrs["value"], b.text) for b in find(middle, "button", name="nav")] == [
        ("next", "Next"), ("back", "Back")]
    assert [b.attrs["value"] for b in find(last, "button", name="nav")] == ["submit", "back"]
    assert "formnovalidate" in find(last, "button", value="back")[0].attrs


def test_static_assets_come_from_the_prefix_not_a_cdn(approval: Task) -> None:
    elements = page(approval)
    assert find(elements, "link", rel="stylesheet")[0].attrs["href"] == "/static/form.css"
    assert find(elements, "script")[0].attrs["src"] == "/static/form.js"
    assert all(not str(e.attrs.get("src", "")).startswith("http") for e in elements)


def test_markdown_blocks_and_callouts_render() -> None:
    task = one_step_task(
        {"type": "mdsvex", "content": "**Bold** <Chart data={x} /> [a](https://e.com)"},
        {"type": "callout", "severity": "warning", "content": "Careful <script>x()</script>"},
        {"name": "a", "label": "A", "kind": "text"},
        instructions_mdsvex="Read *this*", description_mdsvex=None,
    )
    html = render_step(task, 0, {}, {}, csrf_token="t", action="/a")
    assert "<strong>Bold</strong>" in html and "<em>this</em>" in html
    assert '<aside class="callout callout-warning" role="note">' in html
    assert "Chart" not in html and "x()" not in html
    assert html.count("<script") == 1


def test_user_text_is_escaped() -> None:
    task = one_step_task({"name": "a", "label": "<img src=x onerror=alert(1)>", "kind": "select",
                          "options": ['"><script>alert(1)</script>']},
                         title="<script>alert(1)</script>")
    html = render_step(task, 0, {"a": "</textarea><script>"}, {"a": "<b>bad</b>"},
                       csrf_token='"><script>', action='"><script>')
    assert html.count("<script") == 1 and "<img" not in html and "<b>bad" not in html


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**b** _i_ ~~s~~", "<p><strong>b</strong> <em>i</em> <s>s</s></p>"),
        ("# Title", "<h1>Title</h1>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("> quote", "<blockquote>\n<p>quote</p>\n</blockquote>"),
        ("`a<b`", "<p><code>a&lt;b</code></p>"),
        ("[w](https://en.wikipedia.org/wiki/Foo_(bar))",
         '<p><a href="https://en.wikipedia.org/wiki/Foo_(bar)" rel="noopener noreferrer">'
         "w</a></p>"),
        ("[js](javascript:alert(1))", "<p>[js](javascript:alert(1))</p>"),
        ("<script>alert(1)</script>", ""),
        ("<div onclick=x>**in**</div>", "<p><strong>in</strong></p>"),
        ("<div>\n\n**in**\n\n</div>", "<p><strong>in</strong></p>"),
        ("a <b onclick=x>b</b> {#if x}c{/if}", "<p>a b c</p>"),
    ],
)
def test_markdown_html(source: str, expected: str) -> None:
    assert markdown_html(source).strip() == expected


def test_message_page_and_shared_environment() -> None:
    html = render("message.html", heading="Task already completed",
                       message="Thanks <you>, nothing left to do.")
    elements = read(html)
    assert find(elements, "h1")[0].text == "Task already completed"
    assert "Thanks &lt;you&gt;" in html
    assert find(elements, "link")[0].attrs["href"] == "/static/form.css"
    assert environment() is environment()
    assert environment().from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(st.data())
def test_every_step_of_a_valid_task_renders_a_complete_form(data: st.DataObject) -> None:
    task = make_task(data.draw(task_bodies()))
    for index, step in enumerate(task.steps):
        fields = step.fields()
        given = data.draw(answers(fields))
        errors = {f.name: f"bad <{f.name}>" for f in fields[:2]}
        html = render_step(task, index, given, errors, csrf_token="t", action="/a")
        elements = read(html)
        names = {e.attrs.get("name") for e in elements}
        assert {f.name for f in fields} <= names
        assert len(find(elements, "script")) == 1
        assert f"Step {index + 1} of {len(task.steps)}" in html
