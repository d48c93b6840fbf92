"""Secrets at rest (api.crypto): sealed with the newest key, opened with any, rotated."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from api.crypto import SecretBox, SecretKeyError, dev_key, new_key


def test_a_sealed_secret_hides_its_text_and_opens_again() -> None:
    box = SecretBox(new_key())
    sealed = box.seal("xoxb-123-secret")
    assert "xoxb" not in sealed
    assert box.open(sealed) == "xoxb-123-secret"


def test_an_old_key_still_opens_and_rotation_moves_to_the_new_one() -> None:
    old, new = new_key(), new_key()
    sealed = SecretBox(old).seal("seed")
    both = SecretBox(f"{new}, {old}")
    assert both.open(sealed) == "seed"
    rotated = both.rotate(sealed)
    assert SecretBox(new).open(rotated) == "seed"
    with pytest.raises(SecretKeyError):
        SecretBox(new).open(sealed)


def test_a_tampered_secret_is_refused() -> None:
    box = SecretBox(new_key())
    sealed = box.seal("seed")
    with pytest.raises(SecretKeyError):
        box.open(sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"))


@pytest.mark.parametrize("keys", ["", " , ", "not-a-key", f"{'a' * 44}"])
def test_bad_keys_are_a_clear_error(keys: str) -> None:
    with pytest.raises(SecretKeyError, match="INLOOP_SECRET_KEY"):
        SecretBox(keys)


def test_the_dev_key_is_made_once_and_kept_for_the_owner_only(tmp_path: Path) -> None:
    first = dev_key(tmp_path)
    assert dev_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert SecretBox(first).open(SecretBox(first).seal("x")) == "x"
