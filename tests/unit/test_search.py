"""Full-text search (SQLite FTS5 and PostgreSQL tsvector): words, ranking, snippets, permissions."""

import pytest
from sqlmodel import Session, select

from app.models import Circle, Post, Thread, User
from app.services import memberships, posts, search
from tests.factories import add_member, login, make_circle, make_reply, make_thread, make_user


def _titles(db: Session, viewer: User, q: str, circle: Circle | None = None) -> list[str]:
    hits = search.search(db, viewer=viewer, q=q, circle=circle)
    db.commit()
    return [hit.thread.title for hit in hits]


def _bodies(db: Session, viewer: User, q: str) -> list[str]:
    hits = search.search(db, viewer=viewer, q=q)
    db.commit()
    return [hit.post.body_md for hit in hits]


def _member_of(db: Session, visibility: str = "open", slug: str = "espresso") -> tuple[Circle, User]:
    circle = make_circle(db, slug, visibility=visibility)
    author = make_user(db, f"author_{slug.replace('-', '_')}")
    add_member(db, circle, author)
    return circle, author


def _opening(db: Session, thread: Thread) -> Post:
    return db.exec(select(Post).where(Post.thread_id == thread.id, Post.opening)).one()


def test_search_finds_a_word_of_a_thread_title(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Burr grinders compared", body="Long story.")
    assert _titles(db, alice, "grinders") == ["Burr grinders compared"]


def test_search_finds_a_word_of_a_post_body(db):
    circle, alice = _member_of(db)
    thread = make_thread(db, circle, alice, title="Morning", body="Nothing special.")
    make_reply(db, thread, alice, "I use a hand grinder with ceramic burrs.")
    assert _bodies(db, alice, "ceramic") == ["I use a hand grinder with ceramic burrs."]


def test_search_finds_nothing_for_an_absent_word_or_an_empty_query(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Morning", body="Nothing special.")
    assert _titles(db, alice, "zeppelin") == []
    assert _titles(db, alice, "   ") == []


def test_a_title_match_ranks_above_a_body_match(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Other things", body="Someone said espresso once.")
    make_thread(db, circle, alice, title="Espresso basics", body="Let us start.")
    assert _titles(db, alice, "espresso") == ["Espresso basics", "Other things"]


def test_the_snippet_highlights_the_matching_word_with_mark(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Roasting", body="We roast our beans on Sundays.")
    (hit,) = search.search(db, viewer=alice, q="roast")
    assert "<mark>roast</mark>" in str(hit.snippet)


def test_the_snippet_escapes_html_written_in_the_post(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Tags", body="Fish & chips <3 roast <b>now</b> <script>alert(1)</script>")
    (hit,) = search.search(db, viewer=alice, q="roast")
    snippet = str(hit.snippet)
    assert "<script" not in snippet and "<b>" not in snippet
    assert "Fish &amp; chips &lt;3 <mark>roast</mark>" in snippet


@pytest.mark.parametrize(("written", "searched"), [("Un café crème", "cafe"), ("A simple cafe", "café"),
                                                   ("Crème brûlée", "CREME")])
def test_search_ignores_accents_and_case(db, written, searched):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Accents", body=written)
    assert _bodies(db, alice, searched) == [written]


def test_the_circle_filter_limits_results_to_one_circle(db):
    espresso, alice = _member_of(db)
    tea = make_circle(db, "tea")
    add_member(db, tea, alice)
    make_thread(db, espresso, alice, title="Water for espresso", body="Soft water.")
    make_thread(db, tea, alice, title="Water for tea", body="Soft water too.")
    assert sorted(_titles(db, alice, "water")) == ["Water for espresso", "Water for tea"]
    assert _titles(db, alice, "water", circle=tea) == ["Water for tea"]


@pytest.mark.parametrize("visibility", ["closed", "secret"])
def test_search_never_returns_posts_of_a_closed_or_secret_circle_to_non_members(db, visibility):
    circle, alice = _member_of(db, visibility)
    outsider = make_user(db, "outsider")
    make_thread(db, circle, alice, title="Hidden grinder", body="The private grinder talk.")
    assert _titles(db, alice, "grinder") == ["Hidden grinder"]
    assert _titles(db, outsider, "grinder") == []


def test_a_former_member_no_longer_finds_a_closed_circle_posts(db):
    circle, alice = _member_of(db, "closed")
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    make_thread(db, circle, alice, title="Roast profiles", body="Private.")
    assert _titles(db, bob, "roast") == ["Roast profiles"]
    memberships.leave(db, circle=circle, user=bob)
    assert _titles(db, bob, "roast") == []


def test_any_signed_in_person_finds_posts_of_an_open_circle(db):
    circle, alice = _member_of(db)
    passer = make_user(db, "passer")
    make_thread(db, circle, alice, title="Public grinder", body="Open talk.")
    assert _titles(db, passer, "grinder") == ["Public grinder"]


def test_deleted_posts_are_not_returned(db):
    circle, alice = _member_of(db)
    thread = make_thread(db, circle, alice, title="Kept", body="Nothing.")
    reply = make_reply(db, thread, alice, "A regrettable zeppelin remark.")
    posts.delete_post(db, post=reply, thread=thread, by=alice)
    assert _bodies(db, alice, "zeppelin") == []


def _thread_with_a_hidden_reply(db, opening: str):
    """A thread by alice whose reply mentioning a zeppelin is hidden; bob, a member, searches."""
    circle, alice = _member_of(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice, title="Kept", body=opening)
    reply = make_reply(db, thread, alice, "A moderated zeppelin remark.")
    reply.hidden = True
    db.add(reply)
    db.commit()
    return bob


def test_hidden_posts_are_not_returned_to_members(db):
    bob = _thread_with_a_hidden_reply(db, "Nothing.")
    assert _bodies(db, bob, "zeppelin") == []


def test_posts_of_a_hidden_thread_are_not_returned(db):
    circle, alice = _member_of(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    thread = make_thread(db, circle, alice, title="Zeppelin thread", body="Zeppelin opening.")
    make_reply(db, thread, bob, "Zeppelin reply.")
    posts.delete_post(db, post=_opening(db, thread), thread=thread, by=alice)
    assert _bodies(db, bob, "zeppelin") == []


def test_an_edited_post_is_found_by_its_new_words_only(db):
    circle, alice = _member_of(db)
    thread = make_thread(db, circle, alice, title="Edits", body="Nothing.")
    reply = make_reply(db, thread, alice, "About zeppelins.")
    from app import permissions

    posts.edit_post(db, post=reply, thread=thread, access=permissions.circle_access(db, alice, circle),
                    by=alice, body="About submarines.")
    assert _bodies(db, alice, "zeppelins") == []
    assert _bodies(db, alice, "submarines") == ["About submarines."]


FTS_SYNTAX = ['"', '""', "*", "OR", "AND", "NOT", "(", ")", "a OR", "OR b", "(grinder", 'grinder"', "-grinder",
              "grinder*", "NEAR(a b)", "title:grinder", "^grinder", "'", "a & b | !c", ":*", "\\", "%", "_",
              "café OR", "x" * 500, "\x00"]


def test_search_syntax_characters_never_break_the_service(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Grinder talk", body="A grinder OR two.")
    for q in FTS_SYNTAX:
        assert isinstance(search.search(db, viewer=alice, q=q), list), q
        db.rollback()


def test_search_syntax_characters_are_searched_as_plain_words(db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Grinder talk", body="A grinder OR two.")
    for q in ('"grinder"', "(grinder)", "grinder*", "grinder OR", "grinder:"):
        assert _titles(db, alice, q) == ["Grinder talk"], q


def test_search_syntax_characters_never_cause_a_server_error_on_the_page(client, db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Grinder talk", body="A grinder OR two.")
    login(client, alice)
    for q in FTS_SYNTAX:
        assert client.get("/search", params={"q": q}).status_code == 200, q
        assert client.get("/search", params={"q": q}, headers={"HX-Request": "true"}).status_code == 200, q


def test_search_syntax_characters_never_cause_a_server_error_in_the_api(client, db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Grinder talk", body="A grinder OR two.")
    login(client, alice)
    for q in FTS_SYNTAX:
        response = client.get("/api/v1/search", params={"q": q})
        assert response.status_code == 200, q
        assert isinstance(response.json(), list)


def test_the_search_page_shows_hits_with_highlighted_snippets(client, db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Roasting", body="We roast our beans on Sundays.")
    login(client, alice)
    page = client.get("/search", params={"q": "roast"})
    assert page.status_code == 200
    assert "<mark>roast</mark>" in page.text
    assert ">Roasting</a>" in page.text


def test_the_search_page_answers_htmx_with_the_results_fragment_only(client, db):
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Roasting", body="We roast our beans on Sundays.")
    login(client, alice)
    fragment = client.get("/search", params={"q": "roast"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="results">')
    assert "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"


def test_the_search_page_refuses_a_closed_circle_filter_to_non_members(client, db):
    circle, alice = _member_of(db, "closed", slug="roasters")
    outsider = make_user(db, "outsider")
    make_thread(db, circle, alice, title="Roasting", body="We roast.")
    login(client, outsider)
    assert client.get("/search", params={"q": "roast", "circle": "roasters"}).status_code == 404
    assert client.get("/api/v1/search", params={"q": "roast", "circle": "roasters"}).status_code == 404


def test_search_needs_a_signed_in_person(client, db):
    response = client.get("/search", params={"q": "x"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401


# The ranking bound (search.CANDIDATES): only the newest matches the viewer may read are ranked.


def test_only_the_newest_matches_are_ranked(db, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 3)
    circle, alice = _member_of(db)
    make_thread(db, circle, alice, title="Old zeppelin title", body="Zeppelin, ranked high if it were a candidate.")
    for n in range(4):
        make_thread(db, circle, alice, title=f"Newer {n}", body=f"Zeppelin remark {n}.")
    assert sorted(_titles(db, alice, "zeppelin")) == ["Newer 1", "Newer 2", "Newer 3"]


def test_posts_the_viewer_may_not_read_do_not_use_up_the_bound(db, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 2)
    espresso, alice = _member_of(db)
    secret, host = _member_of(db, "secret", slug="backroom")
    make_thread(db, espresso, alice, title="Open zeppelin one", body="Zeppelin.")
    make_thread(db, espresso, alice, title="Open zeppelin two", body="Zeppelin.")
    for n in range(3):
        make_thread(db, secret, host, title=f"Secret zeppelin {n}", body="Zeppelin plans.")
    assert sorted(_titles(db, alice, "zeppelin")) == ["Open zeppelin one", "Open zeppelin two"]
    assert sorted(_titles(db, host, "zeppelin", circle=espresso)) == ["Open zeppelin one", "Open zeppelin two"]


def test_hidden_posts_do_not_use_up_the_bound(db, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 1)
    bob = _thread_with_a_hidden_reply(db, "A visible zeppelin remark.")
    assert _bodies(db, bob, "zeppelin") == ["A visible zeppelin remark."]


def test_page_two_continues_page_one_without_duplicates_up_to_the_bound(db, monkeypatch):
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    monkeypatch.setattr(search, "CANDIDATES", 5)
    circle, alice = _member_of(db)
    for n in range(7):
        make_thread(db, circle, alice, title=f"Thread {n}", body="Zeppelin " * (n % 3 + 1))
    pages = [[hit.thread.title for hit in search.search(db, viewer=alice, q="zeppelin", page=page)]
             for page in (1, 2, 3, 4)]
    assert [len(titles) for titles in pages] == [2, 2, 1, 0]
    found = [title for titles in pages for title in titles]
    assert sorted(found) == [f"Thread {n}" for n in range(2, 7)]
