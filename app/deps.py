"""Annotated dependencies: the database session and who is asking."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.db import get_session
from app.errors import Forbidden, SignInRequired
from app.i18n import _
from app.middleware import SESSION_COOKIE
from app.models import User, UserSession
from app.security import csrf_token_for
from app.services import accounts, visits

SessionDep = Annotated[Session, Depends(get_session)]


@dataclass
class Auth:
    user: User | None
    user_session: UserSession | None
    via: str  # "cookie", "bearer" or "none"
    csrf_seed: str

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.csrf_seed)


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def get_auth(request: Request, session: SessionDep) -> Auth:
    bearer = _bearer_token(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    anon_seed = getattr(request.state, "anon_seed", None) or ""
    auth = Auth(user=None, user_session=None, via="none", csrf_seed="anon:" + anon_seed)
    if bearer and not cookie:
        user = accounts.api_token_user(session, bearer)
        if user is None:
            raise SignInRequired(_("This API token is not valid."))
        auth = Auth(user=user, user_session=None, via="bearer", csrf_seed="")
    elif cookie:
        found = accounts.session_user(session, cookie)
        if found is not None:
            user_session, user = found
            auth = Auth(user=user, user_session=user_session, via="cookie", csrf_seed=cookie)
            accounts.touch_session(session, user_session)
            visits.record_site_visit(session, user_session=user_session)
    request.state.auth = auth
    return auth


AuthDep = Annotated[Auth, Depends(get_auth)]


# The dependencies below do no I/O: `async def` runs them on the event loop, where a plain
# `def` would cost each request one more round trip through the thread pool.
async def get_optional_user(auth: AuthDep) -> User | None:
    return auth.user


async def get_current_user(auth: AuthDep) -> User:
    if auth.user is None:
        raise SignInRequired(_("Please sign in to continue."))
    return auth.user


async def get_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_admin:
        raise Forbidden(_("Only administrators may do this."))
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin)]
