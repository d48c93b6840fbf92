"""Redis replies as text: the clients return bytes, the store works in str."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text(value: bytes | str) -> str:
    """A Redis reply as text (clients return bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def text_hash(raw: Mapping[Any, Any]) -> dict[str, str]:
    """An HGETALL reply as text keys and values."""
    return {text(k): text(v) for k, v in raw.items()}
