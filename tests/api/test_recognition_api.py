"""The recognition API: badges, awards, ambassador grants and the pulse, with the pages' permissions."""

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import AmbassadorGrant, BadgeAward, ModerationAction, Pulse, User, utcnow
from app.services import accounts, ambassadors, badges
from tests.factories import add_member, make_admin, make_circle, make_thread, make_user


class Api:
    """One person calling the API with a personal token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", json=body if body is not None else {}, headers=self.headers)


def _api(client: TestClient, db: Session, user: User) -> Api:
    return Api(client, accounts.create_api_token(db, user=user, name="tests"))


def _fresh(db: Session, model: Any, **where: Any) -> list[Any]:
    db.expire_all()
    statement = select(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    rows = list(db.exec(statement).all())
    db.commit()
    return rows


def _world(db: Session) -> dict[str, Any]:
    """An admin, a host of "espresso", Alice (a member there), Olivia (in "tea" only); a manual badge."""
    admin = make_admin(db)
    espresso = make_circle(db, "espresso", by=admin)
    tea = make_circle(db, "tea", by=admin)
    host, alice, olivia = make_user(db, "hostess"), make_user(db, "alice"), make_user(db, "olivia")
    add_member(db, espresso, host, host=True)
    add_member(db, espresso, alice)
    add_member(db, tea, olivia)
    badge = badges.create_badge(db, by=admin, name="Barista of the Month", description="Pulled the best shots.",
                                tier="gold", icon="coffee")
    return {"admin": admin, "host": host, "alice": alice, "olivia": olivia, "espresso": espresso, "badge": badge}


AWARDS = "/badges/barista-of-the-month/awards"


# Badges -------------------------------------------------------------------------------------------


def test_badges_need_authentication(client: TestClient, db: Session) -> None:
    assert client.get("/api/v1/badges").status_code == 401


def test_any_member_lists_the_badges_with_their_holders(client: TestClient, db: Session) -> None:
    world = _world(db)
    badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"], reason="Great",
                        circle=world["espresso"])
    response = _api(client, db, world["olivia"]).get("/badges")
    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()}
    assert {"first-post", "welcomer", "helpful-100", "anniversary"} <= set(rows)
    assert rows["barista-of-the-month"] == {
        "slug": "barista-of-the-month", "name": "Barista of the Month", "description": "Pulled the best shots.",
        "tier": "gold", "icon": "coffee", "automatic": False, "holders": 1}
    assert rows["first-post"]["automatic"] is True


def test_an_admin_creates_a_badge(client: TestClient, db: Session) -> None:
    admin = make_admin(db)
    response = _api(client, db, admin).post("/badges", {"name": "Tea Whisperer", "tier": "silver", "icon": "leaf"})
    assert response.status_code == 201
    assert response.json()["slug"] == "tea-whisperer"


def test_creating_a_badge_with_a_bad_tier_is_a_422(client: TestClient, db: Session) -> None:
    admin = make_admin(db)
    response = _api(client, db, admin).post("/badges", {"name": "Tea Whisperer", "tier": "platinum"})
    assert response.status_code == 422


def test_creating_a_badge_with_a_name_over_60_characters_is_a_422(client: TestClient, db: Session) -> None:
    admin = make_admin(db)
    assert _api(client, db, admin).post("/badges", {"name": "n" * 61}).status_code == 422


def test_a_host_cannot_create_a_badge(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["host"]).post("/badges", {"name": "Mine"}).status_code == 403


def test_a_host_awards_a_badge_with_a_reason(client: TestClient, db: Session) -> None:
    world = _world(db)
    response = _api(client, db, world["host"]).post(AWARDS, {"username": "alice", "reason": "Latte art",
                                                             "circle": "espresso"})
    assert response.status_code == 201
    body = response.json()
    assert (body["badge"], body["username"], body["reason"], body["awarded_by"], body["revoked"]) == (
        "barista-of-the-month", "alice", "Latte art", "hostess", False)


def test_the_awards_of_a_badge_show_the_public_reason(client: TestClient, db: Session) -> None:
    world = _world(db)
    badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"], reason="Latte art",
                        circle=world["espresso"])
    response = _api(client, db, world["olivia"]).get(AWARDS)
    assert [(a["username"], a["reason"], a["awarded_by"]) for a in response.json()] == [
        ("alice", "Latte art", "hostess")]


def test_an_award_with_an_empty_reason_is_a_422(client: TestClient, db: Session) -> None:
    world = _world(db)
    response = _api(client, db, world["host"]).post(AWARDS, {"username": "alice", "reason": "  ",
                                                             "circle": "espresso"})
    assert response.status_code == 422
    assert _fresh(db, BadgeAward) == []


def test_a_host_cannot_award_to_someone_outside_their_circles(client: TestClient, db: Session) -> None:
    world = _world(db)
    api = _api(client, db, world["host"])
    assert api.post(AWARDS, {"username": "olivia", "reason": "Tea", "circle": "espresso"}).status_code == 403
    assert _fresh(db, BadgeAward) == []


def test_a_member_cannot_award_a_badge(client: TestClient, db: Session) -> None:
    world = _world(db)
    api = _api(client, db, world["alice"])
    assert api.post(AWARDS, {"username": "hostess", "reason": "Great", "circle": "espresso"}).status_code == 403
    assert api.post(AWARDS, {"username": "hostess", "reason": "Great"}).status_code == 403
    assert _fresh(db, BadgeAward) == []


def test_a_host_revokes_an_award_and_the_row_stays(client: TestClient, db: Session) -> None:
    world = _world(db)
    award = badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"], reason="Great",
                                circle=world["espresso"])
    response = _api(client, db, world["host"]).post(f"/awards/{award.id}/revoke", {"reason": "Mistake"})
    assert response.status_code == 204
    (row,) = _fresh(db, BadgeAward)
    assert row.revoked_at is not None
    (audit,) = _fresh(db, ModerationAction, action="badge_revoked")
    assert audit.reason == "Mistake"


def test_a_member_cannot_revoke_an_award(client: TestClient, db: Session) -> None:
    world = _world(db)
    award = badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"], reason="Great",
                                circle=world["espresso"])
    response = _api(client, db, world["alice"]).post(f"/awards/{award.id}/revoke", {"reason": "Modesty"})
    assert response.status_code == 403
    (row,) = _fresh(db, BadgeAward)
    assert row.revoked_at is None


def test_a_members_badges_are_listed_best_first(client: TestClient, db: Session) -> None:
    world = _world(db)
    bronze = badges.create_badge(db, by=world["admin"], name="Bean Counter", description="", tier="bronze",
                                 icon="star")
    silver = badges.create_badge(db, by=world["admin"], name="Milk Frother", description="", tier="silver",
                                 icon="heart")
    for badge in (bronze, world["badge"], silver):
        badges.award_manual(db, badge=badge, user=world["alice"], by=world["host"], reason="Yes",
                            circle=world["espresso"])
    response = _api(client, db, world["olivia"]).get("/users/alice/badges")
    assert [a["badge"] for a in response.json()] == ["barista-of-the-month", "milk-frother", "bean-counter"]


def test_a_members_badges_say_who_awarded_them_and_null_for_automatic_ones(client: TestClient, db: Session) -> None:
    world = _world(db)
    badges.award_manual(db, badge=world["badge"], user=world["alice"], by=world["host"], reason="Latte art",
                        circle=world["espresso"])
    make_thread(db, world["espresso"], world["alice"], title="Hello", body="My first post")
    response = _api(client, db, world["olivia"]).get("/users/alice/badges")
    assert {(a["badge"], a["awarded_by"]) for a in response.json()} == {
        ("barista-of-the-month", "hostess"), ("first-post", None)}


def test_the_openapi_document_describes_who_awarded_a_badge(client: TestClient, db: Session) -> None:
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/v1/users/{username}/badges"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["items"]["$ref"] == "#/components/schemas/AwardOut"
    field = spec["components"]["schemas"]["AwardOut"]["properties"]["awarded_by"]
    assert {option.get("type") for option in field["anyOf"]} == {"string", "null"}
    assert "null when it was earned automatically" in field["description"]
    assert "awarded_by" in spec["components"]["schemas"]["AwardOut"]["required"]


# Ambassadors --------------------------------------------------------------------------------------


def test_an_admin_grants_the_ambassador_role(client: TestClient, db: Session) -> None:
    world = _world(db)
    response = _api(client, db, world["admin"]).post("/users/alice/ambassador", {"reason": "Welcomes all"})
    assert response.status_code == 201
    assert (response.json()["username"], response.json()["reason"]) == ("alice", "Welcomes all")


def test_a_host_grants_the_role_to_a_member_of_their_circle(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["host"]).post("/users/alice/ambassador", {"reason": "Yes"}).status_code == 201


def test_a_host_cannot_grant_the_role_outside_their_circles(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["host"]).post("/users/olivia/ambassador", {"reason": "Yes"}).status_code == 403
    assert _fresh(db, AmbassadorGrant) == []


def test_a_member_cannot_grant_the_role(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["alice"]).post("/users/hostess/ambassador", {"reason": "Yes"}).status_code == 403


def test_a_grant_with_an_empty_reason_is_a_422(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["admin"]).post("/users/alice/ambassador", {"reason": ""}).status_code == 422


def test_revoking_the_role_answers_with_the_closed_grant(client: TestClient, db: Session) -> None:
    world = _world(db)
    ambassadors.grant(db, member=world["alice"], by=world["admin"], reason="Welcomes all")
    response = _api(client, db, world["host"]).post("/users/alice/ambassador/revoke", {"reason": "Ended"})
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    (grant,) = _fresh(db, AmbassadorGrant)
    assert grant.revoke_reason == "Ended"


def test_a_member_cannot_revoke_the_role(client: TestClient, db: Session) -> None:
    world = _world(db)
    bob = make_user(db, "bob")
    add_member(db, world["espresso"], bob)
    ambassadors.grant(db, member=bob, by=world["admin"], reason="Welcomes all")
    response = _api(client, db, world["alice"]).post("/users/bob/ambassador/revoke", {"reason": "Jealous"})
    assert response.status_code == 403


def test_the_program_history_keeps_grants_and_revocations_for_staff(client: TestClient, db: Session) -> None:
    world = _world(db)
    ambassadors.grant(db, member=world["alice"], by=world["admin"], reason="First")
    ambassadors.revoke(db, member=world["alice"], by=world["admin"], reason="Break")
    ambassadors.grant(db, member=world["alice"], by=world["host"], reason="Again")
    response = _api(client, db, world["host"]).get("/ambassadors")
    assert response.status_code == 200
    assert [(g["reason"], g["revoked_at"] is not None) for g in response.json()] == [("Again", False),
                                                                                     ("First", True)]


def test_a_member_cannot_read_the_program_history(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["alice"]).get("/ambassadors").status_code == 403


# Pulse --------------------------------------------------------------------------------------------


def _aged(db: Session, user: User, days: int = 30) -> User:
    user.created_at = utcnow() - timedelta(days=days)
    db.add(user)
    db.commit()
    return user


def test_the_pulse_state_says_whether_to_ask(client: TestClient, db: Session) -> None:
    old, new = _aged(db, make_user(db, "oldtimer")), make_user(db, "newbie")
    assert _api(client, db, old).get("/pulse").json() == {"ask": True}
    assert _api(client, db, new).get("/pulse").json() == {"ask": False}


def test_staff_are_not_asked(client: TestClient, db: Session) -> None:
    world = _world(db)
    _aged(db, world["host"])
    _aged(db, world["admin"])
    assert _api(client, db, world["host"]).get("/pulse").json() == {"ask": False}
    assert _api(client, db, world["admin"]).get("/pulse").json() == {"ask": False}


def test_answering_the_pulse_records_it_and_stops_asking(client: TestClient, db: Session) -> None:
    api = _api(client, db, _aged(db, make_user(db, "alice")))
    response = api.post("/pulse", {"score": 9, "comment": "Lovely"})
    assert response.status_code == 201 and response.json() == {"ask": False}
    assert api.get("/pulse").json() == {"ask": False}
    (answer,) = _fresh(db, Pulse)
    assert (answer.score, answer.comment) == (9, "Lovely")


def test_a_score_outside_0_to_10_is_a_422(client: TestClient, db: Session) -> None:
    api = _api(client, db, _aged(db, make_user(db, "alice")))
    for score in (11, -1):
        assert api.post("/pulse", {"score": score}).status_code == 422
    assert _fresh(db, Pulse) == []


def test_a_second_answer_within_90_days_is_a_422(client: TestClient, db: Session) -> None:
    api = _api(client, db, _aged(db, make_user(db, "alice")))
    assert api.post("/pulse", {"score": 9}).status_code == 201
    assert api.post("/pulse", {"score": 3}).status_code == 422


def test_dismissing_the_pulse_stops_asking(client: TestClient, db: Session) -> None:
    api = _api(client, db, _aged(db, make_user(db, "alice")))
    assert api.post("/pulse/dismiss").status_code == 204
    assert api.get("/pulse").json() == {"ask": False}


def test_an_admin_reads_the_pulse_answers(client: TestClient, db: Session) -> None:
    admin = make_admin(db)
    alice = _aged(db, make_user(db, "alice"))
    db.add(Pulse(user_id=alice.id, score=6, comment="Too quiet", created_at=utcnow()))  # type: ignore[arg-type]
    db.commit()
    response = _api(client, db, admin).get("/pulse/answers")
    assert response.status_code == 200
    assert [(a["username"], a["score"], a["comment"]) for a in response.json()] == [("alice", 6, "Too quiet")]


def test_members_and_hosts_cannot_read_the_pulse_answers(client: TestClient, db: Session) -> None:
    world = _world(db)
    assert _api(client, db, world["alice"]).get("/pulse/answers").status_code == 403
    assert _api(client, db, world["host"]).get("/pulse/answers").status_code == 403
