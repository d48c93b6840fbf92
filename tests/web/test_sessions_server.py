"""Browser sessions: sign-out ends the session and needs CSRF, malformed cookies read as
signed out, and a CSRF token works only in the session it was made for."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient

from api.runtime import Services
from api.store import keys
from tests.conftest import Account, AccountFactory, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.helpers import csrf_from, dashboard_sign_in, post_form


def cookie(client: TestClient, name: str, path: str = "/") -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url(path))[name].value


def plant(client: TestClient, name: str, value: str) -> None:
    """Replace the browser's cookie `name` (as a sibling subdomain could)."""
    client.session.cookie_jar.clear(lambda c: c.key == name)
    client.session.cookie_jar.update_cookies({name: value}, response_url=client.make_url("/"))


async def signed_in(client: TestClient) -> bool:
    response = await client.get("/dashboard", allow_redirects=False)
    return response.status == 200


async def test_sign_out_needs_the_sessions_csrf_token_and_ends_the_session(
        client: TestClient, account: Account, services: Services,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    session_id = cookie(client, "inloop_session")
    assert (await client.get("/dashboard/logout", allow_redirects=False)).status == 405
    for fields in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}):
        refused = await post_form(client, "/dashboard/logout", fields)
        assert refused.status == 403 and "Set-Cookie" not in refused.headers
    assert await signed_in(client)  # a link or a forged form signs nobody out

    token = await csrf_from(client, "/dashboard")
    out = await post_form(client, "/dashboard/logout", {"csrf_token": token})
    assert out.status == 303 and out.headers["Location"] == "/dashboard/login"
    assert not services.redis.exists(keys.web_session(session_id))
    client.session.cookie_jar.update_cookies({"inloop_session": session_id})  # replayed
    assert not await signed_in(client)


async def test_a_csrf_token_works_only_in_its_own_session(
        client: TestClient, account: Account, make_account: AccountFactory,
        services: Services, smtp_server: SmtpServer, run_jobs: Callable[..., int],
        client_from: Callable[[str], TestClient]) -> None:
    task = await create(client, account, example("hpi_approval"))
    cancel = f"/dashboard/tasks/{task['task_id']}/cancel"
    alice, bob = client_from("198.51.100.1"), client_from("198.51.100.2")
    await dashboard_sign_in(alice, account, smtp_server, run_jobs, count=1)
    other_admin = make_account(org_id=account.org_id, admin=True)
    await dashboard_sign_in(bob, other_admin, smtp_server, run_jobs, count=2)
    alices = await csrf_from(alice, f"/dashboard/tasks/{task['task_id']}")
    assert (await post_form(bob, cancel, {"csrf_token": alices})).status == 403
    # Even with Alice's CSRF cookie planted in Bob's browser: the token names her session.
    plant(bob, "inloop_csrf", cookie(alice, "inloop_csrf"))
    assert (await post_form(bob, cancel, {"csrf_token": alices})).status == 403
    assert services.store.load(account.ref(task["task_id"])).status == "pending"
    assert (await post_form(alice, cancel, {"csrf_token": alices})).status == 303
    assert services.store.load(account.ref(task["task_id"])).status == "cancelled"


async def test_a_planted_cookie_cannot_forge_a_token(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], client_from: Callable[[str], TestClient]) -> None:
    """A plain double-submit cookie falls to cookie tossing (a sibling subdomain setting
    `inloop_csrf`); a token bound to the session does not."""
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    attacker = client_from("203.0.113.7")
    forged = await csrf_from(attacker, "/dashboard/login")  # a pair valid for nobody's session
    plant(client, "inloop_csrf", cookie(attacker, "inloop_csrf"))
    response = await post_form(client, "/dashboard/logout", {"csrf_token": forged})
    assert response.status == 403 and await signed_in(client)
    token = await csrf_from(client, "/dashboard")  # the victim's own page still works
    assert (await post_form(client, "/dashboard/logout", {"csrf_token": token})).status == 303


async def test_a_token_from_before_sign_in_is_not_the_sessions(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    before = await csrf_from(client, "/dashboard/login")
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    assert (await post_form(client, "/dashboard/logout", {"csrf_token": before})).status == 403
    assert await signed_in(client)


MALFORMED: dict[str, Callable[[str], str]] = {
    "stash key": lambda sid: f"{sid}:created", "longer": lambda sid: sid + "x",
    "shorter": lambda sid: sid[:-1], "garbage": lambda _: "garbage",
    "path": lambda _: "../../etc/passwd", "huge": lambda _: "a" * 4000,
    "non-ascii": lambda sid: sid[1:] + "\u00e9", "wrong alphabet": lambda sid: sid[:-1] + "=",
}


@pytest.mark.parametrize("shape", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_session_cookie_reads_as_signed_out(
        shape: Callable[[str], str], client: TestClient, account: Account,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    token = await csrf_from(client, "/dashboard/settings/tokens")
    created = await post_form(client, "/dashboard/settings/tokens",
                              {"csrf_token": token, "scope": "tasks:read"})
    assert created.status == 303  # the session now has a "created" entry to show once
    value = shape(cookie(client, "inloop_session"))
    client.session.cookie_jar.clear()
    headers = {"Cookie": f"inloop_session={value}"}
    for path in ("/dashboard", "/dashboard/settings/tokens", "/dashboard/login"):
        response = await client.get(path, headers=headers, allow_redirects=False)
        assert response.status in (200, 303), (path, response.status)
        assert "Sign out" not in await response.text()
    listed = await client.get("/dashboard/api/tasks", headers=headers)
    assert listed.status == 401


@pytest.mark.parametrize("value", ["x", "a" * 42 + ":", "\u00e9" * 43, "b" * 2000],
                         ids=["short", "colon", "non-ascii", "long"])
async def test_a_malformed_task_cookie_reads_as_no_grant(
        value: str, client: TestClient, account: Account) -> None:
    task = await create(client, account, {**example("hpi_approval"),
                                          "assignee_email": "ext@partner.example"})
    headers = {"Cookie": f"inloop_task={value}; inloop_code={value}; inloop_csrf={value}"}
    response = await client.get(f"/t/{task['link_id']}", headers=headers,
                                allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].endswith("/verify")
    page = await client.get(f"/t/{task['link_id']}/verify", headers=headers)
    assert page.status == 200
