"""Settings come only from `CERCLE_*` environment variables (and an optional `.env`)."""

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-development-only"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CERCLE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/cercle.db"
    # Optional PostgreSQL read replica for page reads (GET); writers and their next few
    # seconds of reads stay on the primary so nobody misses their own post.
    database_read_url: str | None = None
    env: Literal["development", "production", "test"] = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    base_url: str = "http://127.0.0.1:8000"
    default_language: Literal["en", "fr"] = "en"

    session_days: int = 30
    password_min_length: int = 10
    login_max_failures: int = 5
    login_window_minutes: int = 15
    reset_token_minutes: int = 60

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "cercle@localhost"

    # Write limits per member (0 turns one off); counted in the database, across processes.
    replies_per_10_minutes: int = 20
    threads_per_hour: int = 5
    flags_per_day: int = 20
    invites_per_day: int = 50

    # argon2 cost; tests lower it so the suite stays fast.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536

    db_pool_size: int = 5
    db_max_overflow: int = 10

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.env == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                "CERCLE_SECRET_KEY must be set to a long random value in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


@lru_cache
def get_settings() -> Settings:
    return Settings()
