"""Concurrent answers never oversubscribe an activity; one invitation changed twice at once stays whole.

PostgreSQL: 100 threads, each with its own app context, session and connection, accept at once
for 20 seats (the activity row is locked with SELECT … FOR UPDATE). SQLite (smaller): the no-op
write that takes the database's write lock. Without either lock these tests oversubscribe.
Two check-ins, answers or nudges of the same invitation, behind a barrier, are applied one after
the other: one check-in and a ConcurrentChange for the other; two answers each recorded against
the state the other left; one nudge mail.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.errors import ConcurrentChange
from app.core.unit_of_work import unit_of_work
from app.events.models import ActivityStatus
from app.extensions import db
from app.invitations import services
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.mail.models import OutboxMessage
from app.reminders.models import Reminder, ReminderKind, ReminderStatus
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
    assert services.attendance_summary(activity_id, utcnow()).expected == SEATS


# -- one invitation changed by two people at once ------------------------------------------


def _run_together(app, steps) -> list[BaseException | None]:
    """Run each step in its own thread, app context and unit of work, released by one barrier.

    A step is (load, act): `load()` reads what a request would have read before the race, then
    every thread waits at the barrier, then `act(loaded)` changes it. Returns each step's error.
    """
    start = threading.Barrier(len(steps))
    outcomes: list[BaseException | None] = [None] * len(steps)

    def run(index: int) -> None:
        load, act = steps[index]
        with app.app_context():
            try:
                with unit_of_work():
                    loaded = load()
                    start.wait(timeout=30)
                    act(loaded)
            except BaseException as error:  # noqa: BLE001 - returned to the test
                outcomes[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(steps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_check_ins_of_one_invitation_check_in_once(app):
    activity = factories.activity(starts_at=NOW + timedelta(hours=1))
    invitation, _token = factories.invitation(activity, answer=Answer.accepted, seats=2)
    db.session.commit()
    invitation_id, activity_id = invitation.id, activity.id
    db.session.remove()

    def load():
        return db.session.get(Invitation, invitation_id)

    def act(loaded):
        services.check_in(loaded, now=NOW + timedelta(minutes=50))

    outcomes = _run_together(app, [(load, act), (load, act)])
    winners = [o for o in outcomes if o is None]
    losers = [o for o in outcomes if o is not None]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], ConcurrentChange), losers[0]
    assert "checked in by someone else" in losers[0].message or "已由他人签到" in losers[0].message
    invitation = db.session.get(Invitation, invitation_id)
    assert invitation.checked_in_count == 2 and invitation.checked_in_at is not None
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "invitation", AuditEntry.action == "check_in")
    ).all()
    assert len(entries) == 1
    assert services.attendance_summary(activity_id, utcnow()).present == 2


def test_two_answers_of_one_invitation_end_in_one_consistent_state(app):
    activity = factories.activity(starts_at=NOW + timedelta(days=7), capacity=5, status=ActivityStatus.published)
    invitation, _token = factories.invitation(activity)
    db.session.commit()
    invitation_id, activity_id = invitation.id, activity.id
    db.session.remove()

    def load():
        return db.session.get(Invitation, invitation_id)

    def accept(loaded):
        services.answer(loaded, reply=Answer.accepted, seats=3, names=None, note="来三人",
                        channel=AnswerChannel.link, now=NOW)

    def decline(loaded):
        services.answer(loaded, reply=Answer.declined, seats=None, names=None, note="有事",
                        channel=AnswerChannel.account, now=NOW)

    assert _run_together(app, [(load, accept), (load, decline)]) == [None, None]
    invitation = db.session.get(Invitation, invitation_id)
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "invitation", AuditEntry.entity_id == invitation_id,
               AuditEntry.action == "answer")
        .order_by(AuditEntry.id)
    ).all()
    assert len(entries) == 2
    first, last = entries
    # The second answer was applied to the state the first one left, and the row shows the last.
    # (The audit log stores each [old, new] pair sorted, so compare them as sets.)
    final = invitation.answer.value
    earlier = "declined" if final == "accepted" else "accepted"
    assert set(first.changes["answer"]) == {"pending", earlier}
    assert set(last.changes["answer"]) == {earlier, final}
    assert last.note == invitation.channel.value
    expected_seats = 3 if invitation.answer == Answer.accepted else 0
    assert invitation.seats == expected_seats
    assert services.attendance_summary(activity_id, utcnow()).expected == expected_seats
    # Its reminders follow the final answer: before the activity if accepted, none if declined.
    kinds = set(db.session.scalars(
        select(Reminder.kind).where(Reminder.subject_id == invitation_id, Reminder.status == ReminderStatus.pending)
    ))
    assert kinds == ({ReminderKind.activity_upcoming} if invitation.answer == Answer.accepted else set())


def test_two_organisers_ticking_the_same_name_at_once_check_it_in_once(app, client):
    """The same race through the pages: one check-in; the other organiser is told, nothing doubled."""
    activity = factories.activity(starts_at=NOW + timedelta(hours=1))
    invitation, _token = factories.invitation(activity, answer=Answer.accepted, seats=1)
    organisers = [factories.user("organiser"), factories.user("organiser")]
    db.session.commit()
    url = f"/activities/{activity.id}/checkin/{invitation.id}"
    invitation_id = invitation.id
    browsers = []
    for organiser in organisers:
        browser = app.test_client()
        login = browser.post("/login", data={"email": organiser.email, "password": factories.PASSWORD})
        assert login.status_code == 302
        browsers.append(browser)
    db.session.remove()
    start = threading.Barrier(len(browsers))
    answers: list = [None] * len(browsers)

    def tick(index: int) -> None:
        with app.app_context():  # the client gives each request its own context inside this one
            start.wait(timeout=30)
            answers[index] = browsers[index].post(url)
            db.session.remove()

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(answer.status_code for answer in answers)
    # The loser is refused: 409 when it loaded the row before the winner committed (a
    # ConcurrentChange), 400 ("already checked in") when it loaded it after.
    assert codes[0] == 302 and codes[1] in (400, 409), codes
    loser = next(answer for answer in answers if answer.status_code != 302).get_data(as_text=True)
    assert "签到" in loser
    assert db.session.get(Invitation, invitation_id).checked_in_count == 1
    entries = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_type == "invitation", AuditEntry.entity_id == invitation_id,
            AuditEntry.action == "check_in",
        )
    )
    assert entries == 1


def test_two_nudges_of_one_invitee_at_once_queue_one_mail(app):
    activity = factories.activity(starts_at=NOW + timedelta(days=3), status=ActivityStatus.published)
    invitation, _token = factories.invitation(activity)
    db.session.commit()
    invitation_id = invitation.id
    db.session.remove()
    sent: list[bool] = []

    def load():
        return db.session.get(Invitation, invitation_id)

    def nudge(loaded):
        sent.append(services.nudge(loaded, NOW))

    assert _run_together(app, [(load, nudge), (load, nudge)]) == [None, None]
    assert sorted(sent) == [False, True]
    nudges = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "invitation.nudge")
    )
    assert nudges == 1
