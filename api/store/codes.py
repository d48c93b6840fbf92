"""One-time email codes for external assignees and dashboard sign-in.

A code is 6 random digits (`secrets`, not time-based). Redis keeps only an HMAC-SHA256 of
it under a random per-code salt, for at most `ttl_s`; it works once. The code reaches the
mailbox through an RQ job on the "email" queue, committed in the same MULTI as the hash
(the job is dropped from Redis once run: `result_ttl=0`, and its description hides the
code from worker logs).

Nobody can turn these limits against the person the code is for: a stranger may slow
down only themself. The *subject* is what a code proves (a task, or a sign-in email); a
*network* is an IPv4 address or an IPv6 /64 (one host usually holds the whole prefix).
- Every request for a code is an *attempt*: a random id that only the requesting browser
  holds (in a cookie), with `max_tries` guesses. Nobody else can type into it.
- Sends: `sends_per_subject` per (subject, network) and `sends_per_ip` per network in
  `window_s`. Nothing counts sends per subject alone.
- Mails: a subject gets a new code at most once per `mail_interval_s`, and after
  `mails_per_subject` in `window_s` only once the last one has expired. A request in
  between joins the code mailed last (the mailbox has it) instead of being refused, so
  the mailbox sees a bounded number of mails and nobody is turned away.
- Wrong codes count against the network that submits them (api.store.guesses): after
  `max_failures` per (subject, network) in `failure_window_s`, that network gets no code
  checked or sent for the subject. `max_subject_failures` (far more than one network may
  make) caps guessing at a subject from all networks together; only then is the subject
  locked for everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis, WatchError
from redis.client import Pipeline

from api.domain.errors import CodeLocked, RateLimited
from api.store import keys
from api.store.codec import text, text_hash
from api.store.guesses import Guesses
from api.store.jobs import Jobs


@dataclass(frozen=True)
class CodePolicy:
    ttl_s: int = 600
    max_tries: int = 5
    sends_per_subject: int = 5
    sends_per_ip: int = 20
    window_s: int = 3600
    mail_interval_s: int = 60
    mails_per_subject: int = 10
    max_failures: int = 15
    max_subject_failures: int = 150
    failure_window_s: int = 24 * 3600


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def new_attempt() -> str:
    """An attempt id (the shape of every id the web UI keeps in a cookie)."""
    return secrets.token_urlsafe(32)


def code_digest(salt: bytes, code: str) -> str:
    return hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()


def ip_group(ip: str) -> str:
    """What per-network limits count by: an IPv4 address, or an IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class EmailCodes:
    def __init__(self, redis: Redis, jobs: Jobs, policy: CodePolicy,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.jobs = jobs
        self.policy = policy
        self.clock = clock
        self.guesses = Guesses(policy.max_failures, policy.max_subject_failures,
                               policy.failure_window_s)

    def send(self, purpose: str, attempt: str, subject: str, to: str, ip: str, *,
             context: dict[str, Any], record: dict[str, str] | None = None,
             deliver: bool = True) -> None:
        """Start `attempt` at proving `subject` (e.g. "task:{id}", "email:{address}"):
        a new code mailed to `to`, or the subject's code mailed moments ago. With
        `deliver=False` a code is stored but never sent, so an unknown address behaves
        exactly like a known one (no account enumeration)."""
        network = ip_group(ip)
        self.guesses.refuse_if_locked(self.redis, subject, network, RateLimited)
        self._count_send(subject, network)
        code_id = (self._joinable(subject)
                   or self._new_code(purpose, subject, to, context, deliver))
        ttl_ms = max(int(self.redis.pttl(keys.otp_mailed(code_id))), 1)
        fields = {**(record or {}), "code": code_id, "subject": subject, "email": to,
                  "tries": "0"}
        pipe = self.redis.pipeline()
        pipe.hset(keys.otp_code(purpose, attempt), mapping=fields)  # type: ignore[arg-type]
        pipe.pexpire(keys.otp_code(purpose, attempt), ttl_ms)
        pipe.execute()

    def _count_send(self, subject: str, network: str) -> None:
        limits = ((keys.otp_rate("sends", f"{subject}|{network}"),
                   self.policy.sends_per_subject),
                  (keys.otp_rate("ip", network), self.policy.sends_per_ip))
        pipe = self.redis.pipeline()
        for key, _ in limits:
            pipe.incr(key)
            pipe.expire(key, self.policy.window_s, nx=True)
        counts = pipe.execute()[::2]
        if any(count > limit for count, (_, limit) in zip(counts, limits, strict=True)):
            raise RateLimited("too many codes were requested; wait a while and try again")

    def _joinable(self, subject: str) -> str | None:
        """The subject's live code to join instead of mailing another: mailed less than
        `mail_interval_s` ago, or the last one allowed in this window."""
        code_id = self.redis.get(keys.otp_last(subject))
        if code_id is None:
            return None
        mailed_at = self.redis.hget(keys.otp_mailed(text(code_id)), "at")
        if mailed_at is None:  # used up
            return None
        recent = self.clock() - float(mailed_at) < self.policy.mail_interval_s
        mails = int(self.redis.get(keys.otp_rate("mails", subject)) or 0)
        return text(code_id) if recent or mails >= self.policy.mails_per_subject else None

    def _new_code(self, purpose: str, subject: str, to: str, context: dict[str, Any],
                  deliver: bool) -> str:
        code, salt, code_id = new_code(), secrets.token_bytes(16), secrets.token_urlsafe(16)
        pipe = self.redis.pipeline()
        if deliver:  # first: RQ switches the pipeline to MULTI itself
            # failed sends are kept while the code lives
            self.jobs.enqueue(pipe, "email.send_code", to, code, context,
                              failure_ttl=self.policy.ttl_s, purpose=purpose)
        stored = {"salt": salt.hex(), "digest": code_digest(salt, code),
                  "at": repr(self.clock())}
        pipe.hset(keys.otp_mailed(code_id), mapping=stored)  # type: ignore[arg-type]
        pipe.expire(keys.otp_mailed(code_id), self.policy.ttl_s)
        pipe.set(keys.otp_last(subject), code_id, ex=self.policy.ttl_s)
        pipe.incr(keys.otp_rate("mails", subject))
        pipe.expire(keys.otp_rate("mails", subject), self.policy.window_s, nx=True)
        pipe.execute()
        return code_id

    def verify(self, purpose: str, attempt: str, code: str, ip: str, *,
               subject: str | None = None) -> dict[str, str] | None:
        """The attempt's record if `code` is right (and uses the code up); None if it is
        wrong. `subject`, when given, must be the attempt's."""
        key = keys.otp_code(purpose, attempt)
        for _ in range(20):
            try:
                return self._verify_once(key, code.strip(), ip_group(ip), subject)
            except WatchError:
                continue
        raise CodeLocked("too many attempts at once; request a new code")

    def _verify_once(self, key: str, code: str, network: str,
                     subject: str | None) -> dict[str, str] | None:
        with self.redis.pipeline() as pipe:
            pipe.watch(key)
            record = self._usable(pipe, key, subject)
            mailed = keys.otp_mailed(record["code"])
            pipe.watch(mailed, *self.guesses.keys(record["subject"], network))
            self.guesses.refuse_if_locked(pipe, record["subject"], network, CodeLocked)
            stored = text_hash(pipe.hgetall(mailed))
            if not stored:  # used (by another attempt that joined it) or expired
                raise CodeLocked("this code has expired or was used; request a new one")
            right = hmac.compare_digest(
                code_digest(bytes.fromhex(stored["salt"]), code), stored["digest"])
            pipe.multi()
            if right:
                pipe.delete(key, mailed)
            else:
                pipe.hincrby(key, "tries", 1)
                self.guesses.count(pipe, record["subject"], network)
            pipe.execute()
        return record if right else None

    def _usable(self, pipe: Pipeline, key: str, subject: str | None) -> dict[str, str]:
        record = text_hash(pipe.hgetall(key))
        if (not record or int(record["tries"]) >= self.policy.max_tries
                or subject not in (None, record["subject"])):
            raise CodeLocked("this code has expired or was tried too often; "
                             "request a new one")
        return record

    def tries_left(self, purpose: str, attempt: str) -> int:
        tries = self.redis.hget(keys.otp_code(purpose, attempt), "tries")
        return 0 if tries is None else max(0, self.policy.max_tries - int(tries))
