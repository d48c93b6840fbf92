"""Authenticator apps (TOTP, RFC 6238, through pyotp) for dashboard sign-in.

A seed reaches Redis only sealed by api.crypto's SecretBox (INLOOP_SECRET_KEY); without a
key there are no authenticator apps. Enrolling: `begin` keeps a new sealed seed aside for
PENDING_TTL_S, and `confirm` makes it the member's only once one of its codes is right, so
a bad scan never locks anyone out.

Signing in: a code is right for the current 30-second step or one step either side
(`valid_window=1`). The member's last used step is kept beside the seed, and a code is
accepted only for a later step: read and written in one WATCH/MULTI, so of two uses of one
code, however simultaneous, exactly one wins. Wrong (and replayed) codes count like email
codes' (api.store.guesses) under the subject `totp:{email}`: a stranger's guesses lock out
only the stranger's network, and past the cap for all networks only the authenticator app;
email codes, counted apart, still sign the member in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

import pyotp
from pyotp.utils import strings_equal
from redis import Redis, WatchError
from redis.client import Pipeline

from api.crypto import SecretBox, SecretKeyError
from api.domain.errors import CodeLocked, Conflict, Unavailable
from api.store import keys
from api.store.codec import text, text_hash
from api.store.codes import ip_group
from api.store.guesses import Guesses

log = logging.getLogger(__name__)
ISSUER = "inloop"
WINDOW = 1  # steps accepted either side of now
PENDING_TTL_S = 15 * 60
NO_KEY = ("authenticator apps need INLOOP_SECRET_KEY (the key that seals their seeds); "
          "sign in with an emailed code")
Verdict = Literal["right", "used", "wrong"]


def provisioning_uri(seed: str, email: str) -> str:
    """The `otpauth://` URI an authenticator app scans (issuer inloop, account the email)."""
    return pyotp.TOTP(seed).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(seed: str, code: str, now: float) -> int | None:
    """The time step within WINDOW of `now` whose code `code` is (the latest, should two
    share it), or None. pyotp's verify says whether one matched, not which; replay
    protection needs the step."""
    totp, code = pyotp.TOTP(seed), code.strip()
    if not (len(code) == 6 and code.isdigit() and totp.verify(code, for_time=now,
                                                               valid_window=WINDOW)):
        return None
    current = totp.timecode(now)
    return max(step for step in range(current - WINDOW, current + WINDOW + 1)
               if strings_equal(code, totp.generate_otp(step)))


def remove(redis: Redis, member_id: str) -> bool:
    """Drop the member's authenticator app (and any pending one); False if there was
    none. Needs no key, so a reset works even after INLOOP_SECRET_KEY is lost."""
    return bool(redis.delete(keys.member_totp(member_id), keys.member_totp_pending(member_id)))


class Authenticators:
    def __init__(self, redis: Redis, box: SecretBox | None, guesses: Guesses,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.box = box
        self.guesses = guesses
        self.clock = clock

    @property
    def available(self) -> bool:
        return self.box is not None

    def _sealer(self) -> SecretBox:
        if self.box is None:
            raise Unavailable(NO_KEY)
        return self.box

    def _open(self, sealed: str) -> str | None:
        try:
            return self._sealer().open(sealed)
        except SecretKeyError:
            log.warning("an authenticator seed cannot be opened with INLOOP_SECRET_KEY "
                        "(was its key dropped?); reset that member's enrollment")
            return None

    def begin(self, member_id: str) -> None:
        """A new seed for `member_id` to scan and confirm (409 if one is enrolled)."""
        if self.enrolled_at(member_id):
            raise Conflict("remove the enrolled authenticator app first")
        sealed = self._sealer().seal(pyotp.random_base32())
        self.redis.set(keys.member_totp_pending(member_id), sealed, ex=PENDING_TTL_S)

    def pending_seed(self, member_id: str) -> str | None:
        """The seed waiting for confirmation, if any (to show as a QR code)."""
        sealed = self.redis.get(keys.member_totp_pending(member_id))
        return self._open(text(sealed)) if sealed is not None else None

    def confirm(self, member_id: str, code: str) -> bool:
        """Enroll the pending seed if `code` is one of its codes (that step counts as
        used); False if it is not, or nothing is pending."""
        pending, enrolled = keys.member_totp_pending(member_id), keys.member_totp(member_id)
        with self.redis.pipeline() as pipe:
            pipe.watch(pending)
            sealed = pipe.get(pending)
            seed = self._open(text(sealed)) if sealed is not None else None
            step = matching_step(seed, code, self.clock()) if seed else None
            if step is None:
                return False
            pipe.multi()
            pipe.delete(pending, enrolled)
            pipe.hset(enrolled, mapping={"seed": text(sealed or b""), "step": step,
                                         "enrolled_at": datetime.now(UTC).isoformat()})
            try:
                pipe.execute()
            except WatchError:  # a concurrent confirm of the same seed won
                return self.enrolled_at(member_id) is not None
        return True

    def enrolled_at(self, member_id: str) -> str | None:
        found = self.redis.hget(keys.member_totp(member_id), "enrolled_at")
        return text(found) if found is not None else None

    def enrollments(self, member_ids: Iterable[str]) -> dict[str, str]:
        """Member id -> when enrolled, for those of `member_ids` that are."""
        ids = list(member_ids)
        pipe = self.redis.pipeline()
        for member_id in ids:
            pipe.hget(keys.member_totp(member_id), "enrolled_at")
        return {m: text(at) for m, at in zip(ids, pipe.execute(), strict=True) if at}

    def remove(self, member_id: str) -> bool:
        return remove(self.redis, member_id)

    def sign_in(self, email: str, member_id: str | None, code: str, ip: str) -> Verdict:
        """Whether `code` signs `member_id` (None: no member has `email`) in. CodeLocked
        once this network, or every network, guessed wrong too often for `email`."""
        self._sealer()
        subject, network = f"totp:{email}", ip_group(ip)
        for _ in range(20):
            try:
                return self._sign_in_once(subject, network, member_id, code)
            except WatchError:
                continue
        raise CodeLocked("too many attempts at once; try again")

    def _sign_in_once(self, subject: str, network: str, member_id: str | None,
                      code: str) -> Verdict:
        key = keys.member_totp(member_id) if member_id else None
        with self.redis.pipeline() as pipe:
            pipe.watch(*self.guesses.keys(subject, network), *([key] if key else []))
            self.guesses.refuse_if_locked(pipe, subject, network, CodeLocked)
            verdict, step = self._check(pipe, key, code)
            pipe.multi()
            if key and step is not None:
                pipe.hset(key, "step", step)
            else:
                self.guesses.count(pipe, subject, network)
            pipe.execute()
        return verdict

    def _check(self, pipe: Pipeline, key: str | None, code: str) -> tuple[Verdict, int | None]:
        """The verdict on `code`, and the step to remember when it is right."""
        record = text_hash(pipe.hgetall(key)) if key else {}
        seed = self._open(record["seed"]) if record.get("seed") else None
        step = matching_step(seed, code, self.clock()) if seed else None
        if step is None:
            return "wrong", None
        if step <= int(record.get("step", -1)):
            return "used", None
        return "right", step
