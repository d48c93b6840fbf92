"""What only `inloop dev` mounts: the caught mail at /dev/mail and one-time sign-in links
(the app as `inloop dev` builds it, with the dev mail catcher on loopback)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator
from email.message import EmailMessage

import pytest
from aiohttp.test_utils import TestClient

from api.devserver import _start_mail_catcher
from api.runtime import Services
from api.server import create_app
from api.store import keys
from api.store.dev_mail import DevMail
from api.store.sign_in_links import SignInLinks
from api.web import dev
from api.web.dev import MAIL_DIR
from tests.conftest import Account
from tests.web.helpers import csrf_from, post_form


@pytest.fixture
def catcher(services: Services) -> Iterator[str]:
    """The dev mail catcher, with the settings pointing at it as `inloop dev` does."""
    services.settings.smtp_url = None  # tests/web's settings name their own SMTP server
    started = _start_mail_catcher(services.settings)
    assert started is not None
    controller, env = started
    services.settings.smtp_url = env["INLOOP_SMTP_URL"]
    yield env["INLOOP_SMTP_URL"]
    controller.stop()


@pytest.fixture
async def dev_client(aiohttp_client: Callable[..., Awaitable[TestClient]],
                     services: Services) -> TestClient:
    return await aiohttp_client(create_app(services, extras=[dev.register]))


async def test_a_sign_in_code_is_readable_at_dev_mail(
        dev_client: TestClient, account: Account, services: Services, catcher: str,
        run_jobs: Callable[..., int]) -> None:
    token = await csrf_from(dev_client, "/dashboard/login")
    await post_form(dev_client, "/dashboard/login", {"csrf_token": token,
                                                     "email": account.member.email})
    run_jobs(("email",))
    page = await (await dev_client.get("/dev/mail")).text()
    assert f"To {account.member.email}" in page
    code = re.search(r"<pre>[^<]*\b(\d{6})\b", page)
    assert code, page
    done = await post_form(dev_client, "/dashboard/login/code", {"csrf_token": token,
                                                                 "code": code.group(1)})
    assert done.status == 303 and done.headers["Location"] == "/dashboard"


def mail(subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["Subject"], message["To"] = subject, "ops@example.com"
    message.set_content(body)
    return bytes(message)


async def test_dev_mail_is_escaped_newest_first_and_bounded(
        dev_client: TestClient, services: Services) -> None:
    box = DevMail(services.settings.data_dir / MAIL_DIR, keep=3)
    for n in range(5):
        box.add(mail(f"<b>mail {n}</b>", f"body {n} <script>alert(1)</script>"))
    assert [m["subject"] for m in box.newest()] == [f"<b>mail {n}</b>" for n in (4, 3, 2)]
    page = await (await dev_client.get("/dev/mail")).text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert re.findall(r"&lt;b&gt;mail (\d)", page) == ["4", "3", "2"]


async def test_a_sign_in_link_signs_in_once(dev_client: TestClient, account: Account,
                                            services: Services) -> None:
    link = SignInLinks(services.redis).create(account.member.id)
    stored = keys.sign_in_link(hashlib.sha256(link.encode()).hexdigest())
    assert services.redis.get(stored) is not None  # only the hash names it
    assert not services.redis.keys(f"*{link}*")
    assert 0 < services.redis.ttl(stored) <= 15 * 60
    first = await dev_client.get(f"/dev/sign-in/{link}", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == "/dashboard"
    dashboard = await dev_client.get("/dashboard", allow_redirects=False)
    assert dashboard.status == 200
    dev_client.session.cookie_jar.clear()
    again = await dev_client.get(f"/dev/sign-in/{link}", allow_redirects=False)
    assert again.status == 410 and "spent" in await again.text()
    assert (await dev_client.get("/dashboard", allow_redirects=False)).status == 303


async def test_serve_has_no_dev_routes(client: TestClient, account: Account,
                                       services: Services) -> None:
    link = SignInLinks(services.redis).create(account.member.id)
    for path in ("/dev/mail", f"/dev/sign-in/{link}"):
        assert (await client.get(path, allow_redirects=False)).status == 404
