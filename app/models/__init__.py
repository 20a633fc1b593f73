"""All tables, imported here so `SQLModel.metadata` knows every one of them."""

from app.models.accounts import ApiToken, PasswordReset, RateEvent, SiteSetting, User, UserSession
from app.models.activity import ActivityDay, ActivityMonth, ActivityWeek, Notification, Visit
from app.models.base import utcnow
from app.models.circles import Circle, Invite, Membership
from app.models.conversations import Post, PostRevision, Reaction, ReadState, Thread
from app.models.moderation import Flag
from app.models.recognition import AmbassadorGrant, Badge, BadgeAward, ModerationAction, Pulse

__all__ = [
    "ActivityDay",
    "ActivityMonth",
    "ActivityWeek",
    "AmbassadorGrant",
    "Badge",
    "BadgeAward",
    "ModerationAction",
    "Pulse",
    "ApiToken",
    "Circle",
    "Flag",
    "Invite",
    "Membership",
    "Notification",
    "PasswordReset",
    "Post",
    "PostRevision",
    "RateEvent",
    "Reaction",
    "ReadState",
    "SiteSetting",
    "Thread",
    "User",
    "UserSession",
    "Visit",
    "utcnow",
]
