"""Token endpoint (OAuth2 password flow), the current user and personal tokens."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from app.deps import CurrentUser, SessionDep
from app.routers.api.schemas import ApiTokenIn, ApiTokenOut, MeOut, NewApiTokenOut, TokenOut
from app.routers.forms import client_ip
from app.services import accounts, personal_data

router = APIRouter(tags=["api: account"])


@router.post("/auth/token", response_model=TokenOut)
def token(request: Request, session: SessionDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Exchange a username (or e-mail) and password for a personal API token."""
    user = accounts.authenticate(session, login=form.username, password=form.password, ip=client_ip(request))
    return TokenOut(access_token=accounts.create_api_token(session, user=user, name="API (password flow)"))


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser) -> MeOut:
    return MeOut.of_me(user)


@router.get("/me/tokens", response_model=list[ApiTokenOut])
def my_tokens(session: SessionDep, user: CurrentUser) -> list[ApiTokenOut]:
    return [ApiTokenOut(id=t.id, name=t.name, created_at=t.created_at, last_used_at=t.last_used_at)  # type: ignore[arg-type]
            for t in accounts.list_api_tokens(session, user=user)]


@router.post("/me/tokens", response_model=NewApiTokenOut, status_code=201)
def create_token(session: SessionDep, user: CurrentUser, body: ApiTokenIn) -> NewApiTokenOut:
    return NewApiTokenOut(token=accounts.create_api_token(session, user=user, name=body.name))


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_token(session: SessionDep, user: CurrentUser, token_id: int) -> None:
    accounts.revoke_api_token(session, user=user, token_id=token_id)


class DeleteAccountIn(BaseModel):
    password: str = Field(max_length=1024)
    erase_posts: bool = False


@router.get("/me/export")
def export_me(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Everything Cercle holds about me."""
    return personal_data.export(session, user=user)


@router.post("/me/delete", status_code=204)
def delete_me(session: SessionDep, user: CurrentUser, body: DeleteAccountIn) -> None:
    """Deletes my account: personal data erased; posts kept as "former member" unless erased too."""
    personal_data.delete_account(session, user=user, password=body.password, erase_posts=body.erase_posts)
