"""Standard Webhooks secrets: `whsec_` + base64 of 24..64 random bytes.

Padding may be left out, as `standardwebhooks.Webhook(secret)` (the receivers' check)
accepts it; the signing key is always what that library would decode. An integrator's own
secret in another form (HPI documents free text) signs with its UTF-8 bytes: receivers
verify with `Webhook("whsec_" + base64(secret))`.
"""

from __future__ import annotations

import base64
import binascii

from api.domain.errors import BadSecret

PREFIX = "whsec_"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


def decode(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; raises BadSecret with the reason."""
    if not secret.startswith(PREFIX):
        raise BadSecret("secret must be whsec_ followed by base64 (Standard Webhooks)")
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise BadSecret("secret after whsec_ must be standard base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise BadSecret(f"secret must encode {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, "
                        f"not {len(key)}")
    return key


def signing_key(secret: str) -> bytes:
    """The key a webhook is signed with: a `whsec_` secret's bytes, other text's UTF-8."""
    return decode(secret) if secret.startswith(PREFIX) else secret.encode()
