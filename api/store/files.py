"""Uploaded files and signatures, stored by content (sha256) behind a small interface.

Client filenames are only ever shown, never used as paths: a file lives at
`{root}/{sha[:2]}/{sha}`. Signatures arrive as PNG data URLs (web form) or PNG bodies
(API); either way they are decoded by Pillow, limited to MAX_SIGNATURE_PX and re-encoded
here before they become ordinary files, so a stored signature is always a sane PNG that
the PDF renderer can draw (no decompression bombs, no trailing payloads).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import Protocol

from PIL import Image
from redis import Redis
from redis.client import Pipeline

from api.domain.task import Task
from api.store import keys
from api.store.tasks import atomic, pending

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_DATA_URL = "data:image/png;base64,"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")
MAX_FILES_PER_TASK = 50  # files (by content) one task may hold, answers or not
MAX_SIGNATURE_PX = (4000, 2000)  # width, height: far above any signature pad
PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
TOO_MANY_PIXELS = "the signature image is larger than {}x{} pixels".format(*MAX_SIGNATURE_PX)


class FileTooLarge(ValueError):
    """The upload is over the configured limit."""


class TooManyFiles(ValueError):
    """The task already holds MAX_FILES_PER_TASK files."""

    def __init__(self) -> None:
        super().__init__(f"this task already holds {MAX_FILES_PER_TASK} uploaded files, "
                         "the most it may")


class BadSignature(ValueError):
    """The signature is not a PNG data URL."""


class FileStorage(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; returns its sha256 (hex). Storing the same bytes twice is a no-op."""
        ...

    def read(self, sha256: str) -> bytes:
        """The bytes stored under `sha256`; FileNotFoundError if there are none."""
        ...

    def adopt(self, path: Path, sha256: str) -> None:
        """Store the received file at `path` (its sha256 already computed), moving it
        away; storing the same bytes twice is a no-op."""
        ...


class LocalFileStorage:
    """Files in a directory tree on local disk (the data dir by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise FileNotFoundError(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # atomic: readers never see a half-written file
        return digest

    def read(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def adopt(self, path: Path, sha256: str) -> None:
        target = self._path(sha256)
        if target.exists():
            path.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".upload-{path.name}")
        shutil.move(path, staged)  # a rename on the same disk, else a copy
        os.replace(staged, target)  # atomic: readers never see a half-written file


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


def signature_images(storage: FileStorage, task: Task) -> dict[str, bytes]:
    """The PNG of every signature the task's answers hold, by field name (for the PDF)."""
    images = {}
    for f in task.fields():
        value = task.data.get(f.name)
        if f.kind == "signature" and isinstance(value, dict):
            try:
                images[f.name] = storage.read(str(value.get("sha256", "")))
            except FileNotFoundError:
                continue  # a missing file costs the image, not the whole PDF
    return images


class FileClaims:
    """Which stored files belong to which task: storage is shared by content, so a file
    answer may only name a sha256 uploaded for that very task."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def claim(self, ref: str, sha256: str, limit: int = MAX_FILES_PER_TASK) -> bool:
        """Record that `sha256` was uploaded for this task. False, recording nothing, once
        the task holds `limit` other files: every upload of every step POST is claimed
        (valid step or not), so this bounds one link. Conflict once the task has ended:
        it accepts nothing, files included."""
        key = keys.task_files(ref)

        def write(pipe: Pipeline) -> bool:
            pending(pipe, ref)
            if not pipe.sismember(key, sha256) and pipe.scard(key) >= limit:
                return False
            pipe.multi()
            pipe.sadd(key, sha256)
            pipe.execute()
            return True

        return atomic(self.redis, write, keys.task(ref), key)

    def owns(self, ref: str, sha256: str) -> bool:
        return bool(self.redis.sismember(keys.task_files(ref), sha256))
