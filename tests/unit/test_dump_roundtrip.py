"""Export → import into an empty database → export gives the same dump and the same KPIs.

Also the `cercle import` / `cercle export` commands, with gzip and standard input/output.
"""

import gzip
import importlib.util
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import permissions
from app.cli import app as cli
from app.dump import export, import_dump
from app.models import Circle, User
from app.services import ambassadors, badges, posts, site
from tests.conftest import _truncate
from tests.factories import add_member, make_admin, make_circle, make_invite, make_reply, make_thread, make_user

ROOT = Path(__file__).resolve().parents[2]

# Which fields of each type name another record, and of which type.
REFERENCES = {
    "user": {"invited_by": "user", "invite": "invite"},
    "circle": {"created_by": "user"},
    "invite": {"circle": "circle", "created_by": "user"},
    "membership": {"user": "user", "circle": "circle", "invite": "invite"},
    "thread": {"circle": "circle", "author": "user"},
    "post": {"thread": "thread", "author": "user", "reply_to": "post"},
    "reaction": {"post": "post", "user": "user"},
    "visit": {"user": "user", "circle": "circle"},
    "badge_award": {"badge": "badge", "user": "user", "awarded_by": "user"},
    "ambassador_grant": {"user": "user", "granted_by": "user", "revoked_by": "user"},
    "pulse": {"user": "user"},
}


def normalised(dump: str) -> list[dict[str, Any]]:
    """The dump's records with every id replaced by its rank among the records of its type."""
    records = [json.loads(line) for line in dump.splitlines()]
    ranks: dict[str, dict[str, int]] = {}
    for record in records:
        if "id" in record and record["type"] != "cercle-dump":
            ranks.setdefault(record["type"], {})[str(record["id"])] = len(ranks.get(record["type"], {})) + 1
    for record in records:
        if "id" in record and record["type"] in ranks:
            record["id"] = ranks[record["type"]][str(record["id"])]
        for name, kind in REFERENCES.get(record["type"], {}).items():
            if record.get(name) is not None:
                record[name] = ranks[kind][str(record[name])]
    return records


def exported(db: Session) -> str:
    out = io.StringIO()
    export(db, out)
    db.rollback()
    return out.getvalue()


def reimport(db: Session, dump: str, **options: Any) -> None:
    _truncate(db)
    import_dump(db, io.StringIO(dump), **options)


def build_forum_community(db: Session) -> None:
    """A community made through the forum's own services, not through an import."""
    site.update(db, name="Roasters", description="Our circle", registration="invite")
    admin = make_admin(db)
    host, ann, bob = make_user(db, "host"), make_user(db, "ann", display_name="Ann"), make_user(db, "bob")
    circle = make_circle(db, "espresso", visibility="closed", by=admin, description="For **espresso** lovers")
    add_member(db, circle, host, host=True)
    invite = make_invite(db, host, circle, max_uses=3)
    from app.services import invites

    invites.accept_invite(db, invite=invite, user=ann)
    add_member(db, circle, bob)
    thread = make_thread(db, circle, ann, title="Grind size", body="How fine for a **V60**?")
    first = make_reply(db, thread, bob, body="Medium-fine, like sea salt.")
    make_reply(db, thread, ann, body="Thanks @bob!", reply_to=first)
    access = permissions.circle_access(db, ann, circle)
    posts.toggle_reaction(db, post=first, access=access, user=ann, kind="helpful")
    posts.toggle_reaction(db, post=first, access=access, user=ann, kind="thanks")
    manual = badges.create_badge(
        db, by=admin, name="Latte artist", description="Pours lovely hearts.", tier="gold", icon="star"
    )
    badges.award_manual(db, badge=manual, user=bob, by=admin, reason="For the tulip", circle=None)
    ambassadors.grant(db, member=bob, by=admin, reason="Always helpful")
    from app.models import Pulse, Visit

    db.add(Pulse(user_id=ann.id, score=9, comment="Great people"))  # type: ignore[arg-type]

    db.add(Visit(user_id=bob.id, day=date(2026, 3, 1), circle_id=None, scope=0))  # type: ignore[arg-type]
    db.add(Visit(user_id=bob.id, day=date(2026, 3, 1), circle_id=circle.id, scope=circle.id))  # type: ignore[arg-type]
    db.commit()


def test_a_community_made_by_the_forum_exports_imports_and_exports_the_same(db):
    build_forum_community(db)
    first = exported(db)
    reimport(db, first)
    second = exported(db)
    assert normalised(second) == normalised(first)
    types = {record["type"] for record in normalised(first)}
    assert types >= {
        "site",
        "user",
        "circle",
        "invite",
        "membership",
        "thread",
        "post",
        "reaction",
        "visit",
        "badge",
        "badge_award",
        "ambassador_grant",
        "pulse",
    }


def test_a_second_round_trip_gives_identical_lines(db):
    build_forum_community(db)
    reimport(db, exported(db))
    once = exported(db)
    reimport(db, once)
    assert exported(db) == once  # ids too: imports number records in file order


def test_the_denormalised_columns_survive_a_round_trip(db):
    build_forum_community(db)
    before = {
        u.username: (u.ambassador_since, u.best_badge_id is not None, u.invite_id is not None)
        for u in db.exec(select(User)).all()
    }
    reimport(db, exported(db))
    after = {
        u.username: (u.ambassador_since, u.best_badge_id is not None, u.invite_id is not None)
        for u in db.exec(select(User)).all()
    }
    assert after == before


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("cercle_bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_dump(members: int = 80, posts_: int = 700) -> str:
    module = _generator()
    out = module.Output.__new__(module.Output)
    buffer = io.BytesIO()
    out.stream, out.lines, out.count = buffer, [], 0
    today = datetime.now(UTC).date()
    module.Generator(members, posts_, 7, today).write(out, lambda stage: None)
    out.flush()
    return buffer.getvalue().decode()


def test_a_generated_dump_is_valid_and_exports_to_the_same_records(db):
    dump = generated_dump()
    counts = import_dump(db, io.StringIO(dump))
    assert counts["post"] == 700 and counts["user"] == 80 and counts["thread"] == 700 // 12
    assert normalised(exported(db)) == normalised(dump)


def _kpis(db: Session) -> list[dict[str, Any]]:
    from app.analytics import report

    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    circle = db.exec(select(Circle).order_by(Circle.slug)).first()
    results = []
    for start, scope in (
        (yesterday - timedelta(days=29), None),
        (yesterday - timedelta(days=364), None),
        (yesterday - timedelta(days=29), circle),
    ):
        figures = report(db, start=start, end=yesterday, circle=scope)
        figures.pop("generated_at", None)
        results.append(figures)
    db.rollback()
    return results


def test_kpis_are_the_same_after_a_round_trip(db):
    pytest.importorskip("app.analytics")
    import_dump(db, io.StringIO(generated_dump()))
    before = _kpis(db)
    assert before[0]["members_total"] > 0 and before[0]["posts"] > 0
    reimport(db, exported(db))
    assert _kpis(db) == before


def test_a_round_trip_through_a_second_process_gives_the_same_dump(db):
    build_forum_community(db)
    first = exported(db)
    reimport(db, first, parallel=True)
    assert normalised(exported(db)) == normalised(first)


# --- the command line ----------------------------------------------------------------------


def test_the_cli_exports_and_imports_gzip_files(db, tmp_path):
    build_forum_community(db)
    before = exported(db)
    runner = CliRunner()
    target = tmp_path / "community.jsonl.gz"
    result = runner.invoke(cli, ["export", str(target)])
    assert result.exit_code == 0, result.output
    with gzip.open(target, "rt", encoding="utf-8") as handle:
        assert handle.read() == before
    _truncate(db)
    result = runner.invoke(cli, ["import", str(target)])
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output and "3 posts" in result.output
    assert normalised(exported(db)) == normalised(before)


def test_the_cli_reads_standard_input_and_writes_standard_output(db):
    build_forum_community(db)
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "-"])
    assert result.exit_code == 0
    dump = result.stdout
    assert dump.startswith('{"type":"cercle-dump","version":1}\n')
    _truncate(db)
    result = runner.invoke(cli, ["import", "-"], input=dump)
    assert result.exit_code == 0, result.output
    assert normalised(exported(db)) == normalised(dump)


def test_the_cli_reads_gzip_from_standard_input(db):
    build_forum_community(db)
    dump = exported(db)
    _truncate(db)
    result = CliRunner().invoke(cli, ["import", "-"], input=gzip.compress(dump.encode()))
    assert result.exit_code == 0, result.output
    assert normalised(exported(db)) == normalised(dump)


def test_the_cli_reports_a_bad_line_and_exits_with_status_1(db, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"type": "cercle-dump", "version": 1}\n{"type": "user", "id": 1}\n')
    result = CliRunner().invoke(cli, ["import", str(source)])
    assert result.exit_code == 1
    assert "LINE 2: " in result.output and "Nothing was imported" in result.output
    assert db.exec(select(User)).first() is None


def test_the_cli_refuses_a_database_that_is_not_empty(db, tmp_path):
    build_forum_community(db)
    source = tmp_path / "dump.jsonl"
    source.write_text(exported(db))
    result = CliRunner().invoke(cli, ["import", str(source)])
    assert result.exit_code == 1
    assert "not empty" in result.output


def test_the_cli_says_when_the_file_does_not_exist(db, tmp_path):
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1 and "No such file" in result.output
