"""Invite links: who may make them, how long they last, what accepting one records."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app import permissions
from app.errors import Forbidden, Invalid, NotFound
from app.models import Circle, Invite, Membership, Notification, User, utcnow
from app.services import invites, memberships, site
from tests.factories import PASSWORD, add_member, make_admin, make_circle, make_invite, make_user


def _notifications(db: Session, user: User, kind: str) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)).all())


def _membership(db: Session, circle: Circle, user: User) -> Membership | None:
    db.expire_all()
    return permissions.membership_of(db, user, circle)


def _register(db: Session, username: str, code: str | None, *, open_registration: bool = True) -> User:
    return invites.register_with_invite(
        db, username=username, email=f"{username}@example.com", password=PASSWORD, display_name="",
        invite_code=code, open_registration=open_registration, language=None, ip="",
    )


def test_a_member_may_create_an_invite_to_their_circle(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    invite = make_invite(db, alice, circle)
    assert invite.circle_id == circle.id
    assert invite.created_by_id == alice.id
    assert len(invite.code) >= 20
    assert invites.find_usable(db, invite.code) is not None


def test_invite_codes_are_unguessable_and_unique(db):
    circle = make_circle(db, "roasters")
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    codes = {make_invite(db, alice, circle).code for _ in range(5)}
    assert len(codes) == 5


def test_a_member_may_not_invite_when_the_host_turned_member_invites_off(db):
    circle = make_circle(db, "roasters", visibility="closed", member_invites=False)
    alice = make_user(db, "alice")
    add_member(db, circle, alice)
    with pytest.raises(Forbidden):
        make_invite(db, alice, circle)


def test_a_host_may_invite_even_when_member_invites_are_off(db):
    circle = make_circle(db, "roasters", visibility="closed", member_invites=False)
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    assert make_invite(db, host, circle).circle_id == circle.id


def test_an_outsider_cannot_invite_to_a_closed_circle_and_learns_nothing(db):
    circle = make_circle(db, "roasters", visibility="closed")
    outsider = make_user(db, "outsider")
    with pytest.raises(NotFound):
        make_invite(db, outsider, circle)


def test_only_hosts_may_invite_to_a_secret_circle(db):
    circle = make_circle(db, "inner", visibility="secret")
    member, host = make_user(db, "member"), make_user(db, "host")
    add_member(db, circle, member)
    add_member(db, circle, host, host=True)
    with pytest.raises(Forbidden):
        make_invite(db, member, circle)
    assert make_invite(db, host, circle).circle_id == circle.id


def test_an_admin_may_invite_to_a_secret_circle(db):
    admin = make_admin(db)
    circle = make_circle(db, "inner", visibility="secret", by=admin)
    assert make_invite(db, admin, circle).circle_id == circle.id


def test_an_expired_invite_is_not_usable(db):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle, expires_in_days=1)
    assert invite.expires_at is not None and invite.expires_at > utcnow() + timedelta(hours=23)
    invite.expires_at = utcnow() - timedelta(seconds=1)
    db.add(invite)
    db.commit()
    assert invites.find_usable(db, invite.code) is None


def test_an_invite_without_expiry_stays_usable(db):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle, expires_in_days=None)
    assert invite.expires_at is None
    assert invites.find_usable(db, invite.code) is not None


def test_an_invite_is_used_up_after_max_uses(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice, bob = make_user(db, "host"), make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle, max_uses=1)
    invites.accept_invite(db, invite=invite, user=alice)
    db.expire_all()
    assert db.get(Invite, invite.id).uses == 1  # type: ignore[union-attr]
    assert invites.find_usable(db, invite.code) is None
    assert _membership(db, circle, bob) is None


def test_the_last_use_of_an_invite_cannot_be_taken_twice(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice, bob = make_user(db, "host"), make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    make_invite(db, host, circle, max_uses=1)
    code = db.exec(select(Invite.code)).one()
    # Both open the link while it still has one use left…
    seen_by_alice = invites.find_usable(db, code)
    seen_by_bob = invites.find_usable(db, code)
    assert seen_by_alice is not None and seen_by_bob is not None
    # …only the first to accept gets in.
    invites.accept_invite(db, invite=seen_by_alice, user=alice)
    with pytest.raises(Invalid):
        invites.accept_invite(db, invite=seen_by_bob, user=bob)
    db.rollback()
    assert _membership(db, circle, bob) is None
    assert db.exec(select(Invite.uses)).one() == 1


def test_a_revoked_invite_is_not_usable(db):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    invites.revoke_invite(db, invite_id=invite.id, by=host)
    assert invites.find_usable(db, invite.code) is None


def test_someone_else_cannot_revoke_an_invite(db):
    circle = make_circle(db, "roasters")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    invite = make_invite(db, alice, circle)
    with pytest.raises(NotFound):
        invites.revoke_invite(db, invite_id=invite.id, by=bob)
    assert invites.find_usable(db, invite.code) is not None


def test_a_host_may_revoke_a_members_invite_to_their_circle(db):
    circle = make_circle(db, "roasters")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    invite = make_invite(db, alice, circle)
    invites.revoke_invite(db, invite_id=invite.id, by=host)
    assert invites.find_usable(db, invite.code) is None


def test_an_invite_to_an_archived_circle_is_not_usable(db):
    admin = make_admin(db)
    circle = make_circle(db, "roasters", by=admin)
    invite = make_invite(db, admin, circle)
    from app.services import circles

    circles.set_archived(db, circle=circle, by=admin, archived=True)
    assert invites.find_usable(db, invite.code) is None


def test_unknown_or_absurd_codes_are_not_usable(db):
    assert invites.find_usable(db, "nope") is None
    assert invites.find_usable(db, "") is None
    assert invites.find_usable(db, "x" * 500) is None


def test_accepting_an_invite_records_the_invite_and_the_inviter_on_the_membership(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    invite = make_invite(db, alice, circle)
    invites.accept_invite(db, invite=invite, user=bob)
    membership = _membership(db, circle, bob)
    assert membership is not None
    assert membership.state == "active"
    assert membership.invite_id == invite.id
    assert membership.invited_by_id == alice.id
    assert db.get(Circle, circle.id).member_count == 2  # type: ignore[union-attr]


def test_the_inviter_is_told_when_their_invite_is_accepted(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    invite = make_invite(db, alice, circle)
    invites.accept_invite(db, invite=invite, user=bob)
    (note,) = _notifications(db, alice, "invite_accepted")
    assert note.actor_id == bob.id
    assert note.circle_id == circle.id


def test_accepting_an_invite_as_a_member_uses_nothing(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    invite = make_invite(db, alice, circle, max_uses=1)
    invites.accept_invite(db, invite=invite, user=bob)
    assert invites.find_usable(db, invite.code) is not None
    assert _notifications(db, alice, "invite_accepted") == []


def test_an_invite_brings_a_person_into_a_secret_circle(db):
    circle = make_circle(db, "inner", visibility="secret")
    host, bob = make_user(db, "host"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    invites.accept_invite(db, invite=make_invite(db, host, circle), user=bob)
    assert permissions.circle_access(db, bob, circle).can_read


def test_an_invite_lets_a_removed_member_back_in(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, bob = make_user(db, "host"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    add_member(db, circle, bob)
    memberships.remove_member(db, circle=circle, user_id=bob.id, by=host)
    invites.accept_invite(db, invite=make_invite(db, host, circle), user=bob)
    assert _membership(db, circle, bob).state == "active"  # type: ignore[union-attr]


def test_registering_with_a_circle_invite_sets_invited_by_and_joins_the_circle(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    newcomer = _register(db, "newcomer", invite.code)
    assert newcomer.invited_by_id == host.id
    assert newcomer.invite_id == invite.id
    membership = _membership(db, circle, newcomer)
    assert membership is not None and membership.state == "active"
    assert membership.invite_id == invite.id
    assert invites.landing_url(db, user=newcomer) == "/c/roasters"
    assert len(_notifications(db, host, "invite_accepted")) == 1


def test_registering_with_a_used_up_invite_is_refused(db):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle, max_uses=1)
    _register(db, "first", invite.code)
    with pytest.raises(Invalid):
        _register(db, "second", invite.code)


def test_a_site_invite_lets_someone_register_on_an_invite_only_site(db):
    admin = make_admin(db)
    site.update(db, registration="invite")
    invite = make_invite(db, admin, None, max_uses=1)
    assert invite.circle_id is None
    newcomer = _register(db, "newcomer", invite.code, open_registration=False)
    assert newcomer.invited_by_id == admin.id
    assert invites.landing_url(db, user=newcomer) == "/"
    assert db.exec(select(Invite.uses)).one() == 1
    assert len(_notifications(db, admin, "invite_accepted")) == 1


def test_registration_without_invite_is_refused_on_an_invite_only_site(db):
    with pytest.raises(Forbidden):
        _register(db, "newcomer", None, open_registration=False)


def test_site_invites_are_for_admins_and_hosts_only(db):
    circle = make_circle(db, "roasters")
    member, host = make_user(db, "member"), make_user(db, "host")
    add_member(db, circle, member)
    add_member(db, circle, host, host=True)
    with pytest.raises(Forbidden):
        make_invite(db, member, None)
    assert make_invite(db, host, None).circle_id is None
    assert make_invite(db, make_admin(db), None).circle_id is None


@pytest.mark.parametrize("options", [{"expires_in_days": 0}, {"expires_in_days": 366}, {"max_uses": 0},
                                     {"max_uses": 10_001}, {"note": "x" * 1001}])
def test_invite_options_out_of_range_are_refused(db, options):
    circle = make_circle(db, "roasters")
    host = make_user(db, "host")
    add_member(db, circle, host, host=True)
    with pytest.raises(Invalid):
        make_invite(db, host, circle, **options)


def test_a_member_lists_only_their_own_invites_while_a_host_lists_all(db):
    circle = make_circle(db, "roasters")
    host, alice, bob = make_user(db, "host"), make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    add_member(db, circle, bob)
    mine = make_invite(db, alice, circle)
    make_invite(db, bob, circle)
    assert [i.id for i in invites.list_invites(db, by=alice, circle=circle)] == [mine.id]
    assert len(invites.list_invites(db, by=host, circle=circle)) == 2
