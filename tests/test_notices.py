"""One wiring place: create_app fills a per-app notice registry and refuses to start incomplete.

Each feature's register(app) adds its builders; leaving one out stops the app at start-up with
a message naming the kind. A reminder whose builder is missing at send time fails visibly (its
outbox row retries and shows the error); it is never treated as withdrawn.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.invitations import services as invitations
from app.invitations.models import Answer, AnswerChannel
from app.mail import dispatch
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.notices import EXTENSION_KEY, MissingNoticeBuilder, notices_of
from app.problems import reminders as problem_reminders
from app.reminders import sweep
from app.reminders.models import Reminder, ReminderKind, ReminderStatus
from tests import factories
from tests.conftest import TestConfig

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
START = NOW + timedelta(days=7)


def config(tmp_path) -> TestConfig:
    return TestConfig(f"sqlite:///{tmp_path / 'notices.sqlite'}", tmp_path)


def test_every_kind_has_a_builder_in_a_normal_app(tmp_path):
    app = create_app(config(tmp_path))
    registry = notices_of(app)
    assert set(registry.reminder_builders) == {kind.value for kind in ReminderKind}
    assert "reminder" in registry.renderers and "invitation.invitation" in registry.prebuilt
    assert app.extensions[EXTENSION_KEY] is registry
    # Each app has its own registry: nothing is shared through module globals.
    assert notices_of(create_app(config(tmp_path))) is not registry


def test_an_app_missing_a_reminder_builder_refuses_to_start(tmp_path, monkeypatch):
    real_register = problem_reminders.register

    def register_without_follow_up(app):
        real_register(app)
        del notices_of(app).reminder_builders[ReminderKind.follow_up_due.value]

    monkeypatch.setattr(problem_reminders, "register", register_without_follow_up)
    with pytest.raises(MissingNoticeBuilder, match="reminder kind 'follow_up_due'") as refused:
        create_app(config(tmp_path))
    assert "problem_due" not in str(refused.value)


def test_an_app_whose_invitations_are_not_registered_names_their_outbox_kinds(tmp_path, monkeypatch):
    from app.invitations import wiring

    monkeypatch.setattr(wiring, "register", lambda app: None)
    with pytest.raises(MissingNoticeBuilder, match="outbox kind 'invitation.invitation'"):
        create_app(config(tmp_path))


def test_a_reminder_without_a_builder_fails_visibly_and_is_not_withdrawn(app, smtp_server, monkeypatch):
    activity = factories.activity(starts_at=START, status="published")
    invitation, _token = factories.invitation(activity)
    invitations.answer(invitation, reply=Answer.accepted, seats=1, names=None, note=None,
                       channel=AnswerChannel.link, now=NOW)
    db.session.commit()
    monkeypatch.delitem(notices_of(app).reminder_builders, ReminderKind.activity_upcoming.value)
    due = START - timedelta(days=1)
    assert sweep.sweep(due).queued == 1
    report = dispatch.deliver_due(due)
    assert report.withdrawn == 0 and report.sent == 0 and report.retrying == 1
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
    assert row.status == OutboxStatus.retrying and "activity_upcoming" in row.last_error
    reminder = db.session.scalar(select(Reminder).where(Reminder.outbox_message_id == row.id))
    assert reminder.status == ReminderStatus.done  # not suppressed as "withdrawn"
