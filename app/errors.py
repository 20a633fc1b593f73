"""Domain errors. Services raise them; `main.py` maps them to pages or JSON 4xx."""

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str = "", /, **fields: str) -> None:
        super().__init__(message)
        self.message = message
        # field name -> message, for re-rendering forms next to the right input
        self.fields = fields


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Invalid(DomainError):
    status_code = 422


class Conflict(DomainError):
    status_code = 409


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, message: str = "", /, retry_after: int = 60, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class SignInRequired(DomainError):
    status_code = 401
