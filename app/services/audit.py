"""The audit log: nothing a moderator or host does is silent."""

from sqlmodel import Session

from app.models import ModerationAction, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target_user_id: int | None = None,
    circle_id: int | None = None,
    thread_id: int | None = None,
    post_id: int | None = None,
    detail: str = "",
    reason: str = "",
) -> None:
    session.add(
        ModerationAction(
            actor_id=actor.id if actor else None,
            action=action,
            target_user_id=target_user_id,
            circle_id=circle_id,
            thread_id=thread_id,
            post_id=post_id,
            detail=detail[:200],
            reason=reason[:1000],
        )
    )
