"""api.domain.uploads: safe names, content types, signature decoding."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from api.domain.errors import BadSignature, FileTooLarge
from api.domain.uploads import (
    PNG_MAGIC,
    clean_signature,
    content_type,
    decode_signature,
    display_name,
)
from tests.images import huge_png, png


@pytest.mark.parametrize(("given", "shown"), [
    ("C:\\Users\\x\\contract.pdf", "contract.pdf"), ("../../.bashrc", "bashrc"),
    ("a\x00b\nc.txt", "abc.txt"), ("", "upload"), (None, "upload"), ("Zoë.pdf", "Zoë.pdf"),
])
def test_display_names_are_never_paths(given: str | None, shown: str) -> None:
    assert display_name(given) == shown


def test_content_types_are_checked() -> None:
    assert content_type("Application/PDF; charset=x") == "application/pdf"
    assert content_type("text/html\r\nX-Evil: 1") == "application/octet-stream"
    assert content_type(None) == "application/octet-stream"


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_signature_must_be_a_small_png_data_url() -> None:
    signature = png()
    assert decode_signature(data_url(signature), 10_000) == signature
    for bad in (data_url(b"GIF89a"), "data:image/gif;base64,R0lG", "data:image/png;base64,@@",
                data_url(PNG_MAGIC + b"\0" * 10)):
        with pytest.raises(BadSignature):
            decode_signature(bad, 1000)
    with pytest.raises(FileTooLarge):
        decode_signature(data_url(PNG_MAGIC + b"\0" * 2000), 1000)


def test_a_signature_is_decoded_in_full_and_re_encoded() -> None:
    signature = png(40, 20)
    assert clean_signature(signature) == signature  # storing twice changes nothing
    with Image.open(io.BytesIO(clean_signature(signature + b"<html>trailer"))) as image:
        assert image.size == (40, 20)
    assert b"<html>" not in clean_signature(signature + b"<html>trailer")
    with pytest.raises(BadSignature, match="could not be read"):
        clean_signature(signature[: len(signature) // 2])  # truncated pixel data
    assert clean_signature(huge_png(4000, 2000)).startswith(PNG_MAGIC)  # the cap itself


@pytest.mark.parametrize("size", [(15000, 15000), (4001, 10), (10, 2001)])
def test_a_signature_over_the_pixel_cap_is_refused(size: tuple[int, int]) -> None:
    bomb = huge_png(*size)
    with pytest.raises(BadSignature, match="larger than 4000x2000 pixels"):
        clean_signature(bomb)
    with pytest.raises(BadSignature, match="larger than 4000x2000 pixels"):
        decode_signature(data_url(bomb), 10 * 1024 * 1024)
