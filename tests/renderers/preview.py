"""README pictures: `python -m tests.renderers.preview` writes docs/modal.png and
docs/pdf-page.png.

The modal picture is an approximation: the Block Kit JSON drawn by the small HTML
renderer below (Slack-like styling) and screenshotted with headless Chromium. The PDF
picture is the real first page, rasterised by pdftoppm (poppler-utils).
"""

from __future__ import annotations

import html
import io
import math
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from renderers.pdf import task_pdf
from renderers.slack_modal import modal_view
from tests.renderers.conftest import NOW, example_task

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM = ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--hide-scrollbars",
            "--force-device-scale-factor=2"]
STYLE = """
body { margin: 0; background: #8f8f8f; font: 15px/1.45 -apple-system, "Segoe UI", "DejaVu Sans",
  sans-serif; color: #1d1c1d; }
.modal { width: 520px; margin: 24px auto; background: #fff; border-radius: 8px;
  box-shadow: 0 18px 48px rgba(0,0,0,.35); overflow: hidden; }
.top { display: flex; justify-content: space-between; padding: 18px 24px;
  border-bottom: 1px solid #ddd; font-weight: 800; font-size: 20px; }
.top span { color: #616061; font-weight: 400; }
.body { padding: 12px 24px 4px; }
.context { color: #616061; font-size: 12px; margin: 8px 0; }
.header { font-weight: 800; font-size: 18px; margin: 8px 0 12px; }
.input { margin: 0 0 18px; }
.label { font-weight: 700; margin-bottom: 6px; }
.label i { font-weight: 400; color: #616061; font-style: normal; }
.box { border: 1px solid #bbb; border-radius: 4px; padding: 8px 10px; color: #616061;
  min-height: 20px; }
.box.tall { min-height: 60px; }
.row { display: flex; gap: 8px; }
.row .box { flex: 1; }
.radio { margin: 4px 0; }
.radio b { display: inline-block; width: 14px; height: 14px; border: 1px solid #888;
  border-radius: 50%; vertical-align: -2px; margin-right: 8px; }
.radio b.on { border: 5px solid #1264a3; width: 6px; height: 6px; }
.hint { color: #616061; font-size: 12px; margin-top: 4px; }
.foot { display: flex; justify-content: flex-end; gap: 10px; padding: 14px 24px;
  border-top: 1px solid #ddd; }
.btn { border: 1px solid #bbb; border-radius: 4px; padding: 6px 14px; font-weight: 700; }
.btn.go { background: #007a5a; color: #fff; border-color: #007a5a; }
.caption { width: 520px; margin: 0 auto 20px; color: #fff; font-size: 12px; text-align: center; }
"""


def _text(obj: dict[str, Any]) -> str:
    text = html.escape(obj["text"], quote=False)
    return re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text) if obj["type"] == "mrkdwn" else text


def _options(element: dict[str, Any]) -> str:
    chosen = element.get("initial_option", {}).get("value")
    return "".join(f'<div class="radio"><b class="{"on" if o["value"] == chosen else ""}">'
                   f"</b>{_text(o['text'])}</div>" for o in element["options"])


def _element(element: dict[str, Any]) -> str:
    kind = element["type"]
    if kind == "radio_buttons":
        return _options(element)
    if kind == "datetimepicker":
        return '<div class="row"><div class="box">Select a date</div>' \
               '<div class="box">Select time</div></div>'
    value = element.get("initial_value") or element.get("placeholder", {}).get("text", "")
    if kind == "static_select":
        value = element.get("initial_option", {}).get("text", {}).get("text", "Choose") + " ▾"
    tall = " tall" if element.get("multiline") else ""
    return f'<div class="box{tall}">{html.escape(value)}</div>'


def _block(block: dict[str, Any]) -> str:
    kind = block["type"]
    if kind == "context":
        return f'<div class="context">{" ".join(_text(e) for e in block["elements"])}</div>'
    if kind == "header":
        return f'<div class="header">{_text(block["text"])}</div>'
    if kind == "section":
        return f"<p>{_text(block['text'])}</p>"
    optional = " <i>(optional)</i>" if block.get("optional") else ""
    hint = f'<div class="hint">{_text(block["hint"])}</div>' if "hint" in block else ""
    return (f'<div class="input"><div class="label">{_text(block["label"])}{optional}</div>'
            f"{_element(block['element'])}{hint}</div>")


def modal_html(view: dict[str, Any]) -> str:
    """A Slack-like drawing of a modal view (enough block kinds for the README)."""
    blocks = "".join(_block(b) for b in view["blocks"])
    return (f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>"
            f'<div class="modal"><div class="top">{_text(view["title"])}<span>✕</span></div>'
            f'<div class="body">{blocks}</div><div class="foot">'
            f'<span class="btn">{_text(view["close"])}</span>'
            f'<span class="btn go">{_text(view["submit"])}</span></div></div>'
            '<p class="caption">Approximation drawn from the Block Kit JSON, not a Slack '
            "screenshot</p>")


def write_modal_png(target: Path) -> None:
    task = example_task("hpi_feedback")
    view = modal_view(task, 0, {"role": "Developer", "ease_of_use": 8, "overall_rating": 4})
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "modal.html"
        page.write_text(modal_html(view), encoding="utf-8")
        subprocess.run([*CHROMIUM, f"--screenshot={target}", "--window-size=570,940",
                        page.as_uri()], check=True, capture_output=True)


def signature_png() -> bytes:
    image = Image.new("RGBA", (600, 200), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    # A looping scribble: a slanted cycloid, close enough to a hand-drawn signature.
    points = [(40 + 2.6 * t - 22 * math.sin(t / 5), 105 - 38 * math.cos(t / 5) + 0.15 * t)
              for t in range(190)]
    pen.line(points, fill=(20, 20, 60, 255), width=5, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_pdf_png(target: Path) -> None:
    upload = {"name": "contract-zoë.pdf", "size": 245_310, "content_type": "application/pdf",
              "sha256": "9f2c1e7a" * 8, "url": "https://inloop.example/files/1"}
    task = example_task("hpi_onboarding", status="completed", completed_at=NOW,
                        completed_by={"channel": "slack", "id": "U1", "name": "Zoë Tanaka 東京"},
                        data={"full_name": "Zoë Tanaka (田中 ゾーイ)", "department": "Engineering",
                              "contract": upload, "approved": True,
                              "signature": {**upload, "name": "signature.png",
                                            "content_type": "image/png", "size": 4_812}})
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "task.pdf"
        pdf.write_bytes(task_pdf(task, images={"signature": signature_png()}))
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(target.with_suffix(""))], check=True)


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    write_modal_png(DOCS / "modal.png")
    write_pdf_png(DOCS / "pdf-page.png")
    print("wrote", DOCS / "modal.png", DOCS / "pdf-page.png")
