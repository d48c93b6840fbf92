"""The OpenAPI document is generated from the models and is self-consistent."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from api.domain.task import TaskCreate
from api.http.app import create_api_app


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_document(client: TestClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    doc = await response.json()
    assert response.status == 200 and doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in _refs(doc))
    assert schemas["TaskCreate"]["properties"].keys() == TaskCreate.model_json_schema()[
        "properties"].keys()
    api = create_api_app()  # every REST route lives in the /api/v1 sub-app
    routes = {(r.method.lower(), "/api/v1" + r.resource.canonical) for r in api.router.routes()
              if r.resource is not None and r.method != "HEAD"
              and r.resource.canonical != "/openapi.json"}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    cancel = doc["paths"]["/api/v1/tasks/{task_id}/cancel"]["post"]
    assert cancel["requestBody"]["required"] is False  # an empty body cancels too
    assert "url" not in schemas["Task"]["required"]  # tasks:read-only tokens get no link
    assert schemas["WebhookSink"]["properties"]["secret"]["writeOnly"] is True
    kinds = json.dumps(schemas["FormField"]["properties"]["kind"])
    assert all(k in kinds for k in ("signature", "rating", "range"))
