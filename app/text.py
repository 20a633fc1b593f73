"""Markdown → sanitised HTML. The only place where user text becomes HTML.

markdown-it-py renders (raw HTML disabled), nh3 sanitises whatever comes out, and every
link gets rel="nofollow ugc noopener". @mentions become links to profiles.
"""

import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

MENTION_RE = re.compile(r"(?<![\w@/])@([a-zA-Z0-9_]{3,30})\b")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
    )


def _link_mentions(markdown_source: str) -> str:
    # Code spans and blocks are left alone: a mention inside code is not a mention.
    parts = re.split(r"(```.*?```|`[^`\n]*`)", markdown_source, flags=re.S)
    for index in range(0, len(parts), 2):
        parts[index] = MENTION_RE.sub(
            lambda m: f"[@{m.group(1)}](/u/{m.group(1).lower()})", parts[index]
        )
    return "".join(parts)


def render_markdown(source: str) -> str:
    """Sanitised HTML for a Markdown post, bio or description."""
    return sanitise_html(_markdown.render(_link_mentions(source)))


def mentioned_usernames(source: str) -> set[str]:
    parts = re.split(r"(```.*?```|`[^`\n]*`)", source, flags=re.S)
    names: set[str] = set()
    for index in range(0, len(parts), 2):
        names.update(match.lower() for match in MENTION_RE.findall(parts[index]))
    return names


def plain_excerpt(source: str, length: int = 200) -> str:
    """A short plain-text preview of Markdown (for lists and notifications)."""
    text = html.unescape(nh3.clean(_markdown.render(source), tags=set()))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def safe(html: str) -> Markup:
    """Marks HTML made by this module as safe for templates."""
    return Markup(html)


def escape_text(text: str) -> Markup:
    return escape(text)
