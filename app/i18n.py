"""Translations: gettext catalogs from `app/locales`, chosen per request.

The catalogs are read from the `.po` sources at start-up (no compile step to forget).
The current language lives in a context variable set by a middleware, so `_()` works
the same in routers, services and templates.
"""

from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "fr": "Français"}
LOCALES_DIR = Path(__file__).parent / "locales"

current_language: ContextVar[str] = ContextVar("current_language", default="en")


@lru_cache
def translations(language: str) -> NullTranslations:
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str, **variables: object) -> str:
    text = translations(current_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_language.get()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def lazy(message: str) -> str:
    """Marks a message for extraction where it must be translated later (at render time)."""
    return message


def pick_language(user_language: str | None, accept_language: str | None, default: str) -> str:
    if user_language in LANGUAGES:
        return user_language  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default
