"""Accounts: registration, sign-in with throttling, sessions, passwords, API tokens."""

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.config import get_settings
from app.db import open_session
from app.errors import Forbidden, Invalid, NotFound, RateLimited
from app.i18n import LANGUAGES, _
from app.models import ApiToken, PasswordReset, User, UserSession, utcnow
from app.security import hash_password, new_token, token_hash, verify_password
from app.services import ratelimit
from app.text import render_markdown

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
REGISTRATION_LIMIT = 5  # accounts per IP per hour


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_password_rules(password: str, field: str = "password") -> None:
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        raise Invalid(
            _("Passwords need at least %(n)s characters.", n=minimum),
            **{field: _("At least %(n)s characters.", n=minimum)},
        )
    if len(password) > 1024:
        raise Invalid(_("That password is too long."), **{field: _("At most 1,024 characters.")})


def find_by_login(session: Session, login: str) -> User | None:
    login = login.strip()
    if not login:
        return None
    if "@" in login:
        statement = select(User).where(User.email == login.lower())
    else:
        statement = select(User).where(User.username == normalise_username(login))
    return session.exec(statement).first()


def register_user(
    session: Session,
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    language: str | None = None,
    ip: str = "",
    is_admin: bool = False,
    commit: bool = True,
) -> User:
    """Creates an account. The caller decides whether registration is open (see `invites`)."""
    username = normalise_username(username)
    email = email.strip().lower()
    display_name = display_name.strip()
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = _("3 to 30 characters: lowercase letters, digits and _.")
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = _("Enter a valid e-mail address.")
    if len(display_name) > 60:
        errors["display_name"] = _("At most 60 characters.")
    try:
        check_password_rules(password)
    except Invalid as error:
        errors.update(error.fields)
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    if ip:
        key = f"register:{ip}"
        if ratelimit.count_recent(session, key, within=timedelta(hours=1)) >= REGISTRATION_LIMIT:
            raise RateLimited(_("Too many accounts were created from here. Try again later."))
        ratelimit.record(session, key)
    taken = session.exec(
        select(User.id).where(or_(User.username == username, User.email == email))
    ).first()
    if taken is not None:
        # One message for both: an e-mail address must not be confirmable from outside.
        message = _("This username or e-mail address is not available.")
        raise Invalid(message, username=message)
    user = User(
        username=username,
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        language=language if language in LANGUAGES else None,
        is_admin=is_admin,
    )
    session.add(user)
    if commit:
        session.commit()
    else:
        session.flush()
    return user


def _suspension_message(user: User) -> str | None:
    if user.suspended_until and user.suspended_until > utcnow():
        return _(
            "This account is suspended until %(until)s. Reason: %(reason)s",
            until=user.suspended_until.strftime("%Y-%m-%d %H:%M UTC"),
            reason=user.suspended_reason or "—",
        )
    return None


def authenticate(session: Session, *, login: str, password: str, ip: str = "") -> User:
    """The user whose login and password match, or a generic refusal (no enumeration)."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    keys = [f"login:{login.strip().lower()[:150]}"] + ([f"login-ip:{ip}"] if ip else [])
    ip_limit = settings.login_max_failures * 4
    for key in keys:
        limit = ip_limit if key.startswith("login-ip:") else settings.login_max_failures
        if ratelimit.count_recent(session, key, within=window) >= limit:
            raise RateLimited(
                _("Too many failed attempts. Wait %(n)s minutes and try again.",
                  n=settings.login_window_minutes),
                retry_after=int(window.total_seconds()),
            )
    user = find_by_login(session, login)
    ok, new_hash = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or user.is_deleted:
        for key in keys:
            ratelimit.record(session, key)
        session.commit()
        raise Invalid(_("Wrong username or password."), password=_("Wrong username or password."))
    suspended = _suspension_message(user)
    if suspended:
        raise Forbidden(suspended)
    if new_hash:
        user.password_hash = new_hash
        session.add(user)
    ratelimit.clear(session, keys[0])
    session.commit()
    return user


@dataclass
class NewSession:
    token: str
    row: UserSession


def start_session(session: Session, *, user: User, user_agent: str = "", ip: str = "") -> NewSession:
    """A new random token at every sign-in: a session id fixed before sign-in is never reused."""
    token = new_token()
    now = utcnow()
    row = UserSession(
        user_id=user.id,  # type: ignore[arg-type]
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=get_settings().session_days),
        user_agent=user_agent[:300],
        ip=ip[:64],
    )
    session.add(row)
    session.commit()
    return NewSession(token=token, row=row)


# Asked on every request that carries a session cookie: built once.
_SESSION_AND_USER = (
    select(UserSession, User)
    .join(User, col(User.id) == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def session_user(session: Session, token: str) -> tuple[UserSession, User] | None:
    """The live session and its user for a cookie token, or None (expired, revoked, suspended)."""
    row = session.exec(_SESSION_AND_USER, params={"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    user_session, user = row
    now = utcnow()
    if user_session.expires_at <= now or user.is_deleted or _suspension_message(user):
        return None
    return user_session, user


def touch_session(session: Session, user_session: UserSession) -> None:
    """Refreshes `last_seen_at` at most every few minutes: not a write per request."""
    now = utcnow()
    if now - user_session.last_seen_at < SESSION_TOUCH_INTERVAL:
        return
    # Its own short transaction: the request's may be a read-only one. The request's own
    # transaction ends first: on SQLite a POST's BEGIN IMMEDIATE holds the write lock, and the
    # writer would wait on it until the busy timeout.
    session.commit()
    with open_session() as writer:
        writer.exec(
            update(UserSession)
            .where(col(UserSession.id) == user_session.id)
            .values(last_seen_at=now)
        )
        writer.commit()
    set_committed_value(user_session, "last_seen_at", now)


def end_session(session: Session, *, token: str) -> None:
    session.exec(delete(UserSession).where(col(UserSession.token_hash) == token_hash(token)))
    session.commit()


def list_sessions(session: Session, *, user: User) -> list[UserSession]:
    statement = (
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.expires_at > utcnow())
        .order_by(col(UserSession.last_seen_at).desc())
    )
    return list(session.exec(statement).all())


def revoke_session(session: Session, *, user: User, session_id: int) -> None:
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("That session does not exist."))
    session.delete(row)
    session.commit()


def revoke_other_sessions(session: Session, *, user: User, keep_id: int | None) -> int:
    statement = delete(UserSession).where(col(UserSession.user_id) == user.id)
    if keep_id is not None:
        statement = statement.where(col(UserSession.id) != keep_id)
    result = session.exec(statement)
    session.commit()
    return result.rowcount or 0


def change_password(
    session: Session, *, user: User, current: str, new: str, keep_session_id: int | None
) -> None:
    ok, _new_hash = verify_password(current, user.password_hash)
    if not ok:
        raise Invalid(_("Your current password is not right."),
                      current_password=_("Your current password is not right."))
    check_password_rules(new, field="new_password")
    user.password_hash = hash_password(new)
    session.add(user)
    session.commit()
    revoke_other_sessions(session, user=user, keep_id=keep_session_id)


def update_profile(
    session: Session, *, user: User, display_name: str, bio: str, language: str | None
) -> User:
    display_name = display_name.strip()
    errors: dict[str, str] = {}
    if len(display_name) > 60:
        errors["display_name"] = _("At most 60 characters.")
    if len(bio) > 1000:
        errors["bio"] = _("At most 1,000 characters.")
    if language and language not in LANGUAGES:
        errors["language"] = _("Choose a language from the list.")
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    user.display_name = display_name
    user.bio_md = bio
    user.bio_html = render_markdown(bio)
    user.language = language or None
    session.add(user)
    session.commit()
    return user


# Password resets ---------------------------------------------------------------------------


def create_reset_token(session: Session, *, user: User) -> str:
    token = new_token()
    now = utcnow()
    session.add(
        PasswordReset(
            user_id=user.id,  # type: ignore[arg-type]
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(minutes=get_settings().reset_token_minutes),
        )
    )
    session.commit()
    return token


def reset_link(token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/reset/{token}"


def _usable_reset(session: Session, token: str) -> PasswordReset:
    reset = session.exec(
        select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
    ).first()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise NotFound(_("This reset link is not valid any more. Ask for a new one."))
    return reset


def check_reset_token(session: Session, *, token: str) -> None:
    _usable_reset(session, token)


def reset_password(session: Session, *, token: str, new_password: str) -> User:
    reset = _usable_reset(session, token)
    check_password_rules(new_password)
    user = session.get(User, reset.user_id)
    if user is None or user.is_deleted:
        raise NotFound(_("This reset link is not valid any more. Ask for a new one."))
    user.password_hash = hash_password(new_password)
    reset.used_at = utcnow()
    session.add_all([user, reset])
    session.commit()
    # Whoever knew the old password is signed out everywhere.
    revoke_other_sessions(session, user=user, keep_id=None)
    return user


# API tokens --------------------------------------------------------------------------------


def create_api_token(session: Session, *, user: User, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 60:
        raise Invalid(_("Give the token a name of 1 to 60 characters."),
                      name=_("1 to 60 characters."))
    token = "cercle_" + new_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=token_hash(token)))  # type: ignore[arg-type]
    session.commit()
    return token


def list_api_tokens(session: Session, *, user: User) -> list[ApiToken]:
    statement = select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.id))
    return list(session.exec(statement).all())


def revoke_api_token(session: Session, *, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("That token does not exist."))
    session.delete(row)
    session.commit()


def api_token_user(session: Session, token: str) -> User | None:
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if user.is_deleted or _suspension_message(user):
        return None
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at >= SESSION_TOUCH_INTERVAL:
        session.commit()  # releases SQLite's write lock held by a POST's request transaction
        with open_session() as writer:
            writer.exec(
                update(ApiToken).where(col(ApiToken.id) == api_token.id).values(last_used_at=now)
            )
            writer.commit()
    return user


def create_admin(session: Session, *, username: str, email: str, password: str) -> User:
    return register_user(
        session, username=username, email=email, password=password, is_admin=True
    )


def send_reset_mail(session: Session, *, login: str) -> None:
    """Mails a reset link when the account exists; says nothing either way (no enumeration)."""
    from app.services.mail import send_mail

    user = find_by_login(session, login)
    if user is None or user.is_deleted or not user.email:
        return
    key = f"reset:{user.id}"
    if ratelimit.count_recent(session, key, within=timedelta(hours=1)) >= 3:
        return
    ratelimit.record(session, key)
    token = create_reset_token(session, user=user)
    send_mail(
        to=user.email,
        subject=_("Reset your password"),
        body=_(
            "Someone asked to reset the password of %(username)s.\n\n"
            "To choose a new password, open this link within %(minutes)s minutes:\n%(link)s\n\n"
            "If it was not you, ignore this message: your password stays the same.",
            username=user.username,
            minutes=get_settings().reset_token_minutes,
            link=reset_link(token),
        ),
    )


def set_language(session: Session, *, user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise Invalid(_("Choose a language from the list."))
    user.language = language
    session.add(user)
    session.commit()
