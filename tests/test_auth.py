"""Log-in, log-out, role checks, CSRF and `flask users create`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.orgs.models import Person
from tests import factories


def test_login_and_logout(client, app):
    user = factories.user("organiser", name="戴文华")
    db.session.commit()
    response = client.post("/login", data={"email": user.email.upper(), "password": factories.PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "戴文华" in home.get_data(as_text=True)
    assert db.session.get(User, user.id).last_login_at is not None
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_in_chinese(client, app):
    user = factories.user("organiser")
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": "wrong password"})
    assert response.status_code == 200
    assert "邮箱或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_inactive_account_cannot_log_in(client, app):
    user = factories.user("contact")
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_login_redirect_stays_on_site(client, app):
    user = factories.user("organiser")
    db.session.commit()
    response = client.post(
        "/login?next=//evil.example/x", data={"email": user.email, "password": factories.PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/venues", data={"email": user.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/venues"


@pytest.mark.parametrize("role", ["contact", "liaison", "instructor"])
def test_administration_is_refused_to_other_roles(client, login_as, role):
    login_as(role)
    for path in ("/organisations", "/people", "/venues", "/organisations/new", "/accounts", "/themes/new"):
        assert client.get(path).status_code == 403, path


def test_accounts_are_for_administrators_only(client, login_as):
    login_as("organiser")
    assert client.get("/accounts").status_code == 403
    client.post("/logout")
    login_as("admin")
    assert client.get("/accounts").status_code == 200


def test_anonymous_is_sent_to_login_and_api_gets_json(client, app):
    response = client.get("/organisations")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    api = client.get("/api/anything")
    assert api.status_code == 404
    assert api.is_json


def test_csrf_is_enforced_on_forms(app, client):
    user = factories.user("organiser")
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        assert refused.status_code == 400
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        accepted = client.post(
            "/login", data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token}
        )
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_users_create_command(app, runner):
    org = factories.organisation("committee", name="宜黄县产业链综合党委")
    db.session.commit()
    result = runner.invoke(
        args=["users", "create", "--email", "New@Example.com", "--name", "新用户",
              "--organisation", org.name, "--role", "organiser", "--password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).join(User.person).where(Person.email == "new@example.com"))
    assert user.role.value == "organiser"
    assert user.check_password("long enough pw")
    assert user.password_hash != "long enough pw"


def test_users_create_command_refuses_bad_input(app, runner):
    org = factories.organisation("department", name="县税务局")
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Person))
    cases = [
        (["--organisation", "无此单位", "--role", "liaison", "--password", "long enough pw"], "No organisation"),
        (["--organisation", org.name, "--role", "contact", "--password", "long enough pw"], "不适合"),
        (["--organisation", org.name, "--role", "liaison", "--password", "short"], "8"),
    ]
    for extra, expected in cases:
        result = runner.invoke(args=["users", "create", "--email", "x@example.com", "--name", "某人", *extra])
        assert result.exit_code != 0
        assert expected in result.output
    assert db.session.scalar(select(func.count()).select_from(Person)) == before


def test_change_own_password(client, login_as):
    user = login_as("contact")
    wrong = client.post("/account/password", data={"current": "nope", "new": "a new password", "confirm": "a new password"})
    assert "密码错误" in wrong.get_data(as_text=True)
    differ = client.post(
        "/account/password", data={"current": factories.PASSWORD, "new": "a new password", "confirm": "other one!"}
    )
    assert "两次输入的密码不一致" in differ.get_data(as_text=True)
    assert db.session.get(User, user.id).check_password(factories.PASSWORD)
    done = client.post(
        "/account/password", data={"current": factories.PASSWORD, "new": "a new password", "confirm": "a new password"}
    )
    assert done.status_code == 302
    assert db.session.get(User, user.id).check_password("a new password")


def test_audit_log_page_shows_changes(client, login_as):
    login_as("organiser")
    client.post("/venues/new", data={"name": "报告厅", "address": "县城", "capacity": "120"})
    page = client.get("/audit?type=venue").get_data(as_text=True)
    assert "报告厅" in page and "创建" in page
