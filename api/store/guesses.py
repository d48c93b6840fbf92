"""Wrong guesses at a code (an email code or an authenticator app's), counted so that a
stranger can lock out only themself.

A *subject* is what a code proves (a task, a sign-in email, an email's authenticator
app); a *network* is an IPv4 address or an IPv6 /64 (api.store.codes.ip_group). Wrong
guesses count per (subject, network) and per subject: past `max_failures` for one
(subject, network) in `window_s`, that network is refused for the subject; only past
`max_subject_failures` (far more than one network may make) is the subject refused for
every network, which caps guessing. With `max_network_failures`, a network that guessed
wrong that often for any subjects together is refused for all of them (authenticator
codes: email codes cap a network's requests for codes instead).
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
    max_network_failures: int = 0  # 0: not counted

    def _limits(self, subject: str, network: str) -> list[tuple[str, int]]:
        limits = [(keys.otp_rate("failures", f"{subject}|{network}"), self.max_failures),
                  (keys.otp_rate("subject-failures", subject), self.max_subject_failures)]
        if self.max_network_failures:
            limits.append((keys.otp_rate("network-failures", network),
                           self.max_network_failures))
        return limits

    def keys(self, subject: str, network: str) -> list[str]:
        """The counters a guess at `subject` from `network` moves (WATCH them to count
        and check in one transaction)."""
        return [key for key, _ in self._limits(subject, network)]

    def refuse_if_locked(self, client: Redis | Pipeline, subject: str, network: str,
                         error: type[InloopError]) -> None:
        """`error` if any counter of (subject, network) reached its limit."""
        for key, limit in self._limits(subject, network):
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
