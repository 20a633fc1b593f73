"""The member pulse: "How likely are you to recommend us?" — asked rarely, answered in a click."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import String, case, cast, func, select
from sqlmodel import Session, col

from app.errors import Invalid
from app.i18n import _
from app.models import Membership, Pulse, User, utcnow

MIN_MEMBERSHIP = timedelta(days=14)
INTERVAL = timedelta(days=90)


def is_staff(session: Session, user: User) -> bool:
    if user.is_admin:
        return True
    return session.exec(
        select(Membership.id).where(Membership.user_id == user.id, Membership.role == "host",
                                    Membership.state == "active")
    ).first() is not None  # type: ignore[call-overload]


def should_ask(session: Session, *, user: User) -> bool:
    """Members of 14 days or more, at most once every 90 days (answered or dismissed)."""
    now = utcnow()
    if user.created_at > now - MIN_MEMBERSHIP:
        return False
    if user.pulse_dismissed_at and user.pulse_dismissed_at > now - INTERVAL:
        return False
    last = session.exec(
        select(Pulse.created_at).where(Pulse.user_id == user.id).order_by(col(Pulse.created_at).desc()).limit(1)
    ).scalar()  # type: ignore[call-overload]
    if last is not None and last > now - INTERVAL:
        return False
    return not is_staff(session, user)


def answer(session: Session, *, user: User, score: int | str, comment: str = "") -> Pulse:
    try:
        value = int(score)
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= 10:
        raise Invalid(_("Choose a score from 0 to 10."), score=_("From 0 to 10."))
    comment = comment.strip()
    if len(comment) > 1000:
        raise Invalid(_("At most 1,000 characters."), comment=_("At most 1,000 characters."))
    if not should_ask(session, user=user):
        raise Invalid(_("Thank you, we already have your answer for now."))
    row = Pulse(user_id=user.id, score=value, comment=comment)  # type: ignore[arg-type]
    session.add(row)
    session.commit()
    return row


def dismiss(session: Session, *, user: User) -> None:
    user.pulse_dismissed_at = utcnow()
    session.add(user)
    session.commit()


@dataclass
class PulseSummary:
    month: str
    responses: int
    nps: float | None


def answers(session: Session, *, limit: int = 200) -> list[tuple[Pulse, User]]:
    return list(session.exec(
        select(Pulse, User).join(User, col(User.id) == Pulse.user_id)  # type: ignore[call-overload]
        .order_by(col(Pulse.created_at).desc()).limit(limit)
    ).all())


def trend(session: Session, *, months: int = 12) -> list[PulseSummary]:
    """NPS per calendar month (each member's latest answer in the month), oldest first, in SQL."""
    from app.services.sqlutil import utc_date

    since = (utcnow() - timedelta(days=31 * months)).replace(day=1)
    month = func.substr(cast(utc_date(Pulse.created_at, session), String), 1, 7).label("month")
    ranked = (
        select(
            month,
            Pulse.score,
            func.row_number()
            .over(partition_by=(Pulse.user_id, month), order_by=(col(Pulse.created_at).desc(), col(Pulse.id).desc()))
            .label("rank"),
        )
        .where(col(Pulse.created_at) >= since)
        .subquery()
    )
    rows = session.exec(
        select(
            ranked.c.month,
            func.count(),
            func.sum(case((ranked.c.score >= 9, 1), else_=0)),
            func.sum(case((ranked.c.score <= 6, 1), else_=0)),
        )  # type: ignore[call-overload]
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.month)
        .order_by(ranked.c.month)
    ).all()
    return [PulseSummary(month=m, responses=n, nps=_nps(int(p), int(d), int(n))) for m, n, p, d in rows]


def _nps(promoters: int, detractors: int, total: int) -> float | None:
    if not total:
        return None
    value = Decimal(100 * (promoters - detractors)) / Decimal(total)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
