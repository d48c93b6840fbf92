"""Slack's request signature, checked on the raw bytes before anything reads the body.

https://docs.slack.dev/authentication/verifying-requests-from-slack/ : `X-Slack-Signature`
is `v0=` + HMAC-SHA256(signing secret, `v0:{timestamp}:{body}`), and a timestamp more than
5 minutes from now is refused. Headers of any other shape are refused before parsing
(`int()` alone would take `" 1"`, `"+1"` or Arabic digits, and fail on `"abc"`).
The HMAC is taken over the raw bytes here rather than through slack_sdk's
SignatureVerifier, which decodes the body as UTF-8 and so raises on other bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from api.domain.errors import Unauthorized

WINDOW_S = 300
_STAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def verified_signature(secret: str, headers: Mapping[str, str], body: bytes,
                       now: float) -> str:
    """The request's signature once it proves that Slack sent `body` within the
    window; otherwise Unauthorized (401)."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (_STAMP.fullmatch(stamp) and _SIGNATURE.fullmatch(signature)):
        raise Unauthorized("missing or malformed Slack signature headers")
    if abs(now - int(stamp)) > WINDOW_S:
        raise Unauthorized("the Slack request timestamp is more than 5 minutes from now")
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("invalid Slack signature")
    return signature
