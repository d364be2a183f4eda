"""Mass and destructive actions ask first: 全部催复 shows whom it mails before sending (a page, so
it works without JavaScript); cancel, rotate and revoke forms carry data-confirm for app.js; the
invite form's long lists are marked for the locally served picker and load no inline script."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.mail.models import OutboxMessage
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _nudges() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "invitation.nudge"))


def test_remind_all_asks_first_and_says_how_many(app, client, login_as):
    activity = factories.activity(starts_at=NOW + timedelta(days=7))
    for _n in range(3):
        factories.invitation(activity)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        login_as("organiser")
        asked = client.post(f"/activities/{activity.id}/invitations/nudge")
        html = asked.get_data(as_text=True)
        assert asked.status_code == 200 and _nudges() == 0
        assert "3 位尚未回复" in html and 'name="confirmed" value="1"' in html
        sent = client.post(f"/activities/{activity.id}/invitations/nudge", data={"confirmed": "1"})
    assert sent.status_code == 302 and _nudges() == 3


def test_destructive_forms_carry_a_confirmation(app, client, login_as):
    activity = factories.activity(starts_at=NOW + timedelta(days=7))
    db.session.commit()
    login_as("organiser")
    html = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    cancel_form = re.search(r'<form[^>]*action="/activities/\d+/cancel"[^>]*>', html).group(0)
    assert 'data-confirm="确定取消此活动吗' in cancel_form
    assert "<script>" not in html and "onclick=" not in html and "onsubmit=" not in html
    assert client.get("/static/app.js").status_code == 200


def test_invite_form_marks_its_long_lists_for_the_local_picker(app, client, login_as):
    activity = factories.activity(starts_at=NOW + timedelta(days=7))
    factories.person(name="张经理")
    db.session.commit()
    login_as("organiser")
    html = client.get(f"/activities/{activity.id}/invitations").get_data(as_text=True)
    assert re.search(r'<select[^>]*data-picker[^>]*id="organisations"|<select[^>]*id="organisations"[^>]*data-picker', html)
    assert re.search(r'<select[^>]*data-picker[^>]*id="people"|<select[^>]*id="people"[^>]*data-picker', html)
    scripts = re.findall(r"<script[^>]*>", html)
    assert all('src="/static/' in tag for tag in scripts)  # served here: no CDN, no inline script
    assert '<script src="/static/vendor/tom-select/tom-select.complete.min.js">' in scripts
    for path in ("/static/vendor/tom-select/tom-select.complete.min.js", "/static/vendor/tom-select/tom-select.bootstrap5.min.css", "/static/pickers.js"):
        assert client.get(path).status_code == 200, path
