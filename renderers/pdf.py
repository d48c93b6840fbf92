"""A task and its answers as a PDF (reportlab platypus), e.g. for the email sink.

Text is set in DejaVu Sans with Droid Sans Fallback for CJK, both embedded, so any answer
prints and can be searched; characters neither font has print as U+FFFD. The output is
byte-for-byte reproducible (reportlab's invariant mode: no clock, no random id).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer

from api.files import clean_signature
from api.models import FormField, Task
from renderers.values import EMPTY, display_value, human_date, human_size

FONTS = Path(__file__).parent / "fonts"
REGULAR, BOLD, FALLBACK = "InloopSans", "InloopSans-Bold", "InloopFallback"
MISSING = "\ufffd"
UNREADABLE = "(the signature image could not be shown)"


@cache
def _glyphs() -> tuple[frozenset[int], frozenset[int]]:
    """Register the fonts once, on first use; the code points each covers."""
    regular = TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf"))
    fallback = TTFont(FALLBACK, str(FONTS / "DroidSansFallback.ttf"))
    for font in (regular, TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")), fallback):
        pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD)
    return frozenset(regular.face.charToGlyph), frozenset(fallback.face.charToGlyph)


def _style(name: str, size: float, font: str = REGULAR, **extra: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.3, **extra)


STYLES = {
    "title": _style("title", 18, BOLD, spaceAfter=8),
    "meta": _style("meta", 9, textColor="#555555"),
    "step": _style("step", 13, BOLD, spaceBefore=14, spaceAfter=4),
    "label": _style("label", 9, BOLD, textColor="#444444", spaceBefore=6),
    "answer": _style("answer", 11),
}


def task_pdf(task: Task, *, images: Mapping[str, bytes] | None = None) -> bytes:
    """The PDF of `task` and its answers; `images` holds signature PNGs by field name."""
    _glyphs()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=task.title, author="inloop", invariant=True,
        leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm,
    )
    footer = _footer(task.task_id)
    document.build(_story(task, images or {}), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _story(task: Task, images: Mapping[str, bytes]) -> list[Flowable]:
    story: list[Flowable] = [_paragraph(task.title, "title"), *_meta(task)]
    for step in task.steps:
        story.append(_paragraph(step.title, "step"))
        for field in step.fields():
            story.append(_paragraph(field.label, "label"))
            story.extend(_answer(field, task.data.get(field.name), images.get(field.name)))
    return story


def _meta(task: Task) -> list[Flowable]:
    lines = [f"Task {task.task_id}", f"Status: {task.status}"]
    if task.completed_by:
        lines.append(f"Completed by {task.completed_by.name} (via {task.completed_by.channel})")
    if task.completed_at:
        lines.append(f"Completed on {human_date(task.completed_at.isoformat(), True)}")
    if task.cancel_reason:
        lines.append(f"Cancelled: {task.cancel_reason}")
    return [*(_paragraph(line, "meta") for line in lines), Spacer(1, 6)]


def _answer(field: FormField, value: Any, image: bytes | None) -> list[Flowable]:
    if field.kind == "signature" and value is not None and image:
        picture = _image(image)
        if picture:
            return [picture]
        return [_paragraph(UNREADABLE, "meta"), *_answer(field, value, None)]
    if field.kind in ("file", "signature") and isinstance(value, Mapping):
        return [_paragraph(_file_line(value), "answer"), _paragraph(_sha(value), "meta")]
    return [_paragraph(display_value(field, value) if value is not None else EMPTY, "answer")]


def _file_line(value: Mapping[str, Any]) -> str:
    size = human_size(int(value.get("size", 0)))
    return f"{value.get('name', 'file')} · {size} · {value.get('content_type', '')}"


def _sha(value: Mapping[str, Any]) -> str:
    return f"SHA-256 {value.get('sha256', '')}"


def _image(stored: bytes) -> Image | None:
    """The signature as a flowable, or None if it is not a sane PNG (whatever Pillow or
    reportlab raise: a stored file must never cost the whole PDF)."""
    try:
        png = clean_signature(stored)  # decoded in full here, so never fails in build()
        width, height = ImageReader(io.BytesIO(png)).getSize()
    except Exception:
        return None  # the caller prints a placeholder and the file reference instead
    scale = min(7 * cm / width, 3 * cm / height, 1.0)
    return Image(io.BytesIO(png), width=width * scale, height=height * scale, hAlign="LEFT")


def _paragraph(text: str, style: str) -> Paragraph:
    return Paragraph(_markup(text), STYLES[style])


def _markup(text: str) -> str:
    """User text as Paragraph markup: escaped, each run in a font that has its glyphs."""
    return "".join(_run(font, "".join(chars)) for font, chars in groupby(text, key=_font_of))


def _font_of(char: str) -> str:
    regular, fallback = _glyphs()
    code = ord(char)
    if code > 0xFFFF:  # reportlab writes no usable text mapping beyond the BMP
        return ""
    return REGULAR if code in regular or char == "\n" else FALLBACK if code in fallback else ""


def _run(font: str, run: str) -> str:
    if not font:
        return MISSING * len(run)
    if font == FALLBACK:
        return f'<font name="{FALLBACK}">{escape(run)}</font>'
    return escape(run).replace("\n", "<br/>")


def _footer(task_id: str) -> Any:
    def draw(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(REGULAR, 8)
        canvas.setFillColor("#777777")
        canvas.drawString(2 * cm, 1.2 * cm, f"inloop · task {task_id}"[:120])
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Page {document.page}")
        canvas.restoreState()

    return draw
