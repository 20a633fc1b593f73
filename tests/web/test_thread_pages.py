"""Thread pages: read, reply (htmx too), quote, edit, delete, lock, react, paginate, unread."""

import re
from typing import Any

from sqlmodel import Session, col, select

from app.models import Circle, Post, PostRevision, Reaction, Thread, User
from tests.factories import add_member, login, make_circle, make_reply, make_thread, make_user, post_form


def _login(client: Any, db: Session, user: User) -> Any:
    db.commit()  # the test's session must not hold SQLite's write lock while the app writes
    return login(client, user)


def _all(db: Session, statement: Any) -> list[Any]:
    rows = list(db.exec(statement.execution_options(populate_existing=True)).all())
    db.commit()
    return rows


def _thread(db: Session, thread: Thread) -> Thread:
    (fresh,) = _all(db, select(Thread).where(Thread.id == thread.id))
    return fresh


def _post(db: Session, post_id: int) -> Post:
    (fresh,) = _all(db, select(Post).where(Post.id == post_id))
    return fresh


def _opening(db: Session, thread: Thread) -> Post:
    (post,) = _all(db, select(Post).where(Post.thread_id == thread.id, Post.opening))
    return post


def _anchors(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="post[^"]*" id="p(\d+)"', html)]


def _reaction_button(html: str, post_id: int, kind: str) -> str:
    found = re.search(rf'action="/p/{post_id}/react/{kind}".*?</button>', html, re.S)
    assert found is not None, f"no {kind} button"
    return found.group(0)


def _count_on(button: str) -> int:
    """The number shown at the end of a reaction button (0 when none is shown)."""
    found = re.search(r"(\d+)\s*</button>$", button)
    return int(found.group(1)) if found else 0


def _circle_with(db: Session, *names: str, visibility: str = "open") -> tuple[Circle, list[User]]:
    circle = make_circle(db, "espresso", visibility=visibility)
    users = [make_user(db, name, display_name=name.title()) for name in names]
    for user in users:
        add_member(db, circle, user)
    return circle, users


# Reading -----------------------------------------------------------------------------------


def test_a_thread_page_shows_its_posts_with_stable_anchors(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, title="Milk steaming", body="Opening words")
    make_reply(db, thread, bob, "A reply")
    _login(client, db, bob)
    page = client.get(f"/t/{thread.id}")
    assert page.status_code == 200
    assert "Milk steaming" in page.text
    assert _anchors(page.text) == [1, 2]
    assert f'href="/t/{thread.id}?page=1#p2"' in page.text


def test_a_thread_url_may_carry_a_slug(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice, title="Milk steaming")
    _login(client, db, alice)
    assert client.get(f"/t/{thread.id}/milk-steaming").status_code == 200


def test_a_thread_page_holds_twenty_posts_and_links_to_the_next_page(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    for number in range(2, 26):
        make_reply(db, thread, alice, f"Post number {number}")
    _login(client, db, alice)
    first = client.get(f"/t/{thread.id}")
    assert _anchors(first.text) == list(range(1, 21))
    assert f'href="/t/{thread.id}?page=2" rel="next"' in first.text
    assert 'id="reply"' not in first.text
    second = client.get(f"/t/{thread.id}?page=2")
    assert _anchors(second.text) == list(range(21, 26))
    assert 'id="reply"' in second.text


def test_a_post_link_leads_to_its_page_and_anchor(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    replies = [make_reply(db, thread, alice, f"Post {n}") for n in range(2, 24)]
    _login(client, db, alice)
    post_22 = next(p for p in replies if p.number == 22)
    response = client.get(f"/p/{post_22.id}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{thread.id}?page=2#p22"


def test_markdown_is_rendered_and_sanitised_on_the_page(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice, body=(
        "**bold** <script>alert('x')</script> <img src=x onerror=alert(1)> "
        "[bad](javascript:alert(1)) [good](https://example.com)"))
    _login(client, db, alice)
    page = client.get(f"/t/{thread.id}").text
    body = page[page.index('<div class="post-body">'):]
    body = body[:body.index("</div>")]
    assert "<strong>bold</strong>" in body
    assert "<script" not in body and "<img" not in body
    assert "javascript:" not in body.replace("[bad](javascript:alert(1))", "")
    assert '<a href="https://example.com" rel="nofollow ugc noopener">good</a>' in body


def test_mentions_link_to_the_profile_on_the_page(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, body="Ask @bob")
    _login(client, db, alice)
    assert '<a href="/u/bob" rel="nofollow ugc noopener">@bob</a>' in client.get(f"/t/{thread.id}").text


def test_a_signed_out_visitor_is_sent_to_sign_in_whether_the_thread_exists_or_not(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    db.commit()
    for path in (f"/t/{thread.id}", "/t/999999"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_a_closed_circle_thread_is_not_found_for_an_outsider(client, db):
    circle, (alice,) = _circle_with(db, "alice", visibility="closed")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, make_user(db, "outsider"))
    for path in (f"/t/{thread.id}", f"/t/{thread.id}/unread/first", f"/p/{post.id}", f"/p/{post.id}/edit",
                 f"/p/{post.id}/revisions"):
        assert client.get(path, follow_redirects=False).status_code == 404, path
    assert post_form(client, f"/t/{thread.id}/reply", {"body": "let me in"}).status_code == 404
    assert post_form(client, f"/p/{post.id}/react/like").status_code == 404


# Replying ----------------------------------------------------------------------------------


def test_replying_without_javascript_redirects_to_the_new_post(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    _login(client, db, bob)
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "Plain *reply*"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{thread.id}?page=1#p2"
    assert "<em>reply</em>" in client.get(response.headers["location"]).text
    assert _thread(db, thread).reply_count == 1


def test_replying_through_htmx_returns_the_new_post_and_a_fresh_form(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    _login(client, db, bob)
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "htmx *reply*"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<ol hx-swap-oob="beforeend:#post-list">' in response.text
    assert _anchors(response.text) == [2]
    assert "<em>reply</em>" in response.text
    assert '<section id="reply"' in response.text
    assert "<html" not in response.text


def test_an_empty_reply_comes_back_with_422(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    _login(client, db, bob)
    assert post_form(client, f"/t/{thread.id}/reply", {"body": "  "}).status_code == 422
    htmx = post_form(client, f"/t/{thread.id}/reply", {"body": ""}, headers={"HX-Request": "true"})
    assert htmx.status_code == 422
    assert htmx.text.lstrip().startswith('<section id="reply"')
    assert _thread(db, thread).reply_count == 0


def test_a_reply_to_another_post_shows_the_quoted_context(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    parent = make_reply(db, thread, bob, "Use **filtered** water.")
    _login(client, db, alice)
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "Which filter?", "reply_to": str(parent.id)})
    assert response.status_code == 303
    page = client.get(f"/t/{thread.id}").text
    quote = page[page.index('<blockquote class="quote">'):]
    quote = quote[:quote.index("</blockquote>")]
    assert f'href="/p/{parent.id}"' in quote
    assert "In reply to Bob (#2)" in quote
    assert "Use filtered water." in quote


def test_a_reply_cannot_point_into_another_thread(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    other = make_thread(db, circle, alice, title="Other")
    elsewhere = make_reply(db, other, alice, "Elsewhere")
    _login(client, db, bob)
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "My kept answer", "reply_to": str(elsewhere.id)})
    assert response.status_code == 422
    assert "My kept answer" in response.text
    assert "The post you answer is not in this thread." in response.text
    assert _thread(db, thread).reply_count == 0


def test_a_locked_thread_refuses_replies_and_says_so(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    thread.locked = True
    db.add(thread)
    _login(client, db, bob)
    page = client.get(f"/t/{thread.id}").text
    assert "This thread is locked: no new replies." in page
    assert f'action="/t/{thread.id}/reply"' not in page
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "Too late"})
    assert response.status_code in (403, 422)
    assert "This thread is locked" in response.text
    assert _thread(db, thread).last_number == 1


def test_a_reader_who_has_not_joined_is_invited_to_join_instead_of_replying(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    _login(client, db, make_user(db, "passer"))
    page = client.get(f"/t/{thread.id}").text
    assert "Join this circle to take part." in page
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "Hi"})
    assert response.status_code in (403, 422)
    assert _thread(db, thread).last_number == 1


# Editing and deleting ----------------------------------------------------------------------


def test_editing_my_post_keeps_a_revision_and_shows_edited(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "First version")
    _login(client, db, alice)
    form = client.get(f"/p/{post.id}/edit")
    assert form.status_code == 200 and "First version" in form.text
    response = post_form(client, f"/p/{post.id}/edit", {"body": "Second *version*"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{thread.id}?page=1#p2"
    page = client.get(f"/t/{thread.id}").text
    assert "<em>version</em>" in page
    assert f'<a class="muted small" href="/p/{post.id}/revisions">edited</a>' in page
    (revision,) = _all(db, select(PostRevision).where(PostRevision.post_id == post.id))
    assert revision.body_md == "First version"
    history = client.get(f"/p/{post.id}/revisions").text
    assert "First version" in history and "Second *version*" in history


def test_an_empty_edit_comes_back_with_422_and_keeps_the_post(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "Keep me")
    _login(client, db, alice)
    assert post_form(client, f"/p/{post.id}/edit", {"body": " "}).status_code == 422
    assert _post(db, post.id).body_md == "Keep me"  # type: ignore[arg-type]


def test_nobody_may_edit_someone_elses_post(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "Mine")
    _login(client, db, bob)
    assert client.get(f"/p/{post.id}/edit").status_code == 403
    assert post_form(client, f"/p/{post.id}/edit", {"body": "Theirs"}).status_code == 403
    assert _post(db, post.id).body_md == "Mine"  # type: ignore[arg-type]
    assert f'href="/p/{post.id}/edit"' not in client.get(f"/t/{thread.id}").text


def test_deleting_my_reply_shows_it_as_deleted_and_drops_the_reply_count(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, title="Counted")
    post = make_reply(db, thread, bob, "Regrettable words")
    _login(client, db, bob)
    assert "1 reply" in client.get("/c/espresso").text
    response = post_form(client, f"/p/{post.id}/delete")
    assert response.status_code == 303
    page = client.get(f"/t/{thread.id}").text
    assert "This post was deleted by its author." in page
    assert "Regrettable words" not in page
    assert _anchors(page) == [1, 2]
    assert _thread(db, thread).reply_count == 0
    assert "0 replies" in client.get("/c/espresso").text
    assert _post(db, post.id).deleted_at is not None  # type: ignore[arg-type]


def test_nobody_may_delete_someone_elses_post(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = make_reply(db, thread, alice, "Mine")
    _login(client, db, bob)
    assert post_form(client, f"/p/{post.id}/delete").status_code == 403
    assert _post(db, post.id).deleted_at is None  # type: ignore[arg-type]


def test_deleting_the_opening_post_hides_the_whole_thread(client, db, make_client):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, title="Short-lived")
    make_reply(db, thread, bob, "A reply")
    opening = _opening(db, thread)
    _login(client, db, alice)
    response = post_form(client, f"/p/{opening.id}/delete")
    assert response.status_code == 303
    assert response.headers["location"] == "/c/espresso"
    assert _thread(db, thread).hidden
    bob_browser = _login(make_client(), db, bob)
    assert bob_browser.get(f"/t/{thread.id}").status_code == 404
    assert "Short-lived" not in bob_browser.get("/c/espresso").text
    assert "Short-lived" not in bob_browser.get("/").text


# Reactions ---------------------------------------------------------------------------------


def test_reacting_through_htmx_returns_the_reactions_fragment_with_the_count(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, bob)
    for kind in ("like", "helpful", "thanks"):
        response = post_form(client, f"/p/{post.id}/react/{kind}", headers={"HX-Request": "true"})
        assert response.status_code == 200
        fragment = response.text.strip()
        assert fragment.startswith(f'<span class="reactions" id="reactions-{post.id}">')
        assert "<html" not in fragment
        button = _reaction_button(fragment, post.id, kind)  # type: ignore[arg-type]
        assert 'aria-pressed="true"' in button
        assert _count_on(button) == 1
    assert len(_all(db, select(Reaction).where(Reaction.post_id == post.id))) == 3


def test_reacting_twice_takes_the_reaction_back(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, bob)
    post_form(client, f"/p/{post.id}/react/like", headers={"HX-Request": "true"})
    second = post_form(client, f"/p/{post.id}/react/like", headers={"HX-Request": "true"})
    button = _reaction_button(second.text, post.id, "like")  # type: ignore[arg-type]
    assert 'aria-pressed="false"' in button
    assert _count_on(button) == 0
    assert _all(db, select(Reaction)) == []


def test_reactions_of_several_people_add_up(client, db, make_client):
    circle, (alice, bob, carol) = _circle_with(db, "alice", "bob", "carol")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    post_form(_login(client, db, bob), f"/p/{post.id}/react/thanks")
    carol_browser = _login(make_client(), db, carol)
    response = post_form(carol_browser, f"/p/{post.id}/react/thanks", headers={"HX-Request": "true"})
    assert _count_on(_reaction_button(response.text, post.id, "thanks")) == 2  # type: ignore[arg-type]
    assert _count_on(_reaction_button(response.text, post.id, "like")) == 0  # type: ignore[arg-type]


def test_reacting_without_javascript_redirects_to_the_post(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, bob)
    response = post_form(client, f"/p/{post.id}/react/like")
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{thread.id}?page=1#p1"


def test_the_reactions_of_a_post_are_one_form_whose_buttons_post_to_their_own_address(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, bob)
    html = client.get(f"/t/{thread.id}").text
    found = re.search(rf'<span class="reactions" id="reactions-{post.id}">\s*(<form .*?</form>)', html, re.S)
    assert found is not None
    form = found.group(1)
    assert form.count("<form") == 1
    assert 'name="csrf_token"' in form
    assert f'hx-target="#reactions-{post.id}"' in form
    for kind in ("like", "helpful", "thanks"):
        assert re.search(rf'<button type="submit" formaction="/p/{post.id}/react/{kind}"[^>]*aria-pressed="false"', form)


def test_nobody_may_react_to_their_own_post(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, alice)
    assert post_form(client, f"/p/{post.id}/react/like", headers={"HX-Request": "true"}).status_code == 403
    assert _all(db, select(Reaction)) == []
    assert f'action="/p/{post.id}/react/like"' not in client.get(f"/t/{thread.id}").text


def test_an_unknown_reaction_is_refused(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    post = _opening(db, thread)
    _login(client, db, bob)
    assert post_form(client, f"/p/{post.id}/react/angry").status_code == 422
    assert _all(db, select(Reaction)) == []


# Unread ------------------------------------------------------------------------------------


def test_the_circle_page_shows_unread_counts_until_the_thread_is_opened(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, title="Fresh news")
    make_reply(db, thread, alice, "More news")
    _login(client, db, bob)
    before = client.get("/c/espresso").text
    assert f'<a class="unread-count" href="/t/{thread.id}/unread/first">2 new</a>' in before
    client.get(f"/t/{thread.id}")
    after = client.get("/c/espresso").text
    assert "unread-count" not in after
    assert "Fresh news" in after


def test_the_home_page_shows_unread_counts_until_the_thread_is_opened(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, title="Fresh news")
    _login(client, db, bob)
    before = client.get("/").text
    assert '<span class="badge-count" title="Threads with new posts">1</span>' in before
    assert f'<a class="unread-count" href="/t/{thread.id}/unread/first">1 new</a>' in before
    client.get(f"/t/{thread.id}")
    after = client.get("/").text
    assert "Threads with new posts" not in after
    assert "unread-count" not in after
    assert "Fresh news" in after


def test_first_unread_redirects_to_the_first_post_not_yet_read(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    _login(client, db, bob)
    response = client.get(f"/t/{thread.id}/unread/first", follow_redirects=False)
    assert response.headers["location"] == f"/t/{thread.id}?page=1#p1"
    client.get(f"/t/{thread.id}")
    make_reply(db, thread, alice, "New one")
    make_reply(db, thread, alice, "New two")
    db.commit()
    response = client.get(f"/t/{thread.id}/unread/first", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{thread.id}?page=1#p2"


def test_first_unread_finds_its_page(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice)
    for n in range(2, 22):
        make_reply(db, thread, alice, f"Post {n}")
    _login(client, db, bob)
    client.get(f"/t/{thread.id}")  # reads page 1: posts 1 to 20
    response = client.get(f"/t/{thread.id}/unread/first", follow_redirects=False)
    assert response.headers["location"] == f"/t/{thread.id}?page=2#p21"


def test_with_nothing_unread_first_unread_goes_to_the_last_post(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    thread = make_thread(db, circle, alice)
    make_reply(db, thread, alice, "Mine too")
    _login(client, db, alice)
    response = client.get(f"/t/{thread.id}/unread/first", follow_redirects=False)
    assert response.headers["location"] == f"/t/{thread.id}?page=1#p2"


def test_opening_a_thread_marks_only_the_page_seen_as_read(client, db):
    circle, (alice, bob) = _circle_with(db, "alice", "bob")
    thread = make_thread(db, circle, alice, title="Long one")
    for n in range(2, 26):
        make_reply(db, thread, alice, f"Post {n}")
    _login(client, db, bob)
    client.get(f"/t/{thread.id}")
    assert f'href="/t/{thread.id}/unread/first">5 new</a>' in client.get("/c/espresso").text
    client.get(f"/t/{thread.id}?page=2")
    assert "unread-count" not in client.get("/c/espresso").text


def test_threads_are_listed_by_last_activity(client, db):
    circle, (alice,) = _circle_with(db, "alice")
    older = make_thread(db, circle, alice, title="Older thread")
    make_thread(db, circle, alice, title="Newer thread")
    make_reply(db, older, alice, "bump")
    _login(client, db, alice)
    page = client.get("/c/espresso").text
    assert page.index("Older thread") < page.index("Newer thread")
    titles = _all(db, select(Thread.title).order_by(col(Thread.last_post_at).desc()))
    assert titles == ["Older thread", "Newer thread"]
