"""What an upload may be, before it is stored: pure rules shared by every surface.

Client filenames are only ever shown, never used as paths. Signatures arrive as PNG data
URLs (web form) or PNG bodies (API); either way they are decoded by Pillow, limited to
MAX_SIGNATURE_PX and re-encoded before they become ordinary files, so a stored signature
is always a sane PNG that the PDF renderer can draw (no decompression bombs, no trailing
payloads). A download is always an attachment with nosniff and a sandboxing CSP, so an
uploaded HTML file can never run on our origin.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import unicodedata
from urllib.parse import quote

from PIL import Image

from api.domain.errors import BadSignature, FileTooLarge
from api.domain.fields import FileRef

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_DATA_URL = "data:image/png;base64,"
CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")
MAX_FILES_PER_TASK = 50  # files (by content) one task may hold, answers or not
MAX_SIGNATURE_PX = (4000, 2000)  # width, height: far above any signature pad
PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
TOO_MANY_PIXELS = "the signature image is larger than {}x{} pixels".format(*MAX_SIGNATURE_PX)


def display_name(filename: str | None, default: str = "upload") -> str:
    """A safe name to show and to offer in Content-Disposition (never used as a path)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[:200] or default


def content_type(value: str | None) -> str:
    value = (value or "").split(";", 1)[0].strip().lower()
    return value if CONTENT_TYPE.match(value) else "application/octet-stream"


def decode_signature(data_url: str, limit: int) -> bytes:
    """The PNG bytes of a signature pad's data URL, checked for magic and size."""
    if not data_url.startswith(PNG_DATA_URL):
        raise BadSignature("the signature must be a PNG image")
    encoded = data_url[len(PNG_DATA_URL):]
    if len(encoded) > limit * 4 // 3 + 4:
        raise FileTooLarge("the signature image is too large")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("the signature is not valid base64") from None
    return clean_signature(data)


def clean_signature(data: bytes) -> bytes:
    """`data` decoded and re-encoded as a plain PNG; BadSignature unless it is a PNG
    that decodes completely and is at most MAX_SIGNATURE_PX."""
    if not data.startswith(PNG_MAGIC):
        raise BadSignature("the signature must be a PNG image")
    try:
        return _reencoded(data)
    except BadSignature:
        raise
    except Image.DecompressionBombError:
        raise BadSignature(TOO_MANY_PIXELS) from None
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, bomb errors...)
        raise BadSignature("the signature image could not be read") from None


def _reencoded(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
        width, height = probe.size
        if width > MAX_SIGNATURE_PX[0] or height > MAX_SIGNATURE_PX[1]:
            raise BadSignature(TOO_MANY_PIXELS)
        probe.verify()  # chunk checksums; the pixels are decoded below
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        image.load()
        clean = image if image.mode in PNG_MODES else image.convert("RGBA")
        out = io.BytesIO()
        clean.save(out, format="PNG")
    return out.getvalue()


def _ascii_name(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                   for c in name)


def file_headers(ref: FileRef) -> dict[str, str]:
    disposition = (f"attachment; filename=\"{_ascii_name(ref.name)}\"; "
                   f"filename*=UTF-8''{quote(ref.name, safe='')}")
    return {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store"}
