"""Attendance before the event: no absences or rate before the start, and check-in only from a
configurable window before it. Clock injected (time_machine for the pages, `now` for services)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from app.config import Config, ConfigError, check_config
from app.core.errors import ValidationFailed
from app.extensions import db
from app.invitations import services
from tests import factories
from tests.test_invitations import accept


def salon_with_three_accepted():
    activity = factories.activity(title="锂电产业链沙龙")
    invitations = [factories.invitation(activity)[0] for _ in range(3)]
    for invitation in invitations:
        accept(invitation, 1)
    db.session.commit()
    return activity, invitations


def test_two_days_ahead_there_is_no_absence_and_no_rate(app, client, login_as):
    activity, _invitations = salon_with_three_accepted()
    two_days_ahead = activity.starts_at - timedelta(days=2)
    summary = services.attendance_summary(activity.id, two_days_ahead)
    assert (summary.expected, summary.present, summary.absent, summary.rate) == (3, 0, None, None)
    assert not summary.started
    with time_machine.travel(two_days_ahead, tick=False):
        login_as("organiser")
        block = client.get(f"/activities/{activity.id}").get_data(as_text=True)
        checkin_page = client.get(f"/activities/{activity.id}/checkin").get_data(as_text=True)
    shown = block.split('id="invitation-block"')[1].split("</div>\n</div>")[0]
    assert "应到 3" in shown and not re.search(r"缺席 \d", shown) and "%" not in shown
    assert 'id="att-absent"' not in checkin_page and 'id="att-rate"' not in checkin_page
    # Once it has started, nobody checked in is absent.
    after = services.attendance_summary(activity.id, activity.starts_at + timedelta(minutes=1))
    assert (after.absent, after.rate) == (3, 0.0)
    with time_machine.travel(activity.starts_at + timedelta(minutes=1), tick=False):
        block = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "缺席 3" in block and "0%" in block


def test_check_in_two_days_early_is_refused_with_a_translated_message(app, client, login_as):
    activity, (first, second, _third) = salon_with_three_accepted()
    early = activity.starts_at - timedelta(days=2)
    with pytest.raises(ValidationFailed):
        services.check_in(first, now=early)
    url = f"/activities/{activity.id}/checkin"
    with time_machine.travel(early, tick=False):
        login_as("organiser")
        by_code = client.post(url, data={"code": first.checkin_code})
        assert by_code.status_code == 400 and "签到将于" in by_code.get_data(as_text=True)
        ticked = client.post(f"{url}/{second.id}", data={"count": "1"}, follow_redirects=True)
        assert "签到将于" in ticked.get_data(as_text=True)
        walk_in = client.post(f"{url}/walk-in", data={
            "walkin-organisation": str(first.organisation_id), "walkin-name": "临时来宾", "walkin-count": "1"})
        assert walk_in.status_code == 400
    db.session.expire_all()
    assert first.checked_in_at is None and second.checked_in_at is None
    assert services.attendance_summary(activity.id, early).present == 0


def test_check_in_opens_the_configured_time_before_the_start(app):
    activity, (first, second, third) = salon_with_three_accepted()
    app.config["CHECKIN_OPENS_MINUTES_BEFORE"] = 30
    with pytest.raises(ValidationFailed):
        services.check_in(first, now=activity.starts_at - timedelta(minutes=31))
    db.session.rollback()
    services.check_in(first, now=activity.starts_at - timedelta(minutes=30))
    app.config["CHECKIN_OPENS_MINUTES_BEFORE"] = 120  # the default
    services.check_in(second, now=activity.starts_at - timedelta(minutes=119))
    services.check_in(third, now=activity.starts_at + timedelta(hours=1))  # latecomers too
    db.session.commit()
    assert services.attendance_summary(activity.id, activity.starts_at).present == 3


def test_the_window_setting_is_validated(tmp_path, monkeypatch):
    monkeypatch.delenv("CHECKIN_OPENS_MINUTES_BEFORE", raising=False)
    config = Config(tmp_path)
    assert config.CHECKIN_OPENS_MINUTES_BEFORE == 120
    monkeypatch.setenv("CHECKIN_OPENS_MINUTES_BEFORE", "45")
    assert Config(tmp_path).CHECKIN_OPENS_MINUTES_BEFORE == 45
    monkeypatch.setenv("CHECKIN_OPENS_MINUTES_BEFORE", "2h")
    with pytest.raises(ConfigError, match="CHECKIN_OPENS_MINUTES_BEFORE"):
        Config(tmp_path)
    for bad in (-5, 99999):
        settings = dict(vars(config), CHECKIN_OPENS_MINUTES_BEFORE=bad)
        with pytest.raises(ConfigError, match="CHECKIN_OPENS_MINUTES_BEFORE"):
            check_config(settings)
