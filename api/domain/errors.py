"""Domain errors. Handlers turn them into HTTP responses; nothing else knows HTTP.

InloopError
 +-- InvalidRequest      400, carries field-level `details`
 +-- NotFound            404 (unknown id, or another org's)
 +-- Conflict            409 (task no longer pending, idempotency mismatch)
 +-- Unauthorized        401
 +-- Forbidden           403
 +-- Unavailable         503 (Redis unreachable)
 +-- Misconfigured       500 (a setting or the Redis server refused at start)
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


# -- Redis connection (issue 16: Sentinel, maxmemory-policy) -------------------------------


class Misconfigured(InloopError):
    """A setting or the Redis server is unfit to run on; raised at start, never by a request."""

    code = "misconfigured"
