"""Hooks shared by Alembic's env.py and the models-vs-migrations test."""

from typing import Any

# Database-specific search objects made by hand in migrations, not by the models.
SEARCH_OBJECTS = ("post_fts", "search_vector", "ix_post_search_vector")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name and (name in SEARCH_OBJECTS or name.startswith("post_fts")))


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    from sqlmodel.sql.sqltypes import AutoString

    from app.models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length!r})" if obj.length else "sa.String()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "app.models.base.UTCDateTime()"
    return False


SQLITE_SEARCH = [
    # A regular FTS5 table keyed by post id; the thread title is indexed with the opening post.
    """CREATE VIRTUAL TABLE post_fts USING fts5(
        title, body, tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER post_fts_ai AFTER INSERT ON post BEGIN
        INSERT INTO post_fts(rowid, title, body) VALUES (
            new.id,
            CASE WHEN new.opening THEN (SELECT title FROM thread WHERE id = new.thread_id)
                 ELSE '' END,
            new.body_md);
    END""",
    """CREATE TRIGGER post_fts_au AFTER UPDATE OF body_md ON post BEGIN
        UPDATE post_fts SET body = new.body_md WHERE rowid = new.id;
    END""",
    """CREATE TRIGGER post_fts_ad AFTER DELETE ON post BEGIN
        DELETE FROM post_fts WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER thread_fts_au AFTER UPDATE OF title ON thread BEGIN
        UPDATE post_fts SET title = new.title
        WHERE rowid IN (SELECT id FROM post WHERE thread_id = new.id AND opening);
    END""",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() is only STABLE; an IMMUTABLE wrapper bound to the dictionary lets
    # the trigger and the queries share one normalisation.
    """CREATE OR REPLACE FUNCTION cercle_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    "ALTER TABLE post ADD COLUMN search_vector tsvector",
    "CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)",
    """CREATE OR REPLACE FUNCTION post_search_update() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_vector :=
                setweight(to_tsvector('simple', cercle_unaccent(coalesce(
                    CASE WHEN NEW.opening THEN
                        (SELECT title FROM thread WHERE id = NEW.thread_id) END, ''))), 'A')
                || setweight(to_tsvector('simple', cercle_unaccent(NEW.body_md)), 'B');
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER post_search_biu BEFORE INSERT OR UPDATE OF body_md ON post
        FOR EACH ROW EXECUTE FUNCTION post_search_update()""",
    """CREATE OR REPLACE FUNCTION thread_title_search_update() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE post SET body_md = body_md WHERE thread_id = NEW.id AND opening;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER thread_title_search_au AFTER UPDATE OF title ON thread
        FOR EACH ROW EXECUTE FUNCTION thread_title_search_update()""",
]


def create_search_objects(op: Any) -> None:
    """Full-text search lives outside the models; migrations make it per database."""
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


SQLITE_TRIGGERS = ("post_fts_ai", "post_fts_au", "post_fts_ad", "thread_fts_au")


def drop_sqlite_search_triggers(op: Any) -> None:
    """Call before a batch migration rebuilds `post` or `thread` on SQLite (the triggers would break it)."""
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def recreate_sqlite_search_triggers(op: Any) -> None:
    """Call after such a rebuild: the rebuilt table has lost its triggers."""
    if op.get_bind().dialect.name == "sqlite":
        drop_sqlite_search_triggers(op)
        for statement in SQLITE_SEARCH[1:]:
            op.execute(statement)


def drop_search_objects(op: Any) -> None:
    if op.get_bind().dialect.name == "sqlite":
        drop_sqlite_search_triggers(op)
        op.execute("DROP TABLE IF EXISTS post_fts")
    else:
        op.execute("DROP TRIGGER IF EXISTS thread_title_search_au ON thread")
        op.execute("DROP TRIGGER IF EXISTS post_search_biu ON post")
        op.execute("DROP FUNCTION IF EXISTS thread_title_search_update()")
        op.execute("DROP FUNCTION IF EXISTS post_search_update()")
        op.execute("DROP INDEX IF EXISTS ix_post_search_vector")
        op.execute("ALTER TABLE post DROP COLUMN IF EXISTS search_vector")
