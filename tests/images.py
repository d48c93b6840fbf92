"""Real PNG images for tests: signatures are decoded and re-encoded when stored, so a
fake (magic bytes and zeros) is refused."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image


def png(width: int = 300, height: int = 100, *, noise: bool = False) -> bytes:
    """A PNG as Pillow writes it (storing it again gives the same bytes); with `noise`
    random pixels, so it barely compresses (about width * height * 4 bytes)."""
    pixels = os.urandom(width * height * 4) if noise else bytes(width * height * 4)
    buffer = io.BytesIO()
    Image.frombytes("RGBA", (width, height), pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data))


def huge_png(width: int = 15000, height: int = 15000) -> bytes:
    """A valid 1-bit PNG whose pixels are all zero: tiny on the wire, huge decoded."""
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(row * height, 9)) + _chunk(b"IEND", b""))
