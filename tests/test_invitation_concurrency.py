"""Concurrent answers never oversubscribe an activity.

PostgreSQL: 100 threads, each with its own app context, session and connection, accept at once
for 20 seats (the activity row is locked with SELECT … FOR UPDATE). SQLite (smaller): the no-op
write that takes the database's write lock. Without either lock these tests oversubscribe.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.invitations import services
from app.invitations.models import Answer, AnswerChannel, Invitation
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# backend → (concurrent accepts, seats)
SIZES = {"postgresql": (100, 20), "sqlite": (40, 10)}


def test_concurrent_accepts_fill_exactly_the_seats(app, backend):
    ANSWERS, SEATS = SIZES[backend]  # noqa: N806
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
