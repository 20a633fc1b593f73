"""KPIs — the daily activity rollup stays exactly what the raw rows say, whatever writes them.

After each write of a mixed sequence (posting, reacting, visiting, hiding, restoring,
deleting, hiding a thread, moving it, erasing an account), the rollup equals a recomputation
from scratch; the importer rebuilds it too (see test_dump_roundtrip).
"""

from datetime import timedelta

from sqlmodel import Session, select

from app import permissions
from app.analytics import rollup
from app.models import ActivityDay, ActivityWeek, Circle, Post, User
from app.services import moderation, personal_data, posts, visits
from tests.factories import PASSWORD, add_member, make_circle, make_reply, make_thread, make_user
from tests.unit.test_kpis_builders import at, react, visit


def exact(db: Session) -> bool:
    db.flush()
    return rollup.mismatches(db.connection()) == 0


def rows(db: Session) -> set[tuple[int, int, int, int, int, int]]:
    db.expire_all()
    return {(r.user_id, r.scope, r.visits, r.posts, r.replies, r.reactions) for r in db.exec(select(ActivityDay))}


def access(db: Session, user: User, circle: Circle) -> permissions.CircleAccess:
    return permissions.circle_access(db, user, circle)


def test_rollup_equals_a_recomputation_after_every_kind_of_write(db):
    admin = make_user(db, "root_admin", admin=True)
    espresso, tea = make_circle(db, "espresso", by=admin), make_circle(db, "tea", by=admin)
    hana, mel, ann = make_user(db, "hana"), make_user(db, "mel"), make_user(db, "ann")
    add_member(db, espresso, hana, host=True)
    add_member(db, tea, hana, host=True)
    for someone in (mel, ann):
        add_member(db, espresso, someone)
        add_member(db, tea, someone)
    steps = []

    thread = make_thread(db, espresso, mel, title="Grinders", body="Which one?")
    steps.append(("thread", exact(db)))
    reply = make_reply(db, thread, ann, "The conical one.")
    steps.append(("reply", exact(db)))
    opening = db.exec(select(Post).where(Post.thread_id == thread.id, Post.opening == True)).one()  # noqa: E712
    posts.toggle_reaction(db, post=opening, access=access(db, ann, espresso), user=ann, kind="like")
    posts.toggle_reaction(db, post=reply, access=access(db, mel, espresso), user=mel, kind="thanks")
    steps.append(("reactions", exact(db)))
    db.commit()  # the visit is written in a transaction of its own
    visits.record_circle_visit(user_id=ann.id, circle_id=espresso.id)
    db.expire_all()
    steps.append(("visit", exact(db)))
    # Rows written directly, on other days (as the KPI tests' builders do).
    react(db, reply, hana, at("03-02"))
    visit(db, mel, "03-02")
    visit(db, mel, "03-03", espresso)
    steps.append(("backdated rows", exact(db)))

    moderation.hide_post(db, post=reply, thread=thread, access=access(db, hana, espresso), by=hana, reason="Spam")
    steps.append(("hide", exact(db)))
    moderation.restore_post(db, post=reply, thread=thread, access=access(db, hana, espresso), by=hana)
    steps.append(("restore", exact(db)))
    posts.toggle_reaction(db, post=reply, access=access(db, mel, espresso), user=mel, kind="thanks")  # taken back
    steps.append(("reaction taken back", exact(db)))
    moderation.move_thread(db, thread=thread, access=access(db, hana, espresso), by=hana, target=tea)
    steps.append(("move", exact(db)))
    moderation.hide_post(db, post=opening, thread=thread, access=access(db, hana, tea), by=hana, reason="Off topic")
    steps.append(("thread hidden", exact(db)))
    moderation.restore_post(db, post=opening, thread=thread, access=access(db, hana, tea), by=hana)
    steps.append(("thread shown", exact(db)))
    second = make_reply(db, thread, ann, "Another one.")
    posts.delete_post(db, post=second, thread=thread, by=ann)
    steps.append(("deleted by its author", exact(db)))
    moderation.delete_post(db, post=reply, thread=thread, access=access(db, hana, tea), by=hana, reason="Rude")
    steps.append(("deleted by a host", exact(db)))
    other = make_thread(db, espresso, ann, title="Beans", body="Which beans?")
    make_reply(db, other, mel, "Ethiopian.")
    steps.append(("more posts", exact(db)))
    before = rows(db)
    personal_data.delete_account(db, user=ann, password=PASSWORD, erase_posts=True)
    steps.append(("account erased", exact(db)))

    assert [name for name, ok in steps if not ok] == []
    assert before != rows(db)  # the erasure did change the rollup
    assert rows(db)  # and something is still counted (visits, mel's posts)


def test_a_backdated_post_moves_between_cells(db):
    admin = make_user(db, "root_admin", admin=True)
    espresso = make_circle(db, "espresso", by=admin)
    mel = make_user(db, "mel")
    add_member(db, espresso, mel)
    thread = make_thread(db, espresso, mel)
    post = make_reply(db, thread, mel)
    post.created_at = post.created_at - timedelta(days=40)
    db.add(post)
    db.commit()
    assert exact(db)


def test_rebuild_restores_a_damaged_rollup(db):
    admin = make_user(db, "root_admin", admin=True)
    espresso = make_circle(db, "espresso", by=admin)
    mel = make_user(db, "mel")
    add_member(db, espresso, mel)
    make_thread(db, espresso, mel)
    db.exec(ActivityDay.__table__.delete())  # type: ignore[attr-defined,call-overload]
    assert not exact(db)
    rollup.rebuild(db.connection())
    assert exact(db)


def test_a_damaged_week_is_found_and_rebuilt_from_the_days(db):
    admin = make_user(db, "root_admin", admin=True)
    espresso = make_circle(db, "espresso", by=admin)
    mel = make_user(db, "mel")
    add_member(db, espresso, mel)
    make_thread(db, espresso, mel)
    db.exec(ActivityWeek.__table__.update().values(posts=7))  # type: ignore[attr-defined,call-overload]
    assert not exact(db)
    rollup.rebuild_weeks(db.connection())
    assert exact(db)
