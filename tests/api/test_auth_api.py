"""The JSON API's sign-in: OAuth2 password flow, Bearer tokens, 401s and the OpenAPI schema."""

from app.services import accounts
from tests.factories import PASSWORD, make_user


def get_token(client, username: str = "alice", password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_password_flow_gives_a_bearer_token_that_works_on_me(client, db):
    make_user(db, "alice", display_name="Alice")
    response = get_token(client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["email"] == "alice@example.com"


def test_password_flow_accepts_the_email_address(client, db):
    make_user(db, "alice")
    response = get_token(client, "alice@example.com")
    assert response.status_code == 200
    assert response.json()["access_token"].startswith("cercle_")


def test_password_flow_with_a_wrong_password_is_a_json_4xx(client, db):
    make_user(db, "alice")
    response = get_token(client, password="not the password")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"] == "Wrong username or password."


def test_password_flow_gives_the_same_answer_for_an_unknown_user(client, db):
    make_user(db, "alice")
    wrong_password = get_token(client, password="not the password")
    unknown_user = get_token(client, "nobody", "not the password")
    assert unknown_user.status_code == wrong_password.status_code
    assert unknown_user.json() == wrong_password.json()


def test_password_flow_without_fields_is_a_json_422(client, db):
    response = client.post("/api/v1/auth/token", data={})
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_password_flow_is_throttled_like_the_sign_in_form(client, db):
    make_user(db, "alice")
    for _attempt in range(5):
        assert get_token(client, password="not the password").status_code == 422
    response = get_token(client)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "access_token" not in response.json()


def test_me_without_authentication_is_a_json_401(client, db):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


def test_me_with_an_unknown_bearer_token_is_a_json_401(client, db):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer cercle_not-a-real-token"})
    assert response.status_code == 401
    assert response.json()["detail"] == "This API token is not valid."


def test_api_tokens_can_be_listed_and_revoked_through_the_api(client, db):
    user = make_user(db, "alice")
    token = accounts.create_api_token(db, user=user, name="laptop")
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/me/tokens", headers=headers).json()
    assert [t["name"] for t in listed] == ["laptop"]
    assert "token_hash" not in listed[0]
    assert client.delete(f"/api/v1/me/tokens/{listed[0]['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_openapi_schema_lists_the_account_endpoints(client, db):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "get" in paths["/api/v1/me"]
    assert "post" in paths["/api/v1/auth/token"]


def test_api_docs_page_answers(client, db):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text


def test_api_docs_page_may_load_the_scripts_it_uses(client, db):
    import re

    response = client.get("/docs")
    policy = dict(
        (part.split()[0], part.split()[1:]) for part in response.headers["content-security-policy"].split(";")
    )
    for source in re.findall(r'<script src="(https://[^/"]+)/', response.text):
        assert source in policy["script-src"]
    assert "'unsafe-inline'" in policy["script-src"]  # Swagger UI starts from an inline script


def test_pages_other_than_the_api_docs_keep_the_strict_policy(client, db):
    policy = client.get("/login").headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
