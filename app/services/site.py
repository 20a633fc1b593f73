"""Site settings an admin edits in the browser: name, look, registration mode."""

import json
import re
from dataclasses import asdict, dataclass

from sqlmodel import Session, select

from app.errors import Invalid
from app.i18n import _
from app.models import SiteSetting

COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class SiteConfig:
    name: str = "Cercle"
    description: str = ""
    accent_colour: str = "#5b4bdb"
    logo_url: str = ""
    registration: str = "open"  # or "invite"
    flag_threshold: int = 3  # flags from distinct members that hide a post pending review


def load(session: Session) -> SiteConfig:
    rows = session.exec(select(SiteSetting)).all()
    values = {row.key: json.loads(row.value) for row in rows}
    known = {key: value for key, value in values.items() if key in SiteConfig.__dataclass_fields__}
    return SiteConfig(**known)


def update(session: Session, **changes: str | int) -> SiteConfig:
    current = asdict(load(session))
    current.update(changes)
    config = SiteConfig(**current)
    errors: dict[str, str] = {}
    if not config.name.strip() or len(config.name) > 60:
        errors["name"] = _("The site name needs 1 to 60 characters.")
    if not COLOUR_RE.match(config.accent_colour):
        errors["accent_colour"] = _("Use a colour like #5b4bdb.")
    if config.logo_url and not config.logo_url.startswith(("https://", "/")):
        errors["logo_url"] = _("The logo address must start with https:// or /.")
    if config.registration not in ("open", "invite"):
        errors["registration"] = _("Choose open or invite-only registration.")
    if not isinstance(config.flag_threshold, int) or not 1 <= config.flag_threshold <= 50:
        errors["flag_threshold"] = _("Between 1 and 50.")
    if len(config.description) > 1000:
        errors["description"] = _("The description is limited to 1,000 characters.")
    if errors:
        raise Invalid(_("Please correct the highlighted fields."), **errors)
    for key in changes:
        row = session.get(SiteSetting, key) or SiteSetting(key=key)
        row.value = json.dumps(getattr(config, key))
        session.add(row)
    session.commit()
    return config
