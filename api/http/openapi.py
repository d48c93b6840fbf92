"""OpenAPI 3.1 document generated from the pydantic models in `api.domain.task`."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from aiohttp import web
from pydantic.json_schema import models_json_schema

from api.domain import approval
from api.domain import task as models

REF = "#/components/schemas/{model}"
# Request bodies in validation mode, responses in serialization mode (what is sent).
_MODELS: list[tuple[type[Any], Any]] = [
    (models.TaskCreate, "validation"), (models.CompleteRequest, "validation"),
    (models.CancelRequest, "validation"), (models.TaskCreated, "serialization"),
    (models.Task, "serialization"), (models.WaitResult, "serialization"),
    (models.TaskPage, "serialization"), (models.ErrorBody, "serialization"),
    (approval.ClaimRequest, "validation"), (approval.ReassignRequest, "validation"),
    (approval.History, "serialization")]
_OBJECT = {"type": "object"}


def _ref(model: type[Any]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Invalid request (see details)", 401: "Missing or invalid token",
            403: "Token lacks the scope (or, on a team task, not an assignee)",
            404: "Unknown task (or another org's)",
            409: "Task ended, task_id reused with another body, a second response by "
                 "one person, or a claim held by someone else",
            413: "Body over 1 MiB", 503: "Redis unreachable"}
    return {str(s): _json(models.ErrorBody, text[s]) for s in statuses}


def _any(description: str, content_type: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {content_type: {"schema": _OBJECT}}}


def _op(summary: str, scope: str, ok: dict[str, Any], *errors: int,
        body: type[Any] | None = None, params: list[dict[str, Any]] | None = None,
        body_required: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "description": f"Required scope: `{scope}`.",
                          "responses": {**ok, **_errors(401, 403, 503, *errors)}}
    if body is not None:
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": _ref(body)}}}
    if params:
        op["parameters"] = params
    return op


def _param(name: str, where: str = "query", kind: str = "string",
           **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path",
            "schema": {"type": kind, **schema}}


def _paths() -> dict[str, Any]:
    tid = [_param("task_id", "path", format="uuid")]
    return {
        "/api/v1/tasks": {
            "post": _op("Create a task", "tasks:create",
                        {"201": _json(models.TaskCreated, "Created")}, 400, 409, 413,
                        body=models.TaskCreate),
            "get": _op("List tasks, newest first", "tasks:read",
                       {"200": _json(models.TaskPage, "A page of tasks")}, 400,
                       params=[_param("status", enum=list(get_args(models.Status)))]
                       + [_param(n) for n in ("assignee", "tag", "process_id", "corr_id",
                                              "parent", "cursor")]
                       + [_param("limit", kind="integer", minimum=1, maximum=200)]),
        },
        "/api/v1/tasks/{task_id}": {
            "get": _op("Get a task", "tasks:read", {"200": _json(models.Task, "The task")},
                       404, params=tid)},
        "/api/v1/tasks/{task_id}/wait": {
            "get": _op("Long-poll until the task ends (a claim does not end it)", "tasks:read",
                       {"200": _json(models.WaitResult, "Status now")}, 400, 404,
                       params=[*tid, _param("timeout", kind="number", minimum=0)])},
        "/api/v1/tasks/{task_id}/complete": {
            "post": _op("Complete a task with answers", "tasks:complete",
                        {"200": _json(models.Task, "Completed")}, 400, 404, 409,
                        body=models.CompleteRequest, params=tid)},
        "/api/v1/tasks/{task_id}/cancel": {
            "post": _op("Cancel a task", "tasks:cancel",
                        {"200": _json(models.Task, "Cancelled")}, 400, 404, 409,
                        body=models.CancelRequest, params=tid, body_required=False)},
        **_extra_paths(tid),
        **_team_paths(tid),
    }


def _team_paths(tid: list[dict[str, Any]]) -> dict[str, Any]:
    """Teams of approvers: claim, release, reassign, history (README "Teams of approvers")."""
    def change(summary: str, body: type[Any] | None = None, **kw: Any) -> dict[str, Any]:
        return {"post": _op(summary, "tasks:complete", {"200": _json(models.Task, "The task")},
                            400, 404, 409, body=body, params=tid, **kw)}

    return {
        "/api/v1/tasks/{task_id}/claim": change(
            "Claim a task (in_progress); admins may take over", approval.ClaimRequest,
            body_required=False),
        "/api/v1/tasks/{task_id}/release": change("Release a claim"),
        "/api/v1/tasks/{task_id}/reassign": change("Move an assignee's place to another "
                                                   "person", approval.ReassignRequest),
        "/api/v1/tasks/{task_id}/history": {
            "get": _op("The task's audit trail", "tasks:read",
                       {"200": _json(approval.History, "Entries in time order")}, 404,
                       params=tid)},
    }


def _extra_paths(tid: list[dict[str, Any]]) -> dict[str, Any]:
    """Sink deliveries and file answers (plain JSON objects, described in the README)."""
    field = [*tid, _param("field", "path")]
    upload = {"required": True, "content": {"*/*": {"schema": {"type": "string",
                                                               "format": "binary"}}}}
    return {
        "/api/v1/tasks/{task_id}/deliveries": {
            "get": _op("The task's sink deliveries and their attempts", "tasks:read",
                       {"200": _any("Deliveries")}, 404, params=tid)},
        "/api/v1/deliveries/{delivery_id}/retry": {
            "post": _op("Deliver one that gave up again", "admin",
                        {"202": _any("Queued again")}, 404, 409,
                        params=[_param("delivery_id", "path")])},
        "/api/v1/tasks/{task_id}/files/{field}": {
            "get": _op("Download a file answer", "tasks:read",
                       {"200": _any("The file", "application/octet-stream")}, 404,
                       params=field),
            "post": {**_op("Upload a file answer (the body is the file)", "tasks:complete",
                           {"201": _any("The file reference to pass in complete")},
                           400, 404, 409, 413, params=[*field, _param("filename")]),
                     "requestBody": upload}},
    }


@cache
def document() -> dict[str, Any]:
    _, schema = models_json_schema(_MODELS, ref_template=REF)
    task = schema["$defs"]["Task"]
    # Tokens without tasks:create/complete get tasks without their answering link.
    task["required"] = [name for name in task["required"] if name not in ("url", "link_id")]
    # GET adds the children (computed at read, not stored).
    task["properties"]["children"] = {"type": "array", "items": {
        "type": "object", "properties": {"task_id": {"type": "string"},
                                         "status": {"type": "string"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "inloop", "version": "1",
                 "description": "Human-in-the-loop tasks (HPI-compatible)."},
        "paths": _paths(),
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "apiKey": {"type": "apiKey", "in": "header",
                                           "name": "X-API-Key"}},
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())


def register(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json)
