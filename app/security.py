"""Password hashing (passlib API, argon2), random tokens and CSRF tokens."""

import hashlib
import hmac
import secrets
from functools import lru_cache

from passlib.context import CryptContext

from app.config import get_settings


@lru_cache
def _password_context(time_cost: int, memory_cost: int) -> CryptContext:
    return CryptContext(
        schemes=["argon2"],
        deprecated="auto",
        argon2__time_cost=time_cost,
        argon2__memory_cost=memory_cost,
    )


def password_context() -> CryptContext:
    settings = get_settings()
    return _password_context(settings.argon2_time_cost, settings.argon2_memory_cost)


def hash_password(password: str) -> str:
    return password_context().hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash to store when the old one used outdated parameters)."""
    if not password_hash:
        # Spend the same time as a real check so a missing account is not revealed by timing.
        burn_password_check(password)
        return False, None
    try:
        return password_context().verify_and_update(password, password_hash)
    except ValueError:
        return False, None


_DUMMY_HASH: dict[str, str] = {}


def burn_password_check(password: str) -> None:
    """Verify against a throw-away hash: the cost of a real verification, for unknown accounts."""
    key = f"{get_settings().argon2_time_cost}:{get_settings().argon2_memory_cost}"
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password(secrets.token_urlsafe(16))
    password_context().verify(password, _DUMMY_HASH[key])


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(seed: str) -> str:
    """A CSRF token bound to the browser's session (or anonymous seed) and the secret key."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_token_matches(seed: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_token_for(seed), token or "")
