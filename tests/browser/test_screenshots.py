"""Screenshots of the demo community for the documentation: `make screenshots`.

Runs only with CERCLE_SCREENSHOTS=1 (and once, on SQLite); writes docs/screenshots/*.png.
"""

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import col, func, select

from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        os.environ.get("CERCLE_SCREENSHOTS") != "1",
        reason="screenshots are taken only with CERCLE_SCREENSHOTS=1 (make screenshots)",
    ),
]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}


def shoot(page: Any, path: str, name: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / name), full_page=True, animations="disabled")


@pytest.fixture(autouse=True)
def _once_on_sqlite(database_url: str) -> None:
    """Set up before the server and the browser, so the PostgreSQL run skips at once."""
    if not database_url.startswith("sqlite"):
        pytest.skip("screenshots are taken once, on SQLite")


def test_screenshot_pages(new_page: Any, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import web
    from app.demo import seed_demo
    from app.models import Circle, Membership, Thread, User

    monkeypatch.setenv("CERCLE_DEMO_PASSWORD", PASSWORD)
    seed_demo(db, members=40)
    web.forget_site_config()

    # A plain member (not admin, not a host) who belongs to the most circles.
    member = db.exec(
        select(User)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(col(User.is_admin).is_(False), Membership.state == "active")
        .group_by(col(User.id))
        .having(func.min(Membership.role) == "member")
        .order_by(func.count().desc(), col(User.id))
    ).first()
    assert member is not None
    circle = db.exec(
        select(Circle)
        .join(Membership, col(Membership.circle_id) == Circle.id)
        .where(Membership.user_id == member.id, Membership.state == "active", Circle.visibility != "secret")
        .order_by(col(Circle.member_count).desc())
    ).first()
    assert circle is not None
    thread = db.exec(
        select(Thread).where(Thread.circle_id == circle.id).order_by(col(Thread.reply_count).desc())
    ).first()
    assert thread is not None
    username, slug, thread_id = member.username, circle.slug, thread.id
    # End the test session's transaction: on SQLite it holds the write lock the server needs.
    db.commit()

    OUT.mkdir(parents=True, exist_ok=True)
    visitor = new_page(viewport=DESKTOP)
    shoot(visitor, "/", "landing.png")

    page = new_page(viewport=DESKTOP)
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shoot(page, "/", "home.png")
    shoot(page, f"/c/{slug}", "circle.png")
    shoot(page, f"/t/{thread_id}", "thread.png")
    shoot(page, "/c", "directory.png")

    mobile = new_page(viewport=MOBILE, is_mobile=True, has_touch=True)
    mobile.context.add_cookies(page.context.cookies())
    shoot(mobile, f"/t/{thread_id}", "thread-mobile.png")

    for name in ("home", "circle", "thread", "directory", "landing", "thread-mobile"):
        assert (OUT / f"{name}.png").stat().st_size > 10_000, name
