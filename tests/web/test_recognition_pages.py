"""Recognition pages: badges, awards from a profile, the ambassador program, ambassador powers, the pulse."""

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import (
    AmbassadorGrant,
    BadgeAward,
    Circle,
    Invite,
    Membership,
    ModerationAction,
    Post,
    Pulse,
    Reaction,
    Thread,
    User,
    Visit,
    utcnow,
)
from app.services import ambassadors, badges
from tests.factories import add_member, login, make_admin, make_circle, make_reply, make_thread, make_user, post_form

# Helpers ---------------------------------------------------------------------------------------


def _fresh(db: Session, model: Any, **where: Any) -> list[Any]:
    """Rows as the app left them (its own sessions wrote them); ends the test's transaction."""
    db.expire_all()
    statement = select(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    rows = list(db.exec(statement).all())
    db.commit()
    return rows


def _user(db: Session, username: str) -> User:
    (user,) = _fresh(db, User, username=username)
    return user


def _age(db: Session, user: User, days: int) -> None:
    user.created_at = utcnow() - timedelta(days=days)
    db.add(user)
    db.commit()


def _flash(client: TestClient, response: Any) -> str:
    """The message the redirect leaves for the next page."""
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"]).text
    match = re.search(r'<div class="flash" role="status">([^<]*)</div>', page)
    return match.group(1) if match else ""


def _world(db: Session) -> dict[str, Any]:
    """An admin, a host of "espresso", Alice (a member there) and Olivia (in "tea" only); a manual badge."""
    admin = make_admin(db)
    espresso = make_circle(db, "espresso", by=admin, name="Espresso Lab")
    tea = make_circle(db, "tea", by=admin, name="Tea Room")
    host, alice, olivia = make_user(db, "hostess", display_name="Hana Host"), make_user(
        db, "alice", display_name="Alice Martin"), make_user(db, "olivia", display_name="Olivia Out")
    add_member(db, espresso, host, host=True)
    add_member(db, espresso, alice)
    add_member(db, tea, olivia)
    badge = badges.create_badge(db, by=admin, name="Barista of the Month", description="Pulled the best shots.",
                                tier="gold", icon="coffee")
    return {"admin": admin, "host": host, "alice": alice, "olivia": olivia, "espresso": espresso, "tea": tea,
            "badge": badge}


def _signed_in(make_client: Any, username: str) -> TestClient:
    return login(make_client(), username)


def _award(client: TestClient, username: str, reason: str, circle: str = "espresso",
           badge: str = "barista-of-the-month") -> Any:
    return post_form(client, f"/u/{username}/badges", {"badge": badge, "reason": reason, "circle": circle})


# /badges and /badges/{slug} ------------------------------------------------------------------------


def test_badges_page_lists_automatic_and_manual_badges(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "alice")
    page = client.get("/badges")
    assert page.status_code == 200
    for name in ("First Post", "Welcomer", "Conversation Starter", "Regular", "Anniversary", "Barista of the Month"):
        assert name in page.text
    assert "given by the hosts" in page.text


def test_badges_pages_need_a_signed_in_user(client: TestClient, db: Session) -> None:
    _world(db)
    for path in ("/badges", "/badges/barista-of-the-month"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_an_unknown_badge_is_404(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "alice")
    assert client.get("/badges/no-such-badge").status_code == 404


def test_badge_page_lists_holders_with_the_public_reason(client: TestClient, make_client: Any, db: Session) -> None:
    _world(db)
    assert _award(_signed_in(make_client, "hostess"), "alice", "Taught us latte art").status_code == 303
    login(client, "olivia")
    page = client.get("/badges/barista-of-the-month")
    assert page.status_code == 200
    assert "Alice Martin" in page.text
    assert "Taught us latte art" in page.text
    assert "Hana Host" in page.text


def test_badges_page_counts_the_holders(client: TestClient, make_client: Any, db: Session) -> None:
    _world(db)
    _award(_signed_in(make_client, "hostess"), "alice", "Taught us latte art")
    login(client, "alice")
    card = client.get("/badges").text.split("Barista of the Month", 1)[1].split("</li>", 1)[0]
    assert "1 holder" in card


def test_a_revoked_award_leaves_the_badge_page(client: TestClient, make_client: Any, db: Session) -> None:
    world = _world(db)
    award = badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"],
                                reason="Taught us latte art", circle=world["espresso"])
    badges.revoke_award(db, award_id=award.id, by=world["host"], reason="Oops")  # type: ignore[arg-type]
    login(client, "olivia")
    page = client.get("/badges/barista-of-the-month").text
    assert "Taught us latte art" not in page
    assert "Nobody holds this badge yet." in page


# /admin/badges ----------------------------------------------------------------------------------


def test_an_admin_creates_a_badge_from_the_admin_page(client: TestClient, db: Session) -> None:
    make_admin(db)
    login(client, "admin")
    response = post_form(client, "/admin/badges", {"name": "Tea Whisperer", "description": "Knows every leaf.",
                                                   "tier": "silver", "icon": "leaf"}, csrf_page="/admin/badges")
    assert response.status_code == 303 and response.headers["location"] == "/admin/badges"
    badge = badges.get_badge(db, "tea-whisperer")
    db.commit()
    assert (badge.name, badge.tier, badge.icon, badge.automatic) == ("Tea Whisperer", "silver", "leaf", False)


def test_an_invalid_badge_comes_back_with_its_messages_and_422(client: TestClient, db: Session) -> None:
    make_admin(db)
    login(client, "admin")
    response = post_form(client, "/admin/badges", {"name": "", "description": "x" * 301, "tier": "platinum",
                                                   "icon": "skull"}, csrf_page="/admin/badges")
    assert response.status_code == 422
    assert "Please correct the highlighted fields." in response.text
    for message in ("1 to 60 characters.", "At most 300 characters."):
        assert message in response.text


def test_a_badge_name_over_60_characters_is_refused(client: TestClient, db: Session) -> None:
    make_admin(db)
    login(client, "admin")
    response = post_form(client, "/admin/badges", {"name": "n" * 61, "tier": "bronze", "icon": "star"},
                         csrf_page="/admin/badges")
    assert response.status_code == 422
    assert not [b for b in _fresh(db, badges.Badge) if not b.automatic]


def test_a_host_cannot_open_or_post_the_admin_badges_page(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "hostess")
    assert client.get("/admin/badges").status_code == 403
    response = post_form(client, "/admin/badges", {"name": "Mine", "tier": "bronze", "icon": "star"})
    assert response.status_code == 403


# Awards from a profile --------------------------------------------------------------------------


def test_a_host_sees_the_recognise_form_on_a_members_profile(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "hostess")
    page = client.get("/u/alice").text
    assert "Award the badge" in page
    assert 'value="barista-of-the-month"' in page
    assert 'value="espresso"' in page


def test_a_member_sees_no_recognise_form_on_another_profile(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "olivia")
    page = client.get("/u/alice").text
    assert "Award the badge" not in page
    assert "Make ambassador" not in page


def test_a_host_awards_a_badge_from_a_members_profile_with_a_reason(
        client: TestClient, make_client: Any, db: Session) -> None:
    _world(db)
    host = _signed_in(make_client, "hostess")
    response = _award(host, "alice", "Taught us latte art")
    assert response.headers["location"] == "/u/alice"
    assert "received the badge" in _flash(host, response)
    login(client, "olivia")
    profile = client.get("/u/alice").text
    assert "Barista of the Month" in profile and "Taught us latte art" in profile


def test_the_member_is_notified_of_a_manual_award(client: TestClient, make_client: Any, db: Session) -> None:
    _world(db)
    _award(_signed_in(make_client, "hostess"), "alice", "Taught us latte art")
    login(client, "alice")
    page = client.get("/notifications").text
    assert "You received a badge:" in page
    assert 'href="/badges/barista-of-the-month"' in page


def test_an_award_without_a_reason_is_refused(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "hostess")
    response = _award(client, "alice", "   ")
    assert "Say why" in _flash(client, response)
    assert _fresh(db, BadgeAward, user_id=_user(db, "alice").id) == []


def test_a_host_cannot_award_a_badge_to_someone_outside_their_circles(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "hostess")
    assert _award(client, "olivia", "Nice tea").status_code == 403
    assert _fresh(db, BadgeAward, user_id=_user(db, "olivia").id) == []


def test_a_member_cannot_award_a_badge(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "alice")
    assert _award(client, "hostess", "Great host").status_code == 403
    assert _award(client, "hostess", "Great host", circle="").status_code == 403
    assert _fresh(db, BadgeAward) == []


def test_revoking_from_the_profile_keeps_the_row_and_an_audit_entry(
        client: TestClient, make_client: Any, db: Session) -> None:
    world = _world(db)
    award = badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"],
                                reason="Taught us latte art", circle=world["espresso"])
    alice_id = world["alice"].id
    login(client, "hostess")
    assert f'action="/awards/{award.id}/revoke"' in client.get("/u/alice").text
    response = post_form(client, f"/awards/{award.id}/revoke", {"reason": "Given by mistake"})
    assert response.status_code == 303 and response.headers["location"] == "/u/alice"
    (row,) = _fresh(db, BadgeAward, id=award.id)
    assert row.revoked_at is not None
    (audit,) = _fresh(db, ModerationAction, action="badge_revoked")
    assert (audit.target_user_id, audit.reason) == (alice_id, "Given by mistake")
    assert "Taught us latte art" not in _signed_in(make_client, "olivia").get("/u/alice").text


def test_a_member_cannot_revoke_an_award(client: TestClient, db: Session) -> None:
    world = _world(db)
    award = badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"],
                                reason="Taught us latte art", circle=world["espresso"])
    login(client, "alice")
    assert post_form(client, f"/awards/{award.id}/revoke", {"reason": "Modesty"}).status_code == 403
    (row,) = _fresh(db, BadgeAward, id=award.id)
    assert row.revoked_at is None


def test_a_profile_lists_badges_best_first(client: TestClient, db: Session) -> None:
    world = _world(db)
    bronze = badges.create_badge(db, by=world["admin"], name="Bean Counter", description="", tier="bronze", icon="star")
    silver = badges.create_badge(db, by=world["admin"], name="Milk Frother", description="", tier="silver",
                                 icon="heart")
    for badge in (bronze, world["badge"], silver):
        badges.award_manual(db, badge=badge, user=world["alice"], by=world["host"], reason="Yes",
                            circle=world["espresso"])
    login(client, "olivia")
    badge_list = client.get("/u/alice").text.split('<ul class="badge-list">', 1)[1].split("</ul>", 1)[0]
    positions = [badge_list.index(name) for name in ("Barista of the Month", "Milk Frother", "Bean Counter")]
    assert positions == sorted(positions)


def test_the_best_badge_shows_next_to_the_name_on_thread_pages(client: TestClient, db: Session) -> None:
    world = _world(db)
    thread = make_thread(db, world["espresso"], world["host"], title="Grinders")
    badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"], reason="Yes",
                        circle=world["espresso"])
    make_reply(db, thread, world["alice"])
    db.commit()  # the reply service reads the thread back: end that transaction (SQLite's lock)
    login(client, "hostess")
    page = client.get(f"/t/{thread.id}").text
    assert 'class="best-badge" title="Barista of the Month"' in page


# Ambassadors: grants from a profile ------------------------------------------------------------------


def _grant(client: TestClient, username: str, reason: str, next_page: str = "") -> Any:
    data = {"reason": reason} | ({"next": next_page} if next_page else {})
    return post_form(client, f"/u/{username}/ambassador", data)


def test_an_admin_makes_a_member_ambassador_from_their_profile(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "admin")
    response = _grant(client, "alice", "Answers every newcomer")
    assert "is now an ambassador" in _flash(client, response)
    (grant,) = _fresh(db, AmbassadorGrant)
    assert (grant.user_id, grant.reason) == (_user(db, "alice").id, "Answers every newcomer")


def test_a_host_makes_a_member_of_their_circle_ambassador(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "hostess")
    assert "Make ambassador" in client.get("/u/alice").text
    _grant(client, "alice", "Our best barista")
    assert _user(db, "alice").is_ambassador


def test_a_host_cannot_make_someone_outside_their_circles_ambassador(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "hostess")
    assert _grant(client, "olivia", "Nice tea").status_code == 403
    assert not _user(db, "olivia").is_ambassador


def test_a_member_cannot_make_anyone_ambassador(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "alice")
    assert _grant(client, "hostess", "Great host").status_code == 403
    assert _fresh(db, AmbassadorGrant) == []


def test_a_grant_without_a_reason_is_refused(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "admin")
    assert "Say why" in _flash(client, _grant(client, "alice", ""))
    assert _fresh(db, AmbassadorGrant) == []


def test_a_member_cannot_end_the_ambassador_role(client: TestClient, db: Session) -> None:
    world = _world(db)
    bob = make_user(db, "bob")
    add_member(db, world["espresso"], bob)
    ambassadors.grant(db, member=bob, by=world["admin"], reason="Helpful")
    login(client, "alice")
    assert post_form(client, "/u/bob/ambassador/revoke", {"reason": "Jealous"}).status_code == 403
    assert _user(db, "bob").is_ambassador


def test_two_grants_and_a_revocation_are_three_facts_on_the_ambassadors_page(
        client: TestClient, make_client: Any, db: Session) -> None:
    _world(db)
    admin = login(client, "admin")
    _grant(admin, "alice", "First spell as ambassador")
    assert post_form(admin, "/u/alice/ambassador/revoke", {"reason": "Took a sabbatical"}).status_code == 303
    _grant(_signed_in(make_client, "hostess"), "alice", "Back from the sabbatical")
    page = admin.get("/admin/ambassadors").text
    history = page.split("<h2>History</h2>", 1)[1]
    for fact in ("First spell as ambassador", "Took a sabbatical", "Back from the sabbatical"):
        assert fact in history
    assert history.count('href="/u/alice"') == 2
    assert len(_fresh(db, AmbassadorGrant)) == 2


def test_the_ambassador_flair_shows_on_thread_pages_and_profiles(client: TestClient, db: Session) -> None:
    world = _world(db)
    thread = make_thread(db, world["espresso"], world["alice"], title="Grinders")
    ambassadors.grant(db, member=world["alice"], by=world["admin"], reason="Helpful")
    login(client, "hostess")
    flair = '<span class="flair" title="Ambassador of the community">Ambassador</span>'
    assert flair in client.get(f"/t/{thread.id}").text
    assert '<span class="flair">Ambassador</span>' in client.get("/u/alice").text


def test_the_flair_goes_when_the_role_is_revoked(client: TestClient, db: Session) -> None:
    world = _world(db)
    thread = make_thread(db, world["espresso"], world["alice"], title="Grinders")
    ambassadors.grant(db, member=world["alice"], by=world["admin"], reason="Helpful")
    ambassadors.revoke(db, member=world["alice"], by=world["admin"], reason="Ended")
    login(client, "hostess")
    assert 'class="flair"' not in client.get(f"/t/{thread.id}").text
    assert 'class="flair"' not in client.get("/u/alice").text


def test_the_grant_reason_is_shown_to_hosts_not_to_members(client: TestClient, make_client: Any, db: Session) -> None:
    world = _world(db)
    bob = make_user(db, "bob")
    add_member(db, world["espresso"], bob)
    ambassadors.grant(db, member=world["alice"], by=world["admin"], reason="Secret sauce reason")
    assert "Secret sauce reason" in _signed_in(make_client, "hostess").get("/u/alice").text
    login(client, "bob")
    assert "Secret sauce reason" not in client.get("/u/alice").text


def test_a_member_cannot_see_the_ambassadors_page(client: TestClient, db: Session) -> None:
    _world(db)
    login(client, "alice")
    assert client.get("/admin/ambassadors").status_code == 403


# Ambassadors: candidates on /admin/ambassadors ------------------------------------------------------


def _candidate(db: Session, circle: Circle, username: str, reactor: User, *, posts: int = 10) -> User:
    """A member of `circle` with 8 active days, `posts` posts and 5 reactions from `reactor`."""
    user = make_user(db, username, display_name=username.title())
    add_member(db, circle, user)
    add_member(db, circle, reactor)
    now = utcnow()
    thread = Thread(circle_id=circle.id, author_id=reactor.id, title="Talk", created_at=now, last_post_at=now)  # type: ignore[arg-type]
    db.add(thread)
    db.flush()
    written = [Post(thread_id=thread.id, number=n + 1, author_id=user.id, body_md="Hi", body_html="<p>Hi</p>",  # type: ignore[arg-type]
                    created_at=now) for n in range(posts)]
    db.add_all(written)
    db.flush()
    db.add_all([Reaction(post_id=p.id, user_id=reactor.id, kind="helpful", created_at=now)  # type: ignore[arg-type]
                for p in written[:5]])
    db.add_all([Visit(user_id=user.id, day=(now - timedelta(days=d)).date(), circle_id=circle.id,  # type: ignore[arg-type]
                      scope=circle.id) for d in range(1, 8)])
    db.commit()
    return user


def _candidates_world(db: Session) -> dict[str, Any]:
    world = _world(db)
    fan = make_user(db, "fan")
    _candidate(db, world["espresso"], "espresso_star", fan)
    _candidate(db, world["tea"], "tea_star", fan)
    _candidate(db, world["espresso"], "almost", fan, posts=9)
    return world


def _candidate_section(page: str) -> str:
    return page.split('id="candidates"', 1)[1].split("</section>", 1)[0]


def test_the_ambassadors_page_lists_candidates_with_a_promote_form(client: TestClient, db: Session) -> None:
    _candidates_world(db)
    login(client, "admin")
    section = _candidate_section(client.get("/admin/ambassadors").text)
    assert 'href="/u/espresso_star"' in section and 'href="/u/tea_star"' in section
    assert 'href="/u/almost"' not in section
    assert 'action="/u/espresso_star/ambassador"' in section
    assert 'name="next" value="/admin/ambassadors"' in section


def test_a_host_sees_only_the_candidates_of_the_circles_they_host(client: TestClient, db: Session) -> None:
    _candidates_world(db)
    login(client, "hostess")
    page = client.get("/admin/ambassadors")
    assert page.status_code == 200
    section = _candidate_section(page.text)
    assert 'href="/u/espresso_star"' in section
    assert 'href="/u/tea_star"' not in section


def test_promoting_a_candidate_returns_to_the_ambassadors_page(client: TestClient, db: Session) -> None:
    _candidates_world(db)
    login(client, "hostess")
    response = _grant(client, "espresso_star", "Carries the espresso circle", next_page="/admin/ambassadors")
    assert response.headers["location"] == "/admin/ambassadors"
    page = client.get("/admin/ambassadors").text
    assert 'href="/u/espresso_star"' not in _candidate_section(page)
    current = page.split("<h2>Current ambassadors</h2>", 1)[1].split("</section>", 1)[0]
    assert 'href="/u/espresso_star"' in current


# Ambassadors: powers in circles --------------------------------------------------------------------


def _powers_world(db: Session, visibility: str) -> tuple[Circle, User, User]:
    """An ambassador member of a circle with member invites off, and someone waiting to join it."""
    admin = make_admin(db)
    circle = make_circle(db, "club", visibility=visibility, by=admin, member_invites=False)
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    ambassadors.grant(db, member=alice, by=admin, reason="Welcomes everyone")
    newbie = make_user(db, "newbie")
    db.add(Membership(user_id=newbie.id, circle_id=circle.id, state="pending", requested_at=utcnow()))  # type: ignore[arg-type]
    db.commit()
    return circle, alice, admin


def _request_id(db: Session) -> int:
    (membership,) = _fresh(db, Membership, state="pending")
    return membership.id  # type: ignore[no-any-return]


def _invite(client: TestClient) -> Any:
    return post_form(client, "/c/club/invites", {"expires_in_days": "7", "max_uses": "", "note": ""})


def test_an_ambassador_sees_and_approves_requests_of_a_closed_circle(client: TestClient, db: Session) -> None:
    _powers_world(db, "closed")
    login(client, "alice")
    page = client.get("/c/club/requests")
    assert page.status_code == 200 and 'href="/u/newbie"' in page.text
    response = post_form(client, f"/c/club/requests/{_request_id(db)}/approve", csrf_page="/c/club/requests")
    assert response.status_code == 303
    (membership,) = _fresh(db, Membership, user_id=_user(db, "newbie").id)
    assert membership.state == "active"


def test_an_ambassador_creates_invites_to_a_closed_circle_with_member_invites_off(
        client: TestClient, db: Session) -> None:
    _powers_world(db, "closed")
    login(client, "alice")
    response = _invite(client)
    assert response.status_code == 303, response.text
    (invite,) = _fresh(db, Invite, created_by_id=_user(db, "alice").id)
    assert invite.circle_id is not None


def test_an_ambassador_has_no_request_page_in_an_open_circle(client: TestClient, db: Session) -> None:
    _powers_world(db, "open")
    login(client, "alice")
    assert client.get("/c/club/requests").status_code == 403
    assert post_form(client, f"/c/club/requests/{_request_id(db)}/approve").status_code == 403


def test_an_ambassador_cannot_invite_to_an_open_circle_with_member_invites_off(
        client: TestClient, db: Session) -> None:
    _powers_world(db, "open")
    login(client, "alice")
    assert _invite(client).status_code == 403
    assert _fresh(db, Invite) == []


def test_an_ambassador_has_no_power_in_a_secret_circle(client: TestClient, db: Session) -> None:
    _powers_world(db, "secret")
    login(client, "alice")
    assert client.get("/c/club/requests").status_code == 403
    assert post_form(client, f"/c/club/requests/{_request_id(db)}/approve").status_code == 403
    assert _invite(client).status_code == 403
    assert _fresh(db, Invite) == []


def test_after_revocation_the_ambassadors_powers_are_gone(client: TestClient, db: Session) -> None:
    _circle, alice, admin = _powers_world(db, "closed")
    ambassadors.revoke(db, member=alice, by=admin, reason="Stepped back")
    login(client, "alice")
    assert client.get("/c/club/requests").status_code == 403
    assert post_form(client, f"/c/club/requests/{_request_id(db)}/approve").status_code == 403
    assert _invite(client).status_code == 403
    assert _fresh(db, Invite) == []


def test_a_plain_member_of_a_closed_circle_cannot_approve_requests(client: TestClient, db: Session) -> None:
    circle, _alice, _admin = _powers_world(db, "closed")
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    login(client, "bob")
    assert client.get("/c/club/requests").status_code == 403


# Pulse ------------------------------------------------------------------------------------------

QUESTION = "How likely are you to recommend"


def _pulse_member(db: Session, username: str = "alice", age_days: int = 30) -> User:
    user = make_user(db, username)
    _age(db, user, age_days)
    return user


def test_the_home_page_asks_a_member_of_14_days_the_pulse_question(client: TestClient, db: Session) -> None:
    _pulse_member(db, age_days=14)
    login(client, "alice")
    assert QUESTION in client.get("/").text


def test_the_home_page_does_not_ask_a_member_of_13_days(client: TestClient, db: Session) -> None:
    _pulse_member(db, age_days=13)
    login(client, "alice")
    assert QUESTION not in client.get("/").text


def test_the_home_page_does_not_ask_staff(client: TestClient, make_client: Any, db: Session) -> None:
    host = _pulse_member(db, "hostess")
    add_member(db, make_circle(db, "espresso"), host, host=True)
    admin = make_admin(db)
    _age(db, admin, 30)
    login(client, "hostess")
    assert QUESTION not in client.get("/").text
    assert QUESTION not in _signed_in(make_client, "admin").get("/").text


def test_answering_the_pulse_stops_the_question_for_90_days(client: TestClient, db: Session) -> None:
    _pulse_member(db)
    login(client, "alice")
    response = post_form(client, "/pulse", {"score": "9", "comment": "Lovely people"})
    assert "Thank you" in _flash(client, response)
    assert QUESTION not in client.get("/").text
    (answer,) = _fresh(db, Pulse)
    assert (answer.score, answer.comment) == (9, "Lovely people")


def test_dismissing_the_pulse_stops_the_question(client: TestClient, db: Session) -> None:
    _pulse_member(db)
    login(client, "alice")
    assert post_form(client, "/pulse/dismiss").status_code == 303
    assert QUESTION not in client.get("/").text
    assert _user(db, "alice").pulse_dismissed_at is not None


def test_an_htmx_answer_gets_the_thanks_fragment(client: TestClient, db: Session) -> None:
    _pulse_member(db)
    login(client, "alice")
    response = post_form(client, "/pulse", {"score": "10"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="pulse"')
    assert "Thank you!" in response.text


def test_an_htmx_answer_outside_0_to_10_is_refused_with_422(client: TestClient, db: Session) -> None:
    _pulse_member(db)
    login(client, "alice")
    for score in ("11", "-1", "abc"):
        response = post_form(client, "/pulse", {"score": score}, headers={"HX-Request": "true"})
        assert response.status_code == 422
        assert "Choose a score from 0 to 10." in response.text
    assert _fresh(db, Pulse) == []


def test_a_form_answer_outside_0_to_10_records_nothing(client: TestClient, db: Session) -> None:
    _pulse_member(db)
    login(client, "alice")
    response = post_form(client, "/pulse", {"score": "42"})
    assert "Choose a score from 0 to 10." in _flash(client, response)
    assert _fresh(db, Pulse) == []


def test_the_admin_pulse_page_lists_answers_and_the_trend(client: TestClient, db: Session) -> None:
    make_admin(db)
    for index, score in enumerate([10, 9, 8, 6]):
        member = _pulse_member(db, f"member{index}")
        db.add(Pulse(user_id=member.id, score=score, comment=f"Comment {index}", created_at=utcnow()))  # type: ignore[arg-type]
    db.commit()
    login(client, "admin")
    page = client.get("/admin/pulse")
    assert page.status_code == 200
    for index in range(4):
        assert f"Comment {index}" in page.text
    assert "<strong>25.0</strong>" in page.text


def test_members_and_hosts_cannot_see_the_pulse_answers(client: TestClient, make_client: Any, db: Session) -> None:
    _world(db)
    login(client, "alice")
    assert client.get("/admin/pulse").status_code == 403
    assert _signed_in(make_client, "hostess").get("/admin/pulse").status_code == 403

