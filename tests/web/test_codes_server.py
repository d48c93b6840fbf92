"""Email codes: hashed at rest, short-lived, single use, limited tries and resends, and
no limit a stranger can turn against the assignee."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aiohttp.test_utils import TestClient

from api.runtime import Services
from api.store import keys
from api.web.pages import WEB
from tests.conftest import Account, create
from tests.fixtures import example
from tests.servers import SmtpServer
from tests.web.conftest import emailed_code
from tests.web.helpers import csrf_from, dashboard_sign_in, post_form


async def external(client: TestClient, account: Account) -> dict:
    return await create(client, account, {**example("hpi_approval"),
                                          "assignee_email": "ext@partner.example"})


async def test_code_is_stored_hashed_with_a_ttl_and_works_once(
        client: TestClient, account: Account, services: Services,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    task = await external(client, account)
    verify = f"/t/{task['link_id']}/verify"
    token = await csrf_from(client, f"/t/{task['link_id']}")  # redirected to the code page
    sent = await post_form(client, f"{verify}/send", {"csrf_token": token})
    assert sent.status == 303 and sent.headers["Location"] == f"{verify}?sent=1"
    assert "Path=/t/" in sent.headers["Set-Cookie"] and "HttpOnly" in sent.headers["Set-Cookie"]
    code = emailed_code(smtp_server, run_jobs, 1)
    code_id = services.redis.get(keys.otp_last(f"task:{account.ref(task['task_id'])}")).decode()
    stored = services.redis.hgetall(keys.otp_mailed(code_id))
    assert stored and code.encode() not in b"".join(stored.values())
    assert 0 < services.redis.ttl(keys.otp_mailed(code_id)) <= 600
    assert not services.redis.keys("rq:job:*")  # the job (and the code in it) is gone

    ok = await post_form(client, verify, {"csrf_token": token, "code": code})
    assert ok.status == 303 and ok.headers["Location"] == f"/t/{task['link_id']}"
    assert "Path=/t/" in ok.headers["Set-Cookie"] and "HttpOnly" in ok.headers["Set-Cookie"]
    assert (await client.get(f"/t/{task['link_id']}")).status == 200
    client.session.cookie_jar.clear()
    again = await csrf_from(client, verify)
    reused = await post_form(client, verify, {"csrf_token": again, "code": code})
    assert reused.status == 403  # single use


async def test_sending_needs_csrf_and_is_rate_limited(
        client: TestClient, account: Account, services: Services) -> None:
    task = await external(client, account)
    send = f"/t/{task['link_id']}/verify/send"
    assert (await post_form(client, send, {"csrf_token": "nope"})).status == 403
    assert services.jobs["email"].count == 0
    token = await csrf_from(client, f"/t/{task['link_id']}/verify")
    statuses = [(await post_form(client, send, {"csrf_token": token})).status
                for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert services.jobs["email"].count == 1  # one mail a minute: the rest join it


async def test_per_ip_limit_covers_many_tasks(client: TestClient, account: Account,
                                              services: Services) -> None:
    codes = client.app[WEB].codes
    codes.policy = replace(codes.policy, sends_per_ip=3)
    tasks = [await external(client, account) for _ in range(4)]
    token = await csrf_from(client, f"/t/{tasks[0]['link_id']}/verify")
    statuses = [(await post_form(client, f"/t/{t['link_id']}/verify/send",
                                 {"csrf_token": token})).status for t in tasks]
    assert statuses == [303, 303, 303, 429]


async def test_behind_trusted_proxies_the_limit_is_per_forwarded_client(
        client: TestClient, account: Account, services: Services) -> None:
    services.settings.trusted_proxy_hops = 1
    codes = client.app[WEB].codes
    codes.policy = replace(codes.policy, sends_per_ip=2)
    tasks = [await external(client, account) for _ in range(5)]
    token = await csrf_from(client, f"/t/{tasks[0]['link_id']}/verify")

    async def send(task: dict, forwarded: str) -> int:
        response = await post_form(client, f"/t/{task['link_id']}/verify/send",
                                   {"csrf_token": token}, headers={"X-Forwarded-For": forwarded})
        return int(response.status)

    # The proxy appends the real client; what the client claims further left is ignored.
    assert [await send(tasks[0], "203.0.113.7"), await send(tasks[1], "1.1.1.1, 203.0.113.7"),
            await send(tasks[2], "2.2.2.2, 203.0.113.7")] == [303, 303, 429]
    assert await send(tasks[3], "198.51.100.9") == 303  # another client behind the proxy
    assert services.redis.keys(keys.PREFIX + "*203.0.113.7*")


async def test_tasks_without_otp_skip_the_code_page(client: TestClient,
                                                    account: Account) -> None:
    task = await create(client, account, example("hpi_approval"))
    response = await client.get(f"/t/{task['link_id']}/verify", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/t/{task['link_id']}"


async def test_a_code_session_opens_only_its_own_task(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int]) -> None:
    first, second = await external(client, account), await external(client, account)
    verify = f"/t/{first['link_id']}/verify"
    token = await csrf_from(client, verify)
    await post_form(client, f"{verify}/send", {"csrf_token": token})
    code = emailed_code(smtp_server, run_jobs, 1)
    await post_form(client, verify, {"csrf_token": token, "code": code})
    session = client.session.cookie_jar.filter_cookies(
        client.make_url(f"/t/{first['link_id']}"))["inloop_task"].value
    assert (await client.get(f"/t/{first['link_id']}", allow_redirects=False)).status == 200
    client.session.cookie_jar.update_cookies({"inloop_task": session})  # replayed on path /
    other = await client.get(f"/t/{second['link_id']}", allow_redirects=False)
    assert other.status == 303 and other.headers["Location"].endswith("/verify")


async def test_wrong_codes_are_capped_per_day_across_resends(
        client: TestClient, account: Account, services: Services,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    """5 tries per code, but 15 wrong codes per task and network in 24 h however many
    are sent."""
    codes = client.app[WEB].codes
    codes.policy = replace(codes.policy, mail_interval_s=0)  # a new code for every send
    task = await external(client, account)
    verify = f"/t/{task['link_id']}/verify"
    token = await csrf_from(client, verify)

    async def guess(code: str) -> int:
        return int((await post_form(client, verify, {"csrf_token": token,
                                                     "code": code})).status)

    async def send() -> int:
        return int((await post_form(client, f"{verify}/send", {"csrf_token": token})).status)

    for sent, tries in enumerate((5, 5, 4), start=1):
        assert await send() == 303
        code = emailed_code(smtp_server, run_jobs, sent)
        assert [await guess(wrong(code)) for _ in range(tries)] == [400] * tries
    assert await send() == 303  # 14 wrong so far: still allowed
    code = emailed_code(smtp_server, run_jobs, 4)
    assert await guess(wrong(code)) == 400  # the 15th
    locked = await post_form(client, verify, {"csrf_token": token, "code": code})
    assert locked.status == 403  # even the right code, until the day has passed
    assert "too many wrong codes were entered; try again in 24 hours" in await locked.text()
    refused = await post_form(client, f"{verify}/send", {"csrf_token": token})
    assert refused.status == 429 and "try again in 24 hours" in await refused.text()
    assert services.jobs["email"].count == 0  # no code mailed that could not work
    failures = keys.otp_rate("failures", f"task:{account.ref(task['task_id'])}|127.0.0.1")
    assert 23 * 3600 < services.redis.ttl(failures) <= 24 * 3600


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_a_stranger_cannot_lock_out_the_assignee(
        client: TestClient, account: Account, services: Services, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], client_from: Callable[[str], TestClient]) -> None:
    """A stranger with the link, on another network, uses up every limit they can: they
    are refused, the assignee is not, and the mailbox gets one mail."""
    task = await external(client, account)
    verify = f"/t/{task['link_id']}/verify"
    owner, stranger = client_from("198.51.100.9"), client_from("203.0.113.7")
    owner_token, token = await csrf_from(owner, verify), await csrf_from(stranger, verify)
    assert (await post_form(owner, f"{verify}/send", {"csrf_token": owner_token})).status == 303
    code = emailed_code(smtp_server, run_jobs, 1)

    async def stranger_sends() -> int:
        return int((await post_form(stranger, f"{verify}/send",
                                    {"csrf_token": token})).status)

    async def stranger_guesses() -> list[int]:
        return [int((await post_form(stranger, verify, {"csrf_token": token,
                                                        "code": wrong(code)})).status)
                for _ in range(5)]

    for _ in range(3):  # 15 wrong codes, the most a network may enter in a day
        assert await stranger_sends() == 303
        assert await stranger_guesses() == [400] * 5
    assert await stranger_sends() == 429
    assert await stranger_guesses() == [403] * 5  # "try again in 24 hours"
    assert services.jobs["email"].count == 0 and len(smtp_server.mailbox.messages) == 1

    entered = await post_form(owner, verify, {"csrf_token": owner_token, "code": code})
    assert entered.status == 303 and entered.headers["Location"] == f"/t/{task['link_id']}"
    assert (await owner.get(f"/t/{task['link_id']}", allow_redirects=False)).status == 200


async def test_sends_from_many_networks_leave_the_assignee_a_code(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], client_from: Callable[[str], TestClient]) -> None:
    task = await external(client, account)
    verify = f"/t/{task['link_id']}/verify"
    for n in range(6):  # more than the old per-task quota, each from its own network
        stranger = client_from(f"203.0.113.{n + 1}")
        token = await csrf_from(stranger, verify)
        assert (await post_form(stranger, f"{verify}/send", {"csrf_token": token})).status == 303
    owner = client_from("198.51.100.9")
    token = await csrf_from(owner, verify)
    assert (await post_form(owner, f"{verify}/send", {"csrf_token": token})).status == 303
    code = emailed_code(smtp_server, run_jobs, 1)  # the one mail: the owner joined it
    entered = await post_form(owner, verify, {"csrf_token": token, "code": code})
    assert entered.status == 303 and entered.headers["Location"] == f"/t/{task['link_id']}"


async def test_ipv6_clients_are_limited_by_their_64_prefix(
        client: TestClient, account: Account, services: Services) -> None:
    services.settings.trusted_proxy_hops = 1
    codes = client.app[WEB].codes
    codes.policy = replace(codes.policy, sends_per_ip=2)
    tasks = [await external(client, account) for _ in range(4)]
    token = await csrf_from(client, f"/t/{tasks[0]['link_id']}/verify")

    async def send(task: dict, forwarded: str) -> int:
        response = await post_form(client, f"/t/{task['link_id']}/verify/send",
                                   {"csrf_token": token}, headers={"X-Forwarded-For": forwarded})
        return int(response.status)

    # One host picks any address in its /64: still one client.
    assert [await send(tasks[0], "2001:db8:1:2::1"), await send(tasks[1], "2001:db8:1:2:ffff::9"),
            await send(tasks[2], "2001:db8:1:2:abcd:1234:5678:9abc")] == [303, 303, 429]
    assert await send(tasks[3], "2001:db8:1:3::1") == 303  # the next /64 is someone else
    assert services.redis.keys(keys.PREFIX + "*2001:db8:1:2::/64*")


async def test_the_code_page_masks_the_phone_like_the_email(client: TestClient,
                                                            account: Account) -> None:
    task = await create(client, account, {**example("hpi_approval"),
                                          "assignee_email": "ext@partner.example",
                                          "assignee_phone": "+44 7700 900123"})
    page = await (await client.get(f"/t/{task['link_id']}/verify")).text()
    assert "e**@partner.example" in page and "+** **** ****23" in page
    assert "900123" not in page and "7700" not in page


async def test_a_stranger_cannot_lock_a_member_out_of_sign_in(
        client: TestClient, account: Account, services: Services, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], client_from: Callable[[str], TestClient]) -> None:
    """Sign-in requests for a member's email from a stranger's network: the stranger is
    refused, the mailbox gets one mail, and the member still signs in from home."""
    stranger, email = client_from("203.0.113.7"), account.member.email
    token = await csrf_from(stranger, "/dashboard/login")

    async def start() -> int:
        return int((await post_form(stranger, "/dashboard/login",
                                    {"csrf_token": token, "email": email})).status)

    async def guess(code: str) -> int:
        return int((await post_form(stranger, "/dashboard/login/code",
                                    {"csrf_token": token, "code": code})).status)

    assert await start() == 303
    code = emailed_code(smtp_server, run_jobs, 1)
    assert [await start() for _ in range(5)] == [303] * 4 + [429]
    assert [await guess(wrong(code)) for _ in range(5)] == [400] * 5  # its own attempt
    assert services.jobs["email"].count == 0  # the requests joined the first mail

    member = client_from("198.51.100.9")
    own = await csrf_from(member, "/dashboard/login")
    started = await post_form(member, "/dashboard/login", {"csrf_token": own, "email": email})
    assert started.status == 303  # joins the code already in the mailbox: no new mail
    done = await post_form(member, "/dashboard/login/code", {"csrf_token": own, "code": code})
    assert done.status == 303 and done.headers["Location"] == "/dashboard"
    assert (await member.get("/dashboard", allow_redirects=False)).status == 200
    assert len(smtp_server.mailbox.messages) == 1 and services.jobs["email"].count == 0


async def test_sign_in_guesses_lock_only_the_guessing_network(
        client: TestClient, account: Account, smtp_server: SmtpServer,
        run_jobs: Callable[..., int], client_from: Callable[[str], TestClient]) -> None:
    stranger, email = client_from("2001:db8:bad::1"), account.member.email
    token = await csrf_from(stranger, "/dashboard/login")
    code = ""
    for _ in range(3):  # 15 wrong codes over three attempts
        await post_form(stranger, "/dashboard/login", {"csrf_token": token, "email": email})
        code = code or emailed_code(smtp_server, run_jobs, 1)
        for _ in range(5):
            await post_form(stranger, "/dashboard/login/code",
                            {"csrf_token": token, "code": wrong(code)})
    refused = await post_form(stranger, "/dashboard/login", {"csrf_token": token,
                                                             "email": email})
    assert refused.status == 429 and "try again in 24 hours" in await refused.text()

    member = client_from("198.51.100.9")
    await dashboard_sign_in(member, account, smtp_server, run_jobs)
    assert (await member.get("/dashboard", allow_redirects=False)).status == 200
