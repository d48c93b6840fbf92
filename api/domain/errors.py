"""Domain errors. Handlers turn them into HTTP responses; nothing else knows HTTP.

InloopError
 +-- InvalidRequest      400, carries field-level `details`
 +-- NotFound            404 (unknown id, or another org's)
 +-- Conflict            409 (task no longer pending, idempotency mismatch)
 +-- Unauthorized        401
 +-- Forbidden           403
 +-- CodeLocked          403 (email code expired, used, or too many wrong tries)
 +-- RateLimited         429 (too many email-code requests)
 +-- Unavailable         503 (Redis unreachable)
 +-- Misconfigured       500 (a setting or the Redis server refused at start)

ValueError: rules broken by one value, turned into a field's message by the caller
 +-- AnswerError         one field's answer is not acceptable
 +-- FileTooLarge        an upload over the configured limit
 +-- TooManyFiles        a task already holds the most files it may
 +-- BadSignature        a signature that is not a sane PNG
 +-- BlockedAddress      a URL resolving to an address inloop must not call
      +-- Unresolvable   the URL's host does not resolve now (worth retrying)
ValueError (data or configuration a sink cannot use; never a request's HTTP status)
 +-- BadSecret           a `whsec_` webhook secret that is not base64 of 24..64 bytes
 +-- SmtpUrlError        INLOOP_SMTP_URL unusable (its text never quotes the URL)
Exception
 +-- SlackRateLimited    Slack's 429 outlasting the client's retries (a Slack job retries)
 +-- Forged              a form POST without this browser's CSRF token (a 403 page)
 +-- TooComplex          markdown past its render budget (shown verbatim instead)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detail:
    loc: str
    msg: str
    type: str = "value_error"

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "msg": self.msg, "type": self.type}


class InloopError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


@dataclass
class InvalidRequest(InloopError):
    details: list[Detail] = field(default_factory=list)
    message: str = "the request is invalid; see details"
    status = 400
    code = "invalid_request"

    def __post_init__(self) -> None:
        super().__init__(self.message)


class NotFound(InloopError):
    status = 404
    code = "not_found"


class Conflict(InloopError):
    status = 409
    code = "conflict"


class Unauthorized(InloopError):
    status = 401
    code = "unauthorized"


class Forbidden(InloopError):
    status = 403
    code = "forbidden"


class Unavailable(InloopError):
    status = 503
    code = "unavailable"


# Domain contract: answers, uploads, email codes, outgoing addresses.


class AnswerError(ValueError):
    """One field's answer is not acceptable; the message is shown to the person."""


class FileTooLarge(ValueError):
    """The upload is over the configured limit."""


class TooManyFiles(ValueError):
    """The task already holds `limit` files, the most it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"this task already holds {limit} uploaded files, the most it may")


class BadSignature(ValueError):
    """The signature is not a PNG data URL."""


class RateLimited(InloopError):
    status = 429
    code = "rate_limited"


class CodeLocked(InloopError):
    """No usable code: expired, used, or too many wrong tries. Ask for a new one."""

    status = 403
    code = "code_locked"


class BlockedAddress(ValueError):
    """The URL resolves to an address inloop must not call."""


class Unresolvable(BlockedAddress):
    """The URL's host does not resolve now (perhaps a DNS blip: worth retrying)."""


# -- sinks ----------------------------------------------------------------------------


class BadSecret(ValueError):
    """Not a `whsec_` secret of 24..64 base64-encoded bytes. A ValueError, so a request
    model's validator turns it into a field-level detail."""


class SmtpUrlError(ValueError):
    """INLOOP_SMTP_URL cannot be used. The text never quotes the URL: it holds a password."""


# Slack (workers.slack_delivery raises it, workers.slack retries the job after Retry-After)


class SlackRateLimited(Exception):
    """Slack kept answering 429 beyond the client's own retries."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Slack rate limit: retry after {retry_after} s")
        self.retry_after = retry_after


# -- Redis connection (issue 16: Sentinel, maxmemory-policy) -------------------------------


class Misconfigured(InloopError):
    """A setting or the Redis server is unfit to run on; raised at start, never by a request."""

    code = "misconfigured"


# Web form and rendering: raised and caught inside one layer, never an HTTP error body.


class Forged(Exception):
    """The POST does not start with this browser's CSRF token."""


class TooComplex(Exception):
    """The markdown needs more than `renderers.budget.MAX_STEPS` parser steps."""
