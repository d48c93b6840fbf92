"""UUID strings without `uuid.UUID` objects: the same text as `str(uuid.uuid4())` and
`str(uuid.uuid5(namespace, name))` for a third of the CPU (a create makes three)."""

from __future__ import annotations

import hashlib
import os
import uuid


def random_uuid() -> str:
    """`str(uuid.uuid4())`."""
    return _formatted(os.urandom(16), 4)


def name_uuid(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))`: SHA-1 of the namespace's bytes and the name."""
    digest = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()
    return _formatted(digest[:16], 5)


def _formatted(raw: bytes, version: int) -> str:
    """RFC 9562's text form of 16 bytes, with the version and variant bits set."""
    octets = bytearray(raw)
    octets[6] = octets[6] & 0x0F | version << 4
    octets[8] = octets[8] & 0x3F | 0x80
    text = octets.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
