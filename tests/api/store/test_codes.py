"""api.store.codes on a real Valkey: hashed, expiring, single-use codes with limited tries, and
limits that a stranger can turn only against themself."""

from __future__ import annotations

from typing import Any

import pytest

from api.domain.errors import CodeLocked, RateLimited
from api.runtime import Services
from api.store import keys
from api.store.codes import CodePolicy, EmailCodes, code_digest, ip_group, new_attempt

SUBJECT = "task:t1"
OWNER, STRANGER = "198.51.100.9", "203.0.113.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def codes(services: Services, clock: Clock | None = None, **policy: int) -> EmailCodes:
    return EmailCodes(services.redis, services.jobs, CodePolicy(**policy), clock or Clock())


def issued_code(services: Services) -> str:
    """The code from the last queued email job (what the mailbox would receive)."""
    job = services.jobs["email"].jobs[-1]
    return str(job.args[1])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def request(otp: EmailCodes, ip: str, subject: str = SUBJECT, **kwargs: Any) -> str:
    """A new attempt (one browser's request for a code) from `ip`."""
    attempt = new_attempt()
    otp.send("task", attempt, subject, "a@example.com", ip, context={}, **kwargs)
    return attempt


def test_code_round_trip(services: Services) -> None:
    otp = codes(services)
    attempt = request(otp, OWNER, record={"x": "y"})
    code = issued_code(services)
    assert len(code) == 6 and code.isdigit()
    code_id = services.redis.get(keys.otp_last(SUBJECT)).decode()
    stored = services.redis.hgetall(keys.otp_mailed(code_id))
    assert stored[b"digest"].decode() == code_digest(bytes.fromhex(stored[b"salt"].decode()),
                                                     code)
    assert code.encode() not in b"".join(stored.values())
    assert 0 < services.redis.ttl(keys.otp_code("task", attempt)) <= 600
    assert otp.verify("task", attempt, wrong(code), OWNER) is None
    record = otp.verify("task", attempt, f" {code} ", OWNER, subject=SUBJECT)
    assert record is not None and record["x"] == "y" and record["email"] == "a@example.com"
    with pytest.raises(CodeLocked):  # a code works once
        otp.verify("task", attempt, code, OWNER)


def test_an_attempt_answers_only_for_its_own_subject(services: Services) -> None:
    otp = codes(services)
    attempt = request(otp, OWNER)
    with pytest.raises(CodeLocked):
        otp.verify("task", attempt, issued_code(services), OWNER, subject="task:t2")
    assert otp.verify("task", attempt, issued_code(services), OWNER, subject=SUBJECT)


def test_tries_per_attempt_and_sends_per_network(services: Services) -> None:
    otp = codes(services, max_tries=2, sends_per_subject=2, sends_per_ip=4)
    attempt = request(otp, "10.0.0.1")
    code = issued_code(services)
    assert otp.verify("task", attempt, wrong(code), "10.0.0.1") is None
    assert otp.verify("task", attempt, wrong(code), "10.0.0.1") is None
    assert otp.tries_left("task", attempt) == 0
    with pytest.raises(CodeLocked):  # even the right code, after max_tries
        otp.verify("task", attempt, code, "10.0.0.1")
    request(otp, "10.0.0.1")
    with pytest.raises(RateLimited):  # a third request for t1 from this network
        request(otp, "10.0.0.1")
    request(otp, "10.0.0.2")  # another network is not counted with it
    request(otp, "10.0.0.1", subject="task:t2")  # 4th request from the network
    with pytest.raises(RateLimited):  # attempts count, refused or not
        request(otp, "10.0.0.1", subject="task:t3")


def test_undelivered_codes_are_stored_but_not_sent(services: Services) -> None:
    attempt = request(codes(services), OWNER, deliver=False)
    assert services.redis.exists(keys.otp_code("task", attempt))
    assert services.jobs["email"].count == 0


@pytest.mark.parametrize(("ip", "group"), [
    ("203.0.113.7", "203.0.113.7"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::", "2001:db8:1:2::/64"), ("::ffff:203.0.113.7", "203.0.113.7"),
    ("unknown", "unknown")])
def test_per_ip_limits_count_an_ipv6_client_by_its_64(ip: str, group: str) -> None:
    assert ip_group(ip) == group


def test_wrong_codes_count_against_the_network_that_submits_them(services: Services) -> None:
    otp = codes(services, max_failures=3)
    attempt = request(otp, OWNER)  # asked for at home, typed in elsewhere
    code = issued_code(services)
    assert otp.verify("task", attempt, wrong(code), STRANGER) is None
    failures = services.redis.keys(keys.otp_rate("failures", "*"))
    assert failures == [keys.otp_rate("failures", f"{SUBJECT}|{STRANGER}").encode()]
    assert otp.verify("task", attempt, code, OWNER) is not None


def test_a_stranger_locks_out_only_their_own_network(services: Services) -> None:
    otp = codes(services, max_failures=3)
    owner = request(otp, OWNER)
    code = issued_code(services)
    for _ in range(3):  # each stranger attempt joins the owner's code, then guesses
        assert otp.verify("task", request(otp, STRANGER), wrong(code), STRANGER) is None
    with pytest.raises(CodeLocked, match="too many wrong codes"):
        otp.verify("task", request(otp, "203.0.113.8"), code, STRANGER)
    with pytest.raises(RateLimited, match="try again in 24 hours"):
        request(otp, STRANGER)
    assert otp.verify("task", owner, code, OWNER) is not None
    request(otp, OWNER, subject="task:t2")  # and other subjects are untouched for anyone
    assert otp.verify("task", request(otp, STRANGER, subject="task:t2"),
                      issued_code(services), STRANGER) is not None


def test_the_subject_ceiling_needs_many_networks(services: Services) -> None:
    """The cap on guessing at one subject from every network together."""
    otp = codes(services, max_failures=2, max_subject_failures=4)
    request(otp, OWNER)
    code = issued_code(services)
    for network in ("10.0.0.1", "10.0.0.2"):
        for _ in range(2):
            assert otp.verify("task", request(otp, network), wrong(code), network) is None
    with pytest.raises(RateLimited, match="too many wrong codes"):
        request(otp, OWNER)


def test_requests_within_the_interval_join_the_code_mailed_last(services: Services) -> None:
    clock = Clock()
    otp = codes(services, clock, mail_interval_s=60)
    owner = request(otp, OWNER)
    first = issued_code(services)
    joined = [request(otp, STRANGER) for _ in range(3)]
    assert services.jobs["email"].count == 1  # one mail, however many asked
    clock.now += 61
    later = request(otp, STRANGER)
    assert services.jobs["email"].count == 2 and issued_code(services) != first
    assert otp.verify("task", owner, first, OWNER) is not None  # not replaced by others
    with pytest.raises(CodeLocked, match="used"):  # used: dead for every attempt joining it
        otp.verify("task", joined[0], first, STRANGER)
    assert otp.verify("task", later, issued_code(services), STRANGER) is not None


def test_past_the_mail_cap_a_subject_gets_one_code_per_lifetime(services: Services) -> None:
    clock = Clock()
    otp = codes(services, clock, mail_interval_s=60, mails_per_subject=2)
    for _ in range(2):
        request(otp, "10.0.0.1")
        clock.now += 61
    last = issued_code(services)
    owner = request(otp, OWNER)  # the cap is reached: joins the live code
    assert services.jobs["email"].count == 2
    assert otp.verify("task", owner, last, OWNER) is not None
    request(otp, OWNER)  # that code is used up: a new one is mailed
    assert services.jobs["email"].count == 3
