"""Password hashing (passlib API with argon2), tokens and CSRF tokens."""

import os

from app.config import get_settings
from app.security import (
    _password_context,
    csrf_token_for,
    csrf_token_matches,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)


def test_password_hash_is_argon2id():
    assert hash_password("correct horse battery").startswith("$argon2id$")


def test_password_hash_is_salted():
    assert hash_password("correct horse battery") != hash_password("correct horse battery")


def test_password_verifies_against_its_hash():
    assert verify_password("correct horse battery", hash_password("correct horse battery")) == (True, None)


def test_wrong_password_does_not_verify():
    assert verify_password("correct horse battery!", hash_password("correct horse battery")) == (False, None)


def test_missing_hash_never_verifies():
    assert verify_password("anything", None) == (False, None)
    assert verify_password("", "") == (False, None)


def test_malformed_hash_does_not_verify():
    assert verify_password("anything", "not-a-hash") == (False, None)


def test_hash_with_outdated_parameters_is_upgraded_on_verification():
    settings = get_settings()
    old_hash = _password_context(settings.argon2_time_cost + 1, settings.argon2_memory_cost * 2).hash("pw-1234567")
    ok, new_hash = verify_password("pw-1234567", old_hash)
    assert ok
    assert new_hash is not None and new_hash != old_hash
    assert new_hash.startswith("$argon2id$")
    assert f"t={settings.argon2_time_cost}" in new_hash
    assert verify_password("pw-1234567", new_hash) == (True, None)


def test_hash_with_outdated_parameters_is_not_upgraded_for_a_wrong_password():
    settings = get_settings()
    old_hash = _password_context(settings.argon2_time_cost + 1, settings.argon2_memory_cost).hash("pw-1234567")
    assert verify_password("wrong-password", old_hash) == (False, None)


def test_new_tokens_are_long_and_unique():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert min(len(token) for token in tokens) >= 40


def test_token_hash_is_a_sha256_hex_digest_that_hides_the_token():
    token = new_token()
    digest = token_hash(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert token not in digest
    assert token_hash(token) == digest


def test_csrf_token_matches_its_own_seed():
    assert csrf_token_matches("session-a", csrf_token_for("session-a"))


def test_csrf_token_does_not_match_another_seed():
    assert not csrf_token_matches("session-b", csrf_token_for("session-a"))


def test_missing_or_empty_csrf_token_never_matches():
    assert not csrf_token_matches("session-a", None)
    assert not csrf_token_matches("session-a", "")


def test_csrf_token_depends_on_the_secret_key():
    before = csrf_token_for("session-a")
    previous = os.environ["CERCLE_SECRET_KEY"]
    os.environ["CERCLE_SECRET_KEY"] = "another-secret-key"
    get_settings.cache_clear()
    try:
        assert csrf_token_for("session-a") != before
        assert not csrf_token_matches("session-a", before)
    finally:
        os.environ["CERCLE_SECRET_KEY"] = previous
        get_settings.cache_clear()
    assert csrf_token_for("session-a") == before
