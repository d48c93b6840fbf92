"""inloop-client: ask a named person and get a typed answer, from Python, a shell or an
MCP host. See the inloop README ("Use from Python")."""

from inloop_client._client import AsyncClient, Client, ListFilters
from inloop_client.ask import AskOptions
from inloop_client.errors import (
    AskTimeout,
    Conflict,
    Forbidden,
    InloopError,
    InvalidAnswer,
    NotFound,
    TaskCancelled,
    TaskEnded,
    TaskExpired,
    TaskFailed,
    TaskRejected,
    Unauthorized,
    Unavailable,
    UnsupportedForm,
    ValidationFailed,
)
from inloop_client.forms import File, Rating, Signature, Textarea
from inloop_client.models import (
    Approval,
    Assignee,
    Delivery,
    Escalate,
    FormField,
    OnExpiry,
    Remind,
    Step,
    Task,
    TaskCreate,
    TaskCreated,
    UploadedFile,
    WaitResult,
)

__all__ = [
    "Approval", "AskOptions", "AskTimeout", "Assignee", "AsyncClient", "Client", "Conflict",
    "Delivery", "Escalate", "File", "Forbidden", "FormField", "InloopError", "InvalidAnswer",
    "ListFilters", "NotFound", "OnExpiry", "Rating", "Remind", "Signature", "Step", "Task",
    "TaskCancelled", "TaskCreate", "TaskCreated", "TaskEnded", "TaskExpired", "TaskFailed",
    "TaskRejected", "Textarea", "Unauthorized", "Unavailable", "UnsupportedForm", "UploadedFile",
    "ValidationFailed", "WaitResult",
]
