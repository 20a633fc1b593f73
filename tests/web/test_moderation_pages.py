"""Moderation in the browser's pages: the review queue (/mod), the log (/mod/log), moderators' forms
on posts, threads, circles and members, flags, suspensions, write limits across app processes,
slow mode, first posts on hold and read-only circles.

The scene: "espresso" is a closed circle hosted by Hana; Otto hosts another closed circle ("tea");
Amber is an ambassador and a member of espresso, Mel a plain member; Alice wrote a thread and a reply.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import permissions
from app.models import Circle, Flag, ModerationAction, Post, RateEvent, Thread, User
from app.services import accounts, ambassadors, flags, memberships, moderation, posts
from app.services.accounts import REGISTRATION_LIMIT
from tests.factories import add_member, csrf_from, login, make_circle, make_reply, make_thread, make_user

OK = 303  # every moderator's form answers with a redirect (and a flash message)
REFUSED = 422  # ... or, on bad input, with its page again: the message and what was typed
ROLES = ("admin", "host", "other_host", "ambassador", "member")


@dataclass
class Scene:
    admin: User
    host: User
    other_host: User
    ambassador: User
    member: User
    author: User
    bob: User
    newcomer: User
    circle: Circle
    lab: Circle
    tea: Circle
    thread: Thread
    reply: Post
    request_id: int

    def actor(self, role: str) -> User:
        return getattr(self, role)  # type: ignore[no-any-return]


def _scene(db: Session) -> Scene:
    admin = make_user(db, "root_admin", admin=True, display_name="Ada Admin")
    circle = make_circle(db, "espresso", visibility="closed", by=admin, name="Espresso")
    tea = make_circle(db, "tea", visibility="closed", by=admin, name="Tea House")
    lab = make_circle(db, "lab", visibility="open", by=admin, name="Lab")
    host, other_host, ambassador, member, author, bob, newcomer = (
        make_user(db, name, display_name=name.title()) for name in ("hana", "otto", "amber", "mel", "alice", "bob",
                                                                      "nina")
    )
    add_member(db, circle, host, host=True)
    add_member(db, lab, host, host=True)
    add_member(db, tea, other_host, host=True)
    for user in (ambassador, member, author, bob):
        add_member(db, circle, user)
    ambassadors.grant(db, member=ambassador, by=admin, reason="Welcomes every newcomer.")
    thread = make_thread(db, circle, author, title="Grinders", body="Which grinder do you use?")
    reply = make_reply(db, thread, author, "Buy my watches, cheap!")
    request = memberships.request_to_join(db, circle=circle, user=newcomer, message="Let me in, please")
    db.commit()
    return Scene(admin=admin, host=host, other_host=other_host, ambassador=ambassador, member=member, author=author,
                 bob=bob, newcomer=newcomer, circle=circle, lab=lab, tea=tea, thread=thread, reply=reply,
                 request_id=request.id)  # type: ignore[arg-type]


def _browser(make_client: Any, db: Session, user: User) -> TestClient:
    """A signed-in browser whose forms carry its CSRF token."""
    db.commit()  # the test's session must not hold SQLite's write lock while the app writes
    client = make_client()
    login(client, user)
    client.headers["X-CSRF-Token"] = csrf_from(client, "/")
    return client  # type: ignore[no-any-return]


def _post(client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return client.post(path, data=data or {}, follow_redirects=False, **kwargs)


def _access(db: Session, user: User, circle: Circle) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


def _audit_count(db: Session) -> int:
    count = len(db.exec(select(ModerationAction.id)).all())
    db.commit()  # never keep SQLite's lock while the app writes
    return count


def _all(db: Session, statement: Any) -> list[Any]:
    """Rows as the database has them now (the app wrote them in its own sessions)."""
    rows = list(db.exec(statement.execution_options(populate_existing=True)).all())
    db.commit()
    return rows


def _fresh(db: Session, model: Any, id_: int | None) -> Any:
    (row,) = _all(db, select(model).where(model.id == id_))
    return row


def _flag(db: Session, user: User, post: Post, reason: str = "spam", text: str = "") -> None:
    post, thread, access = posts.get_post(db, post_id=post.id, viewer=user)  # type: ignore[arg-type]
    flags.flag_post(db, post=post, thread=thread, access=access, user=user, reason=reason, text=text)


def _hide_as_admin(db: Session, s: Scene) -> None:
    moderation.hide_post(db, post=s.reply, thread=s.thread, access=_access(db, s.admin, s.circle), by=s.admin,
                         reason="Advertising")


def _set_thread(db: Session, s: Scene, flag: str) -> None:
    moderation.set_thread_flag(db, thread=s.thread, access=_access(db, s.admin, s.circle), by=s.admin, flag=flag,
                               value=True)


def _rules(db: Session, circle: Circle, *, read_only: bool = False, slow: int = 0, hold: int = 0) -> None:
    admin = db.exec(select(User).where(User.username == "root_admin")).one()
    moderation.set_circle_rules(db, access=_access(db, admin, circle), by=admin, read_only=read_only,
                                slow_mode_seconds=slow, hold_first_posts=hold)


# The permission matrix, through the pages' forms ------------------------------------------------

PREPARE = {
    "restore": _hide_as_admin,
    "keep": lambda db, s: _flag(db, s.member, s.reply),
    "unlock": lambda db, s: _set_thread(db, s, "locked"),
    "unpin": lambda db, s: _set_thread(db, s, "pinned"),
    "allow_back": lambda db, s: memberships.remove_member(db, circle=s.circle, user_id=s.bob.id, by=s.admin),
    "unsuspend": lambda db, s: moderation.suspend(db, user=s.bob, by=s.admin, days=7, reason="Spam"),
}


def _request(action: str, s: Scene) -> tuple[str, dict[str, str]]:
    if action in ("hide", "restore", "delete", "warn", "keep"):
        return f"/mod/posts/{s.reply.id}/{action}", {"reason": "Advertising"}
    if action in ("lock", "unlock", "pin", "unpin"):
        return f"/t/{s.thread.id}/{action}", {}
    return {
        "move": (f"/t/{s.thread.id}/move", {"circle": "lab"}),
        "rules": ("/c/espresso/rules", {"read_only": "on", "slow_mode_seconds": "60", "hold_first_posts": "2"}),
        "remove_member": (f"/c/espresso/members/{s.bob.id}/remove", {}),
        "allow_back": (f"/c/espresso/members/{s.bob.id}/allow-back", {}),
        "approve_request": (f"/c/espresso/requests/{s.request_id}/approve", {}),
        "decline_request": (f"/c/espresso/requests/{s.request_id}/decline", {}),
        "suspend": ("/u/bob/suspend", {"days": "7", "reason": "Spam in every circle"}),
        "unsuspend": ("/u/bob/unsuspend", {}),
    }[action]


# Statuses of the HTML forms by role, in the closed circle "espresso". A hidden post does not exist
# for members (so restoring it answers 404 to them); suspensions are the admins' alone.
#                    admin  host  other_host  ambassador  member
MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    "hide":            (OK,   OK,   404,        403,        403),
    "restore":         (OK,   OK,   404,        404,        404),
    "delete":          (OK,   OK,   404,        403,        403),
    "warn":            (OK,   OK,   404,        403,        403),
    "keep":            (OK,   OK,   404,        403,        403),
    "lock":            (OK,   OK,   404,        403,        403),
    "unlock":          (OK,   OK,   404,        403,        403),
    "pin":             (OK,   OK,   404,        403,        403),
    "unpin":           (OK,   OK,   404,        403,        403),
    "move":            (OK,   OK,   404,        403,        403),
    "rules":           (OK,   OK,   404,        403,        403),
    "remove_member":   (OK,   OK,   404,        403,        403),
    "allow_back":      (OK,   OK,   404,        403,        403),
    "approve_request": (OK,   OK,   404,        OK,         403),
    "decline_request": (OK,   OK,   404,        OK,         403),
    "suspend":         (OK,   403,  403,        403,        403),
    "unsuspend":       (OK,   403,  403,        403,        403),
}
CASES = [
    pytest.param(action, role, status, id=f"{action}-{role}")
    for action, row in MATRIX.items()
    for role, status in zip(ROLES, row, strict=True)
]


@pytest.mark.parametrize(("action", "role", "status"), CASES)
def test_each_role_may_or_may_not_use_each_moderation_form(db: Session, make_client: Any, action: str, role: str,
                                                            status: int) -> None:
    s = _scene(db)
    if action in PREPARE:
        PREPARE[action](db, s)
    before = _audit_count(db)
    browser = _browser(make_client, db, s.actor(role))
    path, data = _request(action, s)
    assert _post(browser, path, data).status_code == status
    if status == OK:
        assert _audit_count(db) > before, "the action happened (and was logged)"
    else:
        assert _audit_count(db) == before


def test_the_moderators_tools_are_on_the_thread_page_for_hosts_only(db: Session, make_client: Any) -> None:
    s = _scene(db)
    host_page = _browser(make_client, db, s.host).get(f"/t/{s.thread.id}").text
    member_page = _browser(make_client, db, s.member).get(f"/t/{s.thread.id}").text
    for tool in (f'action="/t/{s.thread.id}/lock"', f'action="/t/{s.thread.id}/move"',
                 f'action="/mod/posts/{s.reply.id}/hide"'):
        assert tool in host_page
        assert tool not in member_page


def _opened_form(page: str, post: Post) -> str:
    """The moderator's hide/delete/warn form of `post` on a page, which must be open."""
    match = re.search(rf'<details class="inline-details" open><summary>[^<]*</summary>\s*'
                      rf'<form method="post" action="/mod/posts/{post.id}/hide".*?</form>', page, flags=re.S)
    assert match, "the form comes back open"
    return match.group(0)


def test_a_hide_without_a_reason_comes_back_on_the_thread_with_the_message(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser = _browser(make_client, db, s.host)
    response = _post(browser, f"/mod/posts/{s.reply.id}/hide", {"reason": "  ", "next": f"/t/{s.thread.id}?page=1"})
    assert response.status_code == REFUSED
    assert "<h1>Grinders" in response.text
    assert "Give a reason: the member will see it." in _opened_form(response.text, s.reply)
    assert not _fresh(db, Post, s.reply.id).hidden


@pytest.mark.parametrize("action", ["hide", "delete", "warn"])
def test_a_too_long_reason_comes_back_in_the_queue_with_what_was_typed(db: Session, make_client: Any,
                                                                      action: str) -> None:
    s = _scene(db)
    _flag(db, s.member, s.reply)
    before = _audit_count(db)
    reason = "Advertising & more " + "x" * 1000
    response = _post(_browser(make_client, db, s.host), f"/mod/posts/{s.reply.id}/{action}",
                     {"reason": reason, "next": "/mod"})
    assert response.status_code == REFUSED
    assert "Review queue" in response.text
    form = _opened_form(response.text, s.reply)
    assert "The reason is limited to 1,000 characters." in form
    assert f'value="{reason.replace("&", "&amp;")}"' in form
    assert _audit_count(db) == before
    post = _fresh(db, Post, s.reply.id)
    assert (post.hidden, post.deleted_at) == (False, None)


def test_an_unknown_action_on_a_post_comes_back_with_a_message(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.host), f"/mod/posts/{s.reply.id}/frobnicate",
                     {"reason": "Why not", "next": "/mod"})
    assert response.status_code == REFUSED
    assert "Unknown action." in response.text
    assert "Review queue" in response.text


def test_restoring_a_deleted_post_answers_not_found(db: Session, make_client: Any) -> None:
    s = _scene(db)
    moderation.delete_post(db, post=s.reply, thread=s.thread, access=_access(db, s.admin, s.circle), by=s.admin,
                           reason="Spam")
    assert _post(_browser(make_client, db, s.host), f"/mod/posts/{s.reply.id}/restore").status_code == 404


def test_an_unknown_thread_action_is_refused_with_a_message_for_hosts_only(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.host), f"/t/{s.thread.id}/frobnicate")
    assert response.status_code == REFUSED
    assert "Unknown action." in response.text
    assert _post(_browser(make_client, db, s.member), f"/t/{s.thread.id}/frobnicate").status_code == 403


@pytest.mark.parametrize("slug", ["nowhere", "tea"])
def test_moving_a_thread_to_a_circle_one_does_not_host_comes_back_with_what_was_typed(db: Session, make_client: Any,
                                                                                       slug: str) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.host), f"/t/{s.thread.id}/move", {"circle": slug})
    assert response.status_code == REFUSED
    # A missing circle and a closed one the host is not in answer alike (no existence leak).
    assert "No circle you host has this address." in response.text
    assert f'value="{slug}"' in response.text
    assert "Tea House" not in response.text
    assert _fresh(db, Thread, s.thread.id).circle_id == s.circle.id


def test_moving_a_thread_to_its_own_circle_comes_back_with_the_message(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.host), f"/t/{s.thread.id}/move", {"circle": "espresso"})
    assert response.status_code == REFUSED
    assert "The thread is already in this circle." in response.text
    assert 'value="espresso"' in response.text


def test_an_offsite_next_address_is_ignored_after_an_action(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser = _browser(make_client, db, s.host)
    response = _post(browser, f"/mod/posts/{s.reply.id}/keep", {"next": "//evil.example/"})
    assert response.headers["location"] == "/mod"


def _rules_form(page: str) -> str:
    return page.split('id="rules"')[1].split("</section>")[0]


def test_non_numeric_circle_rules_are_refused_with_a_message(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser = _browser(make_client, db, s.host)
    response = _post(browser, "/c/espresso/rules", {"slow_mode_seconds": "soon", "hold_first_posts": "3",
                                                    "read_only": "1"})
    assert response.status_code == REFUSED
    form = _rules_form(response.text)
    assert "Enter a whole number." in form
    assert 'value="soon"' in form and 'value="3"' in form
    assert 'name="read_only" value="1" checked' in form
    assert _fresh(db, Circle, s.circle.id).slow_mode_seconds == 0


def test_out_of_range_circle_rules_come_back_with_each_fields_message(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.host), "/c/espresso/rules",
                     {"slow_mode_seconds": "86401", "hold_first_posts": "-1"})
    assert response.status_code == REFUSED
    form = _rules_form(response.text)
    for expected in ("Please correct the highlighted fields.", "Between 0 and 86,400 seconds.",
                     "Between 0 and 50 posts.", 'value="86401"', 'value="-1"'):
        assert expected in form
    fresh = _fresh(db, Circle, s.circle.id)
    assert (fresh.slow_mode_seconds, fresh.hold_first_posts) == (0, 0)


def test_a_non_member_with_a_bad_rules_form_gets_the_missing_circle_answer(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser = _browser(make_client, db, s.other_host)
    assert _post(browser, "/c/espresso/rules", {"slow_mode_seconds": "soon"}).status_code == 404


# The review queue ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "ambassador"])
def test_members_and_ambassadors_are_refused_the_review_queue(db: Session, make_client: Any, role: str) -> None:
    s = _scene(db)
    assert _browser(make_client, db, s.actor(role)).get("/mod").status_code == 403


def test_the_queue_shows_a_flagged_post_with_its_context_and_reasons(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _flag(db, s.member, s.reply, "spam")
    _flag(db, s.bob, s.reply, "other", "Sells watches to everyone")
    page = _browser(make_client, db, s.host).get("/mod").text
    flagged = page.split('id="flags"')[1].split('id="held"')[0]
    for expected in ("Espresso", "Grinders", "Alice", "Buy my watches, cheap!", "<strong>Spam</strong>",
                     "<strong>Other</strong>: Sells watches to everyone", f"/mod/posts/{s.reply.id}/keep"):
        assert expected in flagged


def test_the_queue_shows_posts_waiting_for_approval(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, hold=1)
    held = make_reply(db, s.thread, s.member, "Hello, first time here")
    page = _browser(make_client, db, s.host).get("/mod").text
    waiting = page.split('id="held"')[1].split('id="requests"')[0]
    assert "Hello, first time here" in waiting
    assert f'action="/mod/posts/{held.id}/approve"' in waiting


def test_the_queue_shows_requests_to_join(db: Session, make_client: Any) -> None:
    s = _scene(db)
    page = _browser(make_client, db, s.host).get("/mod").text
    requests = page.split('id="requests"')[1]
    assert "Nina" in requests
    assert "Let me in, please" in requests
    assert f'action="/c/espresso/requests/{s.request_id}/approve"' in requests


def test_a_host_of_another_circle_sees_nothing_of_this_circle_in_the_queue(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _flag(db, s.member, s.reply, "other", "Sells watches to everyone")
    _rules(db, s.circle, hold=1)
    make_reply(db, s.thread, s.member, "Hello, first time here")
    page = _browser(make_client, db, s.other_host).get("/mod").text
    for secret in ("Espresso", "Grinders", "Buy my watches", "Sells watches", "Hello, first time here", "Nina",
                   "Let me in"):
        assert secret not in page


@pytest.mark.parametrize("decision", ["keep", "hide"])
def test_a_decision_by_one_host_clears_the_post_from_every_moderators_queue(db: Session, make_client: Any,
                                                                             decision: str) -> None:
    s = _scene(db)
    cohost = make_user(db, "cora", display_name="Cora")
    add_member(db, s.circle, cohost, host=True)
    _flag(db, s.member, s.reply)
    browsers = {user.username: _browser(make_client, db, user) for user in (s.host, cohost, s.admin)}
    for browser in browsers.values():
        assert "Buy my watches" in browser.get("/mod").text
    response = _post(browsers["hana"], f"/mod/posts/{s.reply.id}/{decision}", {"reason": "Advertising"})
    assert response.status_code == 303
    for name, browser in browsers.items():
        flagged = browser.get("/mod").text.split('id="flags"')[1].split('id="held"')[0]
        assert "Buy my watches" not in flagged, name
    assert {f.resolved_by_id for f in _all(db, select(Flag))} == {s.host.id}


# Flags from the post footer -----------------------------------------------------------------------


def test_members_get_a_flag_form_on_others_posts_only(db: Session, make_client: Any) -> None:
    s = _scene(db)
    own = make_reply(db, s.thread, s.member, "My own words")
    page = _browser(make_client, db, s.member).get(f"/t/{s.thread.id}").text
    assert f'action="/p/{s.reply.id}/flag"' in page
    assert f'action="/p/{own.id}/flag"' not in page


def test_flagging_without_javascript_goes_back_to_the_post_with_thanks(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser = _browser(make_client, db, s.member)
    response = _post(browser, f"/p/{s.reply.id}/flag", {"reason": "spam"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{s.thread.id}?page=1#p2"
    assert "Thank you: the hosts will look at this post." in browser.get(response.headers["location"]).text
    assert [(f.user_id, f.reason) for f in _all(db, select(Flag))] == [(s.member.id, "spam")]


def test_flagging_with_htmx_answers_with_the_small_fragment(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.member), f"/p/{s.reply.id}/flag", {"reason": "spam"},
                     headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Flagged — thank you." in response.text
    assert "<html" not in response.text


def test_a_flag_refused_without_javascript_comes_back_open_on_the_thread_page(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.member), f"/p/{s.reply.id}/flag", {"reason": "other", "text": " "})
    assert response.status_code == REFUSED
    assert "<h1>Grinders" in response.text
    box = response.text.split(f'id="flag-{s.reply.id}"')[1].split("</details>")[0]
    assert box.startswith(" open>")
    assert "Tell the hosts what is wrong." in box
    assert '<option value="other" selected>' in box
    assert _all(db, select(Flag)) == []


def test_a_flag_refused_with_htmx_gives_back_the_open_form_with_what_was_typed(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.member), f"/p/{s.reply.id}/flag",
                     {"reason": "other", "text": "x" * 1001}, headers={"HX-Request": "true"})
    assert response.status_code == REFUSED
    assert "<html" not in response.text
    assert response.text.startswith(f'<details class="inline-details flag-box" id="flag-{s.reply.id}" open>')
    assert "At most 1,000 characters." in response.text
    assert f'value="{"x" * 1001}"' in response.text


def test_a_second_flag_with_htmx_is_refused_in_the_fragment(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser = _browser(make_client, db, s.member)
    _post(browser, f"/p/{s.reply.id}/flag", {"reason": "spam"}, headers={"HX-Request": "true"})
    response = _post(browser, f"/p/{s.reply.id}/flag", {"reason": "off_topic"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "You already flagged this post." in response.text
    assert len(_all(db, select(Flag))) == 1


def test_an_other_flag_without_details_is_refused(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.member), f"/p/{s.reply.id}/flag", {"reason": "other"},
                     headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Tell the hosts what is wrong." in response.text


def test_a_non_member_cannot_flag_a_post_of_a_closed_circle(db: Session, make_client: Any) -> None:
    s = _scene(db)
    response = _post(_browser(make_client, db, s.other_host), f"/p/{s.reply.id}/flag", {"reason": "spam"})
    assert response.status_code == 404


def test_three_flags_hide_the_post_from_members_until_reviewed(db: Session, make_client: Any) -> None:
    s = _scene(db)
    for user in (s.member, s.bob, s.ambassador):
        assert _post(_browser(make_client, db, user), f"/p/{s.reply.id}/flag", {"reason": "spam"}).status_code == 303
    assert _fresh(db, Post, s.reply.id).hidden_reason == moderation.AUTO_HIDDEN
    assert "Buy my watches" not in _browser(make_client, db, s.member).get(f"/t/{s.thread.id}").text
    queue = _browser(make_client, db, s.host).get("/mod").text
    assert "Buy my watches" in queue.split('id="flags"')[1]


# The audit log --------------------------------------------------------------------------------


def _some_history(db: Session, s: Scene) -> None:
    """Hana locks a thread in espresso, Otto pins one in tea, the admin suspends Bob."""
    moderation.set_thread_flag(db, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host, flag="locked",
                               value=True, reason="Too heated")
    tea_thread = make_thread(db, s.tea, s.other_host, title="Oolong")
    moderation.set_thread_flag(db, thread=tea_thread, access=_access(db, s.other_host, s.tea), by=s.other_host,
                               flag="pinned", value=True, reason="Evergreen")
    moderation.suspend(db, user=s.bob, by=s.admin, days=3, reason="Spam everywhere")


def _log_rows(html: str) -> str:
    return html.split("<tbody>")[1].split("</tbody>")[0]


def test_the_log_shows_who_did_what_to_whom_where_and_why(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _some_history(db, s)
    rows = _log_rows(_browser(make_client, db, s.admin).get("/mod/log").text)
    for expected in ("Thread locked", "Hana", "Alice", "Espresso", "Too heated", "Account suspended", "Bob",
                     "Spam everywhere", "Thread pinned", "Tea House", "Evergreen"):
        assert expected in rows


def test_the_log_filters_by_circle(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _some_history(db, s)
    rows = _log_rows(_browser(make_client, db, s.admin).get("/mod/log?circle=tea").text)
    assert "Evergreen" in rows
    assert "Too heated" not in rows
    assert "Spam everywhere" not in rows


def test_the_log_filters_by_action(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _some_history(db, s)
    rows = _log_rows(_browser(make_client, db, s.admin).get("/mod/log?action=user_suspended").text)
    assert "Spam everywhere" in rows
    assert "Too heated" not in rows
    assert "Evergreen" not in rows


def test_the_log_filters_by_actor(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _some_history(db, s)
    rows = _log_rows(_browser(make_client, db, s.admin).get("/mod/log?actor=@Otto").text)
    assert "Evergreen" in rows
    assert "Too heated" not in rows
    assert "Spam everywhere" not in rows


def test_a_host_sees_only_the_log_of_the_circles_they_host(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _some_history(db, s)
    page = _browser(make_client, db, s.host).get("/mod/log").text
    rows = _log_rows(page)
    assert "Too heated" in rows
    for hidden in ("Evergreen", "Spam everywhere", "Oolong"):
        assert hidden not in rows
    assert "Tea House" not in page  # not even offered in the circle filter


@pytest.mark.parametrize("role", ["member", "ambassador"])
def test_members_are_refused_the_log(db: Session, make_client: Any, role: str) -> None:
    s = _scene(db)
    assert _browser(make_client, db, s.actor(role)).get("/mod/log").status_code == 403


@pytest.mark.parametrize("slug", ["tea", "nowhere"])
def test_a_host_asking_for_the_log_of_a_closed_circle_they_do_not_host_gets_not_found(db: Session, make_client: Any,
                                                                                       slug: str) -> None:
    s = _scene(db)
    assert _browser(make_client, db, s.host).get(f"/mod/log?circle={slug}").status_code == 404


def test_a_host_asking_for_the_log_of_an_open_circle_they_only_belong_to_is_refused(db: Session,
                                                                                    make_client: Any) -> None:
    s = _scene(db)
    add_member(db, s.lab, s.member)
    assert _browser(make_client, db, s.other_host).get("/mod/log?circle=lab").status_code == 403


# Suspension ---------------------------------------------------------------------------------------


def _suspend(make_client: Any, db: Session, s: Scene) -> None:
    response = _post(_browser(make_client, db, s.admin), "/u/bob/suspend",
                     {"days": "7", "reason": "Spam in every circle"})
    assert response.status_code == 303


def test_a_suspension_ends_the_members_browser_session_at_once(db: Session, make_client: Any) -> None:
    s = _scene(db)
    bob = _browser(make_client, db, s.bob)
    assert bob.get("/notifications").status_code == 200
    _suspend(make_client, db, s)
    response = bob.get("/notifications", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2Fnotifications")


def test_a_suspended_members_api_token_is_refused(db: Session, make_client: Any) -> None:
    s = _scene(db)
    token = accounts.create_api_token(db, user=s.bob, name="script")
    api = make_client()
    api.headers["Authorization"] = f"Bearer {token}"
    assert api.get("/api/v1/me").status_code == 200
    _suspend(make_client, db, s)
    assert api.get("/api/v1/me").status_code == 401


def test_a_suspended_member_sees_the_reason_when_signing_in(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _suspend(make_client, db, s)
    browser = make_client()
    response = _post(browser, "/login", {"username": "bob", "password": "correct horse battery",
                                         "csrf_token": csrf_from(browser)})
    assert response.status_code == 403
    assert "This account is suspended until" in response.text
    assert "Spam in every circle" in response.text
    assert "cercle_session" not in response.cookies


def test_lifting_a_suspension_lets_the_member_sign_in_again(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _suspend(make_client, db, s)
    assert _post(_browser(make_client, db, s.admin), "/u/bob/unsuspend").status_code == 303
    assert _browser(make_client, db, s.bob).get("/notifications").status_code == 200


def test_the_suspension_form_needs_a_reason_and_a_whole_number_of_days(db: Session, make_client: Any) -> None:
    s = _scene(db)
    admin = _browser(make_client, db, s.admin)
    for form, message in (({"days": "7", "reason": ""}, "Give a reason: the member will see it."),
                          ({"days": "a week", "reason": "Spam"}, "Enter a whole number."),
                          ({"days": "0", "reason": "Spam"}, "Between 1 and"),
                          ({"days": "7", "reason": "S" * 1001}, "The reason is limited to 1,000 characters.")):
        response = _post(admin, "/u/bob/suspend", form)
        assert response.status_code == REFUSED
        suspension = response.text.split('action="/u/bob/suspend"')[1].split("</form>")[0]
        assert message in suspension
        assert f'name="days" type="number" min="1" max="3650" value="{form["days"]}"' in suspension
        assert f'value="{form["reason"]}"' in suspension
    assert _fresh(db, User, s.bob.id).suspended_until is None


# Write limits hold across app processes sharing one database -------------------------------------


@pytest.fixture
def two_apps(db: Session) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app processes (two create_app() calls) on the same database."""
    from app.main import create_app

    with TestClient(create_app(), base_url="http://testserver") as one, \
            TestClient(create_app(), base_url="http://testserver") as two:
        yield one, two


def _sign_in_both(db: Session, apps: tuple[TestClient, TestClient], user: User) -> None:
    db.commit()
    for client in apps:
        login(client, user)
        client.headers["X-CSRF-Token"] = csrf_from(client, "/")


def test_the_reply_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(replies_per_10_minutes=3)
    s = _scene(db)
    _sign_in_both(db, two_apps, s.member)
    statuses = [_post(two_apps[n % 2], f"/t/{s.thread.id}/reply", {"body": f"Reply {n}"}).status_code
                for n in range(3)]
    assert statuses == [303, 303, 303]
    refused = _post(two_apps[1], f"/t/{s.thread.id}/reply", {"body": "One too many"})
    assert refused.status_code == 429
    assert "You posted many replies in a few minutes. Please wait a little." in refused.text
    assert refused.headers["retry-after"] == "600"


def test_the_thread_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(threads_per_hour=2)
    s = _scene(db)
    _sign_in_both(db, two_apps, s.member)
    for n in range(2):
        assert _post(two_apps[n % 2], "/c/espresso/new", {"title": f"T{n}", "body": "Hi"}).status_code == 303
    refused = _post(two_apps[0], "/c/espresso/new", {"title": "T3", "body": "Hi"})
    assert refused.status_code == 429
    assert "You started many threads in the last hour." in refused.text


def test_the_invite_limit_holds_across_two_app_processes(db: Session, limits: Any, two_apps: Any) -> None:
    limits(invites_per_day=2)
    s = _scene(db)
    _sign_in_both(db, two_apps, s.host)
    for n in range(2):
        assert _post(two_apps[n % 2], "/c/espresso/invites", {"expires_in_days": "7"}).status_code == 303
    refused = _post(two_apps[1], "/c/espresso/invites", {"expires_in_days": "7"})
    assert refused.status_code == 429
    assert "You created many invite links today." in refused.text


def test_the_registration_limit_per_address_holds_across_two_app_processes(db: Session, two_apps: Any) -> None:
    def register(client: TestClient, n: int) -> Any:
        client.cookies.clear()
        return _post(client, "/register", {"username": f"newbie{n}", "email": f"newbie{n}@example.com",
                                           "password": "correct horse battery", "csrf_token": csrf_from(client)})

    for n in range(REGISTRATION_LIMIT):
        assert register(two_apps[n % 2], n).status_code == 303
    refused = register(two_apps[1], 99)
    assert refused.status_code == 429
    assert "Too many accounts were created from here." in refused.text
    assert _all(db, select(User).where(User.username == "newbie99")) == []


def test_the_flag_limit_is_told_on_the_page(db: Session, limits: Any, make_client: Any) -> None:
    limits(flags_per_day=1)
    s = _scene(db)
    other = make_reply(db, s.thread, s.author, "More watches")
    browser = _browser(make_client, db, s.member)
    _post(browser, f"/p/{s.reply.id}/flag", {"reason": "spam"})
    response = _post(browser, f"/p/{other.id}/flag", {"reason": "spam"}, headers={"HX-Request": "true"})
    assert response.status_code == 429
    assert "You have flagged many posts today." in response.text
    assert f'id="flag-{other.id}" open>' in response.text
    assert response.headers["retry-after"] == "86400"
    assert len(_all(db, select(Flag))) == 1


def test_the_flag_limit_answers_429_without_javascript_too(db: Session, limits: Any, make_client: Any) -> None:
    limits(flags_per_day=1)
    s = _scene(db)
    other = make_reply(db, s.thread, s.author, "More watches")
    browser = _browser(make_client, db, s.member)
    assert _post(browser, f"/p/{s.reply.id}/flag", {"reason": "spam"}).status_code == 303
    response = _post(browser, f"/p/{other.id}/flag", {"reason": "other", "text": "Watches again"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "86400"
    assert "You have flagged many posts today." in response.text
    box = response.text.split(f'id="flag-{other.id}"')[1].split("</details>")[0]
    assert 'value="Watches again"' in box
    assert len(_all(db, select(Flag))) == 1


def test_htmx_swaps_forms_refused_with_422_or_429(db: Session, make_client: Any) -> None:
    import html
    import json

    page = _browser(make_client, db, s_member := _scene(db).member).get("/").text
    assert s_member
    content = re.search(r'<meta name="htmx-config" content="([^"]+)"', page)
    assert content
    rules = {rule["code"]: rule["swap"] for rule in json.loads(html.unescape(content.group(1)))["responseHandling"]}
    assert rules["422"] is True and rules["429"] is True


def test_write_limits_age_out(db: Session, limits: Any, make_client: Any) -> None:
    limits(replies_per_10_minutes=1)
    s = _scene(db)
    browser = _browser(make_client, db, s.member)
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "First"}).status_code == 303
    for event in _all(db, select(RateEvent)):
        event.created_at -= timedelta(minutes=11)
        db.add(event)
    db.commit()
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "Later"}).status_code == 303


def test_reading_pages_is_never_limited(db: Session, limits: Any, make_client: Any) -> None:
    limits(replies_per_10_minutes=1, threads_per_hour=1, flags_per_day=1)
    s = _scene(db)
    browser = _browser(make_client, db, s.member)
    assert {browser.get(f"/t/{s.thread.id}").status_code for _n in range(15)} == {200}


# Slow mode ------------------------------------------------------------------------------------


def test_slow_mode_refuses_a_members_second_reply_within_the_delay(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    browser = _browser(make_client, db, s.member)
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "First"}).status_code == 303
    refused = _post(browser, f"/t/{s.thread.id}/reply", {"body": "Second"})
    assert refused.status_code == 429
    assert "Slow mode is on in this circle: you can post again in" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 60


def test_hosts_are_exempt_from_slow_mode(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    browser = _browser(make_client, db, s.host)
    for body in ("First", "Second", "Third"):
        assert _post(browser, f"/t/{s.thread.id}/reply", {"body": body}).status_code == 303


def test_a_reply_refused_by_slow_mode_comes_back_with_its_text(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    browser = _browser(make_client, db, s.member)
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "First"}).status_code == 303
    for headers in ({}, {"HX-Request": "true"}):
        refused = _post(browser, f"/t/{s.thread.id}/reply", {"body": "My careful second answer"}, headers=headers)
        assert refused.status_code == 429
        assert "Slow mode is on in this circle" in refused.text
        assert ">My careful second answer</textarea>" in refused.text
        assert ("<html" in refused.text) is not bool(headers)


def test_slow_mode_refuses_a_new_thread_too_and_gives_back_what_was_typed(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    browser = _browser(make_client, db, s.member)
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "First"}).status_code == 303
    refused = _post(browser, "/c/espresso/new", {"title": "My new topic", "body": "All about tampers"})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert "Slow mode is on in this circle: you can post again in" in refused.text
    assert 'value="My new topic"' in refused.text
    assert ">All about tampers</textarea>" in refused.text
    assert _all(db, select(Thread).where(Thread.title == "My new topic")) == []


def test_hosts_are_exempt_from_slow_mode_for_new_threads(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    browser = _browser(make_client, db, s.host)
    for title in ("News", "More news"):
        assert _post(browser, "/c/espresso/new", {"title": title, "body": "Hi"}).status_code == 303


def test_a_new_thread_in_a_read_only_circle_comes_back_with_what_was_typed(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, read_only=True)
    response = _post(_browser(make_client, db, s.member), "/c/espresso/new", {"title": "Mine", "body": "Long text"})
    assert response.status_code == 403
    assert ">Long text</textarea>" in response.text


def test_slow_mode_lets_the_member_reply_once_the_delay_has_passed(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, slow=60)
    browser = _browser(make_client, db, s.member)
    _post(browser, f"/t/{s.thread.id}/reply", {"body": "First"})
    (first,) = _all(db, select(Post).where(Post.author_id == s.member.id))
    first.created_at -= timedelta(seconds=61)
    db.add(first)
    db.commit()
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "Second"}).status_code == 303


# First posts on hold ------------------------------------------------------------------------------


def _held_reply(db: Session, make_client: Any, s: Scene, body: str = "Hello, first time here") -> tuple[TestClient, Post]:
    _rules(db, s.circle, hold=2)
    browser = _browser(make_client, db, s.member)
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": body}).status_code == 303
    post = _all(db, select(Post).where(Post.author_id == s.member.id).order_by(col(Post.id).desc()))[0]
    assert post.held
    return browser, post


WAITING = "Waiting for a host's approval: only you and the hosts see it."


def test_a_held_reply_shows_its_author_the_waiting_notice(db: Session, make_client: Any) -> None:
    s = _scene(db)
    browser, _post_ = _held_reply(db, make_client, s)
    page = browser.get(f"/t/{s.thread.id}").text
    assert "Hello, first time here" in page
    assert WAITING in page


def test_a_held_reply_is_shown_to_hosts_with_the_notice(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _held_reply(db, make_client, s)
    page = _browser(make_client, db, s.host).get(f"/t/{s.thread.id}").text
    assert "Hello, first time here" in page
    assert WAITING in page


def test_other_members_do_not_see_a_held_reply(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _browser_, held = _held_reply(db, make_client, s)
    bob = _browser(make_client, db, s.bob)
    assert "Hello, first time here" not in bob.get(f"/t/{s.thread.id}").text
    assert bob.get(f"/p/{held.id}", follow_redirects=False).status_code == 404


def test_a_held_reply_is_not_counted_nor_found_by_search(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _held_reply(db, make_client, s, "A mysterious portafilter")
    assert _fresh(db, Thread, s.thread.id).reply_count == 1
    assert "mysterious" not in _browser(make_client, db, s.bob).get("/search?q=portafilter").text


def test_a_host_approves_a_held_reply_from_the_queue_and_it_appears_and_counts(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _held_reply(db, make_client, s, "A mysterious portafilter")
    host = _browser(make_client, db, s.host)
    queue = host.get("/mod").text
    (held_id,) = re.findall(r'action="/mod/posts/(\d+)/approve"', queue)
    response = _post(host, f"/mod/posts/{held_id}/approve")
    assert (response.status_code, response.headers["location"]) == (303, "/mod")
    assert "A mysterious portafilter" not in host.get("/mod").text.split('id="held"')[1]
    bob = _browser(make_client, db, s.bob)
    page = bob.get(f"/t/{s.thread.id}").text
    assert "A mysterious portafilter" in page
    assert WAITING not in page
    assert _fresh(db, Thread, s.thread.id).reply_count == 2
    assert "mysterious" in bob.get("/search?q=portafilter").text


def test_an_approved_reply_tells_the_thread_author_and_comes_up_unread(db: Session, make_client: Any) -> None:
    s = _scene(db)
    bob = _browser(make_client, db, s.bob)
    _held_reply(db, make_client, s, "Thanks @bob, a mysterious portafilter")
    assert "mysterious" not in _browser(make_client, db, s.author).get("/notifications").text
    host = _browser(make_client, db, s.host)
    (held_id,) = re.findall(r'action="/mod/posts/(\d+)/approve"', host.get("/mod").text)
    assert _post(host, f"/mod/posts/{held_id}/approve").status_code == 303
    assert f"/p/{held_id}" in _browser(make_client, db, s.author).get("/notifications").text
    assert f"/p/{held_id}" in bob.get("/notifications").text
    rows = _all(db, select(Thread).where(Thread.id == s.thread.id))
    assert rows[0].last_number == _fresh(db, Post, int(held_id)).number


def test_after_two_approved_posts_the_third_is_published_at_once(db: Session, make_client: Any) -> None:
    s = _scene(db)
    host = _browser(make_client, db, s.host)
    browser, first = _held_reply(db, make_client, s, "First")
    _post(host, f"/mod/posts/{first.id}/approve")
    _post(browser, f"/t/{s.thread.id}/reply", {"body": "Second"})
    (second,) = re.findall(r'action="/mod/posts/(\d+)/approve"', host.get("/mod").text)
    _post(host, f"/mod/posts/{second}/approve")
    assert _post(browser, f"/t/{s.thread.id}/reply", {"body": "Third"}).status_code == 303
    third = _all(db, select(Post).where(Post.author_id == s.member.id).order_by(col(Post.id).desc()))[0]
    assert (third.body_md, third.held, third.hidden) == ("Third", False, False)
    assert "Third" in _browser(make_client, db, s.bob).get(f"/t/{s.thread.id}").text


def test_a_held_opening_post_keeps_its_thread_out_of_the_circle_list_until_approved(db: Session,
                                                                                   make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, hold=2)
    mel = _browser(make_client, db, s.member)
    response = _post(mel, "/c/espresso/new", {"title": "My very first thread", "body": "Hello all"})
    assert response.status_code == 303
    bob, host = _browser(make_client, db, s.bob), _browser(make_client, db, s.host)
    assert "My very first thread" not in bob.get("/c/espresso").text
    assert "My very first thread" in host.get("/c/espresso").text
    # Its author lands on it and sees that it waits.
    own = mel.get(response.headers["location"])
    assert own.status_code == 200
    assert WAITING in own.text
    assert bob.get(response.headers["location"]).status_code == 404
    (held_id,) = re.findall(r'action="/mod/posts/(\d+)/approve"', host.get("/mod").text)
    _post(host, f"/mod/posts/{held_id}/approve")
    assert "My very first thread" in bob.get("/c/espresso").text


def test_an_opening_post_hidden_by_flags_takes_its_thread_off_the_pages_lists(db: Session, make_client: Any) -> None:
    s = _scene(db)
    opening = _all(db, select(Post).where(Post.thread_id == s.thread.id, col(Post.opening).is_(True)))[0]
    for user in (s.member, s.bob, s.ambassador):
        _flag(db, user, opening)
    bob, host = _browser(make_client, db, s.bob), _browser(make_client, db, s.host)
    assert "Grinders" not in bob.get("/c/espresso").text
    assert "Grinders" not in bob.get("/").text
    assert "Grinders" not in bob.get("/search?q=grinder").text
    assert bob.get(f"/t/{s.thread.id}").status_code == 404
    assert "Grinders" in host.get("/c/espresso").text
    assert _post(host, f"/mod/posts/{opening.id}/keep").status_code == 303
    assert "Grinders" in bob.get("/c/espresso").text
    assert "Grinders" in bob.get("/").text
    assert "Grinders" in bob.get("/search?q=grinder").text


# Read-only circles ------------------------------------------------------------------------------


def test_members_cannot_start_threads_in_a_read_only_circle(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, read_only=True)
    response = _post(_browser(make_client, db, s.member), "/c/espresso/new", {"title": "Mine", "body": "Hi"})
    assert response.status_code == 403
    assert "This circle is read-only" in response.text


def test_hosts_still_start_threads_in_a_read_only_circle(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, read_only=True)
    response = _post(_browser(make_client, db, s.host), "/c/espresso/new", {"title": "News", "body": "Hi"})
    assert response.status_code == 303


def test_members_still_reply_in_a_read_only_circle(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _rules(db, s.circle, read_only=True)
    response = _post(_browser(make_client, db, s.member), f"/t/{s.thread.id}/reply", {"body": "Thanks!"})
    assert response.status_code == 303


# Notifications ------------------------------------------------------------------------------------


def test_the_author_of_a_hidden_post_is_told_why(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _post(_browser(make_client, db, s.host), f"/mod/posts/{s.reply.id}/hide", {"reason": "Advertising"})
    page = _browser(make_client, db, s.author).get("/notifications").text
    assert "A host hid your post in" in page
    assert "Advertising" in page


def test_the_author_of_a_post_receives_a_private_warning(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _post(_browser(make_client, db, s.host), f"/mod/posts/{s.reply.id}/warn", {"reason": "No ads, please."})
    assert "Private notice from a host: No ads, please." in _browser(make_client, db, s.author).get(
        "/notifications").text
    assert "No ads, please." not in _browser(make_client, db, s.member).get("/notifications").text
    assert not _fresh(db, Post, s.reply.id).hidden


def test_a_removed_member_is_told(db: Session, make_client: Any) -> None:
    s = _scene(db)
    _post(_browser(make_client, db, s.host), f"/c/espresso/members/{s.bob.id}/remove")
    assert "A host removed you from Espresso." in _browser(make_client, db, s.bob).get("/notifications").text
