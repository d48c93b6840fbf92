"""One-time email codes for external assignees and dashboard sign-in.

A code is 6 random digits (`secrets`, not time-based). Redis keeps only an HMAC-SHA256 of
it under a random per-code salt, for at most `ttl` seconds; it is single use and allows
`max_tries` guesses. Sending is rate limited per subject (task or email) and per client
IP (an IPv6 client by its /64: one host usually holds the whole prefix). Wrong guesses are
also counted per subject over `failure_window_s` (24 h): after `max_failures` of them, no
code of that subject is checked or sent until the window has passed, so resends do not
buy an attacker unlimited guesses. The code itself reaches the mailbox through an RQ job
on the "email" queue, committed in the same MULTI as the hash (the job is dropped from
Redis once run: `result_ttl=0`, and its description hides the code from worker logs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from typing import Any

from redis import Redis, WatchError
from redis.client import Pipeline

from api import keys
from api.errors import InloopError
from api.jobs import JobQueues

SEND_JOB = "workers.email_codes.send_code"


class RateLimited(InloopError):
    status = 429
    code = "rate_limited"


class CodeLocked(InloopError):
    """No usable code: expired, used, or too many wrong tries. Ask for a new one."""

    status = 403
    code = "code_locked"


@dataclass(frozen=True)
class CodePolicy:
    ttl_s: int = 600
    max_tries: int = 5
    sends_per_subject: int = 5
    sends_per_ip: int = 20
    window_s: int = 3600
    max_failures: int = 15
    failure_window_s: int = 24 * 3600


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_digest(salt: bytes, code: str) -> str:
    return hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()


def ip_group(ip: str) -> str:
    """What per-IP limits count by: an IPv4 address, or an IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _failures(rate_key: str) -> str:
    return keys.otp_rate("failures", rate_key)


class EmailCodes:
    def __init__(self, redis: Redis, queues: JobQueues, policy: CodePolicy) -> None:
        self.redis = redis
        self.queues = queues
        self.policy = policy

    def send(self, purpose: str, subject: str, to: str, ip: str, *,
             context: dict[str, Any], record: dict[str, str] | None = None,
             rate_key: str | None = None, deliver: bool = True) -> None:
        """Issue a new code for (purpose, subject), replacing any older one, and mail it.

        `rate_key` is what resends are counted by (default: the subject). With
        `deliver=False` a code is stored but never sent, so an unknown address behaves
        exactly like a known one (no account enumeration)."""
        rate_key = rate_key or f"{purpose}:{subject}"
        # Wrong guesses count per subject and requesting network: whoever guesses locks
        # only their own network out, never the person the code is for.
        failure_key = f"{rate_key}|{ip_group(ip)}"
        self._refuse_if_locked(self.redis, failure_key, RateLimited)
        self._count_send(rate_key, ip)
        code, salt = new_code(), secrets.token_bytes(16)
        key = keys.otp_code(purpose, subject)
        pipe = self.redis.pipeline()
        if deliver:  # first: RQ switches the pipeline to MULTI itself
            self.queues["email"].enqueue(SEND_JOB, to, code, context, pipeline=pipe,
                                         result_ttl=0, failure_ttl=self.policy.ttl_s,
                                         description=f"one-time code ({purpose})")
        pipe.delete(key)
        fields = {**(record or {}), "email": to, "salt": salt.hex(), "tries": "0",
                  "digest": code_digest(salt, code), "failure_key": failure_key}
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.expire(key, self.policy.ttl_s)
        pipe.execute()

    def _count_send(self, subject: str, ip: str) -> None:
        limits = ((keys.otp_rate("subject", subject), self.policy.sends_per_subject),
                  (keys.otp_rate("ip", ip_group(ip)), self.policy.sends_per_ip))
        pipe = self.redis.pipeline()
        for key, _ in limits:
            pipe.incr(key)
            pipe.expire(key, self.policy.window_s, nx=True)
        counts = pipe.execute()[::2]
        if any(count > limit for count, (_, limit) in zip(counts, limits, strict=True)):
            raise RateLimited("too many codes were requested; wait a while and try again")

    def verify(self, purpose: str, subject: str, code: str) -> dict[str, str] | None:
        """The code's record if `code` is right (and uses it up); None if it is wrong."""
        key = keys.otp_code(purpose, subject)
        for _ in range(20):
            try:
                return self._verify_once(key, code.strip())
            except WatchError:
                continue
        raise CodeLocked("too many attempts at once; request a new code")

    def _verify_once(self, key: str, code: str) -> dict[str, str] | None:
        with self.redis.pipeline() as pipe:
            pipe.watch(key)
            record = {keys.text(k): keys.text(v) for k, v in pipe.hgetall(key).items()}
            if not record or int(record["tries"]) >= self.policy.max_tries:
                raise CodeLocked("this code has expired or was tried too often; "
                                 "request a new one")
            failure_key = record.get("failure_key") or key
            pipe.watch(key, _failures(failure_key))
            self._refuse_if_locked(pipe, failure_key, CodeLocked)
            right = hmac.compare_digest(code_digest(bytes.fromhex(record["salt"]), code),
                                        record["digest"])
            pipe.multi()
            if right:
                pipe.delete(key)
            else:
                self._count_failure(pipe, key, failure_key)
            pipe.execute()
        return record if right else None

    def _count_failure(self, pipe: Pipeline, key: str, failure_key: str) -> None:
        pipe.hincrby(key, "tries", 1)
        pipe.incr(_failures(failure_key))
        pipe.expire(_failures(failure_key), self.policy.failure_window_s, nx=True)

    def _refuse_if_locked(self, client: Redis | Pipeline, failure_key: str,
                          error: type[InloopError]) -> None:
        """`error` if (subject, network) had max_failures wrong guesses in the window."""
        failures = client.get(_failures(failure_key))
        if failures is None or int(failures) < self.policy.max_failures:
            return
        left = max(int(client.ttl(_failures(failure_key))), 1)
        hours = math.ceil(left / 3600)
        raise error(f"too many wrong codes were entered; try again in {hours} "
                    f"hour{'s' * (hours != 1)}")

    def tries_left(self, purpose: str, subject: str) -> int:
        tries = self.redis.hget(keys.otp_code(purpose, subject), "tries")
        return 0 if tries is None else max(0, self.policy.max_tries - int(tries))
