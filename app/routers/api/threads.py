"""Threads, posts and reactions as JSON."""

from fastapi import APIRouter

from app.deps import CurrentUser, OptionalUser, SessionDep
from app.routers.api.schemas import PostEdit, PostIn, PostOut, ReactionOut, ThreadOut, ThreadPageOut
from app.services import posts, threads

router = APIRouter(tags=["api: threads"])


@router.get("/threads/{thread_id}", response_model=ThreadPageOut)
def get_thread(session: SessionDep, user: OptionalUser, thread_id: int, page: int = 1) -> ThreadPageOut:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    view = threads.thread_page(session, thread=thread, access=access, page=page)
    author = next((v.author for v in view.posts if v.post.opening), None)
    return ThreadPageOut(
        thread=ThreadOut.of(thread, access.circle.slug, author),
        posts=[PostOut.of(v.post, v.author, v.reactions, v.mine) for v in view.posts],
        page=view.page, pages=view.pages, first_unread=view.first_unread,
    )


@router.get("/threads/{thread_id}/posts", response_model=list[PostOut])
def thread_posts(session: SessionDep, user: OptionalUser, thread_id: int, page: int = 1) -> list[PostOut]:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    view = threads.thread_page(session, thread=thread, access=access, page=page)
    return [PostOut.of(v.post, v.author, v.reactions, v.mine) for v in view.posts]


@router.post("/threads/{thread_id}/posts", response_model=PostOut, status_code=201)
def reply(session: SessionDep, user: CurrentUser, thread_id: int, body: PostIn) -> PostOut:
    thread, access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    post = posts.reply(session, thread=thread, access=access, author=user, body=body.body, reply_to_id=body.reply_to)
    return PostOut.of(post, user)


@router.post("/threads/{thread_id}/read", status_code=204)
def mark_read(session: SessionDep, user: CurrentUser, thread_id: int) -> None:
    thread, _access = threads.open_thread(session, thread_id=thread_id, viewer=user)
    posts.mark_read(viewer=user, thread=thread, upto=thread.last_number, previous=None, session=session)


@router.get("/posts/{post_id}", response_model=PostOut)
def get_post(session: SessionDep, user: OptionalUser, post_id: int) -> PostOut:
    post, _thread, _access = posts.get_post(session, post_id=post_id, viewer=user)
    assert user is not None
    counts, mine = posts.reaction_counts(session, post=post, viewer=user)
    from app.models import User

    return PostOut.of(post, session.get(User, post.author_id), counts, mine)


@router.patch("/posts/{post_id}", response_model=PostOut)
def edit_post(session: SessionDep, user: CurrentUser, post_id: int, body: PostEdit) -> PostOut:
    post, thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    post = posts.edit_post(session, post=post, thread=thread, access=access, by=user, body=body.body)
    return PostOut.of(post, user)


@router.delete("/posts/{post_id}", status_code=204)
def delete_post(session: SessionDep, user: CurrentUser, post_id: int) -> None:
    post, thread, _access = posts.get_post(session, post_id=post_id, viewer=user)
    posts.delete_post(session, post=post, thread=thread, by=user)


@router.post("/posts/{post_id}/reactions/{kind}", response_model=ReactionOut)
def toggle_reaction(session: SessionDep, user: CurrentUser, post_id: int, kind: str) -> ReactionOut:
    post, _thread, access = posts.get_post(session, post_id=post_id, viewer=user)
    on = posts.toggle_reaction(session, post=post, access=access, user=user, kind=kind)
    counts, _mine = posts.reaction_counts(session, post=post, viewer=user)
    return ReactionOut(post_id=post_id, kind=kind, on=on, counts=counts)
