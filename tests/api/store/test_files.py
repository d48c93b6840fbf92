"""api.store.files: content-addressed local storage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from api.store.files import LocalFileStorage


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
