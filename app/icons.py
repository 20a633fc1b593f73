"""The badge icon set: small inline SVGs shipped with the app (no CDN, no external file)."""

from functools import lru_cache

from markupsafe import Markup

_PATHS = {
    "star": "M12 2l3 6.9 7.5.7-5.7 5 1.7 7.4L12 18.3 5.5 22l1.7-7.4L1.5 9.6 9 8.9z",
    "heart": "M12 21s-7.5-4.6-10-9.5C.3 7.9 2.6 4 6.5 4c2.2 0 3.8 1.2 5.5 3 1.7-1.8 3.3-3 5.5-3C21.4 4 23.7 7.9 22 11.5 19.5 16.4 12 21 12 21z",
    "chat": "M3 4h18v12H8l-5 4z",
    "hand": "M7 11V5a1.5 1.5 0 013 0v5-7a1.5 1.5 0 013 0v7-6a1.5 1.5 0 013 0v7-4a1.5 1.5 0 013 0v8c0 4-3 7-7 7s-6-2-8-5l-2-4a1.5 1.5 0 012.6-1.5z",
    "seed": "M12 22V11m0 0C12 6 8 3 3 3c0 5 4 8 9 8zm0 0c0-4 3-7 8-7 0 4-3 7-8 7z",
    "flag": "M5 22V3h12l-2 4 2 4H5",
    "calendar": "M4 5h16v16H4zM4 9h16M8 3v4M16 3v4",
    "trophy": "M7 3h10v5a5 5 0 01-10 0zM7 5H3a4 4 0 004 4m10-4h4a4 4 0 01-4 4M12 13v4m-4 4h8l-1-4H9z",
    "megaphone": "M3 10v4h3l7 4V6L6 10zm13-2a5 5 0 010 8",
    "leaf": "M5 19C5 9 11 4 20 4c0 9-5 15-15 15zm0 0l7-7",
    "coffee": "M4 8h13v6a5 5 0 01-5 5H9a5 5 0 01-5-5zm13 2h2a2 2 0 010 4h-2M8 2v3m4-3v3",
    "check": "M4 12.5l5 5L20 6.5",
    "spark": "M12 2v6m0 8v6M2 12h6m8 0h6M5 5l4 4m6 6l4 4M19 5l-4 4m-6 6l-4 4",
}

ICONS = tuple(_PATHS)


# Pages draw the same few icons over and over (three per post on a thread page); `typed` keeps
# a Markup label apart from an equal plain string, which is escaped differently.
@lru_cache(maxsize=1024, typed=True)
def icon_svg(name: str, *, tier: str = "bronze", size: int = 20, label: str = "") -> Markup:
    """An inline SVG; the tier gives its colour through a CSS class."""
    path = _PATHS.get(name, _PATHS["star"])
    title = Markup("<title>{}</title>").format(label) if label else Markup("")
    role = Markup('role="img" aria-label="{}"').format(label) if label else Markup('aria-hidden="true"')
    return Markup(
        '<svg class="badge-icon tier-{tier}" width="{size}" height="{size}" viewBox="0 0 24 24" {role}>'
        '{title}<path d="{path}" fill="none" stroke="currentColor" stroke-width="1.8" '
        'stroke-linejoin="round" stroke-linecap="round"/></svg>'
    ).format(tier=tier if tier in ("bronze", "silver", "gold") else "bronze", size=size, role=role,
             title=title, path=path)
