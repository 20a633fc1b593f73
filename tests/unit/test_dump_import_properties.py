"""Property tests of the dump importer (issue #8): a valid dump with one line spoiled is refused.

hypothesis takes the small valid community of test_dump_import.py and spoils exactly one of its
lines: replaced by any text, cut short, a field given a list or an object for its value, a field
that DUMP-FORMAT.md requires removed, or an unknown record type. Every such dump must be refused
with `LINE N: …` naming the spoiled line, and leave every table empty.
"""

import copy
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from app.dump import DumpError, import_dump
from tests.conftest import _truncate
from tests.unit.test_dump_import import HEADER, community, table_counts

# DUMP-FORMAT.md, the fields not marked `?`.
REQUIRED = {
    "site": ("name", "registration"),
    "user": ("id", "username", "email", "created_at", "is_admin"),
    "circle": ("id", "slug", "name", "visibility", "created_at", "created_by"),
    "invite": ("id", "created_by", "created_at"),
    "membership": ("user", "circle", "role", "joined_at"),
    "thread": ("id", "circle", "author", "title", "created_at"),
    "post": ("id", "thread", "author", "body", "created_at", "opening"),
    "reaction": ("post", "user", "kind", "created_at"),
    "visit": ("user", "day"),
    "badge": ("id", "slug", "name", "description", "tier", "automatic"),
    "badge_award": ("badge", "user", "created_at"),
    "ambassador_grant": ("user", "granted_by", "granted_at"),
    "pulse": ("user", "score", "created_at"),
}
# A deleted account's email may be null (DUMP-FORMAT.md, `user`): removing it is no mistake there.
NULLABLE_WHEN_DELETED = {"email"}

RECORDS = community()  # made once: it hashes a password
LINES = len(RECORDS) + 1  # and the header, line 1

EXAMPLES = settings(
    max_examples=int(os.environ.get("CERCLE_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _dump() -> list[dict[str, Any]]:
    return [copy.deepcopy(HEADER), *copy.deepcopy(RECORDS)]


def _text(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(record) + "\n" for record in records]


def assert_refused_at(db: Session, dump: list[str], line: int) -> None:
    try:
        import_dump(db, dump)
    except DumpError as error:
        message = str(error)
    else:
        db.rollback()
        _truncate(db)  # so that the next example starts empty; this one fails below
        pytest.fail(f"a dump spoiled on line {line} was imported:\n{dump[line - 1]}")
    assert message.startswith(f"LINE {line}: "), (message, dump[line - 1])
    assert set(table_counts(db).values()) == {0}, f"a refused import wrote rows: {table_counts(db)}"


lines_to_spoil = st.integers(min_value=1, max_value=LINES)
# Any text on one line (no line break inside it) that is not blank.
garbage = st.text(st.characters(exclude_characters="\n\r"), min_size=1, max_size=80).filter(lambda s: s.strip())
shapes = st.one_of(
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
)


@EXAMPLES
@given(line=lines_to_spoil, text=garbage)
def test_a_line_replaced_by_any_text_is_refused_and_nothing_is_written(db, line: int, text: str) -> None:
    dump = _text(_dump())
    dump[line - 1] = text + "\n"
    assert_refused_at(db, dump, line)


@EXAMPLES
@given(line=lines_to_spoil, data=st.data())
def test_a_line_cut_short_is_refused_and_nothing_is_written(db, line: int, data: st.DataObject) -> None:
    dump = _text(_dump())
    whole = dump[line - 1].rstrip("\n")
    cut = data.draw(st.integers(min_value=1, max_value=len(whole) - 1), label="cut")
    dump[line - 1] = whole[:cut] + "\n"
    assert_refused_at(db, dump, line)


@EXAMPLES
@given(line=st.integers(min_value=2, max_value=LINES), data=st.data())
def test_a_field_given_a_list_or_an_object_is_refused_and_nothing_is_written(
    db, line: int, data: st.DataObject
) -> None:
    records = _dump()
    record = records[line - 1]
    field = data.draw(st.sampled_from(sorted(set(record) - {"type"})), label="field")
    record[field] = data.draw(shapes, label="value")
    assert_refused_at(db, _text(records), line)


@EXAMPLES
@given(line=st.integers(min_value=2, max_value=LINES), data=st.data())
def test_a_line_without_a_required_field_is_refused_and_nothing_is_written(
    db, line: int, data: st.DataObject
) -> None:
    records = _dump()
    record = records[line - 1]
    required = set(REQUIRED[record["type"]])
    if record.get("deleted_at"):
        required -= NULLABLE_WHEN_DELETED
    field = data.draw(st.sampled_from(sorted(required | {"type"})), label="field")
    del record[field]
    assert_refused_at(db, _text(records), line)


@EXAMPLES
@given(line=st.integers(min_value=2, max_value=LINES), kind=st.text(max_size=20))
def test_a_record_of_an_unknown_type_is_refused_and_nothing_is_written(db, line: int, kind: str) -> None:
    records = _dump()
    if kind in REQUIRED:
        kind += "_unknown"
    records[line - 1]["type"] = kind
    assert_refused_at(db, _text(records), line)


def test_the_unspoiled_dump_imports(db) -> None:
    """The control: the properties above spoil a dump that is otherwise valid."""
    counts = import_dump(db, _text(_dump()))
    assert sum(counts.values()) == len(RECORDS)
