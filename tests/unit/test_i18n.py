"""Translations: the French catalog covers every message, and the language is chosen right.

The catalog checks extract the messages from the current source with the same code as
`python -m tools.messages`, so a new English string without its French fails here. Fix it
with `python -m tools.messages`, then translate in app/locales/fr/LC_MESSAGES/messages.po
(see docs/translating.md).
"""

import pytest
from babel.messages.catalog import Catalog
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.i18n import current_language, gettext, ngettext, pick_language
from tests.factories import PASSWORD, login, make_user, post_form
from tools import messages

FIX = "run `python -m tools.messages`, translate in app/locales/fr/LC_MESSAGES/messages.po (docs/translating.md)"


@pytest.fixture(scope="module")
def template() -> Catalog:
    return messages.extract()


@pytest.fixture(scope="module")
def french() -> Catalog:
    catalog = messages.load("fr")
    assert catalog is not None, f"no French catalog: {FIX}"
    return catalog


def _report(title: str, items: list[str]) -> str:
    return f"{len(items)} {title} ({FIX}):\n" + "\n".join(f"  - {item}" for item in items)


# The catalog ----------------------------------------------------------------------------------


def test_messages_are_extracted(template: Catalog) -> None:
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in template}
    # Python (_, lazy), templates (_ and ngettext) are all searched.
    assert "Wrong username or password." in ids  # app/services/accounts.py
    assert "Page not found" in ids  # lazy() in app/main.py
    assert "Error" in ids
    assert "Forgot your password?" in ids  # app/templates/auth/login.html
    assert "%(num)s member" in ids  # ngettext in a template
    assert len(template) > 300


def test_every_message_has_a_french_translation(template: Catalog, french: Catalog) -> None:
    missing = messages.untranslated(template, french)
    assert not missing, _report("messages without a French translation (empty or fuzzy)", missing)


def test_no_message_is_built_at_runtime() -> None:
    built = messages.runtime_messages()
    assert not built, _report("messages built at runtime: use _('Hi %(name)s', name=...)", built)


def test_translations_keep_the_placeholders(french: Catalog) -> None:
    problems = messages.placeholder_problems(french)
    assert not problems, _report("translations with other placeholders than the English", problems)


def test_translations_add_no_markup(french: Catalog) -> None:
    problems = messages.markup_problems(french)
    assert not problems, _report('translations adding < > & or "', problems)


def test_french_typography_is_consistent(french: Catalog) -> None:
    problems = messages.typography_problems(french)
    assert not problems, _report("translations with a plain space before ; : ! ? % » or in 1 000", problems)


def test_french_plural_rule(french: Catalog) -> None:
    assert french.num_plurals == 2
    assert french.plural_expr.replace(" ", "") == "(n>1)"


@pytest.mark.parametrize(("n", "expected"), [(0, "0 membre"), (1, "1 membre"), (2, "2 membres")])
def test_french_plurals_at_runtime(n: int, expected: str) -> None:
    token = current_language.set("fr")
    try:
        assert ngettext("%(num)s member", "%(num)s members", n) == expected
        assert gettext("Welcome, %(name)s!", name="Léa") == "Bienvenue, Léa\u00a0!"
    finally:
        current_language.reset(token)


def test_the_checks_catch_mistakes() -> None:
    """The checks above would fail on a missing, fuzzy or broken translation."""
    template = Catalog(locale=None)
    template.add("Hello %(name)s", locations=[("app/x.py", 1)])
    template.add("Bye", locations=[("app/templates/x.html", 1)])
    template.add(("%(num)s cat", "%(num)s cats"), locations=[("app/templates/x.html", 1)])
    catalog = Catalog(locale="fr")
    catalog.mime_headers = [("Plural-Forms", messages.PLURAL_FORMS["fr"])]
    catalog.add("Hello %(name)s", "Bonjour %(nom)s", locations=[("app/x.py", 1)])
    catalog.add("Bye", "Au revoir à 100 %", locations=[("app/templates/x.html", 1)], flags=["fuzzy"])
    catalog.add(("%(num)s cat", "%(num)s cats"), ("un chat", ""), locations=[("app/templates/x.html", 1)])
    assert messages.untranslated(template, catalog) == ["Bye", "%(num)s cat | %(num)s cats"]
    assert len(messages.placeholder_problems(catalog)) == 1  # %(nom)s; the fuzzy one is ignored
    bye = catalog.get("Bye")
    assert bye is not None
    bye.flags.discard("fuzzy")
    problems = messages.placeholder_problems(catalog)
    assert len(problems) == 2 and "lone %" in problems[1]  # templates always apply %


# Choosing the language ------------------------------------------------------------------------


def test_pick_language() -> None:
    assert pick_language("fr", "en-GB,en;q=0.9", "en") == "fr"
    assert pick_language(None, "de-CH, fr-CA;q=0.8, en;q=0.5", "en") == "fr"
    assert pick_language(None, "de", "en") == "en"
    assert pick_language("xx", None, "en") == "en"


def test_accept_language_chooses_for_a_visitor(client: TestClient) -> None:
    french = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    assert "Se connecter" in french.text and "Mot de passe oublié\u00a0?" in french.text
    assert "Sign in" not in french.text

    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in" in english.text and "Se connecter" not in english.text


def test_error_pages_are_translated(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    assert "Page introuvable" in response.text


def test_the_users_setting_wins_over_accept_language(client: TestClient, make_client, db: Session) -> None:
    english = {"Accept-Language": "en"}
    user = make_user(db, "lea")
    login(client, user)
    assert "Sign out" in client.get("/settings", headers=english).text

    saved = post_form(
        client,
        "/settings/profile",
        {"display_name": "Léa", "bio": "", "language": "fr"},
        csrf_page="/settings",
        headers=english,
    )
    assert saved.status_code == 303
    page = client.get("/settings", headers=english).text
    assert '<html lang="fr">' in page and "Se déconnecter" in page and "Réglages" in page

    # Another browser that prefers English: signing in brings the user's choice along.
    other = make_client()
    assert "Sign in" in other.get("/login", headers=english).text
    signed_in = other.post(
        "/login",
        data={"username": "lea", "password": PASSWORD, "csrf_token": _csrf(other, english)},
        headers=english,
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert "Se déconnecter" in other.get("/settings", headers=english).text

    # "As my browser says": back to Accept-Language.
    post_form(
        client,
        "/settings/profile",
        {"display_name": "Léa", "bio": "", "language": ""},
        csrf_page="/settings",
        headers=english,
    )
    assert "Sign out" in client.get("/settings", headers=english).text
    assert "Se déconnecter" in client.get("/settings", headers={"Accept-Language": "fr"}).text


def test_the_language_menu_switches_a_visitor(client: TestClient) -> None:
    english = {"Accept-Language": "en"}
    assert "Sign in" in client.get("/login", headers=english).text

    response = post_form(client, "/language", {"language": "fr", "next": "/login"}, csrf_page="/login", headers=english)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Se connecter" in client.get("/login", headers=english).text

    post_form(client, "/language", {"language": "en", "next": "/login"}, csrf_page="/login")
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "fr"}).text

    # An unknown language forgets the choice: Accept-Language decides again.
    post_form(client, "/language", {"language": "xx", "next": "/login"}, csrf_page="/login")
    assert "Se connecter" in client.get("/login", headers={"Accept-Language": "fr"}).text


def test_the_language_menu_is_remembered_for_a_signed_in_user(client: TestClient, db: Session) -> None:
    user = make_user(db)
    login(client, user)
    post_form(client, "/language", {"language": "fr", "next": "/settings"})
    db.refresh(user)
    assert user.language == "fr"
    assert "Se déconnecter" in client.get("/settings", headers={"Accept-Language": "en"}).text


def _csrf(client: TestClient, headers: dict[str, str]) -> str:
    from tests.factories import CSRF_RE

    match = CSRF_RE.search(client.get("/login", headers=headers).text)
    assert match
    return match.group(1)
