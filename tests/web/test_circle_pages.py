"""Circle pages: directory, card, joining (htmx), requests, leaving, removal, invites, new threads."""

from typing import Any

from sqlmodel import Session, select

from app.models import Circle, Invite, Membership, Notification, Thread, User
from tests.factories import (
    PASSWORD,
    add_member,
    csrf_from,
    login,
    make_admin,
    make_circle,
    make_invite,
    make_thread,
    make_user,
    post_form,
)


def _login(client: Any, db: Session, user: User) -> Any:
    db.commit()  # the test's session must not hold SQLite's write lock while the app writes
    return login(client, user)


def _reload(db: Session, obj: Any) -> Any:
    db.refresh(obj)
    db.commit()
    return obj


def _membership(db: Session, circle: Circle, user: User) -> Membership | None:
    found = db.exec(
        select(Membership).where(Membership.circle_id == circle.id, Membership.user_id == user.id)
        .execution_options(populate_existing=True)
    ).first()
    db.commit()
    return found


def _all(db: Session, statement: Any) -> list[Any]:
    rows = list(db.exec(statement.execution_options(populate_existing=True)).all())
    db.commit()
    return rows


def _one(db: Session, statement: Any) -> Any:
    (row,) = _all(db, statement)
    return row


def _kinds(db: Session, user: User) -> list[str]:
    kinds = _all(db, select(Notification.kind).where(Notification.user_id == user.id))
    db.commit()
    return sorted(kinds)


# Directory and card ------------------------------------------------------------------------


def test_the_directory_lists_open_and_closed_circles_but_not_secret_ones(client, db):
    make_circle(db, "espresso", name="Espresso lovers", description="All about *crema*.")
    make_circle(db, "roasters", visibility="closed", name="Home roasters")
    make_circle(db, "inner", visibility="secret", name="Inner sanctum")
    db.commit()
    page = client.get("/c")
    assert page.status_code == 200
    assert "Espresso lovers" in page.text and "<em>crema</em>" in page.text
    assert "Home roasters" in page.text
    assert "Inner sanctum" not in page.text and "/c/inner" not in page.text


def test_the_directory_lists_a_secret_circle_to_its_members(client, db):
    circle = make_circle(db, "inner", visibility="secret", name="Inner sanctum")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert "Inner sanctum" in client.get("/c").text


def test_a_closed_circle_shows_its_public_card_to_a_non_member(client, db):
    make_circle(db, "roasters", visibility="closed", name="Home roasters", description="We **roast**.")
    outsider = make_user(db, "outsider")
    _login(client, db, outsider)
    page = client.get("/c/roasters")
    assert page.status_code == 200
    assert "Home roasters" in page.text
    assert "<strong>roast</strong>" in page.text
    assert "Ask to join" in page.text
    assert "/c/roasters/new" not in page.text


def test_a_closed_circle_card_asks_visitors_to_sign_in(client, db):
    make_circle(db, "roasters", visibility="closed", name="Home roasters")
    db.commit()
    page = client.get("/c/roasters")
    assert page.status_code == 200
    assert "Sign in to join" in page.text


def test_a_secret_circle_page_is_not_found_for_non_members_and_visitors(client, db):
    make_circle(db, "inner", visibility="secret")
    db.commit()
    assert client.get("/c/inner").status_code == 404
    _login(client, db, make_user(db, "outsider"))
    assert client.get("/c/inner").status_code == 404
    missing = client.get("/c/nowhere").text.replace("/c/nowhere", "/c/inner")
    assert client.get("/c/inner").text == missing


def test_an_open_circle_shows_its_threads_to_any_signed_in_person(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    make_thread(db, circle, alice, title="Crema science")
    _login(client, db, make_user(db, "passer"))
    page = client.get("/c/espresso")
    assert page.status_code == 200
    assert "Crema science" in page.text
    assert "Join this circle" in page.text


def test_the_circle_page_answers_htmx_with_the_thread_list_only(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    make_thread(db, circle, alice, title="Crema science")
    _login(client, db, alice)
    fragment = client.get("/c/espresso", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="threads">')
    assert "Crema science" in fragment.text
    assert "<html" not in fragment.text


# Joining -----------------------------------------------------------------------------------


def test_joining_an_open_circle_through_htmx_returns_the_membership_fragment(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    _login(client, db, alice)
    response = post_form(client, "/c/espresso/join", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="membership"')
    assert "You are a member" in response.text
    assert "<html" not in response.text
    assert _reload(db, circle).member_count == 1
    assert _membership(db, circle, alice).state == "active"  # type: ignore[union-attr]


def test_joining_an_open_circle_without_javascript_redirects_to_it(client, db):
    circle = make_circle(db, "espresso", name="Espresso")
    _login(client, db, make_user(db, "alice"))
    response = post_form(client, "/c/espresso/join")
    assert response.status_code == 303
    assert response.headers["location"] == "/c/espresso"
    assert "Welcome to Espresso!" in client.get("/c/espresso").text
    assert _reload(db, circle).member_count == 1


def test_joining_needs_the_csrf_token(client, db):
    circle = make_circle(db, "espresso")
    _login(client, db, make_user(db, "alice"))
    assert client.post("/c/espresso/join", follow_redirects=False).status_code == 403
    assert _reload(db, circle).member_count == 0


def test_a_visitor_posting_join_is_sent_to_sign_in(client, db):
    make_circle(db, "espresso")
    db.commit()
    response = post_form(client, "/c/espresso/join", csrf_page="/login")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_a_closed_circle_cannot_be_joined_in_one_click(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    _login(client, db, alice)
    assert post_form(client, "/c/roasters/join").status_code == 403
    assert _membership(db, circle, alice) is None


def test_a_secret_circle_cannot_be_joined_or_asked_by_a_non_member(client, db):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    _login(client, db, alice)
    assert post_form(client, "/c/inner/join").status_code == 404
    assert post_form(client, "/c/inner/request", {"message": "hi"}).status_code == 404
    assert _membership(db, circle, alice) is None


def test_asking_to_join_a_closed_circle_through_the_page(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    _login(client, db, alice)
    response = post_form(client, "/c/roasters/request", {"message": "I roast on a skillet."})
    assert response.status_code == 303
    membership = _membership(db, circle, alice)
    assert membership is not None
    assert (membership.state, membership.request_message) == ("pending", "I roast on a skillet.")
    assert "Your request is waiting for a host." in client.get("/c/roasters").text
    assert _kinds(db, host) == ["join_request"]


def test_a_too_long_request_message_comes_back_with_422_and_the_message_kept(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    _login(client, db, alice)
    message = "m" * 1001
    response = post_form(client, "/c/roasters/request", {"message": message})
    assert response.status_code == 422
    assert message in response.text
    assert _membership(db, circle, alice) is None


def test_a_host_approves_a_request_on_the_requests_page(client, db, make_client):
    circle = make_circle(db, "roasters", visibility="closed", name="Roasters")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    alice_browser = _login(make_client(), db, alice)
    post_form(alice_browser, "/c/roasters/request", {"message": "Please!"})
    membership = _membership(db, circle, alice)
    assert membership is not None
    _login(client, db, host)
    requests_page = client.get("/c/roasters/requests")
    assert requests_page.status_code == 200
    assert "Please!" in requests_page.text
    response = post_form(client, f"/c/roasters/requests/{membership.id}/approve")
    assert response.status_code == 303
    assert _membership(db, circle, alice).state == "active"  # type: ignore[union-attr]
    assert _reload(db, circle).member_count == 2
    assert "request_approved" in _kinds(db, alice)
    assert "Your request to join was approved" in alice_browser.get("/notifications").text
    assert alice_browser.get("/c/roasters/members").status_code == 200


def test_a_host_declines_a_request_and_the_requester_learns_it(client, db, make_client):
    circle = make_circle(db, "roasters", visibility="closed", name="Roasters")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    alice_browser = _login(make_client(), db, alice)
    post_form(alice_browser, "/c/roasters/request")
    membership = _membership(db, circle, alice)
    _login(client, db, host)
    assert post_form(client, f"/c/roasters/requests/{membership.id}/decline").status_code == 303  # type: ignore[union-attr]
    assert _membership(db, circle, alice).state == "declined"  # type: ignore[union-attr]
    note = _one(db, select(Notification).where(Notification.user_id == alice.id,
                                               Notification.kind == "request_declined"))
    assert note.circle_id is None
    assert "Your request to join Roasters was declined." in alice_browser.get("/notifications").text
    assert alice_browser.get("/c/roasters/members").status_code == 404


def test_a_member_cannot_see_the_requests_page_and_an_outsider_learns_nothing(client, db, make_client):
    circle = make_circle(db, "roasters", visibility="closed")
    member = make_user(db, "member")
    add_member(db, circle, member)
    outsider = make_user(db, "outsider")
    _login(client, db, member)
    assert client.get("/c/roasters/requests").status_code == 403
    assert _login(make_client(), db, outsider).get("/c/roasters/requests").status_code == 404


def test_an_unknown_decision_is_refused(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    from app.services import memberships

    pending = memberships.request_to_join(db, circle=circle, user=alice)
    _login(client, db, host)
    assert post_form(client, f"/c/roasters/requests/{pending.id}/maybe").status_code == 422
    assert _membership(db, circle, alice).state == "pending"  # type: ignore[union-attr]


# Leaving and removal -----------------------------------------------------------------------


def test_leaving_a_circle_through_the_page_keeps_the_history(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    response = post_form(client, "/c/espresso/leave")
    assert response.status_code == 303
    assert response.headers["location"] == "/c/espresso"
    membership = _membership(db, circle, alice)
    assert membership is not None
    assert membership.state == "left" and membership.left_at is not None and membership.joined_at is not None
    assert _reload(db, circle).member_count == 0


def test_leaving_a_secret_circle_goes_home(client, db):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert post_form(client, "/c/inner/leave").headers["location"] == "/"
    assert client.get("/c/inner").status_code == 404


def test_rejoining_after_leaving_resets_joined_at(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    _login(client, db, alice)
    post_form(client, "/c/espresso/join")
    first = _membership(db, circle, alice).joined_at  # type: ignore[union-attr]
    post_form(client, "/c/espresso/leave")
    post_form(client, "/c/espresso/join")
    again = _membership(db, circle, alice)
    assert again is not None and again.state == "active" and again.left_at is None
    assert again.joined_at > first  # type: ignore[operator]


def test_a_removed_member_cannot_rejoin_until_allowed_back(client, db, make_client):
    circle = make_circle(db, "espresso")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    host_browser = _login(make_client(), db, host)
    assert post_form(host_browser, f"/c/espresso/members/{alice.id}/remove").status_code == 303
    assert _membership(db, circle, alice).state == "removed"  # type: ignore[union-attr]
    _login(client, db, alice)
    assert post_form(client, "/c/espresso/join").status_code == 403
    assert "A host removed you from this circle." in client.get("/c/espresso").text
    from app.services import memberships

    memberships.allow_back(db, circle=circle, user_id=alice.id, by=host)  # type: ignore[arg-type]
    assert post_form(client, "/c/espresso/join").status_code == 303
    assert _membership(db, circle, alice).state == "active"  # type: ignore[union-attr]


def test_a_plain_member_cannot_remove_someone(client, db):
    circle = make_circle(db, "espresso")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    _login(client, db, alice)
    assert post_form(client, f"/c/espresso/members/{bob.id}/remove").status_code == 403
    assert _membership(db, circle, bob).state == "active"  # type: ignore[union-attr]


def test_the_members_page_lists_hosts_first_then_members(client, db):
    circle = make_circle(db, "espresso")
    alice, zed = make_user(db, "alice", display_name="Alice"), make_user(db, "zed", display_name="Zed the host")
    add_member(db, circle, alice)
    add_member(db, circle, zed, host=True)
    _login(client, db, alice)
    page = client.get("/c/espresso/members").text
    listing = page[page.index('<ul class="member-list">'):]
    assert listing.index("Zed the host") < listing.index(">Alice<")


def test_members_of_a_closed_circle_are_not_found_for_outsiders(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    add_member(db, circle, make_user(db, "alice"))
    _login(client, db, make_user(db, "outsider"))
    assert client.get("/c/roasters/members").status_code == 404


# Invites -----------------------------------------------------------------------------------


def test_a_member_creates_an_invite_link_from_the_settings_page(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert client.get("/c/roasters/settings").status_code == 200
    response = post_form(client, "/c/roasters/invites", {"expires_in_days": "7", "max_uses": "3", "note": "for Bob"})
    assert response.status_code == 303
    invite = _one(db, select(Invite))
    assert (invite.circle_id, invite.created_by_id, invite.max_uses, invite.note) == (circle.id, alice.id, 3, "for Bob")
    assert f"/invite/{invite.code}" in client.get("/c/roasters/settings").text


def test_an_invite_form_with_bad_numbers_comes_back_with_422_and_its_values(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    response = post_form(client, "/c/roasters/invites", {"expires_in_days": "0", "max_uses": "many",
                                                        "note": "kept note"})
    assert response.status_code == 422
    assert "kept note" in response.text
    assert _all(db, select(Invite)) == []


def test_a_member_cannot_create_an_invite_when_member_invites_are_off(client, db):
    circle = make_circle(db, "roasters", visibility="closed", member_invites=False)
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert post_form(client, "/c/roasters/invites", {"expires_in_days": "7"}).status_code == 403
    assert _all(db, select(Invite)) == []


def test_a_member_of_a_secret_circle_cannot_create_an_invite(client, db):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert post_form(client, "/c/inner/invites", {"expires_in_days": "7"}).status_code == 403


def test_a_signed_out_person_opening_an_invite_is_sent_to_register(client, db):
    circle = make_circle(db, "roasters", visibility="closed")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    db.commit()
    response = client.get(f"/invite/{invite.code}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/register?invite={invite.code}"


def test_registering_through_a_circle_invite_lands_in_the_circle(client, db):
    circle = make_circle(db, "roasters", visibility="closed", name="Home roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    db.commit()
    form_page = client.get(f"/register?invite={invite.code}")
    assert "You are invited to join Home roasters." in form_page.text
    token = csrf_from(client, f"/register?invite={invite.code}")
    response = client.post("/register", data={
        "username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD, "display_name": "",
        "invite": invite.code, "csrf_token": token,
    }, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/c/roasters"
    newcomer = _one(db, select(User).where(User.username == "newcomer"))
    assert newcomer.invited_by_id == host.id
    membership = _membership(db, circle, newcomer)
    assert membership is not None and membership.state == "active"
    assert (membership.invite_id, membership.invited_by_id) == (invite.id, host.id)
    landing = client.get("/c/roasters")
    assert landing.status_code == 200
    assert "Welcome, newcomer!" in landing.text
    assert "/c/roasters/new" in landing.text


def test_a_signed_in_person_accepts_an_invite_and_the_inviter_is_told(client, db):
    circle = make_circle(db, "inner", visibility="secret", name="Inner")
    host, bob = make_user(db, "host"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    _login(client, db, bob)
    assert "You are invited to join Inner." in client.get(f"/invite/{invite.code}").text
    response = post_form(client, f"/invite/{invite.code}/accept")
    assert response.status_code == 303
    assert response.headers["location"] == "/c/inner"
    membership = _membership(db, circle, bob)
    assert membership is not None and membership.invite_id == invite.id and membership.invited_by_id == host.id
    assert "invite_accepted" in _kinds(db, host)
    assert client.get("/c/inner").status_code == 200


def test_an_unknown_revoked_or_used_up_invite_shows_the_invalid_page(client, db):
    circle = make_circle(db, "roasters")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    used = make_invite(db, host, circle, max_uses=1)
    revoked = make_invite(db, host, circle)
    from app.services import invites

    invites.accept_invite(db, invite=used, user=alice)
    invites.revoke_invite(db, invite_id=revoked.id, by=host)  # type: ignore[arg-type]
    _login(client, db, make_user(db, "bob"))
    for code in ("nope", used.code, revoked.code):
        assert client.get(f"/invite/{code}").status_code == 404
        assert post_form(client, f"/invite/{code}/accept").status_code == 404


def test_revoking_an_invite_from_the_settings_page(client, db):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    _login(client, db, host)
    response = post_form(client, f"/invites/{invite.id}/revoke")
    assert response.status_code == 303
    assert _reload(db, invite).revoked_at is not None


def test_a_site_invite_is_refused_to_a_plain_member(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert post_form(client, "/invites", {"expires_in_days": "7"}).status_code == 403
    assert _all(db, select(Invite)) == []


def test_an_admin_creates_a_site_invite_that_opens_an_invite_only_site(client, db, make_client):
    admin = make_admin(db)
    from app.services import site

    site.update(db, registration="invite")
    _login(client, db, admin)
    assert post_form(client, "/invites", {"expires_in_days": "7", "max_uses": "1"}).status_code == 303
    invite = _one(db, select(Invite))
    assert invite.circle_id is None
    newcomer_browser = make_client()
    assert "Registration is by invitation only" in newcomer_browser.get("/register").text
    token = csrf_from(newcomer_browser, f"/register?invite={invite.code}")
    response = newcomer_browser.post("/register", data={
        "username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD,
        "invite": invite.code, "csrf_token": token,
    }, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert _one(db, select(User).where(User.username == "newcomer")).invited_by_id == admin.id


# New threads -------------------------------------------------------------------------------


def test_a_member_starts_a_thread_with_a_title_and_markdown(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    assert client.get("/c/espresso/new").status_code == 200
    response = post_form(client, "/c/espresso/new", {"title": "Dialing in", "body": "Grind *finer*."})
    assert response.status_code == 303
    thread = _one(db, select(Thread))
    assert response.headers["location"] == f"/t/{thread.id}"
    page = client.get(f"/t/{thread.id}")
    assert "Dialing in" in page.text and "<em>finer</em>" in page.text
    assert "Dialing in" in client.get("/c/espresso").text


def test_an_invalid_new_thread_comes_back_with_422_and_the_values_kept(client, db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    _login(client, db, alice)
    response = post_form(client, "/c/espresso/new", {"title": "", "body": "My *kept* words"})
    assert response.status_code == 422
    assert "My *kept* words" in response.text
    assert "Give the thread a title." in response.text
    response = post_form(client, "/c/espresso/new", {"title": "Kept title", "body": "  "})
    assert response.status_code == 422
    assert 'value="Kept title"' in response.text
    response = post_form(client, "/c/espresso/new", {"title": "T" * 201, "body": "ok"})
    assert response.status_code == 422
    assert _all(db, select(Thread)) == []


def test_a_non_member_cannot_open_the_new_thread_form_of_an_open_circle(client, db):
    make_circle(db, "espresso")
    _login(client, db, make_user(db, "passer"))
    assert client.get("/c/espresso/new").status_code == 403
    assert post_form(client, "/c/espresso/new", {"title": "x", "body": "y"}).status_code == 403


def test_the_new_thread_form_of_a_closed_circle_is_not_found_for_outsiders(client, db):
    make_circle(db, "roasters", visibility="closed")
    _login(client, db, make_user(db, "outsider"))
    assert client.get("/c/roasters/new").status_code == 404
    assert post_form(client, "/c/roasters/new", {"title": "x", "body": "y"}).status_code == 404
