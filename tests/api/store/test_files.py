"""api.store.files: content-addressed local storage, safe names, signature decoding."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from api.domain.errors import BadSignature, FileTooLarge
from api.store.files import (
    PNG_MAGIC,
    LocalFileStorage,
    clean_signature,
    content_type,
    decode_signature,
    display_name,
)
from tests.images import huge_png, png


def test_storage_is_by_sha256_and_idempotent(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    digest = storage.put(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    assert storage.put(b"hello") == digest
    assert (tmp_path / digest[:2] / digest).read_bytes() == b"hello"
    assert storage.read(digest) == b"hello"


def test_a_received_file_is_moved_into_place_once(tmp_path: Path) -> None:
    storage, incoming = LocalFileStorage(tmp_path / "files"), tmp_path / "incoming"
    incoming.mkdir()
    digest = hashlib.sha256(b"hello").hexdigest()
    for name in ("one", "two"):  # the same bytes received twice
        (incoming / name).write_bytes(b"hello")
        storage.adopt(incoming / name, digest)
    assert storage.read(digest) == b"hello" and list(incoming.iterdir()) == []
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [digest]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "0" * 63, "G" * 64, ""])
def test_storage_refuses_anything_but_a_digest(tmp_path: Path, bad: str) -> None:
    with pytest.raises(FileNotFoundError):
        LocalFileStorage(tmp_path).read(bad)


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
