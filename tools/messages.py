"""Extracts the translatable messages and updates the catalogs: `python -m tools.messages`.

    python -m tools.messages          # app/locales/messages.pot + every <lang>/LC_MESSAGES/messages.po
    python -m tools.messages --check  # writes nothing; exits 1 if a message lacks a translation

The mapping (which files, which extractor) is `babel.cfg`. Existing translations are kept;
nothing is guessed ("fuzzy matching" is off), so a changed English string shows up as new and
untranslated instead of silently reusing an old translation. Entries that *are* fuzzy (marked
by a translator, or a message that became plural) are listed, and count as untranslated: the
app ignores fuzzy entries. `tests/unit/test_i18n.py` runs the same checks in CI.
See docs/translating.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
MAPPING_FILE = ROOT / "babel.cfg"
LOCALES_DIR = ROOT / "app" / "locales"
TEMPLATE_FILE = LOCALES_DIR / "messages.pot"
SOURCE_DIRS = ("app",)  # only these top-level folders are searched (not .venv, tests, ...)
# Translations target these languages; English is the source language (no catalog).
TARGET_LANGUAGES = ("fr",)
# Babel's CLDR data gives French a third "many" form (millions); gettext tools and translators
# expect the classic rule, so it is set explicitly: 0 and 1 are singular.
PLURAL_FORMS = {"fr": "nplurals=2; plural=(n > 1);"}
LANGUAGE_TEAMS = {"fr": "French"}

PROJECT = "Cercle"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# `lazy("...")` marks a message translated later (ERROR_TITLES in app/main.py, for example).
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy": None}
# `# Translators: ...` just above a message reaches the translator as a comment.
COMMENT_TAGS = ("Translators:",)

# %(name)s, %(num)d, ... and %% ; anything else starting with % is malformed.
PLACEHOLDER_RE = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa%])")
# French typography: a no-break space (U+00A0) before ; : ! ? and inside « ».
_BREAKING_SPACE_BEFORE = re.compile(r"[ \t]+([;:!?»])")
_BREAKING_SPACE_AFTER = re.compile(r"(«)[ \t]+")


def po_file(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with MAPPING_FILE.open() as cfg:
        return parse_mapping_cfg(cfg, filename=str(MAPPING_FILE))


def _in_sources(path: str) -> bool:
    relative = Path(path).resolve().relative_to(ROOT)
    top = relative.parts[0] if relative.parts else ""
    return not top or top in SOURCE_DIRS and not any(part.startswith((".", "__")) for part in relative.parts)


def extract() -> Catalog:
    """Every message marked in the sources, as a fresh template catalog (no translations)."""
    method_map, options_map = _mapping()
    template = Catalog(project=PROJECT, version=VERSION, charset="utf-8", fuzzy=False)
    found = extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
        strip_comment_tags=True, directory_filter=_in_sources,
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(Path(filename).as_posix(), lineno)], auto_comments=comments,
                     context=context)
    return template


def load(language: str) -> Catalog | None:
    path = po_file(language)
    if not path.exists():
        return None
    with path.open("rb") as po:
        return read_po(po, locale=language)


def _strings(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string or "",)


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def describe(message: Message) -> str:
    text = " | ".join(_ids(message))
    return f"[{message.context}] {text}" if message.context else text


def is_translated(message: Message | None, wanted: Message, num_plurals: int) -> bool:
    """A non-empty, non-fuzzy translation of the same singular/plural message."""
    if message is None or message.fuzzy or _ids(message) != _ids(wanted):
        return False
    strings = _strings(message)
    expected = num_plurals if wanted.pluralizable else 1
    return len(strings) == expected and all(s.strip() for s in strings)


def untranslated(template: Catalog, catalog: Catalog | None) -> list[str]:
    """The messages of `template` with no usable translation in `catalog`."""
    missing = []
    for wanted in template:
        if not wanted.id:
            continue
        found = catalog.get(wanted.id, wanted.context) if catalog is not None else None
        if not is_translated(found, wanted, catalog.num_plurals if catalog is not None else 2):
            missing.append(describe(wanted))
    return missing


def placeholders(text: str) -> Counter[str]:
    """The named/positional placeholders of a message (`%%` is not one)."""
    return Counter(
        f"%({name})" + conv if name else "%" + conv
        for name, conv in PLACEHOLDER_RE.findall(text) if conv != "%"
    )


def _formats(text: str, names: Iterable[str]) -> bool:
    try:
        text % {name: 1 for name in names}
    except (ValueError, TypeError, KeyError):
        return False
    return True


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose %(name)s placeholders differ from the English, or that `%` breaks."""
    problems = []
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = _ids(message)
        wanted = placeholders(ids[-1]) | placeholders(ids[0])  # a singular may omit %(num)s
        names = {key[2:-2] for key in wanted if key.startswith("%(")} | {"num"}
        for index, string in enumerate(_strings(message)):
            if not string:
                continue
            source = ids[min(index, len(ids) - 1)] if len(ids) > 1 else ids[0]
            got = placeholders(string)
            if len(ids) > 1:
                # Plural forms: each may drop %(num)s ("un membre"), never add an unknown one.
                bad = set(got) - set(wanted) or (set(wanted) - {"%(num)s", "%(num)d"}) - set(got)
            else:
                bad = got != wanted
            if bad:
                problems.append(f"{describe(message)!r} -> {string!r}: placeholders {sorted(got)} "
                                f"instead of {sorted(wanted)}")
            elif _formats(source, names) and not _formats(string, names):
                problems.append(f"{describe(message)!r} -> {string!r}: a lone % (write %% for a percent sign)")
    return problems


def typography_problems(catalog: Catalog) -> list[str]:
    """French translations with a breaking space before ; : ! ? (use a no-break space)."""
    return [
        f"{describe(m)!r} -> {s!r}"
        for m in catalog if m.id and not m.fuzzy
        for s in _strings(m)
        if _BREAKING_SPACE_BEFORE.search(s) or _BREAKING_SPACE_AFTER.search(s)
    ]


def fix_typography(text: str) -> str:
    text = _BREAKING_SPACE_BEFORE.sub("\u00a0\\1", text)
    return _BREAKING_SPACE_AFTER.sub("\\1\u00a0", text)


def update(template: Catalog, language: str) -> Catalog:
    """The language's catalog brought up to date with `template`, translations kept."""
    catalog = load(language)
    if catalog is None:
        catalog = Catalog(locale=language, project=PROJECT, version=VERSION, charset="utf-8", fuzzy=False,
                          language_team=LANGUAGE_TEAMS.get(language))
    if language in PLURAL_FORMS:
        catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=True)
    if language == "fr":
        for message in catalog:
            if message.id and message.string:
                if isinstance(message.string, (list, tuple)):
                    message.string = tuple(fix_typography(s) for s in message.string)
                else:
                    message.string = fix_typography(message.string)
    return catalog


_DATE_LINE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"\n', re.MULTILINE)


def _render(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    # No line numbers: the files change only when messages do, and merge well.
    write_po(buffer, catalog, width=100, include_lineno=False, sort_output=False)
    return buffer.getvalue()


def save(catalog: Catalog, path: Path) -> bool:
    """Writes `path` unless only its dates would change. True if written."""
    content = _render(catalog)
    if path.exists() and _DATE_LINE.sub(b"", path.read_bytes()) == _DATE_LINE.sub(b"", content):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.messages", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail if a translation is missing")
    args = parser.parse_args(argv)

    template = extract()
    count = sum(1 for message in template if message.id)
    print(f"{count} messages in the sources")
    if not args.check and save(template, TEMPLATE_FILE):
        print(f"wrote {TEMPLATE_FILE.relative_to(ROOT)}")

    failed = False
    for language in TARGET_LANGUAGES:
        before = load(language)
        catalog = update(template, language) if not args.check else before
        path = po_file(language)
        if not args.check:
            if save(catalog, path):
                print(f"wrote {path.relative_to(ROOT)}")
            gone = [describe(m) for m in catalog.obsolete.values()]
            if gone:
                print(f"{language}: {len(gone)} obsolete (kept as #~ comments at the end of the file)")
        fuzzy = [describe(m) for m in catalog if m.id and m.fuzzy] if catalog is not None else []
        missing = untranslated(template, catalog)
        problems = placeholder_problems(catalog) if catalog is not None else []
        for title, items in (
            ("fuzzy (check, then remove the `#, fuzzy` line)", fuzzy),
            ("untranslated", [m for m in missing if m not in fuzzy]),
            ("placeholder problems", problems),
        ):
            if items:
                failed = True
                print(f"\n{language}: {len(items)} {title}:")
                for item in items:
                    print(f"  - {item}")
        if not (missing or problems):
            print(f"{language}: all {count} messages translated")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
