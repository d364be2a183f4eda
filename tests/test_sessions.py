"""Sessions that can be revoked: log-out, password change and deactivation end every cookie."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.auth.sessions import end_sessions
from app.extensions import db
from tests import factories

SESSION = "session"
REMEMBER = "remember_token"


def cookie(client, name: str) -> str | None:
    """The value of one of the client's cookies, if set."""
    found = client.get_cookie(name)
    return found.value if found else None


def log_in(client, user, remember: bool = False):
    data = {"email": user.email, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def replay(app, name: str, value: str):
    """A fresh browser holding only a copied cookie (what a thief would have)."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other.get("/")


def is_login_page(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_session_cookie_replayed_after_logout_gets_the_login_page(app, client):
    user = factories.user("organiser")
    db.session.commit()
    log_in(client, user)
    stolen = cookie(client, SESSION)
    assert replay(app, SESSION, stolen).status_code == 200
    client.post("/logout")
    assert is_login_page(replay(app, SESSION, stolen))
    assert is_login_page(client.get("/"))


def test_remember_me_cookie_fails_after_logout(app, client):
    user = factories.user("contact")
    db.session.commit()
    log_in(client, user, remember=True)
    remembered = cookie(client, REMEMBER)
    assert remembered
    assert replay(app, REMEMBER, remembered).status_code == 200
    client.post("/logout")
    assert is_login_page(replay(app, REMEMBER, remembered))


def test_remember_me_and_other_sessions_fail_after_a_password_change(app, client):
    user = factories.user("liaison")
    db.session.commit()
    log_in(client, user, remember=True)
    remembered, session_cookie = cookie(client, REMEMBER), cookie(client, SESSION)
    other_device = app.test_client()
    log_in(other_device, user)
    response = client.post(
        "/account/password", data={"current": factories.PASSWORD, "new": "a new password", "confirm": "a new password"}
    )
    assert response.status_code == 302
    # This browser stays logged in; every older cookie, here or elsewhere, is dead.
    assert client.get("/").status_code == 200
    assert is_login_page(other_device.get("/"))
    assert is_login_page(replay(app, REMEMBER, remembered))
    assert is_login_page(replay(app, SESSION, session_cookie))


def test_deactivation_ends_open_sessions(app, client, login_as):
    target = factories.user("contact")
    db.session.commit()
    victim = app.test_client()
    log_in(victim, target, remember=True)
    remembered = cookie(victim, REMEMBER)
    assert victim.get("/").status_code == 200
    login_as("admin")
    response = client.post(f"/accounts/{target.id}/edit", data={"role": "contact", "active": ""})
    assert response.status_code == 302
    assert is_login_page(victim.get("/"))
    assert is_login_page(replay(app, REMEMBER, remembered))


def test_deactivating_the_person_ends_the_sessions_and_reactivation_does_not_revive_them(app, client, login_as):
    target = factories.user("contact")
    db.session.commit()
    victim = app.test_client()
    log_in(victim, target)
    stolen = cookie(victim, SESSION)
    login_as("organiser")
    assert client.post(f"/people/{target.person_id}/active", data={"active": "0"}).status_code == 302
    assert is_login_page(victim.get("/"))
    assert client.post(f"/people/{target.person_id}/active", data={"active": "1"}).status_code == 302
    assert is_login_page(replay(app, SESSION, stolen))


def test_log_out_everywhere_ends_every_session(app, client):
    user = factories.user("organiser")
    db.session.commit()
    log_in(client, user)
    other_device = app.test_client()
    log_in(other_device, user, remember=True)
    remembered = cookie(other_device, REMEMBER)
    page = client.get("/account/password").get_data(as_text=True)
    assert "在所有设备上退出" in page
    response = client.post("/account/sessions/end")
    assert is_login_page(response)
    assert is_login_page(client.get("/"))
    assert is_login_page(other_device.get("/"))
    assert is_login_page(replay(app, REMEMBER, remembered))
    assert db.session.get(User, user.id).session_version == 2


def test_remember_me_cookie_is_lax_http_only_and_lasts_the_configured_days(app, client):
    user = factories.user("organiser")
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD, "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER + "="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


@pytest.mark.parametrize("forged", ["1", "1:x", "x:1", "1:1:1", "99999999999999999999:1", ""])
def test_malformed_session_ids_are_anonymous(app, client, forged):
    factories.user("organiser")
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = forged
        session["_fresh"] = True
    assert is_login_page(client.get("/"))


def test_each_revocation_raises_the_version(app):
    user = factories.user("organiser")
    db.session.commit()
    end_sessions(user)
    end_sessions(user)
    db.session.commit()
    assert db.session.scalar(select(func.max(User.session_version))) == 3
