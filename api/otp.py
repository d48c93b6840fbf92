"""One-time email codes for external assignees and dashboard sign-in.

A code is 6 random digits (`secrets`, not time-based). Redis keeps only an HMAC-SHA256 of
it under a random per-code salt, for at most `ttl` seconds; it is single use and allows
`max_tries` guesses. Sending is rate limited per subject (task or email) and per client
IP. The code itself reaches the mailbox through an RQ job on the "email" queue, committed
in the same MULTI as the hash (the job is dropped from Redis once run: `result_ttl=0`,
and its description hides the code from worker logs).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from redis import Redis, WatchError

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


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_digest(salt: bytes, code: str) -> str:
    return hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()



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
        self._count_send(rate_key or f"{purpose}:{subject}", ip)
        code, salt = new_code(), secrets.token_bytes(16)
        key = keys.otp_code(purpose, subject)
        pipe = self.redis.pipeline()
        if deliver:  # first: RQ switches the pipeline to MULTI itself
            self.queues["email"].enqueue(SEND_JOB, to, code, context, pipeline=pipe,
                                         result_ttl=0, failure_ttl=self.policy.ttl_s,
                                         description=f"one-time code ({purpose})")
        pipe.delete(key)
        fields = {**(record or {}), "email": to, "salt": salt.hex(), "tries": "0",
                  "digest": code_digest(salt, code)}
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.expire(key, self.policy.ttl_s)
        pipe.execute()

    def _count_send(self, subject: str, ip: str) -> None:
        limits = ((keys.otp_rate("subject", subject), self.policy.sends_per_subject),
                  (keys.otp_rate("ip", ip), self.policy.sends_per_ip))
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
            expected = record["digest"]
            right = hmac.compare_digest(code_digest(bytes.fromhex(record["salt"]), code),
                                        expected)
            pipe.multi()
            if right:
                pipe.delete(key)
            else:
                pipe.hincrby(key, "tries", 1)
            pipe.execute()
        return record if right else None

    def tries_left(self, purpose: str, subject: str) -> int:
        tries = self.redis.hget(keys.otp_code(purpose, subject), "tries")
        return 0 if tries is None else max(0, self.policy.max_tries - int(tries))
