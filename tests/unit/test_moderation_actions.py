"""Moderators' actions by role (DESIGN.md, "People and powers"): who may hide, restore, delete, warn,
keep, lock, pin, move, change a circle's rules, remove and let back, decide requests, suspend —
and the single audit row each one leaves.

The scene: "espresso" is a closed circle hosted by Hana; Otto hosts another closed circle ("tea")
and is no member of espresso; Amber is an ambassador and a member of espresso; Mel a plain member.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app import permissions
from app.errors import Forbidden, Invalid, NotFound
from app.models import (
    ApiToken,
    Circle,
    Flag,
    Membership,
    ModerationAction,
    Notification,
    Post,
    Thread,
    User,
    UserSession,
    utcnow,
)
from app.services import accounts, ambassadors, flags, memberships, moderation, threads
from tests.factories import PASSWORD, add_member, make_circle, make_reply, make_thread, make_user

OK = "ok"
ROLES = ("admin", "host", "other_host", "ambassador", "member")


@dataclass
class Scene:
    admin: User
    host: User  # hosts espresso and lab
    other_host: User  # hosts tea only
    ambassador: User  # an ambassador, member of espresso
    member: User  # a plain member of espresso
    author: User  # wrote the thread and its reply
    bob: User  # the member that removals and suspensions aim at
    newcomer: User  # asks to join espresso
    circle: Circle  # espresso
    lab: Circle  # open, hosted by Hana too: where threads are moved
    tea: Circle
    thread: Thread
    reply: Post
    request_id: int

    def actor(self, role: str) -> User:
        return getattr(self, role)  # type: ignore[no-any-return]


def _scene(db: Session, visibility: str = "closed") -> Scene:
    admin = make_user(db, "root_admin", admin=True)
    circle = make_circle(db, "espresso", visibility=visibility, by=admin)
    tea = make_circle(db, "tea", visibility="closed", by=admin)
    lab = make_circle(db, "lab", visibility="open", by=admin)
    host, other_host, ambassador, member, author, bob, newcomer = (
        make_user(db, name) for name in ("hana", "otto", "amber", "mel", "alice", "bob", "nina")
    )
    add_member(db, circle, host, host=True)
    add_member(db, lab, host, host=True)
    add_member(db, tea, other_host, host=True)
    for user in (ambassador, member, author, bob):
        add_member(db, circle, user)
    ambassadors.grant(db, member=ambassador, by=admin, reason="Welcomes every newcomer.")
    thread = make_thread(db, circle, author, title="Grinders", body="Which one?")
    reply = make_reply(db, thread, author, "Buy mine, cheap!")
    request_id = 0
    if visibility == "closed":
        request_id = memberships.request_to_join(db, circle=circle, user=newcomer, message="Hello!").id  # type: ignore[assignment]
    return Scene(admin=admin, host=host, other_host=other_host, ambassador=ambassador, member=member, author=author,
                 bob=bob, newcomer=newcomer, circle=circle, lab=lab, tea=tea, thread=thread, reply=reply,
                 request_id=request_id)


def _access(db: Session, user: User, circle: Circle) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


def _audit(db: Session) -> list[tuple[Any, ...]]:
    db.expire_all()
    rows = db.exec(select(ModerationAction).order_by(col(ModerationAction.id))).all()
    return [(r.action, r.actor_id, r.target_user_id, r.circle_id, r.thread_id, r.post_id, r.reason) for r in rows]


def _fresh(db: Session, model: Any, id_: int | None) -> Any:
    db.expire_all()
    return db.get(model, id_)


# The actions, each with what it needs first ---------------------------------------------------


def _hide(db: Session, s: Scene, by: User) -> None:
    moderation.hide_post(db, post=s.reply, thread=s.thread, access=_access(db, by, s.circle), by=by,
                         reason="Advertising")


def _restore(db: Session, s: Scene, by: User) -> None:
    moderation.restore_post(db, post=s.reply, thread=s.thread, access=_access(db, by, s.circle), by=by,
                            reason="A false alarm")


def _delete(db: Session, s: Scene, by: User) -> None:
    moderation.delete_post(db, post=s.reply, thread=s.thread, access=_access(db, by, s.circle), by=by,
                           reason="Spam")


def _warn(db: Session, s: Scene, by: User) -> None:
    moderation.warn_author(db, post=s.reply, thread=s.thread, access=_access(db, by, s.circle), by=by,
                           text="No advertising here, please.")


def _keep(db: Session, s: Scene, by: User) -> None:
    moderation.keep_post(db, post=s.reply, thread=s.thread, access=_access(db, by, s.circle), by=by)


def _thread_flag(flag: str, value: bool) -> Callable[[Session, Scene, User], None]:
    def run(db: Session, s: Scene, by: User) -> None:
        moderation.set_thread_flag(db, thread=s.thread, access=_access(db, by, s.circle), by=by, flag=flag,
                                   value=value, reason="Because")
    return run


def _move(db: Session, s: Scene, by: User) -> None:
    moderation.move_thread(db, thread=s.thread, access=_access(db, by, s.circle), by=by, target=s.lab,
                           reason="Belongs in the lab")


def _rules(db: Session, s: Scene, by: User) -> None:
    moderation.set_circle_rules(db, access=_access(db, by, s.circle), by=by, read_only=True, slow_mode_seconds=60,
                                hold_first_posts=2)


def _remove(db: Session, s: Scene, by: User) -> None:
    memberships.remove_member(db, circle=s.circle, user_id=s.bob.id, by=by, reason="Trolling")  # type: ignore[arg-type]


def _allow_back(db: Session, s: Scene, by: User) -> None:
    memberships.allow_back(db, circle=s.circle, user_id=s.bob.id, by=by)  # type: ignore[arg-type]


def _approve(db: Session, s: Scene, by: User) -> None:
    memberships.approve_request(db, circle=s.circle, membership_id=s.request_id, by=by)


def _decline(db: Session, s: Scene, by: User) -> None:
    memberships.decline_request(db, circle=s.circle, membership_id=s.request_id, by=by)


def _suspend(db: Session, s: Scene, by: User) -> None:
    moderation.suspend(db, user=s.bob, by=by, days=7, reason="Spam in every circle")


def _unsuspend(db: Session, s: Scene, by: User) -> None:
    moderation.unsuspend(db, user=s.bob, by=by)


def _nothing(db: Session, s: Scene) -> None:
    return None


def _flagged(db: Session, s: Scene) -> None:
    flags.flag_post(db, post=s.reply, thread=s.thread, access=_access(db, s.member, s.circle), user=s.member,
                    reason="spam")


ACTIONS: dict[str, tuple[Callable[[Session, Scene], None], Callable[[Session, Scene, User], None]]] = {
    "hide": (_nothing, _hide),
    "restore": (lambda db, s: _hide(db, s, s.admin), _restore),
    "delete": (_nothing, _delete),
    "warn": (_nothing, _warn),
    "keep": (_flagged, _keep),
    "lock": (_nothing, _thread_flag("locked", True)),
    "unlock": (lambda db, s: _thread_flag("locked", True)(db, s, s.admin), _thread_flag("locked", False)),
    "pin": (_nothing, _thread_flag("pinned", True)),
    "unpin": (lambda db, s: _thread_flag("pinned", True)(db, s, s.admin), _thread_flag("pinned", False)),
    "move": (_nothing, _move),
    "rules": (_nothing, _rules),
    "remove_member": (_nothing, _remove),
    "allow_back": (lambda db, s: _remove(db, s, s.admin), _allow_back),
    "approve_request": (_nothing, _approve),
    "decline_request": (_nothing, _decline),
    "suspend": (_nothing, _suspend),
    "unsuspend": (lambda db, s: _suspend(db, s, s.admin), _unsuspend),
}

# Who may do what in a closed circle. A host of another circle is no member here: everything inside
# answers them like a missing thing (NotFound); members learn they may not (Forbidden).
#                    admin  host  other_host  ambassador  member
MATRIX: dict[str, tuple[Any, Any, Any, Any, Any]] = {
    "hide":            (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "restore":         (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "delete":          (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "warn":            (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "keep":            (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "lock":            (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "unlock":          (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "pin":             (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "unpin":           (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "move":            (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "rules":           (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "remove_member":   (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "allow_back":      (OK,   OK,   NotFound,   Forbidden,  Forbidden),
    "approve_request": (OK,   OK,   NotFound,   OK,         Forbidden),
    "decline_request": (OK,   OK,   NotFound,   OK,         Forbidden),
    "suspend":         (OK,   Forbidden, Forbidden, Forbidden, Forbidden),
    "unsuspend":       (OK,   Forbidden, Forbidden, Forbidden, Forbidden),
}
CASES = [
    pytest.param(action, role, expected, id=f"{action}-{role}")
    for action, row in MATRIX.items()
    for role, expected in zip(ROLES, row, strict=True)
]


def test_the_matrix_covers_every_action_and_every_role() -> None:
    assert set(MATRIX) == set(ACTIONS)
    assert all(len(row) == len(ROLES) for row in MATRIX.values())


@pytest.mark.parametrize(("action", "role", "expected"), CASES)
def test_each_role_may_or_may_not_take_each_moderation_action(db: Session, action: str, role: str,
                                                               expected: Any) -> None:
    s = _scene(db)
    prepare, run = ACTIONS[action]
    prepare(db, s)
    before = len(_audit(db))
    if expected == OK:
        run(db, s, s.actor(role))
        assert len(_audit(db)) > before
    else:
        with pytest.raises(expected):
            run(db, s, s.actor(role))
        db.rollback()
        assert len(_audit(db)) == before, "a refused action leaves no trace in the log"


# One audit row per action ------------------------------------------------------------------


def _expected_rows(action: str, s: Scene) -> list[tuple[Any, ...]]:
    host, admin, circle, thread, reply = s.host.id, s.admin.id, s.circle.id, s.thread.id, s.reply.id
    author, bob, newcomer = s.author.id, s.bob.id, s.newcomer.id
    post_row = {
        "hide": ("post_hidden", "Advertising"),
        "restore": ("post_restored", "A false alarm"),
        "delete": ("post_deleted", "Spam"),
        "warn": ("author_warned", "No advertising here, please."),
        "keep": ("flags_dismissed", ""),
    }
    if action in post_row:
        name, reason = post_row[action]
        return [(name, host, author, circle, thread, reply, reason)]
    thread_actions = {"lock": "thread_locked", "unlock": "thread_unlocked", "pin": "thread_pinned",
                      "unpin": "thread_unpinned"}
    if action in thread_actions:
        return [(thread_actions[action], host, author, circle, thread, None, "Because")]
    return {
        "move": [("thread_moved", host, author, circle, thread, None, "Belongs in the lab"),
                 ("thread_moved", host, author, s.lab.id, thread, None, "Belongs in the lab")],
        "rules": [("circle_rules_changed", host, None, circle, None, None, "")],
        "remove_member": [("member_removed", host, bob, circle, None, None, "Trolling")],
        "allow_back": [("member_allowed_back", host, bob, circle, None, None, "")],
        "approve_request": [("request_approved", host, newcomer, circle, None, None, "")],
        "decline_request": [("request_declined", host, newcomer, circle, None, None, "")],
        "suspend": [("user_suspended", admin, bob, None, None, None, "Spam in every circle")],
        "unsuspend": [("user_unsuspended", admin, bob, None, None, None, "")],
    }[action]


@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "move"])
def test_each_moderation_action_leaves_exactly_one_audit_row(db: Session, action: str) -> None:
    s = _scene(db)
    prepare, run = ACTIONS[action]
    prepare(db, s)
    before = len(_audit(db))
    actor = s.admin if action in ("suspend", "unsuspend") else s.host
    run(db, s, actor)
    assert _audit(db)[before:] == _expected_rows(action, s)


def test_a_move_is_logged_once_in_each_of_the_two_circles(db: Session) -> None:
    s = _scene(db)
    before = len(_audit(db))
    _move(db, s, s.host)
    assert _audit(db)[before:] == _expected_rows("move", s)


def test_approving_a_held_post_is_logged_as_an_approval(db: Session) -> None:
    s = _scene(db)
    _rules(db, s, s.host)
    held = make_reply(db, s.thread, s.member, "My very first words.")
    before = len(_audit(db))
    moderation.restore_post(db, post=held, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host)
    assert _audit(db)[before:] == [("post_approved", s.host.id, s.member.id, s.circle.id, s.thread.id, held.id, "")]


# Beyond the matrix: non-members, ambassadors, hosts -------------------------------------------


@pytest.mark.parametrize("action", ["hide", "lock", "rules", "remove_member"])
def test_a_non_member_gets_not_found_for_moderation_in_a_secret_circle(db: Session, action: str) -> None:
    s = _scene(db, visibility="secret")
    with pytest.raises(NotFound):
        ACTIONS[action][1](db, s, s.other_host)


@pytest.mark.parametrize("action", ["hide", "lock", "rules", "remove_member"])
def test_a_host_of_another_circle_is_forbidden_to_moderate_an_open_circle_they_can_read(db: Session,
                                                                                       action: str) -> None:
    s = _scene(db, visibility="open")
    with pytest.raises(Forbidden):
        ACTIONS[action][1](db, s, s.other_host)


def test_an_ambassador_cannot_decide_requests_of_a_closed_circle_they_do_not_belong_to(db: Session) -> None:
    s = _scene(db)
    outsider = make_user(db, "olga")
    ambassadors.grant(db, member=outsider, by=s.admin, reason="Active elsewhere.")
    with pytest.raises(NotFound):
        _approve(db, s, outsider)
    with pytest.raises(NotFound):
        _decline(db, s, outsider)


def test_an_ambassador_whose_role_ended_can_no_longer_approve_requests(db: Session) -> None:
    s = _scene(db)
    ambassadors.revoke(db, member=s.ambassador, by=s.admin, reason="Stepped down.")
    with pytest.raises(Forbidden):
        _approve(db, s, s.ambassador)


def test_an_approved_request_makes_an_active_member(db: Session) -> None:
    s = _scene(db)
    _approve(db, s, s.ambassador)
    membership = _fresh(db, Membership, s.request_id)
    assert (membership.state, membership.decided_by_id) == ("active", s.ambassador.id)


def test_a_declined_request_leaves_the_newcomer_outside(db: Session) -> None:
    s = _scene(db)
    _decline(db, s, s.host)
    assert _fresh(db, Membership, s.request_id).state == "declined"
    assert not _access(db, s.newcomer, s.circle).can_read


def test_a_host_cannot_remove_another_host_but_an_admin_can(db: Session) -> None:
    s = _scene(db)
    add_member(db, s.circle, s.bob, host=True)
    with pytest.raises(Forbidden):
        _remove(db, s, s.host)
    db.rollback()
    _remove(db, s, s.admin)
    assert permissions.membership_of(db, s.bob, s.circle).state == "removed"  # type: ignore[union-attr]


def test_a_removed_member_loses_access_until_allowed_back(db: Session) -> None:
    s = _scene(db, visibility="open")
    _remove(db, s, s.host)
    assert not _access(db, s.bob, s.circle).is_member
    with pytest.raises(Forbidden):
        memberships.join(db, circle=s.circle, user=s.bob)
    _allow_back(db, s, s.host)
    memberships.join(db, circle=s.circle, user=s.bob)
    assert _access(db, s.bob, s.circle).is_member


def test_allowing_back_someone_who_was_not_removed_is_not_found(db: Session) -> None:
    s = _scene(db)
    with pytest.raises(NotFound):
        _allow_back(db, s, s.host)


# Posts ----------------------------------------------------------------------------------------


def test_hiding_a_reply_takes_it_out_of_the_thread_counters(db: Session) -> None:
    s = _scene(db)
    _hide(db, s, s.host)
    thread, reply = _fresh(db, Thread, s.thread.id), _fresh(db, Post, s.reply.id)
    assert (reply.hidden, reply.hidden_reason) == (True, "Advertising")
    assert (thread.reply_count, thread.post_count) == (0, 1)


def test_hiding_a_post_twice_counts_it_out_once(db: Session) -> None:
    s = _scene(db)
    _hide(db, s, s.host)
    _hide(db, s, s.admin)
    assert _fresh(db, Thread, s.thread.id).reply_count == 0


def test_restoring_a_hidden_post_counts_it_again(db: Session) -> None:
    s = _scene(db)
    _hide(db, s, s.host)
    _restore(db, s, s.host)
    thread, reply = _fresh(db, Thread, s.thread.id), _fresh(db, Post, s.reply.id)
    assert (reply.hidden, reply.hidden_reason) == (False, "")
    assert (thread.reply_count, thread.post_count) == (1, 2)


def test_hiding_an_opening_post_hides_its_thread_from_members(db: Session) -> None:
    s = _scene(db)
    opening = db.exec(select(Post).where(Post.thread_id == s.thread.id, Post.opening)).one()
    moderation.hide_post(db, post=opening, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host,
                         reason="Off-topic circle")
    rows, _pages = threads.circle_threads(db, access=_access(db, s.member, s.circle))
    assert rows == []
    with pytest.raises(NotFound):
        threads.open_thread(db, thread_id=s.thread.id, viewer=s.member)  # type: ignore[arg-type]


def test_a_hidden_post_is_seen_by_hosts_and_its_author_but_not_by_other_members(db: Session) -> None:
    s = _scene(db)
    _hide(db, s, s.host)
    for viewer, sees in ((s.host, True), (s.admin, True), (s.author, True), (s.member, False)):
        page = threads.thread_page(db, thread=s.thread, access=_access(db, viewer, s.circle))
        assert (s.reply.id in [v.post.id for v in page.posts]) is sees, viewer.username


@pytest.mark.parametrize("action", ["hide", "delete", "warn"])
def test_a_moderators_message_to_the_author_is_required(db: Session, action: str) -> None:
    s = _scene(db)
    access = _access(db, s.host, s.circle)
    with pytest.raises(Invalid):
        if action == "warn":
            moderation.warn_author(db, post=s.reply, thread=s.thread, access=access, by=s.host, text="   ")
        else:
            getattr(moderation, f"{action}_post")(db, post=s.reply, thread=s.thread, access=access, by=s.host,
                                                  reason="")


def test_a_reason_longer_than_a_thousand_characters_is_refused(db: Session) -> None:
    s = _scene(db)
    with pytest.raises(Invalid):
        moderation.hide_post(db, post=s.reply, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host,
                             reason="x" * 1001)


def test_a_deleted_post_cannot_be_restored(db: Session) -> None:
    s = _scene(db)
    _delete(db, s, s.host)
    with pytest.raises(Invalid):
        _restore(db, s, s.host)


def test_a_post_deleted_by_a_moderator_leaves_the_counters_and_resolves_its_flags(db: Session) -> None:
    s = _scene(db)
    _flagged(db, s)
    _delete(db, s, s.host)
    thread = _fresh(db, Thread, s.thread.id)
    assert thread.reply_count == 0
    (flag,) = db.exec(select(Flag)).all()
    assert (flag.resolution, flag.resolved_by_id) == ("deleted", s.host.id)


def test_keeping_a_flagged_post_dismisses_its_flags_and_leaves_it_visible(db: Session) -> None:
    s = _scene(db)
    _flagged(db, s)
    _keep(db, s, s.host)
    (flag,) = db.exec(select(Flag)).all()
    assert (flag.resolution, flag.resolved_by_id) == ("kept", s.host.id)
    assert not _fresh(db, Post, s.reply.id).hidden


# Notifications -----------------------------------------------------------------------------------


def _notifications(db: Session, user: User) -> list[tuple[str, str]]:
    db.expire_all()
    rows = db.exec(select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id)))
    return [(n.kind, n.text) for n in rows]


def test_the_author_of_a_hidden_post_is_told_why(db: Session) -> None:
    s = _scene(db)
    _hide(db, s, s.host)
    assert ("post_hidden", "Advertising") in _notifications(db, s.author)


def test_a_warning_reaches_only_the_author(db: Session) -> None:
    s = _scene(db)
    _warn(db, s, s.host)
    assert ("warning", "No advertising here, please.") in _notifications(db, s.author)
    assert all(kind != "warning" for kind, _text in _notifications(db, s.member))


def test_a_removed_member_is_told(db: Session) -> None:
    s = _scene(db)
    _remove(db, s, s.host)
    assert ("removed", "Espresso") in _notifications(db, s.bob)


def test_the_author_of_a_post_deleted_by_a_moderator_is_told_why(db: Session) -> None:
    s = _scene(db)
    _delete(db, s, s.host)
    assert ("post_deleted", "Spam") in _notifications(db, s.author)


# Threads ---------------------------------------------------------------------------------------


def test_a_locked_thread_refuses_members_replies_but_not_the_hosts(db: Session) -> None:
    s = _scene(db)
    _thread_flag("locked", True)(db, s, s.host)
    with pytest.raises(Forbidden):
        make_reply(db, s.thread, s.member, "Me too")
    db.rollback()
    assert make_reply(db, s.thread, s.host, "Closing words.").id is not None


def test_a_pinned_thread_comes_first_in_its_circle(db: Session) -> None:
    s = _scene(db)
    make_thread(db, s.circle, s.member, title="Newer")
    _thread_flag("pinned", True)(db, s, s.host)
    rows, _pages = threads.circle_threads(db, access=_access(db, s.member, s.circle))
    assert [r.thread.title for r in rows] == ["Grinders", "Newer"]


def test_a_moved_thread_lives_in_its_new_circle(db: Session) -> None:
    s = _scene(db)
    _move(db, s, s.host)
    assert _fresh(db, Thread, s.thread.id).circle_id == s.lab.id


def test_moving_a_thread_needs_to_host_the_target_circle_too(db: Session) -> None:
    s = _scene(db)
    cafe = make_circle(db, "cafe", visibility="open", by=s.admin)
    add_member(db, cafe, s.host)
    with pytest.raises(Forbidden):
        moderation.move_thread(db, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host, target=cafe)


def test_moving_a_thread_to_a_closed_circle_the_mover_cannot_read_is_not_found(db: Session) -> None:
    s = _scene(db)
    with pytest.raises(NotFound):
        moderation.move_thread(db, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host, target=s.tea)


def test_hosting_only_the_target_circle_is_not_enough_to_move_a_thread(db: Session) -> None:
    s = _scene(db, visibility="open")
    add_member(db, s.lab, s.other_host, host=True)
    with pytest.raises(Forbidden):
        moderation.move_thread(db, thread=s.thread, access=_access(db, s.other_host, s.circle), by=s.other_host,
                               target=s.lab)


def test_moving_a_thread_to_its_own_circle_is_invalid(db: Session) -> None:
    s = _scene(db)
    with pytest.raises(Invalid):
        moderation.move_thread(db, thread=s.thread, access=_access(db, s.host, s.circle), by=s.host, target=s.circle)


# Circle rules ------------------------------------------------------------------------------------


def test_circle_rules_are_saved(db: Session) -> None:
    s = _scene(db)
    _rules(db, s, s.host)
    circle = _fresh(db, Circle, s.circle.id)
    assert (circle.read_only, circle.slow_mode_seconds, circle.hold_first_posts) == (True, 60, 2)


@pytest.mark.parametrize(("slow", "hold"), [(-1, 0), (86_401, 0), (0, -1), (0, 51)])
def test_circle_rules_out_of_range_are_refused(db: Session, slow: int, hold: int) -> None:
    s = _scene(db)
    with pytest.raises(Invalid):
        moderation.set_circle_rules(db, access=_access(db, s.host, s.circle), by=s.host, read_only=False,
                                    slow_mode_seconds=slow, hold_first_posts=hold)


# Suspension ------------------------------------------------------------------------------------


def test_a_suspension_ends_the_members_sessions_and_tokens_at_once(db: Session) -> None:
    s = _scene(db)
    started = accounts.start_session(db, user=s.bob)
    token = accounts.create_api_token(db, user=s.bob, name="script")
    _suspend(db, s, s.admin)
    assert db.exec(select(UserSession).where(UserSession.user_id == s.bob.id)).all() == []
    assert accounts.session_user(db, started.token) is None
    assert accounts.api_token_user(db, token) is None
    assert db.exec(select(ApiToken).where(ApiToken.user_id == s.bob.id)).first() is not None


def test_a_suspended_member_is_told_the_reason_when_signing_in(db: Session) -> None:
    s = _scene(db)
    _suspend(db, s, s.admin)
    with pytest.raises(Forbidden, match="Spam in every circle"):
        accounts.authenticate(db, login="bob", password=PASSWORD)


def test_lifting_a_suspension_lets_the_member_sign_in_again(db: Session) -> None:
    s = _scene(db)
    _suspend(db, s, s.admin)
    _unsuspend(db, s, s.admin)
    assert accounts.authenticate(db, login="bob", password=PASSWORD).id == s.bob.id


def test_a_suspension_that_has_run_out_no_longer_stops_sign_in(db: Session) -> None:
    s = _scene(db)
    _suspend(db, s, s.admin)
    bob = _fresh(db, User, s.bob.id)
    bob.suspended_until = utcnow() - timedelta(minutes=1)
    db.add(bob)
    db.commit()
    assert accounts.authenticate(db, login="bob", password=PASSWORD).id == s.bob.id


def test_administrators_cannot_be_suspended(db: Session) -> None:
    s = _scene(db)
    other_admin = make_user(db, "ada", admin=True)
    with pytest.raises(Forbidden):
        moderation.suspend(db, user=other_admin, by=s.admin, days=7, reason="No")
    with pytest.raises(Forbidden):
        moderation.suspend(db, user=s.admin, by=s.admin, days=7, reason="No")


@pytest.mark.parametrize("days", [0, -3, moderation.MAX_SUSPENSION_DAYS + 1])
def test_a_suspension_needs_a_sensible_length(db: Session, days: int) -> None:
    s = _scene(db)
    with pytest.raises(Invalid):
        moderation.suspend(db, user=s.bob, by=s.admin, days=days, reason="Spam")


def test_a_suspension_needs_a_reason(db: Session) -> None:
    s = _scene(db)
    with pytest.raises(Invalid):
        moderation.suspend(db, user=s.bob, by=s.admin, days=7, reason="  ")


def test_lifting_a_suspension_that_does_not_exist_is_not_found(db: Session) -> None:
    s = _scene(db)
    with pytest.raises(NotFound):
        _unsuspend(db, s, s.admin)

