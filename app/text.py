"""Markdown → sanitised HTML. The only place where user text becomes HTML.

markdown-it-py renders (raw HTML disabled), nh3 sanitises whatever comes out, and every
link gets rel="nofollow ugc noopener". @mentions become links to profiles.
"""

import html
import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
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


def _mention_tokens(text: str) -> list[Token] | None:
    """`text` split into plain text and mention links, or None when it mentions nobody."""
    matches = list(MENTION_RE.finditer(text))
    if not matches:
        return None
    tokens: list[Token] = []
    start = 0
    for match in matches:
        if match.start() > start:
            tokens.append(Token("text", "", 0, content=text[start:match.start()]))
        name = match.group(1)
        tokens.append(Token("link_open", "a", 1, attrs={"href": f"/u/{name.lower()}"}, meta={"mention": name.lower()}))
        tokens.append(Token("text", "", 0, content=f"@{name}"))
        tokens.append(Token("link_close", "a", -1))
        start = match.end()
    if start < len(text):
        tokens.append(Token("text", "", 0, content=text[start:]))
    return tokens


def _link_mentions(state: StateCore) -> None:
    # Mentions are found in the parsed text, never in the source: code spans and blocks are
    # code tokens, a link's text is not linked again, and "!" before a mention stays text
    # (rewriting the source into "[@bob](/u/bob)" made "!@bob" an image).
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            elif token.type == "text" and not in_link:
                linked = _mention_tokens(token.content)
                if linked is not None:
                    children.extend(linked)
                    continue
            children.append(token)
        block.children = children


# Before text_join: an escaped "\@" (a "text_special" token until then) never starts a mention.
_markdown.core.ruler.before("text_join", "mentions", _link_mentions)


def render_markdown(source: str) -> str:
    """Sanitised HTML for a Markdown post, bio or description."""
    return sanitise_html(_markdown.render(source))


def mentioned_usernames(source: str) -> set[str]:
    """The lowercased usernames `render_markdown(source)` links as mentions (the same parse)."""
    names: set[str] = set()
    for block in _markdown.parse(source):
        for token in block.children or ():
            if token.type == "link_open" and "mention" in token.meta:
                names.add(token.meta["mention"])
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
