"""Full-text search over thread titles and posts, filtered by what the viewer may read.

SQLite: the `post_fts` FTS5 table (bm25 ranking, snippet()). PostgreSQL: the
`post.search_vector` tsvector with a GIN index (ts_rank, ts_headline). Both are kept in
sync by triggers made in the migrations.
"""

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Float, Integer, String, text
from sqlmodel import Session, col, select

from app import permissions
from app.models import Circle, Post, Thread, User

PAGE_SIZE = 20
RANKED_COLUMNS = {"post_id": Integer(), "rank": Float(), "snip": String()}
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"


@dataclass
class Hit:
    post: Post
    thread: Thread
    circle: Circle
    author: User
    snippet: Markup


def _fts5_query(q: str) -> str:
    # Every word becomes a quoted prefix term: user input never reaches FTS5 syntax.
    words = re.findall(r"\w+", q, flags=re.UNICODE)[:12]
    return " ".join(f'"{word}"*' for word in words)


def _highlight(raw: str) -> Markup:
    escaped = str(escape(raw))
    return Markup(escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>"))


def search(
    session: Session, *, viewer: User, q: str, circle: Circle | None = None, page: int = 1
) -> list[Hit]:
    # PostgreSQL refuses NUL in text parameters: it would be a 500, not "no result".
    q = q.replace("\x00", " ").strip()[:200]
    if not q:
        return []
    dialect = session.get_bind().dialect.name
    offset = (max(page, 1) - 1) * PAGE_SIZE
    if dialect == "sqlite":
        match = _fts5_query(q)
        if not match:
            return []
        ranked = text(
            "SELECT rowid AS post_id, bm25(post_fts, 5.0, 1.0) AS rank, "
            f"snippet(post_fts, 1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 24) AS snip "
            "FROM post_fts WHERE post_fts MATCH :match"
        ).columns(**RANKED_COLUMNS).subquery("ranked")
        params = {"match": match}
        order = ranked.c.rank.asc()
    else:
        ranked = text(
            "SELECT id AS post_id, ts_rank(search_vector, query) AS rank, "
            f"ts_headline('simple', body_md, query, 'StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, "
            "MaxWords=30, MinWords=10, MaxFragments=1') AS snip "
            "FROM post, websearch_to_tsquery('simple', cercle_unaccent(:q)) AS query "
            "WHERE search_vector @@ query"
        ).columns(**RANKED_COLUMNS).subquery("ranked")
        params = {"q": q}
        order = ranked.c.rank.desc()
    statement = (
        select(Post, Thread, Circle, User, ranked.c.snip)
        .join(ranked, ranked.c.post_id == Post.id)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .join(Circle, col(Circle.id) == Thread.circle_id)
        .join(User, col(User.id) == Post.author_id)
        .where(permissions.visible_posts_filter(viewer))
        .order_by(order, col(Post.id).desc())
        .offset(offset)
        .limit(PAGE_SIZE)
    )
    if circle is not None:
        statement = statement.where(Thread.circle_id == circle.id)
    rows = session.exec(statement, params=params).all()
    return [
        Hit(post=p, thread=t, circle=c, author=u, snippet=_highlight(snip or ""))
        for p, t, c, u, snip in rows
    ]
