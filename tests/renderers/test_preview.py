"""The README picture generator keeps working (without launching a browser)."""

from __future__ import annotations

from renderers.slack_modal import modal_view
from tests.renderers.conftest import example_task
from tests.renderers.html_tree import read
from tests.renderers.preview import modal_html, signature_png


def test_modal_drawing_shows_every_input_and_says_it_is_an_approximation() -> None:
    view = modal_view(example_task("hpi_feedback"), 0, {"overall_rating": 4})
    page = modal_html(view)
    read(page.split("<style>")[0] + page.split("</style>")[1])
    for text in ("Your Role", "Ease of Use", "★★★★☆ (4/5)", "Submit", "Approximation"):
        assert text in page


def test_signature_png_is_a_png() -> None:
    assert signature_png().startswith(b"\x89PNG")
