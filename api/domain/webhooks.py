"""Standard Webhooks secrets: `whsec_` + base64 of 24..64 random bytes, minted, parsed and
signed with here only.

Padding may be left out, as `standardwebhooks.Webhook(secret)` (the receivers' check)
accepts it; the signing key is always what that library would decode. An integrator's own
secret in another form (HPI documents free text) signs with its UTF-8 bytes: receivers
verify with `Webhook("whsec_" + base64(secret))`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from api.domain.errors import BadSecret

PREFIX = "whsec_"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
MINTED_KEY_BYTES = 32


@dataclass(frozen=True)
class WebhookSecret:
    """A webhook sink's secret as stored (`text`) and the HMAC key it signs with."""

    text: str = field(repr=False)  # never in a log line or a traceback's locals
    key: bytes = field(repr=False)

    @classmethod
    def mint(cls) -> WebhookSecret:
        """A fresh `whsec_` secret, for a webhook sink created without one."""
        return cls.parse(PREFIX + base64.b64encode(secrets.token_bytes(MINTED_KEY_BYTES))
                         .decode())

    @classmethod
    def parse(cls, text: str) -> WebhookSecret:
        """A `whsec_` secret signs with its decoded bytes (BadSecret names what is wrong
        with a malformed one); other text with its UTF-8 bytes."""
        return cls(text, _decode(text) if text.startswith(PREFIX) else text.encode())

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` (Standard Webhooks)."""
        signed = f"{msg_id}.{timestamp}.".encode() + body
        digest = hmac.new(self.key, signed, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The Standard Webhooks headers of one signed delivery."""
        return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                "webhook-signature": self.sign(msg_id, timestamp, body)}


def _decode(secret: str) -> bytes:
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise BadSecret("secret after whsec_ must be standard base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise BadSecret(f"secret must encode {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, "
                        f"not {len(key)}")
    return key
