"""Recognition in a real Chromium, on SQLite and PostgreSQL: a host awards a badge and promotes an
ambassador; the member sees both in their notifications and on their profile.

The browser fixtures (live server, watched pages) are in conftest.py.
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from app.models import Circle, Post, Reaction, Thread, User, Visit, utcnow
from app.services import badges
from tests.factories import PASSWORD, add_member, make_admin, make_circle, make_user

pytestmark = pytest.mark.browser


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def make_candidate(db: Session, circle: Circle, member: User, fan: User) -> None:
    """KPIS.md's ambassador candidate: 8 active days, 10 posts and 5 reactions from others in 90 days."""
    now = utcnow()
    thread = Thread(circle_id=circle.id, author_id=fan.id, title="Dialing in", created_at=now, last_post_at=now)  # type: ignore[arg-type]
    db.add(thread)
    db.flush()
    posts = [Post(thread_id=thread.id, number=n + 1, author_id=member.id, body_md="Tip", body_html="<p>Tip</p>",  # type: ignore[arg-type]
                  created_at=now) for n in range(10)]
    db.add_all(posts)
    db.flush()
    db.add_all([Reaction(post_id=p.id, user_id=fan.id, kind="helpful", created_at=now) for p in posts[:5]])  # type: ignore[arg-type]
    db.add_all([Visit(user_id=member.id, day=(now - timedelta(days=d)).date(), circle_id=circle.id,  # type: ignore[arg-type]
                      scope=circle.id) for d in range(1, 8)])
    db.commit()


def test_host_awards_a_badge_and_promotes_an_ambassador_the_member_sees_both(new_page: Any, db: Any) -> None:
    admin = make_admin(db)
    circle = make_circle(db, "espresso-lab", name="Espresso Lab", by=admin)
    host = make_user(db, "hana", display_name="Hana Host")
    alice = make_user(db, "alice", display_name="Alice Martin")
    fan = make_user(db, "fan")
    add_member(db, circle, host, host=True)
    add_member(db, circle, alice)
    add_member(db, circle, fan)
    badges.create_badge(db, by=admin, name="Barista of the Month", description="Pulled the best shots.",
                        tier="gold", icon="coffee")
    make_candidate(db, circle, alice, fan)

    # The host recognises Alice from her profile, with a reason.
    hostpage = new_page()
    sign_in(hostpage, "hana")
    hostpage.goto("/u/alice")
    hostpage.get_by_label("Badge", exact=True).select_option("barista-of-the-month")
    hostpage.get_by_label("In the circle").select_option("espresso-lab")
    hostpage.get_by_label("Why (shown on the award)").fill("Taught the whole circle latte art.")
    hostpage.get_by_role("button", name="Award the badge").click()
    expect(hostpage).to_have_url(re.compile(r"/u/alice$"))
    expect(hostpage.get_by_role("status")).to_have_text("Alice Martin received the badge “Barista of the Month”.")
    expect(hostpage.locator(".badge-list")).to_contain_text("Barista of the Month")
    expect(hostpage.locator(".badge-list")).to_contain_text("Taught the whole circle latte art.")

    # Alice is a candidate of the circle Hana hosts: one click (and a reason) promotes her.
    hostpage.goto("/admin/ambassadors")
    candidate = hostpage.locator("#candidates tr").filter(has_text="Alice Martin")
    expect(candidate).to_have_count(1)
    candidate.get_by_label("Reason").fill("Carries the espresso circle.")
    candidate.get_by_role("button", name="Promote").click()
    expect(hostpage).to_have_url(re.compile(r"/admin/ambassadors$"))
    expect(hostpage.get_by_role("status")).to_have_text("Alice Martin is now an ambassador.")
    expect(hostpage.locator("#candidates")).to_contain_text("No candidate right now.")
    expect(hostpage.locator("table").filter(has_text="Carries the espresso circle.")).to_have_count(1)

    # Alice, in her own browser, finds both in her notifications and wears the flair.
    member = new_page()
    sign_in(member, "alice")
    expect(member.locator("#notif-count .badge-count")).to_have_text("2")
    member.get_by_role("link", name=re.compile("^Notifications")).click()
    notices = member.locator(".notification.unread")
    expect(notices).to_have_count(2)
    expect(notices.filter(has_text="You are now an ambassador of the community. Thank you!")).to_have_count(1)
    badge_notice = notices.filter(has_text="You received a badge:")
    expect(badge_notice).to_have_count(1)
    badge_notice.get_by_role("link", name="see it").click()
    expect(member).to_have_url(re.compile(r"/badges/barista-of-the-month$"))
    expect(member.locator(".member-list")).to_contain_text("Taught the whole circle latte art.")

    member.goto("/u/alice")
    expect(member.locator(".profile-card .flair")).to_have_text("Ambassador")
    expect(member.locator(".badge-list")).to_contain_text("Barista of the Month")
    # The grant's reason is for hosts and admins, not shown to the member herself.
    expect(member.get_by_text("Carries the espresso circle.")).to_have_count(0)
