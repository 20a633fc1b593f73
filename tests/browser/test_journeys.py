"""Journeys in a real Chromium, on SQLite and PostgreSQL.

Each test fails if the browser reports a JavaScript error, a console error or a
Content-Security-Policy violation (see conftest.py).
"""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, add_member, make_circle, make_thread, make_user

pytestmark = pytest.mark.browser

MARKER = "window.__cercleNoReload"


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.get_by_role("link", name="Sign in", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def set_marker(page: Any) -> None:
    """A value on `window` that only survives if the page is not reloaded."""
    page.evaluate(f"{MARKER} = 'still here'")


def assert_no_reload(page: Any) -> None:
    assert page.evaluate(MARKER) == "still here", "the page was reloaded"


def test_register_sign_out_and_sign_in_again(page: Any, db: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="Join the community").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Display name (optional)").fill("Nadia Roussel")
    page.get_by_label("E-mail").fill("nadia@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create my account").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_have_text("Welcome, Nadia Roussel!")
    expect(page.get_by_role("heading", name="Latest in my circles")).to_be_visible()
    expect(page.locator(".mainnav .me")).to_have_text("Nadia Roussel")

    sign_out(page)
    expect(page.get_by_role("link", name="Join the community")).to_be_visible()

    page.get_by_role("link", name="Sign in", exact=True).first.click()
    page.get_by_label("Username or e-mail").fill("nadia@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Latest in my circles")).to_be_visible()
    expect(page.locator(".mainnav .me")).to_have_text("Nadia Roussel")

    sign_out(page)


def test_member_joins_open_circle_posts_replies_and_reacts(page: Any, db: Any) -> None:
    make_circle(db, "espresso-lab", name="Espresso Lab", description="Dial in your shots.")
    make_user(db, "alice", display_name="Alice Martin")
    sign_in(page, "alice")

    page.goto("/c/espresso-lab")
    expect(page.get_by_role("heading", name="Espresso Lab")).to_be_visible()
    set_marker(page)
    page.get_by_role("button", name="Join this circle").click()
    expect(page.locator("#membership")).to_contain_text("You are a member")
    assert_no_reload(page)

    page.get_by_role("link", name="See the conversations").click()
    page.get_by_role("link", name="New thread").click()
    page.get_by_label("Title").fill("Which grinder for a first setup?")
    page.get_by_label("Message (Markdown)").fill("Budget about **300 €**. Flat or conical?")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(r"/t/\d+$"))
    expect(page.get_by_role("heading", name="Which grinder for a first setup?")).to_be_visible()
    expect(page.locator("#post-list .post-body strong")).to_have_text("300 €")

    set_marker(page)
    page.get_by_placeholder(re.compile("Write a reply")).fill("Conical, *for sure*.")
    page.get_by_role("button", name="Post the reply").click()
    expect(page.locator("#post-list > li")).to_have_count(2)
    new_post = page.locator("#post-list > li").last
    expect(new_post.locator(".post-body em")).to_have_text("for sure")
    expect(new_post).to_have_class(re.compile(r"\bjust-posted\b"))
    expect(page.get_by_placeholder(re.compile("Write a reply"))).to_have_value("")
    assert_no_reload(page)

    # Nobody reacts to their own posts: a second member finds the thread and finds it helpful.
    thread_url = page.url
    sign_out(page)
    make_user(db, "bruno")
    sign_in(page, "bruno")
    page.goto("/c/espresso-lab")
    page.get_by_role("button", name="Join this circle").click()
    expect(page.locator("#membership")).to_contain_text("You are a member")
    page.goto(thread_url)
    set_marker(page)
    opening = page.locator("#post-list > li").first
    helpful = opening.get_by_role("button", name="Helpful")
    expect(helpful).to_have_attribute("aria-pressed", "false")
    helpful.click()
    helpful = page.locator("#post-list > li").first.get_by_role("button", name="Helpful")
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(helpful).to_have_text(re.compile(r"Helpful\s*1$"))
    assert_no_reload(page)


def test_closed_circle_request_approved_by_a_host(new_page: Any, db: Any) -> None:
    circle = make_circle(
        db, "home-roasters", visibility="closed", name="Home Roasters", description="For members who roast at home."
    )
    host = make_user(db, "hana", display_name="Hana Host")
    add_member(db, circle, host, host=True)
    make_thread(db, circle, host, title="First crack timing", body="4:30 on a popcorn machine.")
    make_user(db, "mia", display_name="Mia Moreau")

    member = new_page()
    sign_in(member, "mia")
    member.goto("/c")
    member.get_by_role("link", name="Home Roasters").click()
    expect(member.get_by_role("link", name="First crack timing")).to_have_count(0)
    member.get_by_label("A word for the hosts (optional)").fill("I roast on a Gene Café.")
    member.get_by_role("button", name="Ask to join").click()
    expect(member.get_by_role("status")).to_have_text("Your request is sent. A host will answer it soon.")
    expect(member.locator("#membership")).to_contain_text("Your request is waiting for a host.")

    hostpage = new_page()
    sign_in(hostpage, "hana")
    hostpage.goto("/c/home-roasters/requests")
    request_box = hostpage.locator(".request").filter(has_text="Mia Moreau")
    expect(request_box).to_contain_text("I roast on a Gene Café.")
    request_box.get_by_role("button", name="Approve").click()
    expect(hostpage.get_by_role("status")).to_have_text("The request is approved.")
    expect(hostpage.get_by_text("No pending request.")).to_be_visible()

    member.goto("/")
    expect(member.locator("#notif-count .badge-count")).to_have_text("1")
    member.get_by_role("link", name=re.compile("^Notifications")).click()
    notice = member.locator(".notification.unread")
    expect(notice).to_contain_text("Your request to join was approved:")
    notice.get_by_role("link", name="Home Roasters").click()
    expect(member).to_have_url(re.compile(r"/c/home-roasters$"))
    expect(member.locator("#membership")).to_contain_text("You are a member")
    member.get_by_role("link", name="First crack timing").click()
    expect(member.locator("#post-list")).to_contain_text("4:30 on a popcorn machine.")


def test_invalid_registration_is_shown_again_with_the_message(page: Any, db: Any) -> None:
    page.goto("/register")
    page.get_by_label("Username").fill("shorty")
    page.get_by_label("E-mail").fill("shorty@example.com")
    page.get_by_label("Password").fill("short")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Create my account").click()
    assert posted.value.status == 422

    expect(page.get_by_role("alert")).to_have_text("Please correct the highlighted fields.")
    expect(page.locator("#e-password")).to_have_text("At least 10 characters.")
    expect(page.get_by_label("Password")).to_have_accessible_description("At least 10 characters.")
    expect(page.get_by_label("Username")).to_have_value("shorty")
    expect(page.get_by_label("E-mail")).to_have_value("shorty@example.com")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
