"""Settings: environment variables only, and no default secret key in production."""

import os

import pytest
from pydantic import ValidationError

from app.config import DEFAULT_SECRET_KEY, Settings, get_settings


def test_production_refuses_the_default_secret_key():
    with pytest.raises(ValidationError, match="CERCLE_SECRET_KEY"):
        Settings(_env_file=None, env="production", secret_key=DEFAULT_SECRET_KEY)


def test_production_refuses_a_missing_secret_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("CERCLE_ENV", "production")
    monkeypatch.delenv("CERCLE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_production_accepts_a_real_secret_key(monkeypatch):
    monkeypatch.setenv("CERCLE_ENV", "production")
    monkeypatch.setenv("CERCLE_SECRET_KEY", "f" * 64)
    settings = Settings(_env_file=None)
    assert settings.env == "production"
    assert settings.secret_key == "f" * 64


def test_development_accepts_the_default_secret_key():
    settings = Settings(_env_file=None, env="development", secret_key=DEFAULT_SECRET_KEY)
    assert settings.secret_key == DEFAULT_SECRET_KEY


def test_unknown_environment_name_is_refused():
    with pytest.raises(ValidationError):
        Settings(_env_file=None, env="staging")


def test_settings_are_read_from_cercle_environment_variables(monkeypatch):
    monkeypatch.setenv("CERCLE_LOGIN_MAX_FAILURES", "9")
    monkeypatch.setenv("CERCLE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings(_env_file=None)
    assert settings.login_max_failures == 9
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert not settings.is_sqlite


def test_defaults_suit_a_single_host_start(monkeypatch):
    for name in list(os.environ):
        if name.startswith("CERCLE_"):
            monkeypatch.delenv(name)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///./var/cercle.db"
    assert settings.is_sqlite
    assert settings.env == "development"
    assert settings.login_max_failures == 5


def test_cookies_are_secure_only_for_an_https_base_url():
    assert Settings(_env_file=None, base_url="https://forum.example.com").secure_cookies
    assert not Settings(_env_file=None, base_url="http://127.0.0.1:8000").secure_cookies


def test_get_settings_is_cached_until_cleared():
    first = get_settings()
    assert get_settings() is first
    get_settings.cache_clear()
    try:
        assert get_settings() is not first
    finally:
        get_settings.cache_clear()
