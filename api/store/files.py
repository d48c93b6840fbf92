"""Uploaded files and signatures, stored by content (sha256) behind a small interface.

Client filenames are only ever shown, never used as paths: a file lives at
`{root}/{sha[:2]}/{sha}`. What may be stored (names, types, clean signatures) is decided
by api/domain/uploads.py before the bytes get here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from redis import Redis
from redis.client import Pipeline

from api.domain.task import Task
from api.domain.uploads import MAX_FILES_PER_TASK
from api.store import keys
from api.store.codec import text
from api.store.tasks import atomic, pending

SHA256 = re.compile(r"^[0-9a-f]{64}$")


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

    def discard(self, sha256: str, claimed: Callable[[], bool]) -> bool:
        """Delete the file unless `claimed()` says a task claimed it meanwhile; whether
        it is gone."""
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

    def discard(self, sha256: str, claimed: Callable[[], bool]) -> bool:
        """Move the file aside first, then ask `claimed()`: an upload claims before it
        stores, so a claim made before the move is seen here (the file comes back), and
        one made after it stores the bytes anew (the move left nothing in place)."""
        path = self._path(sha256)
        aside = path.with_name(f".discard-{uuid.uuid4().hex}")
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return False
        if not claimed():
            aside.unlink()
            return True
        if path.exists():  # the new claim's upload stored the bytes again
            aside.unlink()
        else:
            os.replace(aside, path)
        return False


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
            pipe.sadd(keys.file_claims(sha256), ref)
            pipe.execute()
            return True

        return atomic(self.redis, write, keys.task(ref), key)

    def owns(self, ref: str, sha256: str) -> bool:
        return bool(self.redis.sismember(keys.task_files(ref), sha256))

    def release(self, ref: str, sha256: str) -> bool:
        """Drop the task's claim on the file; True when no task claims it any more."""
        with self.redis.pipeline() as pipe:
            pipe.srem(keys.file_claims(sha256), ref)
            pipe.scard(keys.file_claims(sha256))
            left: int = pipe.execute()[1]
        return left == 0

    def index_older_claims(self) -> None:
        """Once per Redis: record in `file:{sha256}:claims` the claims made before it
        existed (a scan of every task's file set), so `release` counts them too."""
        if self.redis.exists(keys.FILE_CLAIMS_INDEXED):
            return
        for key in self.redis.scan_iter(match=keys.task_files("*"), count=1000):
            ref = text(key).removeprefix(keys.task("")).removesuffix(":files")
            with self.redis.pipeline() as pipe:
                for sha in self.redis.smembers(key):
                    pipe.sadd(keys.file_claims(text(sha)), ref)
                pipe.execute()
        self.redis.set(keys.FILE_CLAIMS_INDEXED, "1")

    def claimed(self, sha256: str) -> bool:
        return bool(self.redis.exists(keys.file_claims(sha256)))
