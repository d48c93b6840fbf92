"""Standard Webhooks delivery: signed POST to the checked address, never following redirects.

Signing key: a `whsec_<base64>` secret (padding optional) signs with its base64-decoded
bytes, so a receiver verifies with `standardwebhooks.Webhook(secret)` (see `api.domain.webhooks`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
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
MAX_POOLS = 256  # receivers (address, port, TLS name) a worker keeps connections to
MAX_DRAINED_BYTES = 65_536  # a response body read to keep its connection open


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


class PinnedPost:
    """POSTs to checked addresses over keep-alive connections, kept per (scheme, address,
    port, TLS name): a worker process holds one, so a busy receiver costs no handshake per
    delivery. A connection is only ever to the address the SSRF guard returned."""

    def __init__(self, max_pools: int = MAX_POOLS, pool_size: int = 4) -> None:
        self._pool_size = pool_size  # idle keep-alive connections kept per receiver
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = \
            OrderedDict()
        self._max_pools = max_pools
        self._lock = threading.Lock()

    def __call__(self, url: str, addresses: list[str], headers: dict[str, str], body: bytes,
                 timeout: float) -> HttpResponse:
        """POST to the first reachable checked address, all of them within `timeout`
        seconds; the URL's host (IDNA-encoded) names the TLS peer and the Host header."""
        parts, deadline = urlsplit(url), time.monotonic() + timeout
        error: Exception = http_errors.NewConnectionError(None, "no address")  # type: ignore[arg-type]
        for address in addresses:
            left = deadline - time.monotonic()
            if left <= 0:
                raise http_errors.ConnectTimeoutError(f"no time left to try {address}")
            try:
                return self._post_to(parts, address, headers, body, left)
            except http_errors.ConnectTimeoutError as failed:  # NewConnectionError too
                error = failed
        raise error

    def _post_to(self, parts: SplitResult, address: str, headers: dict[str, str],
                 body: bytes, timeout: float) -> HttpResponse:
        host = ascii_host(parts) + (f":{parts.port}" if parts.port else "")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = self._pool(parts, address).urlopen(
            "POST", path, body=body, headers={**headers, "host": host}, redirect=False,
            retries=False, assert_same_host=False, preload_content=False,
            timeout=urllib3.Timeout(total=timeout))
        _finish(response)
        return HttpResponse(response.status, response.headers.get("retry-after"))

    def _pool(self, parts: SplitResult, address: str) -> urllib3.HTTPConnectionPool:
        peer = ascii_host(parts).strip("[]") if parts.scheme == "https" else ""
        key = (parts.scheme, address, parts.port or (443 if peer else 80), peer)
        with self._lock:
            pool = self._pools.pop(key, None) or _new_pool(*key, self._pool_size)
            self._pools[key] = pool  # most recently used last
            if len(self._pools) > self._max_pools:
                self._pools.popitem(last=False)[1].close()
            return pool


def _new_pool(scheme: str, address: str, port: int, peer: str,
              size: int) -> urllib3.HTTPConnectionPool:
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(address, port, retries=False, maxsize=size,
                                           server_hostname=peer, assert_hostname=peer)
    return urllib3.HTTPConnectionPool(address, port, retries=False, maxsize=size)


def _finish(response: urllib3.BaseHTTPResponse) -> None:
    """Keep the connection only once a short body of known length is read; a long,
    unsized or endless body closes it instead of holding the attempt."""
    left = response.length_remaining
    if left is not None and left <= MAX_DRAINED_BYTES:
        response.drain_conn()
        response.release_conn()
    else:
        response.close()


def ascii_host(parts: SplitResult) -> str:
    """The URL's host as it goes on the wire: IDNA for names, brackets for IPv6."""
    host = parts.hostname or ""
    return f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")


class WebhookTransport:
    """Signed POSTs. `post` is the I/O seam: one POST to one of the checked addresses."""

    def __init__(self, settings: Settings, *, post: HttpPost | None = None) -> None:
        self.settings = settings
        # A connection kept per delivery a worker may have in flight to one receiver.
        self.post = post or PinnedPost(pool_size=settings.worker_concurrency)

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

