"""A short fuzz of the REST API (schemathesis over /api/v1/openapi.json) against the real
app listening on a loopback port: no 5xx, and every response matches the document."""

from __future__ import annotations

import asyncio
import os
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.domain.task import CompletedBy
from api.http.openapi import document
from api.runtime import Services
from api.server import create_app
from tests.conftest import Account
from tests.fixtures import example
from tests.ports import free_port

SCHEMA = schemathesis.openapi.from_dict(document())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
FILE_FIELDS = ["contract", "signature"]  # of hpi_onboarding
# Examples per operation: about a minute for the whole API on a small CI machine (more
# for a longer hunt: INLOOP_FUZZ_EXAMPLES=500).
EXAMPLES = int(os.environ.get("INLOOP_FUZZ_EXAMPLES", "50"))


class LiveApp:
    """The whole app on 127.0.0.1, served from its own thread and event loop."""

    def __init__(self, services: Services) -> None:
        self.services, self.port = services, free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    async def _serve(self) -> None:
        self.runner = web.AppRunner(create_app(self.services), access_log=None,
                                    handle_signals=False)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_exc: object) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def live_api(services: Services) -> Iterator[str]:
    with LiveApp(services) as url:
        yield url


@pytest.fixture
def task_ids(services: Services, account: Account) -> list[str]:
    """Real tasks of the caller's org (pending, completed, cancelled), so fuzzed paths
    reach them and not only 404s."""
    who = services.directory.authenticate(account.token)
    ids = [services.tasks.create(who, example(name))[0]["task_id"]
           for name in ("hpi_approval", "hpi_feedback", "hpi_onboarding")]
    by = CompletedBy(channel="api", id=who.member.id, name=who.member.name)
    services.tasks.complete(services.store.get(who.org_id, ids[0]), {"decision": "Approve"}, by)
    services.store.cancel(account.ref(ids[1]), "fuzz")
    return ids


def _aim(case: Case, task_ids: list[str]) -> None:
    """Most generated task ids and file fields become real ones, each as likely as the
    generated one (picked by a checksum of the generated value, so Hypothesis still
    shrinks); `/wait` holds at most a second."""
    params: dict[str, Any] = case.path_parameters or {}
    for name, real in (("task_id", task_ids), ("field", FILE_FIELDS)):
        if name in params:
            choices = [*real, params[name]]
            digest = zlib.crc32(str(params[name]).encode(errors="surrogatepass"))
            params[name] = choices[digest % len(choices)]
    if case.path.endswith("/wait"):
        case.query = {**(case.query or {}), "timeout": 1}


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_the_api_holds_to_its_openapi_document(case: Case, live_api: str, account: Account,
                                               task_ids: list[str]) -> None:
    _aim(case, task_ids)
    case.call_and_validate(base_url=live_api, headers=account.headers, checks=CHECKS)
