"""Markdown → sanitised HTML: the only place user text becomes HTML."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.text import mentioned_usernames, plain_excerpt, render_markdown, sanitise_html


def test_markdown_renders_emphasis_lists_and_code():
    html = render_markdown("**bold** *it*\n\n- one\n- two\n\n`x < y`")
    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<li>one</li>" in html
    assert "<code>x &lt; y</code>" in html


def test_script_tags_in_markdown_are_shown_as_text_not_run():
    html = render_markdown("<script>alert(1)</script> hello")
    assert "<script" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("source", [
    "<b>bold</b>",
    "<iframe src=https://evil.example></iframe>",
    '<a href="https://x.example" onclick="steal()">z</a>',
    "<style>body{display:none}</style>",
    "<div style='position:fixed'>x</div>",
])
def test_raw_html_in_markdown_is_neutralised(source):
    html = render_markdown(source)
    assert re.search(r"<(b|iframe|a|style|div)[\s>]", html) is None
    assert "&lt;" in html


def test_an_onerror_attribute_never_survives():
    assert "<img" not in render_markdown("<img src=x onerror=alert(1)>")
    # Quotes cannot break out of an image address into a new attribute.
    assert re.search(r"\sonerror\s*=", render_markdown('![x](https://x.example/a.png"onerror="alert(1))')) is None
    assert "onerror" not in sanitise_html('<img src="x" onerror="alert(1)">')


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox(1)",
                                 "data:text/html,<script>alert(1)</script>"])
def test_dangerous_link_schemes_never_make_a_link(url):
    html = render_markdown(f"[click]({url})")
    assert "href" not in html
    assert "javascript:" not in sanitise_html(f'<a href="{url}">x</a>').lower()


def test_links_get_rel_nofollow_ugc_noopener():
    html = render_markdown("[home](https://example.com)")
    assert html == '<p><a href="https://example.com" rel="nofollow ugc noopener">home</a></p>\n'


def test_a_rel_attribute_given_by_the_author_is_replaced():
    html = sanitise_html('<a href="https://x.example" rel="opener" target="_blank">y</a>')
    assert 'rel="nofollow ugc noopener"' in html
    assert "opener\"" not in html.replace('noopener"', "")
    assert "target" not in html


def test_sanitiser_strips_script_contents_and_event_handlers():
    assert sanitise_html('<p onclick="x">a<script>b</script></p>') == "<p>a</p>"


def test_mentions_link_to_the_profile():
    html = render_markdown("thanks @Alice and @bob_2!")
    assert '<a href="/u/alice" rel="nofollow ugc noopener">@Alice</a>' in html
    assert '<a href="/u/bob_2" rel="nofollow ugc noopener">@bob_2</a>' in html


def test_mentions_inside_code_are_not_mentions():
    source = "`@carol` and\n\n```\n@dave\n```\n"
    assert mentioned_usernames(source) == set()
    assert "/u/" not in render_markdown(source)


def test_email_addresses_and_urls_are_not_mentions():
    source = "write to x@example.com or see https://example.com/@alice"
    assert mentioned_usernames(source) == set()
    assert "/u/" not in render_markdown(source)


def test_mentioned_usernames_are_lowercased_and_deduplicated():
    assert mentioned_usernames("@Alice @alice @BOB @ab") == {"alice", "bob"}


def test_plain_excerpt_strips_markup_and_shortens():
    excerpt = plain_excerpt("**Hello** <b>x</b> &amp; " + "word " * 100, 50)
    assert excerpt.startswith("Hello <b>x</b> & word")
    assert len(excerpt) <= 50
    assert excerpt.endswith("…")


# Mentions next to Markdown syntax: found in the parsed text, never by rewriting the source ---------

NAMES = st.from_regex(r"[a-z][a-z0-9]{2,12}", fullmatch=True)
MENTION_LINK = re.compile(r'<a href="/u/([a-z0-9_]+)" rel="nofollow ugc noopener">@[A-Za-z0-9_]+</a>')


def test_a_mention_after_an_exclamation_mark_stays_text_and_a_mention():
    html = render_markdown("!@bob")
    assert html == '<p>!<a href="/u/bob" rel="nofollow ugc noopener">@bob</a></p>\n'
    assert mentioned_usernames("!@bob") == {"bob"}


@given(name=NAMES, before=st.sampled_from(["!", "[", "(", "*", "!!", "! ", "[!", "&amp;", ""]))
def test_a_mention_after_punctuation_is_a_link_and_never_an_image(name, before):
    html = render_markdown(f"{before}@{name} ok")
    assert "<img" not in html
    assert MENTION_LINK.findall(html) == [name]
    assert mentioned_usernames(f"{before}@{name} ok") == {name}


@given(name=NAMES, code=st.sampled_from(["`{}`", "``a {} b``", "```\n{}\n```", "~~~\n{}\n~~~", "    {}"]))
def test_a_mention_inside_code_is_neither_linked_nor_notified(name, code):
    source = "Before\n\n" + code.format(f"@{name}") + "\n"
    assert "/u/" not in render_markdown(source)
    assert mentioned_usernames(source) == set()


@given(name=NAMES)
def test_a_mention_inside_a_links_text_is_not_linked_again(name):
    html = render_markdown(f"[see @{name} here](https://example.com/x)")
    assert html.count("<a ") == 1
    assert "/u/" not in html
    assert mentioned_usernames(f"[see @{name} here](https://example.com/x)") == set()


@given(name=NAMES)
def test_a_mention_in_an_image_description_makes_no_link(name):
    html = render_markdown(f"![@{name}](https://example.com/a.png)")
    assert "/u/" not in html
    assert mentioned_usernames(f"![@{name}](https://example.com/a.png)") == set()


@given(st.text(alphabet="ab @!_[]`*~#>\\\n-", max_size=60), st.lists(NAMES, max_size=3))
def test_the_linked_mentions_are_exactly_the_notified_ones_and_never_nested(noise, names):
    source = noise + " ".join(f"@{name}" for name in names) + noise
    html = render_markdown(source)
    # Without parentheses the author wrote no link nor image: every link is a mention.
    assert "<img" not in html
    assert set(re.findall(r'href="/u/([a-z0-9_]+)"', html)) == mentioned_usernames(source)
    for link in re.findall(r"<a .*?</a>", html, flags=re.S):
        assert link.count("<a ") == 1


def test_an_escaped_at_sign_is_not_a_mention():
    assert "/u/" not in render_markdown("\\@bob")
    assert mentioned_usernames("\\@bob") == set()
