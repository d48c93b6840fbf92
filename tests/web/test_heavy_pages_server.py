"""Heavy pages never hold up the server: the reported markdown attack at the largest size
the API accepts, and pages rendered in worker threads while /healthz keeps answering.

The reported attack itself (50 blocks of "![" * 10000) is refused at creation: see
tests/api/http/test_validation.py. The time budgets are generous (a shared, slow machine)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import jinja2
import pytest
from aiohttp.test_utils import TestClient

from api.domain.task import MAX_MARKDOWN, MAX_TASK_MARKDOWN
from tests.conftest import Account, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.helpers import dashboard_sign_in

ATTACK = "![" * (MAX_MARKDOWN // 2)  # ~1.9 s per block in the form before the fix
HEALTHZ_SECONDS = 1.0


def attack(blocks: int) -> dict[str, Any]:
    content = [{"type": "mdsvex", "content": ATTACK} for _ in range(blocks)]
    field = {"type": "input", "field": {"name": "ok", "label": "OK?", "kind": "checkbox"}}
    return {"title": "Heavy", "steps": [{"id": "s", "title": "S", "blocks": [*content, field]}]}


async def healthz_while(client: TestClient, loading: asyncio.Task[Any],
                        started: Callable[[], bool]) -> float:
    """Seconds from asking for a page until /healthz answered, once `started()` says the
    page is being rendered; a render on the event loop would hold both back."""
    asked = time.perf_counter()
    while not started() and not loading.done():
        await asyncio.sleep(0.005)
    health = await client.get("/healthz")
    assert health.status == 200
    return time.perf_counter() - asked


async def test_the_largest_accepted_attack_renders_fast_and_healthz_answers_meanwhile(
        client: TestClient, account: Account) -> None:
    task = await create(client, account, attack(MAX_TASK_MARKDOWN // MAX_MARKDOWN))
    asked = time.perf_counter()
    loading = asyncio.create_task(client.get(f"/t/{task['link_id']}"))
    waited = await healthz_while(client, loading, lambda: time.perf_counter() - asked > 0.05)
    response = await loading
    assert waited < HEALTHZ_SECONDS
    assert response.status == 200 and time.perf_counter() - asked < 5  # was about 20 s
    assert (await response.text()).count("<pre><code>![![![") == 10  # shown verbatim


@pytest.fixture
def slow_render(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The step and task pages take 2 s more to render (a render that holds its thread);
    the event is set once one started."""
    rendering = threading.Event()
    render = jinja2.Template.render

    def slowly(template: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        if template.name in ("step.html", "task.html"):
            rendering.set()
            time.sleep(2)
        return render(template, *args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", slowly)
    return rendering


@pytest.mark.parametrize("page", ["form", "dashboard task"])
async def test_pages_render_off_the_event_loop(
        page: str, client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], request: pytest.FixtureRequest) -> None:
    task = await create(client, account, example("hpi_approval"))
    path = f"/t/{task['link_id']}"
    if page == "dashboard task":
        await dashboard_sign_in(client, account, smtp_server, run_jobs)
        path = f"/dashboard/tasks/{task['task_id']}"
    rendering: threading.Event = request.getfixturevalue("slow_render")
    loading = asyncio.create_task(client.get(path))
    waited = await healthz_while(client, loading, rendering.is_set)
    assert rendering.is_set() and not loading.done()  # /healthz did not wait for the page
    assert waited < HEALTHZ_SECONDS
    assert (await loading).status == 200
