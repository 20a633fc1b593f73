"""The member pulse: who is asked and when, what an answer may be, and the monthly NPS trend."""

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.errors import Invalid
from app.models import Pulse, User, utcnow
from app.services import pulse
from tests.factories import add_member, make_admin, make_circle, make_user


def _member(db: Session, username: str = "alice", *, age_days: int = 30) -> User:
    user = make_user(db, username)
    user.created_at = utcnow() - timedelta(days=age_days)
    db.add(user)
    db.commit()
    return user


def _answer_at(db: Session, user: User, score: int, when: datetime, comment: str = "") -> None:
    db.add(Pulse(user_id=user.id, score=score, comment=comment, created_at=when))  # type: ignore[arg-type]
    db.commit()


def _previous_month(day: int = 3, hour: int = 12) -> datetime:
    first = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=day, hour=hour)


# Who is asked -------------------------------------------------------------------------------------


def test_a_member_of_14_days_is_asked(db: Session) -> None:
    assert pulse.should_ask(db, user=_member(db, age_days=14))


def test_a_member_of_13_days_is_not_asked(db: Session) -> None:
    assert not pulse.should_ask(db, user=_member(db, age_days=13))


def test_a_brand_new_account_is_not_asked(db: Session) -> None:
    assert not pulse.should_ask(db, user=make_user(db, "newbie"))


def test_an_admin_is_not_asked(db: Session) -> None:
    admin = make_admin(db)
    admin.created_at = utcnow() - timedelta(days=400)
    db.add(admin)
    db.commit()
    assert not pulse.should_ask(db, user=admin)


def test_a_host_is_not_asked(db: Session) -> None:
    host = _member(db, "hostess")
    add_member(db, make_circle(db), host, host=True)
    assert not pulse.should_ask(db, user=host)


def test_a_plain_member_of_a_circle_is_asked(db: Session) -> None:
    alice = _member(db)
    add_member(db, make_circle(db), alice)
    assert pulse.should_ask(db, user=alice)


def test_a_member_is_not_asked_again_after_answering(db: Session) -> None:
    alice = _member(db)
    pulse.answer(db, user=alice, score=9)
    assert not pulse.should_ask(db, user=alice)


def test_a_member_is_not_asked_within_90_days_of_an_answer(db: Session) -> None:
    alice = _member(db, age_days=400)
    _answer_at(db, alice, 8, utcnow() - timedelta(days=89))
    assert not pulse.should_ask(db, user=alice)


def test_a_member_is_asked_again_90_days_after_an_answer(db: Session) -> None:
    alice = _member(db, age_days=400)
    _answer_at(db, alice, 8, utcnow() - timedelta(days=91))
    assert pulse.should_ask(db, user=alice)


def test_a_member_is_not_asked_after_dismissing(db: Session) -> None:
    alice = _member(db)
    pulse.dismiss(db, user=alice)
    assert alice.pulse_dismissed_at is not None
    assert not pulse.should_ask(db, user=alice)


def test_a_member_is_not_asked_within_90_days_of_a_dismissal(db: Session) -> None:
    alice = _member(db, age_days=400)
    alice.pulse_dismissed_at = utcnow() - timedelta(days=89)
    db.add(alice)
    db.commit()
    assert not pulse.should_ask(db, user=alice)


def test_a_member_is_asked_again_90_days_after_a_dismissal(db: Session) -> None:
    alice = _member(db, age_days=400)
    alice.pulse_dismissed_at = utcnow() - timedelta(days=91)
    db.add(alice)
    db.commit()
    assert pulse.should_ask(db, user=alice)


# Answers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 10, "7"])
def test_scores_from_0_to_10_are_recorded(db: Session, score: int | str) -> None:
    alice = _member(db)
    row = pulse.answer(db, user=alice, score=score, comment="  Great people.  ")
    stored = db.get(Pulse, row.id)
    assert stored is not None and stored.score == int(score) and stored.comment == "Great people."


@pytest.mark.parametrize("score", [-1, 11, "", "ten", "5.5"])
def test_a_score_outside_0_to_10_is_refused(db: Session, score: int | str) -> None:
    alice = _member(db)
    with pytest.raises(Invalid) as error:
        pulse.answer(db, user=alice, score=score)
    assert "score" in error.value.fields
    assert db.exec(select(Pulse)).all() == []


def test_a_comment_over_1000_characters_is_refused(db: Session) -> None:
    alice = _member(db)
    with pytest.raises(Invalid):
        pulse.answer(db, user=alice, score=8, comment="x" * 1001)


def test_a_second_answer_within_90_days_is_refused(db: Session) -> None:
    alice = _member(db)
    pulse.answer(db, user=alice, score=8)
    with pytest.raises(Invalid):
        pulse.answer(db, user=alice, score=10)
    assert len(db.exec(select(Pulse)).all()) == 1


def test_staff_cannot_answer(db: Session) -> None:
    admin = make_admin(db)
    admin.created_at = utcnow() - timedelta(days=400)
    db.add(admin)
    db.commit()
    with pytest.raises(Invalid):
        pulse.answer(db, user=admin, score=10)


def test_answers_are_listed_newest_first_with_their_author(db: Session) -> None:
    alice, bob = _member(db, "alice"), _member(db, "bob")
    _answer_at(db, alice, 9, utcnow() - timedelta(days=2), "Love it")
    _answer_at(db, bob, 3, utcnow() - timedelta(days=1), "Too slow")
    assert [(u.username, p.score, p.comment) for p, u in pulse.answers(db)] == [
        ("bob", 3, "Too slow"), ("alice", 9, "Love it")]


# NPS trend ----------------------------------------------------------------------------------------


def test_nps_of_a_month_with_scores_10_9_8_6_is_25(db: Session) -> None:
    when = _previous_month()
    for index, score in enumerate([10, 9, 8, 6]):
        _answer_at(db, _member(db, f"member{index}"), score, when + timedelta(hours=index))
    (month,) = pulse.trend(db)
    assert (month.month, month.responses, month.nps) == (when.strftime("%Y-%m"), 4, 25.0)


def test_nps_uses_each_members_latest_answer_in_the_month(db: Session) -> None:
    when = _previous_month(day=2)
    alice, bob = _member(db, "alice"), _member(db, "bob")
    _answer_at(db, alice, 0, when)
    _answer_at(db, alice, 10, when + timedelta(days=5))
    _answer_at(db, bob, 10, when + timedelta(days=1))
    (month,) = pulse.trend(db)
    assert (month.responses, month.nps) == (2, 100.0)


def test_nps_is_computed_month_by_month_oldest_first(db: Session) -> None:
    previous = _previous_month()
    alice = _member(db, "alice")
    _answer_at(db, alice, 2, previous)
    _answer_at(db, alice, 10, utcnow())
    rows = pulse.trend(db)
    assert [(r.month, r.responses, r.nps) for r in rows] == [
        (previous.strftime("%Y-%m"), 1, -100.0), (utcnow().strftime("%Y-%m"), 1, 100.0)]


def test_nps_is_rounded_half_away_from_zero(db: Session) -> None:
    when = _previous_month()
    # 1 promoter and 15 passives: 100 × 1/16 = 6.25 → 6.3.
    scores = [10] + [8] * 15
    for index, score in enumerate(scores):
        _answer_at(db, _member(db, f"member{index}"), score, when)
    (month,) = pulse.trend(db)
    assert month.nps == 6.3


def test_a_negative_nps_is_rounded_half_away_from_zero(db: Session) -> None:
    when = _previous_month()
    scores = [0] + [7] * 15  # -6.25 → -6.3
    for index, score in enumerate(scores):
        _answer_at(db, _member(db, f"member{index}"), score, when)
    (month,) = pulse.trend(db)
    assert month.nps == -6.3


def test_answers_older_than_the_twelve_months_are_left_out_of_the_trend(db: Session) -> None:
    _answer_at(db, _member(db), 10, utcnow() - timedelta(days=420))
    assert pulse.trend(db) == []
