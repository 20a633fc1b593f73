"""Full-text search over thread titles and posts, filtered by what the viewer may read.

SQLite: the `post_fts` FTS5 table (bm25 ranking, snippet()). PostgreSQL: the
`post.search_vector` tsvector with a GIN index (ts_rank, ts_headline). Both are kept in
sync by triggers made in the migrations.

Only the newest CANDIDATES matches the viewer may read are ranked, and snippets
are made for the page's rows only, by a second small query. FTS5 reads its matches newest
first and stops at the bound; PostgreSQL's GIN index yields matches unordered, so the
visibility filter still reads one heap row per match (no ranking nor headline for them).
"""

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    column,
    func,
    literal_column,
    table,
    text,
)
from sqlmodel import Session, col, select

from app import permissions
from app.models import Circle, Post, Thread, User

PAGE_SIZE = 20
# Ranking reads every candidate, so it is bounded: the newest 2,000 matches (by post id)
# that the viewer may read, in the chosen circle, are ranked; older matches are not found.
# The visibility and circle filters run before the bound, so hidden rows never use up
# candidates, and pages 1 to CANDIDATES / PAGE_SIZE (100) split one fixed ordering.
CANDIDATES = 2_000
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"

_FTS = table("post_fts", column("rowid", Integer))
# bm25 is lower for better matches; negated, every dialect sorts its score descending.
# The title column weighs five times the body, as the 'A' weight does in ts_rank.
_FTS_SCORE = literal_column("-bm25(post_fts, 5.0, 1.0)", Float)
_FTS_MATCH = text("post_fts MATCH :match")
# `rowid IN` would re-run the MATCH once per id (a prefix term rebuilds its whole doclist
# each time: 20 × 30 ms for "the"); one MATCH over the page's id range, with `+rowid`
# filtered outside FTS5, reads the doclist once and makes 20 snippets.
_FTS_SNIPPETS = text(
    f"SELECT rowid, snippet(post_fts, 1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 24) "
    "FROM post_fts WHERE post_fts MATCH :match AND rowid BETWEEN :low AND :high AND +rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))
_PG_QUERY = "websearch_to_tsquery('simple', cercle_unaccent(:q))"
_PG_SNIPPETS = text(
    f"SELECT id, ts_headline('simple', body_md, {_PG_QUERY}, "
    f"'StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxWords=30, MinWords=10, MaxFragments=1') "
    "FROM post WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))


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


def _pg_query() -> ColumnElement[Any]:
    # IMMUTABLE all the way down: folded to a constant at planning, so the GIN index applies.
    return func.websearch_to_tsquery(literal_column("'simple'"), func.cercle_unaccent(bindparam("q", type_=String)))


def search(
    session: Session, *, viewer: User, q: str, circle: Circle | None = None, page: int = 1
) -> list[Hit]:
    # PostgreSQL refuses NUL in text parameters: it would be a 500, not "no result".
    q = q.replace("\x00", " ").strip()[:200]
    if not q:
        return []
    offset = (max(page, 1) - 1) * PAGE_SIZE
    if offset >= CANDIDATES:
        return []
    sqlite = session.get_bind().dialect.name == "sqlite"
    params: dict[str, Any]
    candidates: Select[Any]
    if sqlite:
        match = _fts5_query(q)
        if not match:
            return []
        params = {"match": match}
        # FTS5 walks the doclist backwards for `ORDER BY rowid DESC`: no sort, and bm25 runs
        # for the kept rows only.
        candidates = (
            select(_FTS.c.rowid.label("post_id"), _FTS_SCORE.label("score"))
            .select_from(_FTS)
            .join(Post, col(Post.id) == _FTS.c.rowid)
            .where(_FTS_MATCH)
            .order_by(_FTS.c.rowid.desc())
        )
    else:
        params = {"q": q}
        # ts_rank is left to the ranking step: computed here, it would run before the sort.
        candidates = (
            select(col(Post.id).label("post_id"))
            .where(literal_column("post.search_vector").op("@@")(_pg_query()))
            .order_by(col(Post.id).desc())
        )
    candidates = (
        candidates.join(Thread, col(Thread.id) == Post.thread_id)
        .where(permissions.visible_posts_filter(viewer))
        .limit(CANDIDATES)
    )
    if circle is not None:
        candidates = candidates.where(Thread.circle_id == circle.id)
    bounded = candidates.subquery("candidates")
    if sqlite:
        ranked = select(bounded.c.post_id, bounded.c.score)
    else:
        score = func.ts_rank(literal_column("post.search_vector"), _pg_query())
        ranked = select(bounded.c.post_id, score.label("score")).join(Post, col(Post.id) == bounded.c.post_id)
    ranked_page = (
        ranked.order_by(ranked.selected_columns.score.desc(), bounded.c.post_id.desc())
        .offset(offset)
        .limit(PAGE_SIZE)
        .subquery("page")
    )
    statement = (
        select(Post, Thread, Circle, User)
        .join(ranked_page, ranked_page.c.post_id == Post.id)
        .join(Thread, col(Thread.id) == Post.thread_id)
        .join(Circle, col(Circle.id) == Thread.circle_id)
        .join(User, col(User.id) == Post.author_id)
        .order_by(ranked_page.c.score.desc(), col(Post.id).desc())
    )
    rows = session.exec(statement, params=params).all()
    if not rows:
        return []
    ids = [p.id for p, _t, _c, _u in rows if p.id is not None]
    bounds = {"low": min(ids), "high": max(ids)} if sqlite else {}
    found = session.execute(_FTS_SNIPPETS if sqlite else _PG_SNIPPETS, {**params, **bounds, "ids": ids})
    snippets: dict[int, str] = {post_id: snip for post_id, snip in found}
    return [
        Hit(post=p, thread=t, circle=c, author=u, snippet=_highlight(snippets.get(p.id) or ""))
        for p, t, c, u in rows
    ]
