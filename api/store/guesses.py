"""Wrong guesses at a code (an email code or an authenticator app's), counted so that a
stranger can lock out only themself.

A *subject* is what a code proves (a task, a sign-in email, an email's authenticator
app); a *network* is an IPv4 address or an IPv6 /64 (api.store.codes.ip_group). Wrong
guesses count per (subject, network) and per subject: past `max_failures` for one
(subject, network) in `window_s`, that network is refused for the subject; only past
`max_subject_failures` (far more than one network may make) is the subject refused for
every network, which caps guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from api.domain.errors import InloopError
from api.store import keys


@dataclass(frozen=True)
class Guesses:
    max_failures: int
    max_subject_failures: int
    window_s: int

    def keys(self, subject: str, network: str) -> tuple[str, str]:
        """Wrong guesses of (subject, network), and of the subject from every network
        (WATCH them to count and check in one transaction)."""
        return (keys.otp_rate("failures", f"{subject}|{network}"),
                keys.otp_rate("subject-failures", subject))

    def refuse_if_locked(self, client: Redis | Pipeline, subject: str, network: str,
                         error: type[InloopError]) -> None:
        """`error` if (subject, network), or the subject from every network together,
        had too many wrong guesses in the window."""
        limits = (self.max_failures, self.max_subject_failures)
        for key, limit in zip(self.keys(subject, network), limits, strict=True):
            failures = client.get(key)
            if failures is not None and int(failures) >= limit:
                hours = math.ceil(max(int(client.ttl(key)), 1) / 3600)
                raise error(f"too many wrong codes were entered; try again in {hours} "
                            f"hour{'s' * (hours != 1)}")

    def count(self, pipe: Pipeline, subject: str, network: str) -> None:
        """Add one wrong guess (inside the caller's MULTI)."""
        for failures in self.keys(subject, network):
            pipe.incr(failures)
            pipe.expire(failures, self.window_s, nx=True)
