from tests.factories import login, make_circle, make_thread, make_user, post_form


def test_home_page_for_visitor_is_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Join the community" in response.text


def test_member_can_join_open_circle_and_post_a_thread(client, db):
    user = make_user(db, "alice")
    circle = make_circle(db, "espresso")
    login(client, user)
    assert post_form(client, "/c/espresso/join").status_code == 303
    response = post_form(client, "/c/espresso/new", {"title": "Hello", "body": "First **post**"})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "<strong>post</strong>" in page.text
    assert circle.slug in page.text


def test_reply_through_htmx_returns_the_new_post(client, db):
    user = make_user(db, "alice")
    circle = make_circle(db, "espresso")
    from tests.factories import add_member

    add_member(db, circle, user)
    thread = make_thread(db, circle, user)
    login(client, user)
    response = post_form(client, f"/t/{thread.id}/reply", {"body": "htmx reply"},
                         headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "htmx reply" in response.text
    assert 'hx-swap-oob' in response.text
