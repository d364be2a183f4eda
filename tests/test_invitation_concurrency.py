"""Concurrent answers never oversubscribe an activity (PostgreSQL: the activity row is locked)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.invitations import services
from app.invitations.models import Answer, AnswerChannel, Invitation
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ANSWERS = 100
SEATS = 20


@pytest.fixture(scope="session")
def backend() -> str:
    """This module runs on PostgreSQL only: SQLite serialises writers anyway."""
    return "postgresql"


def test_a_hundred_concurrent_accepts_fill_exactly_the_seats(app):
    activity = factories.activity(capacity=SEATS)
    ids = [factories.invitation(activity)[0].id for _ in range(ANSWERS)]
    db.session.commit()
    activity_id = activity.id
    db.session.remove()
    start = threading.Barrier(ANSWERS)
    errors: list[BaseException] = []

    def accept(invitation_id: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=30)
                invitation = db.session.get(Invitation, invitation_id)
                services.answer(invitation, reply=Answer.accepted, seats=1, names=None, note=None,
                                channel=AnswerChannel.link, now=NOW)
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=ANSWERS) as pool:
        list(pool.map(accept, ids))
    assert errors == []
    confirmed = db.session.scalar(
        select(func.coalesce(func.sum(Invitation.seats), 0)).where(
            Invitation.activity_id == activity_id,
            Invitation.answer == Answer.accepted,
            Invitation.waitlisted_at.is_(None),
        )
    )
    waiting = db.session.scalar(
        select(func.count()).select_from(Invitation).where(
            Invitation.activity_id == activity_id, Invitation.waitlisted_at.is_not(None)
        )
    )
    assert (confirmed, waiting) == (SEATS, ANSWERS - SEATS)
    assert services.attendance_summary(activity_id).expected == SEATS
