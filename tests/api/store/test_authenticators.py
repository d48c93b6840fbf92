"""api.store.authenticators on a real Valkey: enrollment confirmed by a code, the ±1 step
window at explicit times, replays refused (also when simultaneous), limits that lock out
only the guesser, and no seed in Redis."""

from __future__ import annotations

import threading
import time

import pyotp
import pytest

from api.crypto import SecretBox, new_key
from api.domain.errors import CodeLocked, Conflict, Unavailable
from api.runtime import Services
from api.store.authenticators import Authenticators, matching_step
from api.store.guesses import Guesses
from tests.conftest import stored_values

T = 1_800_000_015.0  # 15 s into a 30-second step
OWNER, STRANGER = "198.51.100.9", "203.0.113.7"
EMAIL, MEMBER = "ada@example.com", "mem_ada"


class Clock:
    def __init__(self) -> None:
        self.now, self.pause = T, 0.0

    def __call__(self) -> float:
        time.sleep(self.pause)  # how long a check takes between its reads and its write
        return self.now


def authenticators(services: Services, clock: Clock | None = None, *, failures: int = 15,
                   subject_failures: int = 150, network_failures: int = 100) -> Authenticators:
    guesses = Guesses(failures, subject_failures, 24 * 3600, network_failures)
    return Authenticators(services.redis, SecretBox(new_key()), guesses, clock or Clock())


def enrolled(otp: Authenticators) -> pyotp.TOTP:
    """MEMBER enrolled (at step T - 60 s, so codes of T's window are still unused)."""
    otp.begin(MEMBER)
    seed = otp.pending_seed(MEMBER)
    assert seed is not None
    totp = pyotp.TOTP(seed)
    assert isinstance(otp.clock, Clock)
    otp.clock.now = T - 60
    assert otp.confirm(MEMBER, totp.at(T - 60))
    otp.clock.now = T
    return totp


@pytest.mark.parametrize(("offset", "accepted"), [(-60, False), (-30, True), (0, True),
                                                  (30, True), (60, False)])
def test_one_step_either_side_is_accepted_and_two_are_not(offset: int, accepted: bool) -> None:
    seed = pyotp.random_base32()
    code = pyotp.TOTP(seed).at(T + offset)
    assert (matching_step(seed, code, T) is not None) is accepted
    if accepted:
        assert matching_step(seed, code, T) == int((T + offset) // 30)


def test_enrollment_needs_a_right_code_of_the_shown_seed(services: Services) -> None:
    otp = authenticators(services)
    otp.begin(MEMBER)
    seed = otp.pending_seed(MEMBER)
    assert seed is not None and otp.enrolled_at(MEMBER) is None
    assert not otp.confirm(MEMBER, pyotp.TOTP(seed).at(T + 90))  # a bad scan: not enrolled
    assert not otp.confirm(MEMBER, "abcdef")
    assert otp.enrolled_at(MEMBER) is None and otp.pending_seed(MEMBER) == seed
    assert otp.confirm(MEMBER, pyotp.TOTP(seed).at(T))
    assert otp.enrolled_at(MEMBER) is not None and otp.pending_seed(MEMBER) is None
    with pytest.raises(Conflict):
        otp.begin(MEMBER)


def test_sign_in_accepts_a_code_once_and_no_older_one(services: Services) -> None:
    otp = authenticators(services)
    totp = enrolled(otp)
    assert isinstance(otp.clock, Clock)
    otp.clock.now = T - 30
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T - 60), OWNER) == "used"  # the enrolling code
    otp.clock.now = T
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T), OWNER) == "right"
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T), OWNER) == "used"
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T - 30), OWNER) == "used"  # before the last
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T + 30), OWNER) == "right"
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T + 60), OWNER) == "wrong"  # two steps ahead
    assert otp.sign_in(EMAIL, None, totp.at(T + 30), OWNER) == "wrong"  # not a member


def test_two_simultaneous_uses_of_one_code_exactly_one_wins(services: Services) -> None:
    clock = Clock()
    otp = authenticators(services, clock)
    code = enrolled(otp).at(T)
    clock.pause = 0.05  # every use reads the last step before any writes it
    start, verdicts = threading.Barrier(8), []

    def use() -> None:
        start.wait()
        verdicts.append(otp.sign_in(EMAIL, MEMBER, code, OWNER))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(verdicts) == ["right"] + ["used"] * 7


def test_a_strangers_wrong_codes_lock_out_only_the_stranger(services: Services) -> None:
    otp = authenticators(services, failures=3, subject_failures=5)
    totp = enrolled(otp)
    for _ in range(3):
        assert otp.sign_in(EMAIL, MEMBER, "000000", STRANGER) == "wrong"
    with pytest.raises(CodeLocked, match="too many wrong codes"):
        otp.sign_in(EMAIL, MEMBER, totp.at(T), STRANGER)  # even a right one
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T), OWNER) == "right"
    for ip in ("192.0.2.1", "192.0.2.2"):  # the cap of all networks together
        otp.sign_in(EMAIL, MEMBER, "000000", ip)
    with pytest.raises(CodeLocked):
        otp.sign_in(EMAIL, MEMBER, totp.at(T + 30), OWNER)


def test_a_network_guessing_at_many_emails_is_refused_for_all_of_them(
        services: Services) -> None:
    otp = authenticators(services, network_failures=3)
    totp = enrolled(otp)
    for n in range(3):
        assert otp.sign_in(f"user{n}@example.com", None, "000000", STRANGER) == "wrong"
    with pytest.raises(CodeLocked):
        otp.sign_in(EMAIL, MEMBER, totp.at(T), STRANGER)
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T), OWNER) == "right"


def test_no_seed_is_stored_in_plain_and_remove_drops_it(services: Services) -> None:
    otp = authenticators(services)
    otp.begin("mem_other")
    pending = otp.pending_seed("mem_other")
    totp = enrolled(otp)
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T), OWNER) == "right"
    stored = stored_values(services.redis)
    assert b"totp" in stored  # the helper reads what is there
    for seed in (totp.secret, pending):
        assert seed and seed.encode() not in stored
    assert otp.remove(MEMBER) and not otp.remove(MEMBER)
    assert otp.enrolled_at(MEMBER) is None
    assert otp.sign_in(EMAIL, MEMBER, totp.at(T + 30), OWNER) == "wrong"


def test_without_a_key_there_are_no_authenticator_apps(services: Services) -> None:
    otp = Authenticators(services.redis, None, Guesses(15, 150, 3600))
    assert not otp.available
    for attempt in (lambda: otp.begin(MEMBER),
                    lambda: otp.sign_in(EMAIL, MEMBER, "123456", OWNER)):
        with pytest.raises(Unavailable, match="INLOOP_SECRET_KEY"):
            attempt()
