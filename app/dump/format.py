"""The dump format's vocabulary: record types and their order, field limits, value parsers.

Parsers turn a raw JSON value into what the bulk writers store, or raise `DumpError`
with the line number; they are called once per field of millions of lines, so they stay
small and avoid building datetime objects where a string check will do.
"""

import re
from datetime import UTC, date, datetime
from typing import Any

HEADER_TYPE = "cercle-dump"
VERSION = 1

# Records come grouped by type, in this order (a type may be absent).
TYPES = (
    "site",
    "user",
    "circle",
    "invite",
    "membership",
    "thread",
    "post",
    "reaction",
    "visit",
    "badge",
    "badge_award",
    "ambassador_grant",
    "pulse",
)
TYPE_INDEX = {name: index for index, name in enumerate(TYPES)}

# DESIGN.md § Pages (HTML) and API, and the columns' own sizes.
USERNAME_RE = re.compile(r"[a-z0-9_]{3,30}")
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?")
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 60
PASSWORD_HASH_MAX = 255
BIO_MAX = 1_000
SITE_NAME_MAX = 60
SITE_DESCRIPTION_MAX = 1_000
CIRCLE_NAME_MAX = 80
CIRCLE_DESCRIPTION_MAX = 2_000
TITLE_MAX = 200
BODY_MAX = 50_000
BADGE_NAME_MAX = 60
BADGE_DESCRIPTION_MAX = 300
REASON_MAX = 1_000
MAX_USES_MAX = 2_000_000_000

REGISTRATIONS = ("open", "invite")
VISIBILITIES = ("open", "closed", "secret")
ROLES = ("member", "host")
REACTION_KINDS = ("like", "helpful", "thanks")
TIERS = ("bronze", "silver", "gold")

_UTC_Z = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d{1,6})\d*)?Z")
_DAY = re.compile(r"\d{4}-\d\d-\d\d")
_SURROGATE = re.compile("[\ud800-\udfff]")


class DumpError(Exception):
    """A dump that cannot be imported; `line` is the 1-based line at fault, if any."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.message = message
        super().__init__(f"LINE {line}: {message}" if line is not None else message)


_HMS = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d")
_valid_days: dict[str, bool] = {}


def _valid_day(text: str) -> bool:
    known = _valid_days.get(text)
    if known is None:
        known = _DAY.fullmatch(text) is not None
        if known:
            try:
                date.fromisoformat(text)
            except ValueError:
                known = False
        if len(_valid_days) < 100_000:
            _valid_days[text] = known
    return known


def timestamp(value: Any, line: int, name: str) -> str:
    """A dump timestamp as stored text: `YYYY-MM-DD HH:MM:SS.ffffff`, UTC.

    That is SQLAlchemy's SQLite storage format, which PostgreSQL reads too (the import
    sets the session time zone to UTC); such strings sort chronologically.
    """
    if value.__class__ is str:
        if len(value) == 20 and value[19] == "Z" and value[10] == "T":
            # The common case, checked without building a datetime.
            if _valid_day(value[:10]) and _HMS.fullmatch(value, 11, 19) is not None:
                return f"{value[:10]} {value[11:19]}.000000"
        else:
            match = _UTC_Z.fullmatch(value)
            if match is not None and _valid_day(match.group(1)) and _HMS.fullmatch(match.group(2)) is not None:
                fraction = match.group(3)
                return f"{match.group(1)} {match.group(2)}.{fraction.ljust(6, '0') if fraction else '000000'}"
    raise DumpError(f"{name}: not an ISO 8601 UTC timestamp like 2026-03-01T09:30:00Z ({value!r})", line)


def day(value: Any, line: int, name: str) -> str:
    if value.__class__ is str and _valid_day(value):
        return value  # type: ignore[no-any-return]
    raise DumpError(f"{name}: not a day like 2026-03-01 ({value!r})", line)


def key_of(value: Any, line: int, name: str) -> int | str:
    """An id as the import compares it: ids are compared as text, so 7 and "7" are one id.

    Non-negative integers (and their canonical decimal strings) become ints, which
    are cheaper to hash; anything else stays a string.
    """
    kind = value.__class__
    if kind is int:
        return value if value >= 0 else str(value)  # type: ignore[no-any-return]
    if kind is str and value:
        if value.isdigit() and value.isascii() and (value[0] != "0" or value == "0"):
            return int(value)
        return value  # type: ignore[no-any-return]
    raise DumpError(f"{name}: an id must be a non-empty string or an integer ({value!r})", line)


def text(value: Any, line: int, name: str, limit: int, *, required: bool = False) -> str:
    """A string up to `limit` characters; absent or null gives "" unless `required`."""
    if value is None:
        if required:
            raise DumpError(f"missing field '{name}'", line)
        return ""
    if value.__class__ is not str:
        raise DumpError(f"{name}: must be a string", line)
    if len(value) > limit:
        raise DumpError(f"{name}: {len(value):,} characters, at most {limit:,} allowed", line)
    if not value.isascii() and _SURROGATE.search(value) is not None:
        raise DumpError(f"{name}: not valid Unicode text (a lone surrogate)", line)
    return value  # type: ignore[no-any-return]


def flag(value: Any, line: int, name: str, *, required: bool = False) -> bool:
    if value is None:
        if required:
            raise DumpError(f"missing field '{name}'", line)
        return False
    if value is True or value is False:
        return value  # type: ignore[no-any-return]
    raise DumpError(f"{name}: must be true or false ({value!r})", line)


def choice(value: Any, line: int, name: str, options: tuple[str, ...]) -> str:
    if value is None:
        raise DumpError(f"missing field '{name}'", line)
    if value not in options:
        raise DumpError(f"{name}: must be one of {', '.join(options)} ({value!r})", line)
    return value  # type: ignore[no-any-return]


def integer(value: Any, line: int, name: str, low: int, high: int) -> int:
    if value is None:
        raise DumpError(f"missing field '{name}'", line)
    if type(value) is not int or not low <= value <= high:
        raise DumpError(f"{name}: must be an integer from {low} to {high} ({value!r})", line)
    return value  # type: ignore[no-any-return]


def require(record: dict[str, Any], name: str, line: int) -> Any:
    value = record.get(name)
    if value is None:
        raise DumpError(f"missing field '{name}'", line)
    return value


# --- writing -------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """A stored timestamp as the dump writes it: UTC with a Z, microseconds when present."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
