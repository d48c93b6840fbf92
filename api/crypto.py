"""Secrets at rest: Fernet with key rotation (MultiFernet).

`INLOOP_SECRET_KEY` holds one or more Fernet keys separated by commas, newest first: the
first encrypts, every one decrypts, so a key is rotated by putting a new one in front and
dropping the old one once `SecretBox.rotate` has rewritten what it sealed. `inloop dev`
makes a key once and keeps it in its data dir (`secret.key`).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE = "secret.key"


class SecretKeyError(ValueError):
    """INLOOP_SECRET_KEY is not a comma-separated list of Fernet keys."""


class SecretBox:
    """Seals short secrets (bot tokens, TOTP seeds) for storage and opens them again."""

    def __init__(self, keys: str) -> None:
        try:
            fernets = [Fernet(key.strip()) for key in keys.split(",") if key.strip()]
        except ValueError as error:
            raise SecretKeyError(f"INLOOP_SECRET_KEY holds an invalid Fernet key: {error}"
                                 ) from None
        if not fernets:
            raise SecretKeyError("INLOOP_SECRET_KEY is empty")
        self._fernet = MultiFernet(fernets)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plain text; InvalidToken (a ValueError subclass here: SecretKeyError) when
        no key opens it (sealed under a key since dropped) or it was altered."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("no key in INLOOP_SECRET_KEY opens this secret") from None

    def rotate(self, sealed: str) -> str:
        """The same secret sealed under the newest key (SecretKeyError as `open`)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("no key in INLOOP_SECRET_KEY opens this secret") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def dev_key(data_dir: Path) -> str:
    """The key `inloop dev` uses: made once, kept (owner-only) in the data dir."""
    path = data_dir / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(new_key())
    return path.read_text().strip()
