"""The core model: UTC storage, constraints, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.audit.services import history, record
from app.events.models import Activity
from app.extensions import db
from tests import factories


def test_times_are_stored_in_utc_and_read_back_aware(app):
    beijing = datetime(2026, 3, 5, 14, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    activity = factories.activity(starts_at=beijing)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(Activity, activity.id)
    assert loaded.starts_at == datetime(2026, 3, 5, 6, 30, tzinfo=UTC)
    assert loaded.starts_at.tzinfo is UTC
    raw = db.session.execute(sa.text("SELECT starts_at FROM activity")).scalar_one()
    if isinstance(raw, str):  # SQLite keeps the UTC wall time
        assert raw.startswith("2026-03-05 06:30")
    else:
        assert raw.astimezone(UTC).hour == 6


def test_naive_datetimes_are_refused(app):
    with pytest.raises(sa.exc.StatementError):
        factories.activity(starts_at=datetime(2026, 3, 5, 14, 30))
    db.session.rollback()


def test_fixed_offsets_are_converted(app):
    activity = factories.activity(starts_at=datetime(2026, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=8))))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).starts_at.hour == 6


def test_end_before_start_is_refused_by_the_database(app):
    activity = factories.activity()
    activity.ends_at = activity.starts_at - timedelta(minutes=1)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_one_theme_per_month(app):
    factories.theme(2026, 3)
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        factories.theme(2026, 3, title="另一个主题")
    db.session.rollback()


def test_enum_values_are_checked_by_the_database(app):
    org = factories.organisation()
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE organisation SET kind = 'bogus' WHERE id = :id"), {"id": org.id})


def test_audit_history_is_newest_first(app):
    org = factories.organisation()
    record(org, "create", now=datetime(2026, 1, 1, tzinfo=UTC))
    record(org, "update", {"name": ["a", "b"]}, now=datetime(2026, 1, 2, tzinfo=UTC))
    db.session.commit()
    entries = history("organisation", org.id)
    assert [e.action for e in entries] == ["update", "create"]
    assert entries[0].changes == {"name": ["a", "b"]}
