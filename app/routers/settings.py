"""A member's own settings: profile, password, sessions, API tokens."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.config import get_settings
from app.deps import AuthDep, CurrentUser, SessionDep
from app.errors import Invalid
from app.i18n import _, current_language
from app.routers.forms import set_language_cookie
from app.services import accounts, personal_data
from app.web import redirect_with_flash, render

router = APIRouter(tags=["settings"])
FormStr = Annotated[str, Form()]


def _page(
    request: Request, session: SessionDep, auth: AuthDep, *, status_code: int = 200, **extra: Any
) -> Response:
    user = auth.user
    assert user is not None
    context: dict[str, Any] = {
        "values": {},
        "errors": {},
        "section": None,
        "sessions": accounts.list_sessions(session, user=user),
        "current_session_id": auth.user_session.id if auth.user_session else None,
        "tokens": accounts.list_api_tokens(session, user=user),
        "password_min": get_settings().password_min_length,
    }
    context.update(extra)
    return render(request, "settings/page.html", context, session=session, status_code=status_code)


@router.get("/settings")
def settings_page(request: Request, session: SessionDep, auth: AuthDep, user: CurrentUser) -> Response:
    return _page(request, session, auth)


@router.post("/settings/profile")
def save_profile(
    request: Request, session: SessionDep, auth: AuthDep, user: CurrentUser,
    display_name: FormStr = "", bio: FormStr = "", language: FormStr = "",
) -> Response:
    try:
        accounts.update_profile(session, user=user, display_name=display_name, bio=bio, language=language or None)
    except Invalid as error:
        values = {"display_name": display_name, "bio": bio}
        return _page(request, session, auth, status_code=422, section="profile", values=values,
                     errors=error.fields, error=error.message)
    if user.language:
        # The confirmation is already in the language just chosen.
        current_language.set(user.language)
    response = redirect_with_flash("/settings", _("Your profile is saved."))
    set_language_cookie(response, user.language)
    return response


@router.post("/settings/password")
def save_password(
    request: Request, session: SessionDep, auth: AuthDep, user: CurrentUser,
    current_password: FormStr = "", new_password: FormStr = "",
) -> Response:
    try:
        accounts.change_password(
            session, user=user, current=current_password, new=new_password,
            keep_session_id=auth.user_session.id if auth.user_session else None,
        )
    except Invalid as error:
        return _page(request, session, auth, status_code=422, section="password",
                     errors=error.fields, error=error.message)
    return redirect_with_flash("/settings", _("Your password is changed; your other sessions are signed out."))


@router.post("/settings/sessions/{session_id}/end")
def end_one_session(session: SessionDep, user: CurrentUser, session_id: int) -> Response:
    accounts.revoke_session(session, user=user, session_id=session_id)
    return redirect_with_flash("/settings#sessions", _("That session is signed out."))


@router.post("/settings/sessions/end-others")
def end_other_sessions(session: SessionDep, auth: AuthDep, user: CurrentUser) -> Response:
    keep = auth.user_session.id if auth.user_session else None
    count = accounts.revoke_other_sessions(session, user=user, keep_id=keep)
    return redirect_with_flash("/settings#sessions", _("%(n)s other sessions signed out.", n=count))


@router.post("/settings/tokens")
def create_token(
    request: Request, session: SessionDep, auth: AuthDep, user: CurrentUser, name: FormStr = ""
) -> Response:
    try:
        token = accounts.create_api_token(session, user=user, name=name)
    except Invalid as error:
        return _page(request, session, auth, status_code=422, section="tokens",
                     values={"name": name}, errors=error.fields, error=error.message)
    return _page(request, session, auth, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(session: SessionDep, user: CurrentUser, token_id: int) -> Response:
    accounts.revoke_api_token(session, user=user, token_id=token_id)
    return redirect_with_flash("/settings#tokens", _("The token is revoked."))


@router.get("/settings/export")
def export_my_data(session: SessionDep, user: CurrentUser) -> Response:
    """All my data as a JSON file."""
    import json

    data = personal_data.export(session, user=user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"cercle-{user.username}-data.json"
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/settings/delete")
def delete_my_account(request: Request, session: SessionDep, auth: AuthDep, user: CurrentUser,
                      password: FormStr = "", posts: FormStr = "keep", confirm: FormStr = "") -> Response:
    if confirm != "DELETE":
        return _page(request, session, auth, status_code=422, section="delete",
                     errors={"confirm": _("Type DELETE to confirm.")}, error=_("Type DELETE to confirm."))
    try:
        personal_data.delete_account(session, user=user, password=password, erase_posts=posts == "erase")
    except Invalid as error:
        return _page(request, session, auth, status_code=422, section="delete", errors=error.fields,
                     error=error.message)
    response = redirect_with_flash("/", _("Your account is deleted. Goodbye, and thank you."))
    response.delete_cookie("cercle_session")
    return response
