"""Joining, asking, approving, declining, leaving and removing: memberships with their history."""

import pytest
from sqlmodel import Session, select

from app import permissions
from app.errors import Conflict, Forbidden, NotFound
from app.models import Circle, Membership, Notification, User
from app.services import memberships
from tests.factories import add_member, make_circle, make_invite, make_user


def _membership(db: Session, circle: Circle, user: User) -> Membership:
    db.expire_all()
    found = permissions.membership_of(db, user, circle)
    assert found is not None
    return found


def _notifications(db: Session, user: User, kind: str | None = None) -> list[Notification]:
    statement = select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        statement = statement.where(Notification.kind == kind)
    return list(db.exec(statement).all())


def _member_count(db: Session, circle: Circle) -> int:
    db.expire_all()
    fresh = db.get(Circle, circle.id)
    assert fresh is not None
    return fresh.member_count


def test_joining_an_open_circle_makes_an_active_member_at_once(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    membership = memberships.join(db, circle=circle, user=alice)
    assert membership.state == "active"
    assert membership.role == "member"
    assert membership.joined_at is not None
    assert _member_count(db, circle) == 1


def test_joining_twice_keeps_one_membership(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    memberships.join(db, circle=circle, user=alice)
    memberships.join(db, circle=circle, user=alice)
    rows = db.exec(select(Membership).where(Membership.circle_id == circle.id)).all()
    assert len(rows) == 1
    assert _member_count(db, circle) == 1


def test_a_closed_circle_cannot_be_joined_in_one_click(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    with pytest.raises(Forbidden):
        memberships.join(db, circle=circle, user=alice)
    assert permissions.membership_of(db, alice, circle) is None


def test_asking_to_join_a_closed_circle_leaves_a_pending_request_with_its_message(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    membership = memberships.request_to_join(db, circle=circle, user=alice, message="  I roast at home.  ")
    assert membership.state == "pending"
    assert membership.request_message == "I roast at home."
    assert membership.joined_at is None
    assert _member_count(db, circle) == 0
    assert not permissions.circle_access(db, alice, circle).can_read


def test_a_join_request_notifies_every_host_of_the_circle(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host1, host2, member = make_user(db, "host1"), make_user(db, "host2"), make_user(db, "member")
    add_member(db, circle, host1, host=True)
    add_member(db, circle, host2, host=True)
    add_member(db, circle, member)
    alice = make_user(db, "alice")
    memberships.request_to_join(db, circle=circle, user=alice, message="Hello")
    for host in (host1, host2):
        (note,) = _notifications(db, host, "join_request")
        assert note.actor_id == alice.id
        assert note.circle_id == circle.id
    assert _notifications(db, member, "join_request") == []


def test_a_host_approves_a_request_and_the_requester_becomes_an_active_member(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    pending = memberships.request_to_join(db, circle=circle, user=alice)
    approved = memberships.approve_request(db, circle=circle, membership_id=pending.id, by=host)
    assert approved.state == "active"
    assert approved.joined_at is not None
    assert approved.decided_by_id == host.id
    assert _member_count(db, circle) == 2
    assert permissions.circle_access(db, alice, circle).can_read


def test_an_approved_requester_is_notified_with_the_circle(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    pending = memberships.request_to_join(db, circle=circle, user=alice)
    memberships.approve_request(db, circle=circle, membership_id=pending.id, by=host)
    (note,) = _notifications(db, alice, "request_approved")
    assert note.circle_id == circle.id
    assert note.actor_id == host.id


def test_a_declined_requester_is_notified_without_the_circle_id(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    pending = memberships.request_to_join(db, circle=circle, user=alice)
    declined = memberships.decline_request(db, circle=circle, membership_id=pending.id, by=host)
    assert declined.state == "declined"
    (note,) = _notifications(db, alice, "request_declined")
    assert note.circle_id is None
    assert note.thread_id is None
    assert not permissions.circle_access(db, alice, circle).can_read


def test_a_request_cannot_be_decided_twice(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    pending = memberships.request_to_join(db, circle=circle, user=alice)
    memberships.approve_request(db, circle=circle, membership_id=pending.id, by=host)
    with pytest.raises(Conflict):
        memberships.decline_request(db, circle=circle, membership_id=pending.id, by=host)


def test_a_plain_member_cannot_approve_requests(db):
    circle = make_circle(db, "roasters", visibility="closed")
    member, alice = make_user(db, "member"), make_user(db, "alice")
    add_member(db, circle, member)
    pending = memberships.request_to_join(db, circle=circle, user=alice)
    with pytest.raises(Forbidden):
        memberships.approve_request(db, circle=circle, membership_id=pending.id, by=member)
    assert _membership(db, circle, alice).state == "pending"


def test_an_outsider_learns_nothing_when_approving_requests_of_a_closed_circle(db):
    circle = make_circle(db, "roasters", visibility="closed")
    outsider, alice = make_user(db, "outsider"), make_user(db, "alice")
    pending = memberships.request_to_join(db, circle=circle, user=alice)
    with pytest.raises(NotFound):
        memberships.approve_request(db, circle=circle, membership_id=pending.id, by=outsider)


def test_a_request_of_another_circle_cannot_be_approved_through_this_one(db):
    mine = make_circle(db, "mine", visibility="closed")
    other = make_circle(db, "other", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, mine, host, host=True)
    pending = memberships.request_to_join(db, circle=other, user=alice)
    with pytest.raises(NotFound):
        memberships.approve_request(db, circle=mine, membership_id=pending.id, by=host)


def test_leaving_sets_left_at_and_the_state_left(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    memberships.join(db, circle=circle, user=alice)
    memberships.leave(db, circle=circle, user=alice)
    membership = _membership(db, circle, alice)
    assert membership.state == "left"
    assert membership.left_at is not None
    assert membership.joined_at is not None
    assert _member_count(db, circle) == 0


def test_rejoining_resets_joined_at_and_clears_left_at(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    first = memberships.join(db, circle=circle, user=alice)
    first_joined = first.joined_at
    memberships.leave(db, circle=circle, user=alice)
    again = memberships.join(db, circle=circle, user=alice)
    assert again.id == first.id
    assert again.state == "active"
    assert again.left_at is None
    assert again.joined_at is not None and first_joined is not None
    assert again.joined_at > first_joined
    assert _member_count(db, circle) == 1


def test_leaving_a_circle_one_is_not_in_is_not_found(db):
    circle = make_circle(db, "espresso")
    alice = make_user(db, "alice")
    with pytest.raises(NotFound):
        memberships.leave(db, circle=circle, user=alice)


def test_a_host_removes_a_member_who_then_cannot_rejoin(db):
    circle = make_circle(db, "espresso")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    memberships.join(db, circle=circle, user=alice)
    memberships.remove_member(db, circle=circle, user_id=alice.id, by=host)
    membership = _membership(db, circle, alice)
    assert membership.state == "removed"
    assert membership.left_at is not None
    assert membership.decided_by_id == host.id
    assert _member_count(db, circle) == 1
    with pytest.raises(Forbidden):
        memberships.join(db, circle=circle, user=alice)


def test_a_removed_person_cannot_ask_to_join_a_closed_circle_again(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    memberships.remove_member(db, circle=circle, user_id=alice.id, by=host)
    with pytest.raises(Forbidden):
        memberships.request_to_join(db, circle=circle, user=alice)
    assert _membership(db, circle, alice).state == "removed"


def test_allow_back_lets_a_removed_person_join_again(db):
    circle = make_circle(db, "espresso")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    memberships.join(db, circle=circle, user=alice)
    memberships.remove_member(db, circle=circle, user_id=alice.id, by=host)
    memberships.allow_back(db, circle=circle, user_id=alice.id, by=host)
    assert _membership(db, circle, alice).state == "left"
    assert memberships.join(db, circle=circle, user=alice).state == "active"


def test_a_plain_member_cannot_remove_another_member(db):
    circle = make_circle(db, "espresso")
    bob, alice = make_user(db, "bob"), make_user(db, "alice")
    memberships.join(db, circle=circle, user=bob)
    memberships.join(db, circle=circle, user=alice)
    with pytest.raises(Forbidden):
        memberships.remove_member(db, circle=circle, user_id=alice.id, by=bob)
    assert _membership(db, circle, alice).state == "active"


def test_a_host_cannot_remove_another_host(db):
    circle = make_circle(db, "espresso")
    host1, host2 = make_user(db, "host1"), make_user(db, "host2")
    add_member(db, circle, host1, host=True)
    add_member(db, circle, host2, host=True)
    with pytest.raises(Forbidden):
        memberships.remove_member(db, circle=circle, user_id=host2.id, by=host1)


def test_membership_history_keeps_joined_at_left_at_and_invite(db):
    circle = make_circle(db, "roasters", visibility="closed")
    host, alice = make_user(db, "host"), make_user(db, "alice")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle)
    from app.services import invites

    invites.accept_invite(db, invite=invite, user=alice)
    memberships.leave(db, circle=circle, user=alice)
    membership = _membership(db, circle, alice)
    assert membership.state == "left"
    assert membership.invite_id == invite.id
    assert membership.invited_by_id == host.id
    assert membership.joined_at is not None
    assert membership.left_at is not None and membership.left_at >= membership.joined_at
    assert membership.requested_at is not None


def test_a_secret_circle_cannot_be_joined_by_a_non_member(db):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    with pytest.raises(NotFound):
        memberships.join(db, circle=circle, user=alice)
    assert permissions.membership_of(db, alice, circle) is None


def test_a_secret_circle_cannot_be_asked_to_join_by_a_non_member(db):
    circle = make_circle(db, "inner", visibility="secret")
    alice = make_user(db, "alice")
    with pytest.raises(NotFound):
        memberships.request_to_join(db, circle=circle, user=alice, message="let me in")
    assert permissions.membership_of(db, alice, circle) is None


def test_a_request_message_longer_than_1000_characters_is_refused(db):
    from app.errors import Invalid

    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    with pytest.raises(Invalid):
        memberships.request_to_join(db, circle=circle, user=alice, message="x" * 1001)


def test_withdrawing_a_request_removes_it(db):
    circle = make_circle(db, "roasters", visibility="closed")
    alice = make_user(db, "alice")
    memberships.request_to_join(db, circle=circle, user=alice)
    memberships.cancel_request(db, circle=circle, user=alice)
    db.expire_all()
    assert permissions.membership_of(db, alice, circle) is None


def test_members_lists_active_members_only(db):
    circle = make_circle(db, "espresso")
    host, alice, bob = make_user(db, "host"), make_user(db, "alice"), make_user(db, "bob")
    add_member(db, circle, host, host=True)
    memberships.join(db, circle=circle, user=alice)
    memberships.join(db, circle=circle, user=bob)
    memberships.leave(db, circle=circle, user=bob)
    names = [user.username for _m, user in memberships.members(db, circle=circle)]
    assert names == ["host", "alice"]
