"""Every error the client raises: one tree, never a raw httpx error.

InloopError
 +-- ValidationFailed    400, carries the API's field-level `details`
 +-- Unauthorized        401 (missing or invalid token)
 +-- Forbidden           403 (the token lacks the scope)
 +-- NotFound            404 (unknown task, or another org's)
 +-- Conflict            409 (task no longer pending, task_id reused with another body)
 +-- Unavailable         503/502/504, or the server cannot be reached at all
 +-- UnsupportedForm     a pydantic model that cannot become a form (also a TypeError)
 +-- InvalidAnswer       an answer the form accepted but the model's own rules refuse
 +-- TaskEnded           the task ended without an answer for `ask()`
 |    +-- TaskCancelled  cancelled (`reason`)
 |    +-- TaskFailed     failed (`errors`)
 |    |    +-- TaskExpired  failed because `expires_in` passed
 |    +-- TaskRejected   an approval policy's outcome is "rejected" (`data`)
 +-- AskTimeout          the caller's own timeout passed; the task stays open (also a
                         builtins.TimeoutError)
"""

from __future__ import annotations

from typing import Any


class InloopError(Exception):
    """Base of every client error. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or []

    def __str__(self) -> str:
        where = "; ".join(f"{d.get('loc', '?')}: {d.get('msg', '')}" for d in self.details)
        return f"{self.message} ({where})" if where else self.message


class ValidationFailed(InloopError):
    """400: the request broke the API's rules; `details` lists each one with its `loc`."""


class Unauthorized(InloopError):
    """401: no token, or an invalid one."""


class Forbidden(InloopError):
    """403: the token lacks the scope this call needs."""


class NotFound(InloopError):
    """404: no such task in the token's org."""


class Conflict(InloopError):
    """409: the task is no longer pending, or its task_id was used with another body."""


class Unavailable(InloopError):
    """The server or its store is unreachable for now; retrying later may work."""


class UnsupportedForm(InloopError, TypeError):
    """A pydantic model with a field no form field kind can ask for."""


class InvalidAnswer(InloopError):
    """The person's answer passed the form but not the model (e.g. a `pattern`)."""

    def __init__(self, message: str, *, task_id: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.data = data


class TaskEnded(InloopError):
    """The task ended without the answer `ask()` waits for."""

    def __init__(self, message: str, *, task_id: str, status: str) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.task_status = status


class TaskCancelled(TaskEnded):
    def __init__(self, task_id: str, reason: str | None) -> None:
        super().__init__(f"task {task_id} was cancelled"
                         + (f": {reason}" if reason else ""), task_id=task_id,
                         status="cancelled")
        self.reason = reason


class TaskFailed(TaskEnded):
    def __init__(self, task_id: str, errors: list[dict[str, Any]]) -> None:
        text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        super().__init__(f"task {task_id} failed" + (f" ({text})" if text else ""),
                         task_id=task_id, status="failed")
        self.errors = errors


class TaskExpired(TaskFailed):
    """Nobody answered before the task's `expires_in` passed."""


class TaskRejected(TaskEnded):
    """The approval's decision was one of its `reject_options`; `data` is that response."""

    def __init__(self, task_id: str, data: dict[str, Any]) -> None:
        super().__init__(f"task {task_id} was rejected with {data}", task_id=task_id,
                         status="completed")
        self.data = data


class AskTimeout(InloopError, TimeoutError):
    """No answer within the caller's timeout. The task stays open: ask again with the same
    idempotency key (or wait on `task_id`) to keep waiting for it."""

    def __init__(self, task_id: str, timeout: float) -> None:
        super().__init__(f"no answer to task {task_id} within {timeout:g} s; it stays open")
        self.task_id = task_id
        self.timeout = timeout


_BY_STATUS: dict[int, type[InloopError]] = {
    400: ValidationFailed, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    502: Unavailable, 503: Unavailable, 504: Unavailable,
}


def from_response(status: int, body: Any) -> InloopError:
    """The error for an API error response (`{"error", "message", "details"}`)."""
    body = body if isinstance(body, dict) else {}
    message = body.get("message") or body.get("error") or f"HTTP {status}"
    details = body.get("details") if isinstance(body.get("details"), list) else None
    kind = _BY_STATUS.get(status, InloopError)
    return kind(str(message), status=status, code=body.get("error"), details=details)
