"""A task and its answers as a PDF (reportlab platypus), e.g. for the email sink.

Text is set in DejaVu Sans with Droid Sans Fallback for CJK, both embedded, so any answer
prints and can be searched; characters neither font has print as U+FFFD. The output is
byte-for-byte reproducible (reportlab's invariant mode: no clock, no random id).

The work is bounded like the Slack views' text: reportlab gets one paragraph per line of
at most `PIECE` characters, and a PDF holds at most `MAX_WORK` units of layout; past that
it ends with a note that the rest is in the task's data.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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

from api.domain.fields import FormField
from api.domain.task import Task
from api.domain.uploads import clean_signature
from renderers.values import EMPTY, display_value, human_date, human_size

FONTS = Path(__file__).parent / "fonts"
REGULAR, BOLD, FALLBACK = "InloopSans", "InloopSans-Bold", "InloopFallback"
MISSING = "\ufffd"
UNREADABLE = "(the signature image could not be shown)"
CUT = ("This PDF ends here: the task is too long to print in full. Every answer is in the "
       "task's data (the API and the dashboard).")
# reportlab re-wraps the rest of a paragraph at every page break and splits a long word
# a character at a time: short paragraphs keep both cheap.
PIECE = 1_000
# Layout units, 2 to 4 µs each on a slow machine: a PDF takes well under 1 s. A character
# is 1; a font change or an escaped `<&>` makes reportlab start a new fragment (~100); a
# paragraph ~150; a signature image (decoded and checked in full) ~10 000.
MAX_WORK = 250_000
FRAGMENT_WORK, PARAGRAPH_WORK, IMAGE_WORK = 100, 150, 10_000


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


@dataclass
class _Budget:
    """The layout work left; once it runs out, nothing more is added but the `CUT` note."""

    work: int = MAX_WORK
    cut: bool = False

    def paragraphs(self, text: str, style: str) -> list[Flowable]:
        out: list[Flowable] = []
        for piece in _pieces(text) if not self.cut else ():
            markup = _markup(piece)
            if not self.take(PARAGRAPH_WORK + len(piece) + FRAGMENT_WORK * _fragments(markup)):
                break
            out.append(Paragraph(markup, STYLES[style]) if piece else _blank(style))
        return out

    def take(self, work: int) -> bool:
        """Whether `work` fits in what is left (then it is spent); after the first that
        does not, nothing does."""
        if self.cut or work > self.work:
            self.cut = True
            return False
        self.work -= work
        return True

    def notice(self) -> list[Flowable]:
        return [Spacer(1, 12), Paragraph(CUT, STYLES["meta"])] if self.cut else []


def _pieces(text: str) -> Iterator[str]:
    """`text` as paragraphs: each line cut to `PIECE` characters (at a space if it has one),
    a run of blank lines as one empty piece."""
    blank = False
    for line in text.split("\n"):
        if line.strip():
            yield from _cut(line)
        elif not blank:
            yield ""
        blank = not line.strip()


def _cut(line: str) -> Iterator[str]:
    while len(line) > PIECE:
        at = line.rfind(" ", PIECE // 2, PIECE) + 1 or PIECE
        yield line[:at]
        line = line[at:]
    yield line


def _fragments(markup: str) -> int:
    return markup.count("<font") + markup.count("&")


def _blank(style: str) -> Flowable:
    return Spacer(1, STYLES[style].leading)


def _story(task: Task, images: Mapping[str, bytes]) -> list[Flowable]:
    budget = _Budget()
    story = [*budget.paragraphs(task.title, "title"), *_meta(task, budget)]
    for step in task.steps:
        story += budget.paragraphs(step.title, "step")
        for field in step.fields():
            story += budget.paragraphs(field.label, "label")
            story += _answer(field, task.data.get(field.name), images.get(field.name), budget)
    return story + budget.notice()


def _meta(task: Task, budget: _Budget) -> list[Flowable]:
    lines = [f"Task {task.task_id}", f"Status: {task.status}"]
    if task.completed_by:
        lines.append(f"Completed by {task.completed_by.name} (via {task.completed_by.channel})")
    if task.completed_at:
        lines.append(f"Completed on {human_date(task.completed_at.isoformat(), True)}")
    if task.cancel_reason:
        lines.append(f"Cancelled: {task.cancel_reason}")
    return [*(p for line in lines for p in budget.paragraphs(line, "meta")), Spacer(1, 6)]


def _answer(field: FormField, value: Any, image: bytes | None,
            budget: _Budget) -> list[Flowable]:
    if field.kind == "signature" and value is not None and image and budget.take(IMAGE_WORK):
        picture = _image(image)
        if picture:
            return [picture]
        return [*budget.paragraphs(UNREADABLE, "meta"), *_answer(field, value, None, budget)]
    if field.kind in ("file", "signature") and isinstance(value, Mapping):
        return [*budget.paragraphs(_file_line(value), "answer"),
                *budget.paragraphs(_sha(value), "meta")]
    text = display_value(field, value) if value is not None else EMPTY
    return budget.paragraphs(text, "answer")


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


def _markup(text: str) -> str:
    """User text as Paragraph markup: escaped, each run in a font that has its glyphs."""
    return "".join(_run(font, "".join(chars)) for font, chars in groupby(text, key=_font_of))


def _font_of(char: str) -> str:
    regular, fallback = _glyphs()
    code = ord(char)
    if code > 0xFFFF:  # reportlab writes no usable text mapping beyond the BMP
        return ""
    return REGULAR if code in regular else FALLBACK if code in fallback else ""


def _run(font: str, run: str) -> str:
    if not font:
        return MISSING * len(run)
    if font == FALLBACK:
        return f'<font name="{FALLBACK}">{escape(run)}</font>'
    return escape(run)


def _footer(task_id: str) -> Any:
    def draw(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(REGULAR, 8)
        canvas.setFillColor("#777777")
        canvas.drawString(2 * cm, 1.2 * cm, f"inloop · task {task_id}"[:120])
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Page {document.page}")
        canvas.restoreState()

    return draw
