"""The mail `inloop dev` catches in place of an SMTP server: one `.eml` file per message
under `{INLOOP_DATA_DIR}/dev-mail/` (the catcher runs in `inloop dev`, the page that
shows it in the HTTP server, another process), the newest KEEP only."""

from __future__ import annotations

import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

KEEP = 50


class DevMail:
    def __init__(self, directory: Path, keep: int = KEEP) -> None:
        self.directory = directory
        self.keep = keep

    def add(self, raw: bytes) -> None:
        """Store a message and drop the oldest past `keep`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Nanosecond names sort by arrival; written aside, then renamed, so a reader
        # never sees half a message.
        name = f"{time.time_ns():020d}"
        partial = self.directory / f"{name}.part"
        partial.write_bytes(raw)
        partial.rename(self.directory / f"{name}.eml")
        for old in self._files()[self.keep:]:
            old.unlink(missing_ok=True)

    def newest(self) -> list[EmailMessage]:
        """The kept messages, newest first."""
        return [message for path in self._files() if (message := _read(path)) is not None]

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.eml"), reverse=True)


def _read(path: Path) -> EmailMessage | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:  # dropped as newer mail arrived
        return None
    return email.message_from_bytes(raw, policy=email.policy.default)
