"""Standard Webhooks delivery: signed POST to the checked address, never following redirects.

Signing key: a `whsec_<base64>` secret (padding optional) signs with its base64-decoded
bytes, so a receiver verifies with `standardwebhooks.Webhook(secret)` (see `api.domain.webhooks`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

import urllib3
from urllib3 import exceptions as http_errors

from api.domain.errors import BadSecret, BlockedAddress, Unresolvable
from api.domain.events import Attempt
from api.domain.task import WebhookSink
from api.domain.webhooks import WebhookSecret
from api.netguard import resolve_checked
from api.settings import Settings
from workers.sinks.base import SinkCall, elapsed_ms

USER_AGENT = "inloop/0.1"
MAX_RETRY_AFTER_S = 86_400


@dataclass(frozen=True)
class HttpResponse:
    status: int
    retry_after: str | None = None


class HttpPost(Protocol):
    """The injected sender: POST `body` to `url` on one of the checked `addresses`."""

    def __call__(self, url: str, addresses: list[str], headers: dict[str, str], body: bytes,
                 timeout: float) -> HttpResponse: ...


def signed_headers(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    """What one delivery sends: signed now, so every retry carries a fresh timestamp."""
    signed = WebhookSecret.parse(secret).headers(msg_id, int(time.time()), body)
    return {**signed, "content-type": "application/json", "user-agent": USER_AGENT}


def parse_retry_after(value: str | None, now: float | None = None) -> int | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date), at least 1."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):  # "nan", "inf": float() takes them, int() would not
        return None
    return int(min(max(seconds, 1), MAX_RETRY_AFTER_S))


def pinned_post(url: str, addresses: list[str], headers: dict[str, str], body: bytes,
                timeout: float) -> HttpResponse:
    """POST to the first reachable checked address, all of them within `timeout` seconds;
    the URL's host (IDNA-encoded) names the TLS peer and the Host header."""
    parts, deadline = urlsplit(url), time.monotonic() + timeout
    error: Exception = http_errors.NewConnectionError(None, "no address")  # type: ignore[arg-type]
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            raise http_errors.ConnectTimeoutError(f"no time left to try {address}")
        try:
            return _post_to(parts, address, headers, body, left)
        except http_errors.ConnectTimeoutError as failed:  # NewConnectionError too
            error = failed
    raise error


def ascii_host(parts: SplitResult) -> str:
    """The URL's host as it goes on the wire: IDNA for names, brackets for IPv6."""
    host = parts.hostname or ""
    return f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")


def _post_to(parts: SplitResult, address: str, headers: dict[str, str], body: bytes,
             timeout: float) -> HttpResponse:
    pool = _pool(parts, address, timeout)
    host = ascii_host(parts) + (f":{parts.port}" if parts.port else "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with pool:
        response = pool.urlopen("POST", path, body=body, headers={**headers, "host": host},
                                redirect=False, retries=False, assert_same_host=False,
                                preload_content=False)
        response.release_conn()
    return HttpResponse(response.status, response.headers.get("retry-after"))


def _pool(parts: SplitResult, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    limit = urllib3.Timeout(total=timeout)
    if parts.scheme == "https":
        peer = ascii_host(parts).strip("[]")
        return urllib3.HTTPSConnectionPool(address, parts.port or 443, timeout=limit,
                                           retries=False, server_hostname=peer,
                                           assert_hostname=peer)
    return urllib3.HTTPConnectionPool(address, parts.port or 80, timeout=limit, retries=False)


class WebhookTransport:
    """Signed POSTs. `post` is the I/O seam: one POST to one of the checked addresses."""

    def __init__(self, settings: Settings, *, post: HttpPost = pinned_post) -> None:
        self.settings = settings
        self.post = post

    def send(self, call: SinkCall) -> Attempt:
        """One signed attempt, classified: 2xx ok, 410 final, 429/503 with Retry-After."""
        assert isinstance(call.sink, WebhookSink)  # the registry routes by sink type
        if not call.secret:
            return Attempt(False, 0, error="the webhook sink has no secret", final=True)
        return self._attempt(call.sink.url, call.secret, call)

    def _attempt(self, url: str, secret: str, call: SinkCall) -> Attempt:
        timeout = self.settings.webhook_timeout_s
        started = time.monotonic()  # one deadline for the lookup and every address tried
        try:
            addresses = resolve_checked(url, allow_private=self.settings.allow_private_webhooks,
                                        timeout=timeout)
            headers = signed_headers(secret, call.event_id, call.body)
            left = timeout - (time.monotonic() - started)
            response = self.post(url, addresses, headers, call.body, left)
        except BadSecret:  # only a task stored before secrets were validated
            return Attempt(False, 0, error="the webhook secret is not valid whsec_ base64",
                           final=True)
        except BlockedAddress as error:
            final = not isinstance(error, Unresolvable)  # a DNS blip is worth another try
            return Attempt(False, elapsed_ms(started), error=f"refused: {error}", final=final)
        except http_errors.NewConnectionError as error:  # before TimeoutError: its subclass
            return Attempt(False, elapsed_ms(started), error=f"connection failed: {_reason(error)}")
        except http_errors.TimeoutError:
            return Attempt(False, elapsed_ms(started), error=f"timeout after {timeout:g} s")
        except http_errors.HTTPError as error:
            return Attempt(False, elapsed_ms(started), error=f"connection failed: {_reason(error)}")
        return classify(response, elapsed_ms(started))


def classify(response: HttpResponse, latency_ms: float) -> Attempt:
    code = response.status
    if 200 <= code < 300:
        return Attempt(True, latency_ms, status_code=code)
    retry_after = parse_retry_after(response.retry_after) if code in (429, 503) else None
    error = "redirect not followed" if 300 <= code < 400 else f"HTTP {code}"
    return Attempt(False, latency_ms, status_code=code, error=error, retry_after=retry_after,
                   final=code == 410)


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", None) or error)[:300]

