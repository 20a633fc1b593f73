"""Thread pages: read, reply (htmx), edit, delete, react."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.db import read_from_now
from app.deps import CurrentUser, OptionalUser, SessionDep
from app.errors import Forbidden, Invalid, RateLimited, SignInRequired
from app.i18n import _
from app.services import posts, threads
from app.services.visits import record_circle_visit
from app.web import is_htmx, redirect, redirect_with_flash, render

router = APIRouter(tags=["threads"])
FormStr = Annotated[str, Form()]


def _require_viewer(user: OptionalUser) -> None:
    if user is None:
        raise SignInRequired(_("Please sign in to continue."))


@router.get("/t/{thread_id}")
@router.get("/t/{thread_id}/{slug}")
def thread_view(request: Request, session: SessionDep, user: OptionalUser, thread_id: int, page: int = 1,
                slug: str = "") -> Response:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    assert user is not None
    view = threads.thread_page(session, thread=thread, access=access, page=page)
    record_circle_visit(user_id=user.id, circle_id=access.circle.id)  # type: ignore[arg-type]
    if view.posts:
        posts.mark_read(viewer=user, thread=thread, upto=view.posts[-1].post.number, previous=view.last_read)
    return render(request, "threads/page.html", {"view": view, "values": {}, "errors": {}},
                  session=session, fragment="threads/_posts.html")


@router.get("/t/{thread_id}/unread/first")
def first_unread(session: SessionDep, user: OptionalUser, thread_id: int) -> Response:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    view = threads.thread_page(session, thread=thread, access=access, page=1)
    number = view.first_unread or thread.last_number
    return redirect(f"/t/{thread.id}?page={threads.page_of_number(number)}#p{number}")


@router.post("/t/{thread_id}/reply")
def reply(request: Request, session: SessionDep, user: CurrentUser, thread_id: int,
          body: FormStr = "", reply_to: FormStr = "") -> Response:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    reply_to_id = int(reply_to) if reply_to.isdigit() else None
    try:
        post = posts.reply(session, thread=thread, access=access, author=user, body=body, reply_to_id=reply_to_id)
    except (Invalid, Forbidden, RateLimited) as error:
        # The reply comes back with its message (422; 429 for slow mode and write limits): never lost.
        session.rollback()
        context = {"thread": thread, "access": access, "values": {"body": body, "reply_to": reply_to},
                   "errors": error.fields or {"body": error.message}, "error": error.message}
        status = 429 if isinstance(error, RateLimited) else 422
        if is_htmx(request):
            response = render(request, "threads/_reply_form.html", context, session=session, status_code=status)
        else:
            view = threads.thread_page(session, thread=thread, access=access,
                                       page=threads.page_of_number(thread.last_number))
            context["view"] = view
            response = render(request, "threads/page.html", context, session=session, status_code=status)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    if is_htmx(request):
        read_from_now(session)
        view = threads.thread_page(session, thread=thread, access=access, page=threads.page_of_number(post.number))
        new_views = [v for v in view.posts if v.post.id == post.id]
        return render(request, "threads/_reply_result.html",
                      {"view": view, "new_posts": new_views, "thread": thread, "access": access,
                       "values": {}, "errors": {}}, session=session)
    return redirect(f"/t/{thread.id}?page={threads.page_of_number(post.number)}#p{post.number}")


@router.get("/p/{post_id}")
def post_link(session: SessionDep, user: OptionalUser, post_id: int) -> Response:
    post, thread, _access = posts.get_post(session, post_id=post_id, viewer=user)
    return redirect(f"/t/{thread.id}?page={threads.page_of_number(post.number)}#p{post.number}")


@router.get("/p/{post_id}/edit")
def edit_form(request: Request, session: SessionDep, user: CurrentUser, post_id: int) -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    if post.author_id != user.id:
        raise Forbidden(_("You can only edit your own posts."))
    return render(request, "threads/edit.html",
                  {"post": post, "thread": thread, "access": access, "values": {"body": post.body_md}, "errors": {}},
                  session=session)


@router.post("/p/{post_id}/edit")
def edit(request: Request, session: SessionDep, user: CurrentUser, post_id: int, body: FormStr = "") -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    try:
        posts.edit_post(session, post=post, thread=thread, access=access, by=user, body=body)
    except Invalid as error:
        return render(request, "threads/edit.html",
                      {"post": post, "thread": thread, "access": access, "values": {"body": body},
                       "errors": error.fields, "error": error.message}, session=session, status_code=422)
    return redirect(f"/t/{thread.id}?page={threads.page_of_number(post.number)}#p{post.number}")


@router.get("/p/{post_id}/revisions")
def revisions(request: Request, session: SessionDep, user: CurrentUser, post_id: int) -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    return render(request, "threads/revisions.html",
                  {"post": post, "thread": thread, "revisions": posts.revisions(session, post=post)},
                  session=session)


@router.post("/p/{post_id}/delete")
def delete(session: SessionDep, user: CurrentUser, post_id: int) -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    posts.delete_post(session, post=post, thread=thread, by=user)
    if post.opening:
        return redirect_with_flash(f"/c/{access.circle.slug}", _("The thread is deleted."))
    return redirect_with_flash(f"/t/{thread.id}?page={threads.page_of_number(post.number)}", _("The post is deleted."))


@router.post("/p/{post_id}/react/{kind}")
def react(request: Request, session: SessionDep, user: CurrentUser, post_id: int, kind: str) -> Response:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    posts.toggle_reaction(session, post=post, access=access, user=user, kind=kind)
    if is_htmx(request):
        counts, mine = posts.reaction_counts(session, post=post, viewer=user)
        return render(request, "threads/_reactions.html",
                      {"post": post, "counts": counts, "mine": mine, "can_react": True}, session=session)
    return redirect(f"/t/{thread.id}?page={threads.page_of_number(post.number)}#p{post.number}")
