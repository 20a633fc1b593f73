"""Badges: automatic rules fired by events, manual awards by hosts and admins.

Each automatic rule is a query of the users who qualify, so the same code answers
"does this person qualify now?" (on the triggering event) and "who qualifies?" (the
idempotent `cercle badges recompute` backfill).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, bindparam, cast, exists, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app import permissions
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import _, lazy
from app.icons import ICONS
from app.models import Badge, BadgeAward, Circle, Membership, Post, Reaction, Thread, User, Visit, utcnow
from app.models.recognition import TIER_RANK, TIERS
from app.services import audit
from app.services.notifications import notify
from app.services.sqlutil import insert_for, utc_date


@dataclass(frozen=True)
class Rule:
    slug: str
    name: str
    description: str
    tier: str
    icon: str
    qualifying: Callable[[Session], Any]  # returns a SELECT of user ids


def _visible_posts() -> Any:
    return and_(col(Post.deleted_at).is_(None), col(Post.hidden).is_(False), col(Thread.hidden).is_(False))


def _posters(*, replies_only: bool = False) -> Callable[[Session], Any]:
    def query(session: Session) -> Any:
        statement = select(Post.author_id).join(Thread, col(Thread.id) == Post.thread_id).where(_visible_posts())
        if replies_only:
            statement = statement.where(col(Post.opening).is_(False))
        return statement.distinct()

    return query


def _helpful(threshold: int) -> Callable[[Session], Any]:
    def query(session: Session) -> Any:
        return (
            select(Post.author_id)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .join(Reaction, col(Reaction.post_id) == Post.id)
            .where(_visible_posts(), Reaction.kind == "helpful", col(Reaction.user_id) != Post.author_id)
            .group_by(col(Post.author_id))
            .having(func.count() >= threshold)
        )

    return query


def _conversation_starter(session: Session) -> Any:
    per_thread = (
        select(Thread.author_id)
        .join(Post, col(Post.thread_id) == Thread.id)
        .where(_visible_posts(), col(Post.opening).is_(False), col(Post.author_id) != Thread.author_id)
        .group_by(col(Thread.id), col(Thread.author_id))
        .having(func.count(func.distinct(Post.author_id)) >= 5)
    )
    return per_thread


def _recruiter(threshold: int) -> Callable[[Session], Any]:
    def query(session: Session) -> Any:
        invitee = aliased(User)
        # Hidden, held or deleted posts do not count: the invitee must really have taken part.
        has_posted = (
            exists()
            .where(col(Post.author_id) == invitee.id, col(Thread.id) == Post.thread_id, _visible_posts())
        )
        return (
            select(invitee.invited_by_id)
            .where(col(invitee.invited_by_id).is_not(None), col(invitee.deleted_at).is_(None), has_posted)
            .group_by(invitee.invited_by_id)
            .having(func.count() >= threshold)
        )

    return query


def _welcomer(session: Session) -> Any:
    """Wrote the first reply (by someone else) to a member's very first thread."""
    earlier = aliased(Thread)
    first_of_author = ~exists().where(
        col(earlier.author_id) == Thread.author_id, col(earlier.id) < Thread.id, col(earlier.hidden).is_(False)
    )
    other = aliased(Post)
    first_reply = ~exists().where(
        other.thread_id == Post.thread_id,
        other.number < Post.number,
        col(other.opening).is_(False),
        other.author_id != Thread.author_id,
        col(other.deleted_at).is_(None),
        col(other.hidden).is_(False),
    )
    return (
        select(Post.author_id)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .where(_visible_posts(), col(Post.opening).is_(False), col(Post.author_id) != Thread.author_id,
               first_of_author, first_reply)
        .distinct()
    )


def _regular(session: Session) -> Any:
    """Active in at least 4 distinct weeks of the last 8 (visits and posts)."""
    # The 8 weeks are today and the 55 days before; "today" is the UTC date, not the server's.
    today = utcnow().date()
    since = today - timedelta(weeks=8)
    day = utc_date(Post.created_at, session)
    days = select(Visit.user_id.label("user_id"), Visit.day.label("day")).where(Visit.day > since).union(  # type: ignore[attr-defined]
        select(Post.author_id.label("user_id"), day.label("day"))  # type: ignore[attr-defined]
        .join(Thread, col(Thread.id) == Post.thread_id)
        .where(day > since, _visible_posts())
    ).subquery()
    # Weeks counted back from today: 0..7.
    week: Any
    if session.get_bind().dialect.name == "postgresql":
        week = func.floor((literal(today, Date) - days.c.day) / 7)
    else:
        week = cast((func.julianday(today.isoformat()) - func.julianday(days.c.day)) / 7, Integer)
    return select(days.c.user_id).group_by(days.c.user_id).having(func.count(func.distinct(week)) >= 4)


def _anniversary(session: Session) -> Any:
    return select(User.id).where(col(User.created_at) <= utcnow() - timedelta(days=365), col(User.deleted_at).is_(None))


RULES: tuple[Rule, ...] = (
    Rule("first-post", lazy("First Post"), lazy("Wrote a first post."), "bronze", "seed", _posters()),
    Rule("first-reply", lazy("First Reply"), lazy("Answered someone for the first time."), "bronze", "chat",
         _posters(replies_only=True)),
    Rule("welcomer", lazy("Welcomer"), lazy("First to answer a newcomer's first thread."), "silver", "hand",
         _welcomer),
    Rule("helpful-5", lazy("Helpful"), lazy("Received 5 “helpful” reactions."), "bronze", "heart", _helpful(5)),
    Rule("helpful-25", lazy("Very Helpful"), lazy("Received 25 “helpful” reactions."), "silver", "heart",
         _helpful(25)),
    Rule("helpful-100", lazy("Pillar"), lazy("Received 100 “helpful” reactions."), "gold", "heart", _helpful(100)),
    Rule("conversation-starter", lazy("Conversation Starter"),
         lazy("Started a thread that got replies from 5 different members."), "silver", "megaphone",
         _conversation_starter),
    Rule("recruiter-1", lazy("Recruiter"), lazy("Invited someone who joined and posted."), "bronze", "leaf",
         _recruiter(1)),
    Rule("recruiter-3", lazy("Connector"), lazy("Invited 3 people who joined and posted."), "silver", "leaf",
         _recruiter(3)),
    Rule("recruiter-10", lazy("Ambassador of the Circle"), lazy("Invited 10 people who joined and posted."),
         "gold", "leaf", _recruiter(10)),
    Rule("regular", lazy("Regular"), lazy("Active in 4 different weeks of the last 8."), "silver", "calendar",
         _regular),
    Rule("anniversary", lazy("Anniversary"), lazy("A year in the community."), "gold", "trophy", _anniversary),
)
RULES_BY_SLUG = {rule.slug: rule for rule in RULES}
# Tier names are shown through _() in templates; listed here so they are translated.
TIER_NAMES = (lazy("bronze"), lazy("silver"), lazy("gold"))


def catalog_badge(session: Session, rule: Rule) -> Badge:
    badge = session.exec(select(Badge).where(Badge.slug == rule.slug)).scalars().first()  # type: ignore[call-overload]
    if badge is None:
        session.exec(
            insert_for(session)(Badge)
            .values(slug=rule.slug, name=rule.name, description=rule.description, tier=rule.tier,
                    icon=rule.icon, automatic=True, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        badge = session.exec(select(Badge).where(Badge.slug == rule.slug)).scalars().one()  # type: ignore[call-overload]
    return badge


def ensure_catalog(session: Session) -> None:
    for rule in RULES:
        catalog_badge(session, rule)
    session.commit()


def refresh_best_badge(session: Session, user_id: int) -> None:
    rows = session.exec(
        select(Badge.id, Badge.tier, BadgeAward.created_at)  # type: ignore[call-overload]
        .join(BadgeAward, col(BadgeAward.badge_id) == Badge.id)
        .where(BadgeAward.user_id == user_id, col(BadgeAward.revoked_at).is_(None))
    ).all()
    best = max(rows, key=lambda row: (TIER_RANK.get(row[1], 0), row[2]), default=None)
    user = session.get(User, user_id)
    if user is not None:
        user.best_badge_id = best[0] if best else None
        session.add(user)


def _grant(session: Session, *, badge: Badge, user_id: int, by: User | None, reason: str,
           circle_id: int | None) -> BadgeAward | None:
    existing = session.exec(
        select(BadgeAward).where(BadgeAward.badge_id == badge.id, BadgeAward.user_id == user_id)
    ).scalars().first()  # type: ignore[call-overload]
    now = utcnow()
    if existing is not None:
        # An automatic badge is never given twice, even after a host took it back.
        if existing.revoked_at is None or badge.automatic:
            return None
        award = existing
        award.revoked_at = None
        award.revoked_by_id = None
        award.awarded_by_id = by.id if by else None
        award.reason = reason
        award.circle_id = circle_id
        award.created_at = now
        session.add(award)
    else:
        result = session.exec(
            insert_for(session)(BadgeAward)
            .values(badge_id=badge.id, user_id=user_id, awarded_by_id=by.id if by else None, reason=reason,
                    circle_id=circle_id, created_at=now)
            .on_conflict_do_nothing()
        )
        if not result.rowcount:
            return None
        award = session.exec(
            select(BadgeAward).where(BadgeAward.badge_id == badge.id, BadgeAward.user_id == user_id)
        ).scalars().one()  # type: ignore[call-overload]
    refresh_best_badge(session, user_id)
    notify(session, user_id=user_id, kind="badge_awarded", actor=by, text=badge.slug)
    return award


def _already_given(session: Session, wanted: dict[int, tuple[str, ...]]) -> set[tuple[int, str]]:
    """The (user, slug) pairs of `wanted` that `_grant` would refuse anyway, in one query.

    An automatic badge is never given twice, even after a host took it back: once a member holds
    a rule's badge, its (often costly) qualifying query need not run on every later event.
    """
    slugs = {slug for wanted_slugs in wanted.values() for slug in wanted_slugs}
    if not slugs:
        return set()
    rows = session.exec(
        select(BadgeAward.user_id, Badge.slug)  # type: ignore[call-overload]
        .join(Badge, col(Badge.id) == BadgeAward.badge_id)
        .where(col(BadgeAward.user_id).in_(sorted(wanted)), col(Badge.slug).in_(sorted(slugs)),
               (col(BadgeAward.revoked_at).is_(None)) | col(Badge.automatic).is_(True))
    ).all()
    return {(user_id, slug) for user_id, slug in rows if slug in wanted.get(user_id, ())}


def check_rules(session: Session, *, user_id: int, slugs: tuple[str, ...],
                skip: set[tuple[int, str]] | None = None) -> list[str]:
    """Awards the automatic badges among `slugs` that `user_id` now qualifies for.

    `skip`: (user, slug) pairs known to be given already (`_already_given`); looked up when None.
    """
    if skip is None:
        skip = _already_given(session, {user_id: slugs})
    awarded = []
    for slug in slugs:
        if (user_id, slug) in skip:
            continue
        rule = RULES_BY_SLUG[slug]
        qualifies = session.exec(_qualifies_statement(session, rule), params={"user_id": user_id}).first()
        if qualifies and _grant(session, badge=catalog_badge(session, rule), user_id=user_id, by=None, reason="",
                                circle_id=None):
            awarded.append(slug)
    return awarded


# Rules whose query depends on today's date: built anew for each check.
DATED_RULES = frozenset({"regular", "anniversary"})
_QUALIFIES: dict[tuple[str, str], Any] = {}


def _qualifies_statement(session: Session, rule: Rule) -> Any:
    """"Does :user_id qualify for `rule`?", built once per rule and database: building these
    statements cost more than running them on every post."""
    dialect = session.get_bind().dialect.name
    statement = _QUALIFIES.get((rule.slug, dialect))
    if statement is None:
        subquery = rule.qualifying(session).subquery()
        statement = select(1).select_from(subquery).where(subquery.c[0] == bindparam("user_id")).limit(1)
        if rule.slug not in DATED_RULES:
            _QUALIFIES[rule.slug, dialect] = statement
    return statement


# Event hooks: called by the services once the event is written (a reply calls `on_post` right
# after its commit, so that the thread's lock is not held through these queries).

def on_post(session: Session, *, post: Post, thread: Thread) -> None:
    author = session.get(User, post.author_id)
    checks: list[tuple[int, tuple[str, ...]]] = [
        (post.author_id, ("first-post",) if post.opening else ("first-post", "first-reply", "welcomer"))
    ]
    if not post.opening and thread.author_id != post.author_id:
        checks.append((thread.author_id, ("conversation-starter",)))
    if author is not None and author.invited_by_id:
        checks.append((author.invited_by_id, ("recruiter-1", "recruiter-3", "recruiter-10")))
    wanted: dict[int, tuple[str, ...]] = {}
    for user_id, slugs in checks:
        wanted[user_id] = wanted.get(user_id, ()) + slugs
    skip = _already_given(session, wanted)
    for user_id, slugs in checks:
        check_rules(session, user_id=user_id, slugs=slugs, skip=skip)


def on_helpful(session: Session, *, post: Post) -> None:
    check_rules(session, user_id=post.author_id, slugs=("helpful-5", "helpful-25", "helpful-100"))


def on_daily_visit(session: Session, *, user_id: int) -> None:
    check_rules(session, user_id=user_id, slugs=("regular", "anniversary"))


def recompute(session: Session, progress: Callable[[str], None] | None = None) -> int:
    """Awards every automatic badge that should have been awarded; returns how many were new."""
    count = 0
    for rule in RULES:
        badge = catalog_badge(session, rule)
        subquery = rule.qualifying(session).subquery()
        held = select(BadgeAward.user_id).where(BadgeAward.badge_id == badge.id)
        # A deleted account keeps its posts but receives nothing any more.
        deleted = select(User.id).where(col(User.deleted_at).is_not(None))
        user_ids = session.exec(
            select(subquery.c[0]).where(subquery.c[0].not_in(held), subquery.c[0].not_in(deleted))
        ).scalars().all()
        for user_id in user_ids:
            if _grant(session, badge=badge, user_id=user_id, by=None, reason="", circle_id=None):
                count += 1
        session.commit()
        if progress:
            progress(rule.slug)
    return count


# Manual badges ---------------------------------------------------------------------------


def create_badge(session: Session, *, by: User, name: str, description: str, tier: str, icon: str) -> Badge:
    permissions.require_admin(by)
    name, description = name.strip(), description.strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 60:
        errors["name"] = _("1 to 60 characters.")
    if len(description) > 300:
        errors["description"] = _("At most 300 characters.")
    if tier not in TIERS:
        errors["tier"] = _("Choose bronze, silver or gold.")
    if icon not in ICONS:
        errors["icon"] = _("Choose an icon from the list.")
    slug = "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())[:50] or "badge"
    if not errors and session.exec(select(Badge.id).where(Badge.slug == slug)).first() is not None:  # type: ignore[call-overload]
        errors["name"] = _("A badge already has this name.")
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    badge = Badge(slug=slug, name=name, description=description, tier=tier, icon=icon, automatic=False,
                  created_by_id=by.id)
    session.add(badge)
    audit.record(session, actor=by, action="badge_created", detail=name)
    session.commit()
    return badge


def get_badge(session: Session, slug: str) -> Badge:
    badge = session.exec(select(Badge).where(Badge.slug == slug[:60])).scalars().first()  # type: ignore[call-overload]
    if badge is None:
        raise NotFound()
    return badge


def _host_circle_of(session: Session, *, by: User, user_id: int, circle: Circle | None) -> int | None:
    """The circle through which `by` may recognise `user_id` (admins need none)."""
    if by.is_admin and circle is None:
        return None
    if circle is None:
        # Only staff are told to pick a circle; anyone else may not recognise anybody.
        if session.exec(permissions.moderated_circle_ids(by)).first() is None:  # type: ignore[call-overload]
            raise Forbidden(_("You can only recognise members of the circles you host."))
        raise Invalid(_("Choose the circle in which you recognise this member."))
    access = permissions.require_moderate(permissions.circle_access(session, by, circle))
    member = session.exec(
        select(Membership.id).where(Membership.circle_id == circle.id, Membership.user_id == user_id,
                                    Membership.state == "active")
    ).first()  # type: ignore[call-overload]
    if member is None:
        raise Forbidden(_("You can only recognise members of the circles you host."))
    return access.circle.id


def award_manual(session: Session, *, badge: Badge, user: User, by: User, reason: str,
                 circle: Circle | None) -> BadgeAward:
    if badge.automatic:
        raise Invalid(_("Automatic badges are awarded by their rule."))
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise Invalid(_("Say why, in 1 to 1,000 characters: the reason is shown on the award."),
                      reason=_("1 to 1,000 characters."))
    circle_id = _host_circle_of(session, by=by, user_id=user.id, circle=circle)  # type: ignore[arg-type]
    award = _grant(session, badge=badge, user_id=user.id, by=by, reason=reason, circle_id=circle_id)  # type: ignore[arg-type]
    if award is None:
        raise Invalid(_("%(name)s already holds this badge.", name=user.name))
    audit.record(session, actor=by, action="badge_awarded", target_user_id=user.id, circle_id=circle_id,
                 detail=badge.name, reason=reason)
    session.commit()
    return award


def revoke_award(session: Session, *, award_id: int, by: User, reason: str = "") -> BadgeAward:
    award = session.get(BadgeAward, award_id)
    if award is None or award.revoked_at is not None:
        raise NotFound()
    if not by.is_admin:
        circle = session.get(Circle, award.circle_id) if award.circle_id else None
        if circle is None:
            raise Forbidden(_("Only an administrator may take back this badge."))
        permissions.require_moderate(permissions.circle_access(session, by, circle))
    award.revoked_at = utcnow()
    award.revoked_by_id = by.id
    session.add(award)
    session.flush()
    refresh_best_badge(session, award.user_id)
    badge = session.get(Badge, award.badge_id)
    audit.record(session, actor=by, action="badge_revoked", target_user_id=award.user_id,
                 circle_id=award.circle_id, detail=badge.name if badge else "", reason=reason)
    session.commit()
    return award


# Reading ---------------------------------------------------------------------------------


def badges_of(session: Session, *, user: User) -> list[tuple[BadgeAward, Badge]]:
    """A member's badges, best first."""
    rows = session.exec(
        select(BadgeAward, Badge)  # type: ignore[call-overload]
        .join(Badge, col(Badge.id) == BadgeAward.badge_id)
        .where(BadgeAward.user_id == user.id, col(BadgeAward.revoked_at).is_(None))
    ).all()
    return sorted(rows, key=lambda row: (-TIER_RANK.get(row[1].tier, 0), row[0].created_at))


def badges_with_givers(session: Session, *, user: User) -> list[tuple[BadgeAward, Badge, User | None]]:
    """A member's badges, best first, each with who awarded it (None: earned automatically)."""
    giver = aliased(User)
    rows = session.exec(
        select(BadgeAward, Badge, giver)  # type: ignore[call-overload]
        .join(Badge, col(Badge.id) == BadgeAward.badge_id)
        .join(giver, giver.id == BadgeAward.awarded_by_id, isouter=True)
        .where(BadgeAward.user_id == user.id, col(BadgeAward.revoked_at).is_(None))
    ).all()
    return sorted(rows, key=lambda row: (-TIER_RANK.get(row[1].tier, 0), row[0].created_at))


def all_badges(session: Session) -> list[tuple[Badge, int]]:
    holders = (
        select(BadgeAward.badge_id, func.count().label("n"))
        .where(col(BadgeAward.revoked_at).is_(None))
        .group_by(col(BadgeAward.badge_id))
        .subquery()
    )
    rows = session.exec(
        select(Badge, func.coalesce(holders.c.n, 0))  # type: ignore[call-overload]
        .join(holders, holders.c.badge_id == Badge.id, isouter=True)
        .order_by(col(Badge.automatic).desc(), col(Badge.name))
    ).all()
    return sorted(((b, n) for b, n in rows), key=lambda row: (-TIER_RANK.get(row[0].tier, 0), row[0].name))


def holders(session: Session, *, badge: Badge, limit: int = 200) -> list[tuple[BadgeAward, User, User | None]]:
    giver = aliased(User)
    return list(session.exec(
        select(BadgeAward, User, giver)  # type: ignore[call-overload]
        .join(User, col(User.id) == BadgeAward.user_id)
        .join(giver, giver.id == BadgeAward.awarded_by_id, isouter=True)
        .where(BadgeAward.badge_id == badge.id, col(BadgeAward.revoked_at).is_(None), col(User.deleted_at).is_(None))
        .order_by(col(BadgeAward.created_at).desc())
        .limit(limit)
    ).all())


def best_badges(session: Session, badge_ids: set[int]) -> dict[int, Badge]:
    """The badges behind `user.best_badge_id` for a page's authors, in one query."""
    if not badge_ids:
        return {}
    rows = session.exec(select(Badge).where(col(Badge.id).in_(badge_ids))).scalars().all()  # type: ignore[call-overload]
    return {badge.id: badge for badge in rows}

