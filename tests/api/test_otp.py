"""api.otp on a real Valkey: hashed, expiring, single-use codes with limited tries."""

from __future__ import annotations

import pytest

from api import keys
from api.otp import CodeLocked, CodePolicy, EmailCodes, RateLimited, code_digest, ip_group
from api.runtime import Services


def codes(services: Services, **policy: int) -> EmailCodes:
    return EmailCodes(services.redis, services.queues, CodePolicy(**policy))


def issued_code(services: Services) -> str:
    """The code from the queued email job (what the mailbox would receive)."""
    job = services.queues["email"].jobs[-1]
    return str(job.args[1])


def test_code_round_trip(services: Services) -> None:
    otp = codes(services)
    otp.send("task", "t1", "a@example.com", "1.2.3.4", context={}, record={"x": "y"})
    code = issued_code(services)
    assert len(code) == 6 and code.isdigit()
    stored = services.redis.hgetall(keys.otp_code("task", "t1"))
    assert stored[b"digest"].decode() == code_digest(bytes.fromhex(stored[b"salt"].decode()),
                                                     code)
    assert otp.verify("task", "t1", "000000" if code != "000000" else "111111") is None
    record = otp.verify("task", "t1", f" {code} ")
    assert record is not None and record["x"] == "y" and record["email"] == "a@example.com"
    with pytest.raises(CodeLocked):  # a code works once
        otp.verify("task", "t1", code)


def test_tries_and_resend_limits(services: Services) -> None:
    otp = codes(services, max_tries=2, sends_per_subject=2, sends_per_ip=4)
    otp.send("task", "t1", "a@example.com", "ip", context={})
    code = issued_code(services)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert otp.verify("task", "t1", wrong) is None
    assert otp.verify("task", "t1", wrong) is None
    assert otp.tries_left("task", "t1") == 0
    with pytest.raises(CodeLocked):  # even the right code, after max_tries
        otp.verify("task", "t1", code)
    otp.send("task", "t1", "a@example.com", "ip", context={})
    with pytest.raises(RateLimited):  # a third code for t1
        otp.send("task", "t1", "a@example.com", "ip", context={})
    otp.send("task", "t2", "a@example.com", "ip", context={})  # 4th request from the IP
    with pytest.raises(RateLimited):  # attempts count, refused or not
        otp.send("task", "t3", "a@example.com", "ip", context={})


def test_undelivered_codes_are_stored_but_not_sent(services: Services) -> None:
    codes(services).send("login", "a1", "x@example.com", "ip", context={}, deliver=False)
    assert services.redis.exists(keys.otp_code("login", "a1"))
    assert services.queues["email"].count == 0


@pytest.mark.parametrize(("ip", "group"), [
    ("203.0.113.7", "203.0.113.7"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::", "2001:db8:1:2::/64"), ("::ffff:203.0.113.7", "203.0.113.7"),
    ("unknown", "unknown")])
def test_per_ip_limits_count_an_ipv6_client_by_its_64(ip: str, group: str) -> None:
    assert ip_group(ip) == group


def test_wrong_codes_of_one_subject_are_capped_across_codes(services: Services) -> None:
    otp = codes(services, max_failures=3)
    for _ in range(3):
        otp.send("login", "attempt", "a@example.com", "1.2.3.4", context={},
                 rate_key="email:a@example.com")
        code = issued_code(services)
        assert otp.verify("login", "attempt", "x" + code) is None
    with pytest.raises(CodeLocked, match="too many wrong codes"):
        otp.verify("login", "attempt", code)
    with pytest.raises(RateLimited, match="too many wrong codes"):
        otp.send("login", "other", "a@example.com", "1.2.3.4", context={},
                 rate_key="email:a@example.com")
    otp.send("login", "b", "b@example.com", "1.2.3.4", context={}, rate_key="email:b@x")
    assert otp.verify("login", "b", issued_code(services)) is not None  # others are not locked
    # The guesser's network is locked, not the member: from elsewhere a code still works.
    otp.send("login", "owner", "a@example.com", "5.6.7.8", context={},
             rate_key="email:a@example.com")
    assert otp.verify("login", "owner", issued_code(services)) is not None
