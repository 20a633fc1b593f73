"""Property tests of app.text beyond the active-HTML check of test_security_headers.py (issue #8).

For any text, and for mixes of the pieces that tend to make dangerous HTML:
- the rendered HTML is a fixed point of the sanitiser: cleaning it again changes nothing, so what
  a browser parses is what nh3 let through (a difference would be the start of a mutation XSS);
- the plain excerpt and the mention parser never raise, and the excerpt keeps to its length.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.text import mentioned_usernames, plain_excerpt, render_markdown, sanitise_html
from tests.unit.test_security_headers import sources

PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(sources)
def test_rendered_markdown_is_unchanged_when_sanitised_again(source: str) -> None:
    out = render_markdown(source)
    assert sanitise_html(out) == out, (source, out)


@PROPERTY
@given(sources, st.integers(min_value=2, max_value=300))
def test_plain_excerpt_never_raises_and_keeps_to_its_length(source: str, length: int) -> None:
    excerpt = plain_excerpt(source, length)
    assert isinstance(excerpt, str)
    assert len(excerpt) <= length, (source, excerpt)


@PROPERTY
@given(sources)
def test_mentioned_usernames_never_raises_and_names_only_valid_usernames(source: str) -> None:
    names = mentioned_usernames(source)
    assert all(name.isascii() and 3 <= len(name) <= 30 and name == name.lower() for name in names), (source, names)
