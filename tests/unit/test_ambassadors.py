"""The ambassador program: grants and revocations with their history, the role's powers, candidates."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from app.errors import Forbidden, Invalid, NotFound
from app.models import (
    AmbassadorGrant,
    Circle,
    Membership,
    ModerationAction,
    Notification,
    Post,
    Reaction,
    Thread,
    User,
    Visit,
    utcnow,
)
from app.services import ambassadors, invites, memberships, recognition_candidates
from app.services.recognition_candidates import candidates_for
from tests.factories import add_member, make_admin, make_circle, make_user

# Grants and revocations ----------------------------------------------------------------------------


def _setup(db: Session) -> tuple[User, User, User, Circle]:
    """An admin, a host of "espresso" and Alice, a member of it."""
    admin, host, alice = make_admin(db), make_user(db, "hostess"), make_user(db, "alice")
    circle = make_circle(db, "espresso", by=admin)
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    return admin, host, alice, circle


def _actions(db: Session, action: str) -> list[ModerationAction]:
    rows = list(db.exec(select(ModerationAction).where(ModerationAction.action == action)).all())
    db.commit()
    return rows


def test_an_admin_grants_the_ambassador_role_with_a_reason(db: Session) -> None:
    admin, _host, alice, _circle = _setup(db)
    grant = ambassadors.grant(db, member=alice, by=admin, reason="Answers every newcomer.")
    assert (grant.user_id, grant.granted_by_id, grant.reason, grant.revoked_at) == (
        alice.id, admin.id, "Answers every newcomer.", None)
    assert alice.is_ambassador


def test_a_grant_notifies_the_member_and_is_audited(db: Session) -> None:
    admin, _host, alice, _circle = _setup(db)
    ambassadors.grant(db, member=alice, by=admin, reason="Answers every newcomer.")
    kinds = db.exec(select(Notification.kind).where(Notification.user_id == alice.id)).all()
    assert "ambassador_granted" in kinds
    (audit,) = _actions(db, "ambassador_granted")
    assert (audit.actor_id, audit.target_user_id, audit.reason) == (admin.id, alice.id, "Answers every newcomer.")


def test_a_host_grants_the_role_to_a_member_of_their_circle(db: Session) -> None:
    _admin, host, alice, _circle = _setup(db)
    ambassadors.grant(db, member=alice, by=host, reason="Our best barista.")
    assert alice.is_ambassador


def test_a_host_cannot_grant_the_role_to_someone_outside_their_circles(db: Session) -> None:
    admin, host, _alice, _circle = _setup(db)
    outsider = make_user(db, "outsider")
    add_member(db, make_circle(db, "tea", by=admin), outsider)
    with pytest.raises(Forbidden):
        ambassadors.grant(db, member=outsider, by=host, reason="Nice.")
    assert not outsider.is_ambassador


def test_a_member_cannot_grant_the_role(db: Session) -> None:
    _admin, _host, alice, circle = _setup(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    with pytest.raises(Forbidden):
        ambassadors.grant(db, member=bob, by=alice, reason="My friend.")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_a_grant_needs_a_reason_of_1_to_1000_characters(db: Session, reason: str) -> None:
    admin, _host, alice, _circle = _setup(db)
    with pytest.raises(Invalid):
        ambassadors.grant(db, member=alice, by=admin, reason=reason)
    assert not alice.is_ambassador


def test_a_current_ambassador_cannot_be_granted_again(db: Session) -> None:
    admin, _host, alice, _circle = _setup(db)
    ambassadors.grant(db, member=alice, by=admin, reason="Once.")
    with pytest.raises(Invalid):
        ambassadors.grant(db, member=alice, by=admin, reason="Twice.")


def test_revoking_keeps_the_grant_with_its_revocation(db: Session) -> None:
    admin, _host, alice, _circle = _setup(db)
    grant = ambassadors.grant(db, member=alice, by=admin, reason="Helpful.")
    ambassadors.revoke(db, member=alice, by=admin, reason="Stepped back.")
    row = db.get(AmbassadorGrant, grant.id)
    assert row is not None
    assert (row.reason, row.revoke_reason, row.revoked_by_id) == ("Helpful.", "Stepped back.", admin.id)
    assert row.revoked_at is not None
    assert not alice.is_ambassador


def test_a_revocation_is_audited(db: Session) -> None:
    admin, _host, alice, _circle = _setup(db)
    ambassadors.grant(db, member=alice, by=admin, reason="Helpful.")
    ambassadors.revoke(db, member=alice, by=admin, reason="Stepped back.")
    (audit,) = _actions(db, "ambassador_revoked")
    assert (audit.actor_id, audit.target_user_id, audit.reason) == (admin.id, alice.id, "Stepped back.")


def test_a_host_revokes_the_role_of_a_member_of_their_circle(db: Session) -> None:
    admin, host, alice, _circle = _setup(db)
    ambassadors.grant(db, member=alice, by=admin, reason="Helpful.")
    ambassadors.revoke(db, member=alice, by=host, reason="Left the brand's programme.")
    assert not alice.is_ambassador


def test_a_member_cannot_revoke_the_role(db: Session) -> None:
    admin, _host, alice, circle = _setup(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    ambassadors.grant(db, member=bob, by=admin, reason="Helpful.")
    with pytest.raises(Forbidden):
        ambassadors.revoke(db, member=bob, by=alice, reason="Jealous.")
    assert bob.is_ambassador


def test_revoking_someone_who_is_not_an_ambassador_is_not_found(db: Session) -> None:
    admin, _host, alice, _circle = _setup(db)
    with pytest.raises(NotFound):
        ambassadors.revoke(db, member=alice, by=admin, reason="Why?")


def test_the_history_keeps_every_grant_and_revocation_newest_first(db: Session) -> None:
    admin, host, alice, _circle = _setup(db)
    ambassadors.grant(db, member=alice, by=admin, reason="First time.")
    ambassadors.revoke(db, member=alice, by=admin, reason="Took a break.")
    ambassadors.grant(db, member=alice, by=host, reason="Welcome back.")
    rows = ambassadors.history(db)
    assert [(g.reason, g.revoke_reason, granter.username, revoker.username if revoker else None)
            for g, _member, granter, revoker in rows] == [
        ("Welcome back.", "", "hostess", None),
        ("First time.", "Took a break.", "admin", "admin"),
    ]
    assert alice.is_ambassador


def test_current_lists_only_the_ambassadors_holding_the_role(db: Session) -> None:
    admin, _host, alice, circle = _setup(db)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    ambassadors.grant(db, member=alice, by=admin, reason="Yes.")
    ambassadors.grant(db, member=bob, by=admin, reason="Yes.")
    ambassadors.revoke(db, member=bob, by=admin, reason="No more.")
    assert [row.user.username for row in ambassadors.current(db)] == ["alice"]


# Powers -------------------------------------------------------------------------------------------


def _pending(db: Session, circle: Circle, username: str) -> Membership:
    """A request to join `circle` (written directly: secret circles take none through the service)."""
    newcomer = make_user(db, username)
    membership = Membership(user_id=newcomer.id, circle_id=circle.id, state="pending", requested_at=utcnow())  # type: ignore[arg-type]
    db.add(membership)
    db.commit()
    return membership


def _ambassador_in(db: Session, visibility: str, *, member_invites: bool = False) -> tuple[User, Circle, User]:
    admin = make_admin(db)
    circle = make_circle(db, "club", visibility=visibility, by=admin, member_invites=member_invites)
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    ambassadors.grant(db, member=alice, by=admin, reason="Welcomes everyone.")
    return alice, circle, admin


def test_an_ambassador_approves_join_requests_in_a_closed_circle_they_belong_to(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "closed")
    memberships.request_to_join(db, circle=circle, user=make_user(db, "newbie"))
    (request, _user), = memberships.pending_requests(db, circle=circle)
    approved = memberships.approve_request(db, circle=circle, membership_id=request.id, by=alice)  # type: ignore[arg-type]
    assert approved.state == "active"


def test_an_ambassador_declines_join_requests_in_a_closed_circle_they_belong_to(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "closed")
    memberships.request_to_join(db, circle=circle, user=make_user(db, "newbie"))
    (request, _user), = memberships.pending_requests(db, circle=circle)
    declined = memberships.decline_request(db, circle=circle, membership_id=request.id, by=alice)  # type: ignore[arg-type]
    assert declined.state == "declined"


def test_a_plain_member_cannot_approve_join_requests_in_a_closed_circle(db: Session) -> None:
    _alice, circle, _admin = _ambassador_in(db, "closed")
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    request = _pending(db, circle, "newbie")
    with pytest.raises(Forbidden):
        memberships.approve_request(db, circle=circle, membership_id=request.id, by=bob)  # type: ignore[arg-type]


def test_an_ambassador_invites_to_a_closed_circle_even_with_member_invites_off(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "closed", member_invites=False)
    invite = invites.create_invite(db, by=alice, circle=circle)
    assert invite.circle_id == circle.id


def test_a_plain_member_cannot_invite_to_a_closed_circle_with_member_invites_off(db: Session) -> None:
    _alice, circle, _admin = _ambassador_in(db, "closed", member_invites=False)
    bob = make_user(db, "bob")
    add_member(db, circle, bob)
    with pytest.raises(Forbidden):
        invites.create_invite(db, by=bob, circle=circle)


def test_an_ambassador_cannot_approve_requests_in_a_secret_circle(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "secret")
    request = _pending(db, circle, "newbie")
    with pytest.raises(Forbidden):
        memberships.approve_request(db, circle=circle, membership_id=request.id, by=alice)  # type: ignore[arg-type]


def test_an_ambassador_cannot_approve_requests_in_an_open_circle(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "open")
    request = _pending(db, circle, "newbie")
    with pytest.raises(Forbidden):
        memberships.approve_request(db, circle=circle, membership_id=request.id, by=alice)  # type: ignore[arg-type]


def test_an_ambassador_cannot_invite_to_a_secret_circle(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "secret", member_invites=True)
    with pytest.raises(Forbidden):
        invites.create_invite(db, by=alice, circle=circle)


def test_an_ambassador_cannot_invite_to_an_open_circle_with_member_invites_off(db: Session) -> None:
    alice, circle, _admin = _ambassador_in(db, "open", member_invites=False)
    with pytest.raises(Forbidden):
        invites.create_invite(db, by=alice, circle=circle)


def test_an_ambassador_has_no_power_in_a_closed_circle_they_do_not_belong_to(db: Session) -> None:
    alice, _club, admin = _ambassador_in(db, "closed")
    other = make_circle(db, "other", visibility="closed", by=admin, member_invites=False)
    request = _pending(db, other, "newbie")
    with pytest.raises(NotFound):
        memberships.approve_request(db, circle=other, membership_id=request.id, by=alice)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        invites.create_invite(db, by=alice, circle=other)


def test_after_revocation_the_ambassador_can_no_longer_approve_requests(db: Session) -> None:
    alice, circle, admin = _ambassador_in(db, "closed")
    ambassadors.revoke(db, member=alice, by=admin, reason="Stepped back.")
    request = _pending(db, circle, "newbie")
    with pytest.raises(Forbidden):
        memberships.approve_request(db, circle=circle, membership_id=request.id, by=alice)  # type: ignore[arg-type]


def test_after_revocation_the_ambassador_can_no_longer_invite(db: Session) -> None:
    alice, circle, admin = _ambassador_in(db, "closed", member_invites=False)
    ambassadors.revoke(db, member=alice, by=admin, reason="Stepped back.")
    with pytest.raises(Forbidden):
        invites.create_invite(db, by=alice, circle=circle)


# Candidates (KPIS.md "ambassador_candidates") ----------------------------------------------------------


def _thread(db: Session, circle: Circle, author: User) -> Thread:
    now = utcnow()
    thread = Thread(circle_id=circle.id, author_id=author.id, title="Talk", created_at=now, last_post_at=now)  # type: ignore[arg-type]
    db.add(thread)
    db.commit()
    return thread


def _active(db: Session, circle: Circle, username: str, *, reactor: User, days: int = 8, posts: int = 10,
            reactions: int = 5, self_reactions: int = 0, ago: int = 0, host: bool = False) -> User:
    """A member of `circle` with `days` active days (visits, and posts on day `ago`), `posts` posts
    written `ago` days ago, and `reactions` reactions received from `reactor` then."""
    user = make_user(db, username)
    add_member(db, circle, user, host=host)
    add_member(db, circle, reactor)
    when = utcnow() - timedelta(days=ago)
    thread = _thread(db, circle, reactor)
    written = []
    for number in range(posts):
        post = Post(thread_id=thread.id, number=number + 1, author_id=user.id, body_md="Hi",  # type: ignore[arg-type]
                    body_html="<p>Hi</p>", opening=False, created_at=when)
        db.add(post)
        written.append(post)
    db.flush()
    for post in written[:reactions]:
        db.add(Reaction(post_id=post.id, user_id=reactor.id, kind="helpful", created_at=when))  # type: ignore[arg-type]
    for post in written[:self_reactions]:
        db.add(Reaction(post_id=post.id, user_id=user.id, kind="like", created_at=when))  # type: ignore[arg-type]
    # The posting day is one active day; visits to the circle make the others.
    for offset in range(1, days):
        day = (when - timedelta(days=offset)).date()
        db.add(Visit(user_id=user.id, day=day, circle_id=circle.id, scope=circle.id))  # type: ignore[arg-type]
    db.commit()
    return user


def _names(db: Session, viewer: User) -> list[str]:
    names = [c.user.username for c in candidates_for(db, viewer=viewer)]
    db.commit()
    return names


@pytest.fixture
def crafted(db: Session) -> dict[str, object]:
    """Two circles and members just above and just below each threshold."""
    admin = make_admin(db)
    espresso = make_circle(db, "espresso", by=admin)
    tea = make_circle(db, "tea", by=admin)
    fan = make_user(db, "fan")
    _active(db, espresso, "star", reactor=fan)
    _active(db, espresso, "seven_days", reactor=fan, days=7)
    _active(db, espresso, "nine_posts", reactor=fan, posts=9)
    _active(db, espresso, "four_reactions", reactor=fan, reactions=4, self_reactions=3)
    _active(db, espresso, "long_ago", reactor=fan, ago=91)
    _active(db, espresso, "the_host", reactor=fan, host=True)
    amb = _active(db, espresso, "already", reactor=fan)
    ambassadors.grant(db, member=amb, by=admin, reason="Already one.")
    _active(db, tea, "tea_star", reactor=fan, posts=12)
    host = make_user(db, "espresso_host")
    add_member(db, espresso, host, host=True)
    return {"admin": admin, "espresso_host": host, "espresso": espresso, "tea": tea}


def test_candidates_for_an_admin_follow_the_kpi_rule(db: Session, crafted: dict[str, object]) -> None:
    assert _names(db, crafted["admin"]) == ["tea_star", "star"]  # type: ignore[arg-type]


def test_candidates_carry_their_three_figures(db: Session, crafted: dict[str, object]) -> None:
    figures = {c.user.username: (c.active_days, c.posts, c.reactions)
               for c in candidates_for(db, viewer=crafted["admin"])}  # type: ignore[arg-type]
    assert figures == {"star": (8, 10, 5), "tea_star": (8, 12, 5)}


def test_a_host_sees_only_the_candidates_of_the_circles_they_host(db: Session, crafted: dict[str, object]) -> None:
    assert _names(db, crafted["espresso_host"]) == ["star"]  # type: ignore[arg-type]


def test_a_revoked_ambassador_can_be_a_candidate_again(db: Session, crafted: dict[str, object]) -> None:
    admin = crafted["admin"]
    already = db.exec(select(User).where(User.username == "already")).one()
    ambassadors.revoke(db, member=already, by=admin, reason="Paused.")  # type: ignore[arg-type]
    assert "already" in _names(db, admin)  # type: ignore[arg-type]


def test_hidden_posts_do_not_make_a_candidate(db: Session, crafted: dict[str, object]) -> None:
    star = db.exec(select(User).where(User.username == "star")).one()
    post = db.exec(select(Post).where(Post.author_id == star.id).order_by(col(Post.id).desc())).first()
    assert post is not None
    post.hidden = True
    db.add(post)
    db.commit()
    assert "star" not in _names(db, crafted["admin"])  # type: ignore[arg-type]


def test_a_member_who_is_no_longer_in_the_circle_is_not_the_hosts_candidate(
        db: Session, crafted: dict[str, object]) -> None:
    espresso = crafted["espresso"]
    star = db.exec(select(User).where(User.username == "star")).one()
    memberships.leave(db, circle=espresso, user=star)  # type: ignore[arg-type]
    assert _names(db, crafted["espresso_host"]) == []  # type: ignore[arg-type]


def test_only_the_most_active_candidates_are_listed(
    db: Session, crafted: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recognition_candidates, "LISTED", 1)

    assert _names(db, crafted["admin"]) == ["tea_star"]  # type: ignore[arg-type]
