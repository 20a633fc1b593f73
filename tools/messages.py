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
import ast
import contextlib
import io
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable
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

# %(name)s, %(num)d, %(share).1f, ...
PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
# French typography: a no-break space (U+00A0) before ; : ! ? % and », after «, and between
# groups of digits (1 000). `python -m tools.messages` puts them in; the tests check.
_BREAKING_SPACE_BEFORE = re.compile(r"[ \t]+([;:!?»]|%(?!\())")
_BREAKING_SPACE_AFTER = re.compile(r"(«)[ \t]+")
_BREAKING_SPACE_DIGITS = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")


def po_file(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with MAPPING_FILE.open() as cfg:
        return parse_mapping_cfg(cfg, filename=str(MAPPING_FILE))


def _in_sources(path: str) -> bool:
    relative = Path(path).resolve().relative_to(ROOT)
    top = relative.parts[0] if relative.parts else ""
    return not top or (top in SOURCE_DIRS and not any(part.startswith((".", "__")) for part in relative.parts))


def extract() -> Catalog:
    """Every message marked in the sources, as a fresh template catalog (no translations)."""
    method_map, options_map = _mapping()
    template = Catalog(project=PROJECT, version=VERSION, charset="utf-8", fuzzy=False)
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
        directory_filter=_in_sources,
    )
    # Babel warns about any f-string inside _(...), even a keyword argument (pct=f"{x:.1f}"),
    # which is fine; `runtime_messages()` reports the real problem instead.
    with contextlib.redirect_stderr(io.StringIO()):
        for filename, lineno, message, comments, context in found:
            template.add(message, None, [(Path(filename).as_posix(), lineno)], auto_comments=comments, context=context)
    return template


def _is_built_at_runtime(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp):  # "a" + b, "a %s" % b
        return any(isinstance(side, (ast.Constant, ast.JoinedStr, ast.BinOp)) for side in (node.left, node.right))
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
    )


def runtime_messages() -> list[str]:
    """Python calls like _(f"Hi {name}") or _("Hi " + name): no catalog can hold such a message.

    Write _("Hi %(name)s", name=name) instead. (A variable, as in _(ERROR_TITLES[...]), is fine
    when its values are marked with lazy().)
    """
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS):
                continue
            spec: tuple[int | tuple[int, str], ...] = KEYWORDS[node.func.id] or (1,)  # type: ignore[assignment]
            positions = [index if isinstance(index, int) else index[0] for index in spec]
            for position in positions:
                if position <= len(node.args) and _is_built_at_runtime(node.args[position - 1]):
                    found.append(
                        f"{path.relative_to(ROOT).as_posix()}:{node.lineno}: "
                        f"{node.func.id}() of a message built at runtime"
                    )
    return found


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
    """The %(name)s placeholders of a message, with their conversion (`%(n)d`)."""
    return Counter(match.group(0) for match in PLACEHOLDER_RE.finditer(text))


def _formatted_at_runtime(message: Message) -> bool:
    """Templates and ngettext always apply `%`; `_()` in Python only when given variables."""
    return (
        message.pluralizable
        or bool(placeholders(_ids(message)[0]))
        or any(filename.endswith(".html") for filename, _line in message.locations)
    )


def _formats(text: str, names: Iterable[str]) -> bool:
    try:
        text % dict.fromkeys(names, 1)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose %(name)s placeholders differ from the English, or that a lone % breaks."""
    problems = []
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = _ids(message)
        wanted: Counter[str] = Counter()
        for text in ids:
            wanted |= placeholders(text)  # an English singular may omit %(num)s
        names = {PLACEHOLDER_RE.match(key).group(1) for key in wanted} | {"num"}  # type: ignore[union-attr]
        for string in _strings(message):
            if not string:
                continue
            got = placeholders(string)
            if message.pluralizable:
                # Each plural form may leave out %(num)s ("un seul membre"), nothing else.
                bad = bool(set(got) - set(wanted) or {key for key in wanted if "(num)" not in key} - set(got))
            else:
                bad = got != wanted
            if bad:
                problems.append(
                    f"{describe(message)!r} -> {string!r}: placeholders {sorted(got)} instead of {sorted(wanted)}"
                )
            elif _formatted_at_runtime(message) and not _formats(string, names):
                problems.append(f"{describe(message)!r} -> {string!r}: a lone % (write %% for a percent sign)")
    return problems


def typography_problems(catalog: Catalog) -> list[str]:
    """French translations with a plain space where a no-break space belongs (see fix_typography)."""
    return [
        f"{describe(m)!r} -> {s!r}"
        for m in catalog
        if m.id and not m.fuzzy
        for s in _strings(m)
        if fix_typography(s) != s
    ]


def markup_problems(catalog: Catalog) -> list[str]:
    """Translations that add < > & or a double quote: templates insert translations unescaped
    (jinja2 newstyle gettext marks them safe), often inside a double-quoted attribute."""
    problems = []
    for message in catalog:
        if not message.id:
            continue
        source = "".join(_ids(message))
        for string in _strings(message):
            added = sorted({char for char in '<>&"' if char in string and char not in source})
            if added:
                problems.append(f"{describe(message)!r} -> {string!r}: adds {' '.join(added)} (use « » for quotes)")
    return problems


def fix_typography(text: str) -> str:
    """French spacing: `Bienvenue !` and `1 000` get a no-break space instead of a plain one."""
    text = _BREAKING_SPACE_BEFORE.sub("\u00a0\\1", text)
    text = _BREAKING_SPACE_AFTER.sub("\\1\u00a0", text)
    return _BREAKING_SPACE_DIGITS.sub("\u00a0", text)


def update(template: Catalog, language: str) -> Catalog:
    """The language's catalog brought up to date with `template`, translations kept."""
    catalog = load(language)
    if catalog is None:
        catalog = Catalog(
            locale=language,
            project=PROJECT,
            version=VERSION,
            charset="utf-8",
            fuzzy=False,
            language_team=LANGUAGE_TEAMS.get(language),
        )
    if language in PLURAL_FORMS:
        catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=True)
    if language == "fr":
        for message in catalog:
            if message.id and message.string:
                fixed = tuple(fix_typography(s) for s in _strings(message))
                if fixed != _strings(message):
                    print(f"{language}: no-break spaces put in {describe(message)!r}")
                    message.string = fixed if message.pluralizable else fixed[0]
    return catalog


_DATE_LINE = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"\n', re.MULTILINE)


def _render(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
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
    built = runtime_messages()
    if built:
        failed = True
        print(f"\n{len(built)} messages that cannot be extracted (use %(name)s placeholders):")
        for item in built:
            print(f"  - {item}")
    for language in TARGET_LANGUAGES:
        path = po_file(language)
        catalog = load(language) if args.check else update(template, language)
        if catalog is None:
            failed = True
            print(f"\n{language}: no catalog yet ({path.relative_to(ROOT)}): run without --check")
            continue
        if not args.check:
            if save(catalog, path):
                print(f"wrote {path.relative_to(ROOT)}")
            if catalog.obsolete:
                print(f"{language}: {len(catalog.obsolete)} obsolete messages (kept as #~ at the end of the file)")
        fuzzy = [describe(m) for m in catalog if m.id and m.fuzzy]
        missing = untranslated(template, catalog)
        problems = placeholder_problems(catalog) + markup_problems(catalog)
        if language == "fr":
            problems += [f"{item}: plain space (see fix_typography)" for item in typography_problems(catalog)]
        for title, items in (
            ("fuzzy: check the translation, then delete the `#, fuzzy` line", fuzzy),
            ("untranslated", [m for m in missing if m not in fuzzy]),
            ("placeholder, markup or typography problems", problems),
        ):
            if items:
                failed = True
                print(f"\n{language}: {len(items)} {title}:")
                for item in items:
                    print(f"  - {item}")
        if missing or problems:
            print(f"\nTranslate in {path.relative_to(ROOT)} (see docs/translating.md), then run this again.")
        else:
            print(f"{language}: all {count} messages translated")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
