"""The OpenAPI document is generated from the models and is self-consistent."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from aiohttp.web import Application

from api.domain.task import TaskCreate


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_document(client: TestClient, app: Application) -> None:
    response = await client.get("/api/v1/openapi.json")
    doc = await response.json()
    assert response.status == 200 and doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in _refs(doc))
    assert schemas["TaskCreate"]["properties"].keys() == TaskCreate.model_json_schema()[
        "properties"].keys()
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.method != "HEAD"
              and r.resource.canonical.startswith("/api/v1/")
              and r.resource.canonical != "/api/v1/openapi.json"}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    cancel = doc["paths"]["/api/v1/tasks/{task_id}/cancel"]["post"]
    assert cancel["requestBody"]["required"] is False  # an empty body cancels too
    assert "url" not in schemas["Task"]["required"]  # tasks:read-only tokens get no link
    assert schemas["WebhookSink"]["properties"]["secret"]["writeOnly"] is True
    kinds = json.dumps(schemas["FormField"]["properties"]["kind"])
    assert all(k in kinds for k in ("signature", "rating", "range"))
