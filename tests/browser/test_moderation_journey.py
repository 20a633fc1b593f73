"""Moderation in a real Chromium, on SQLite and PostgreSQL: a member flags a post from its footer
(htmx), a host hides it from the review queue with a reason, and its author reads why.

The browser fixtures (live server, watched pages) are in conftest.py.
"""

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import Flag, Post
from tests.factories import PASSWORD, add_member, make_admin, make_circle, make_reply, make_thread, make_user

pytestmark = pytest.mark.browser


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_flag_reaches_the_host_who_hides_the_post_and_the_author_learns_why(new_page: Any, db: Any) -> None:
    admin = make_admin(db)
    circle = make_circle(db, "espresso-lab", name="Espresso Lab", visibility="closed", by=admin)
    host = make_user(db, "hana", display_name="Hana Host")
    mel = make_user(db, "mel", display_name="Mel Member")
    alice = make_user(db, "alice", display_name="Alice Author")
    add_member(db, circle, host, host=True)
    add_member(db, circle, mel)
    add_member(db, circle, alice)
    thread = make_thread(db, circle, host, title="Grinders", body="Which grinder do you use?")
    reply = make_reply(db, thread, alice, "Buy my watches at a bargain!")
    db.commit()

    # Mel flags Alice's reply from its footer; htmx swaps the small form for a thank-you.
    member = new_page()
    sign_in(member, "mel")
    member.goto(f"/t/{thread.id}")
    post = member.locator(f"#p{reply.number}")
    post.get_by_text("Flag", exact=True).click()
    post.get_by_label("What is wrong?").select_option("other")
    post.get_by_label("Details for the hosts (optional)").fill("Sells watches to everyone")
    post.get_by_role("button", name="Send to the hosts").click()
    expect(post.locator(".flag-result")).to_have_text("Flagged — thank you.")
    expect(member).to_have_url(re.compile(rf"/t/{thread.id}$"))  # no page load: htmx did it
    flags = db.exec(select(Flag).execution_options(populate_existing=True)).all()
    db.commit()
    assert [(f.user_id, f.reason, f.text) for f in flags] == [(mel.id, "other", "Sells watches to everyone")]

    # Hana finds it in her review queue, with its reason, and hides it with a reason of her own.
    hostpage = new_page()
    sign_in(hostpage, "hana")
    hostpage.goto("/mod")
    item = hostpage.locator("#flags .queue-item").filter(has_text="Buy my watches at a bargain!")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Sells watches to everyone")
    expect(item).to_contain_text("Espresso Lab")
    item.get_by_text("Hide, delete or warn…").click()
    item.get_by_label("Reason (the author sees it)").fill("No advertising in this circle.")
    item.get_by_role("button", name="Hide", exact=True).click()
    expect(hostpage).to_have_url(re.compile(r"/mod$"))
    expect(hostpage.get_by_role("status")).to_have_text("The post is hidden and its author is told why.")
    expect(hostpage.locator("#flags")).to_contain_text("Nothing flagged. All is calm.")

    # Mel no longer sees the post; Alice (a third browser) is told why it was hidden.
    member.goto(f"/t/{thread.id}")
    expect(member.locator("main")).not_to_contain_text("Buy my watches")
    author = new_page()
    sign_in(author, "alice")
    author.goto("/notifications")
    notice = author.locator(".notification").filter(has_text="A host hid your post in")
    expect(notice).to_contain_text("Grinders")
    expect(notice).to_contain_text("No advertising in this circle.")
    author.goto(f"/t/{thread.id}")
    expect(author.locator(f"#p{reply.number}")).to_contain_text("Hidden by a moderator. No advertising in this circle.")
    hidden = db.exec(select(Post).where(Post.id == reply.id).execution_options(populate_existing=True)).one()
    db.commit()
    assert (hidden.hidden, hidden.hidden_reason) == (True, "No advertising in this circle.")
