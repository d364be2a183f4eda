"""Answers, seats and the waiting list.

Confirmed seats are the accepted, non-waitlisted invitations. An answer locks the activity row
first (SELECT … FOR UPDATE on PostgreSQL; on SQLite a no-op write takes the write lock), so
concurrent answers are counted one after another and never oversubscribe; it then locks its
invitation row and re-reads it, so two answers to one invitation are applied one after the
other, each recorded in the audit trail with the state it replaced.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.events.models import Activity
from app.extensions import db
from app.invitations.locks import lock_activity, lock_invitation
from app.invitations.mailing import CLOSED, queue_mail
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.invitations.signals import answer_changed

MAX_SEATS = 10


def capacity_of(activity: Activity) -> int | None:
    """Seats available: the activity's own limit, else its venue's, else unlimited."""
    if activity.capacity:
        return activity.capacity
    if activity.venue is not None:
        return activity.venue.capacity
    return None


def seats_taken(activity_id: int, excluding: int | None = None) -> int:
    """Confirmed seats: accepted, not waitlisted, not walk-ins."""
    statement = select(func.coalesce(func.sum(Invitation.seats), 0)).where(
        Invitation.activity_id == activity_id,
        Invitation.answer == Answer.accepted,
        Invitation.waitlisted_at.is_(None),
        Invitation.is_walk_in.is_(False),
    )
    if excluding is not None:
        statement = statement.where(Invitation.id != excluding)
    return int(db.session.scalar(statement) or 0)


def answer(
    invitation: Invitation,
    *,
    reply: Answer,
    seats: int | None,
    names: str | None,
    note: str | None,
    channel: AnswerChannel,
    now: datetime,
) -> Invitation:
    """Record an answer; acceptances beyond capacity wait; freed seats go to the waitlist."""
    activity = lock_activity(invitation.activity)
    invitation = lock_invitation(invitation)
    if activity.status in CLOSED:
        raise ValidationFailed(_("This activity is cancelled or completed; answers are closed."))
    if now >= activity.starts_at:
        raise ValidationFailed(_("The activity has already started; answers can no longer be changed."))
    if reply == Answer.pending:
        raise ValidationFailed(_("Please choose an answer."), "answer")
    if reply == Answer.accepted:
        if seats is None or seats < 1 or seats > MAX_SEATS:
            raise ValidationFailed(
                _("The number of people must be between 1 and %(max)s.", max=MAX_SEATS), "seats"
            )
    else:
        seats = 0
    old = {
        "answer": invitation.answer,
        "seats": invitation.seats,
        "waitlisted_at": invitation.waitlisted_at,
        "channel": invitation.channel,
    }
    capacity = capacity_of(activity)
    waitlisted_at = None
    if reply == Answer.accepted and capacity is not None:
        free = capacity - seats_taken(activity.id, excluding=invitation.id)
        was_confirmed = invitation.answer == Answer.accepted and invitation.waitlisted_at is None
        if seats > free:
            if was_confirmed:
                raise ValidationFailed(
                    _("Only %(n)s seats are free for you; please ask for fewer.", n=max(free, 0)), "seats"
                )
            waitlisted_at = invitation.waitlisted_at or now
    invitation.answer = reply
    invitation.seats = seats
    invitation.attendee_names = (names or "").strip()[:500] or None
    invitation.note = (note or "").strip() or None
    invitation.channel = channel
    invitation.answered_at = now
    invitation.waitlisted_at = waitlisted_at
    invitation.updated_at = now
    db.session.flush()
    changes = {k: [v, getattr(invitation, k)] for k, v in old.items() if v != getattr(invitation, k)}
    # A calendar's REPLY is the same answer; its entry says where it came from.
    from_calendar = channel == AnswerChannel.calendar
    record(invitation, "answer_calendar" if from_calendar else "answer", changes, now=now)
    # Declining stops this contact's reminders; accepting plans them (a waiting seat: none yet).
    answer_changed.send(invitation, now=now)
    promote_waitlist(activity, now)
    return invitation


def promote_waitlist(activity: Activity, now: datetime) -> list[Invitation]:
    """Confirm the earliest waiting acceptances that fit in the free seats, and tell them.

    Called with the activity locked (see `lock_activity`); the waiting rows are locked and re-read
    too, so a promotion never acts on an answer changed in the meantime.
    """
    capacity = capacity_of(activity)
    waiting_rows = (
        select(Invitation)
        .where(
            Invitation.activity_id == activity.id,
            Invitation.answer == Answer.accepted,
            Invitation.waitlisted_at.is_not(None),
        )
        .order_by(Invitation.waitlisted_at, Invitation.id)
        .execution_options(populate_existing=True)
    )
    if db.engine.dialect.name == "postgresql":
        waiting_rows = waiting_rows.with_for_update()
    waiting = list(db.session.scalars(waiting_rows))
    promoted: list[Invitation] = []
    if not waiting:
        return promoted
    free = None if capacity is None else capacity - seats_taken(activity.id)
    for invitation in waiting:
        if free is not None and invitation.seats > free:
            continue
        invitation.waitlisted_at = None
        invitation.updated_at = now
        if free is not None:
            free -= invitation.seats
        promoted.append(invitation)
        db.session.flush()
        record(invitation, "promote", {"waitlisted_at": ["waitlist", None]}, now=now)
        answer_changed.send(invitation, now=now)
        queue_mail(invitation, "promotion", now, dedupe_key=f"promotion-{invitation.id}-{now.isoformat()}")
    db.session.flush()
    return promoted


def refresh_waitlist(activity: Activity, now: datetime) -> list[Invitation]:
    """Promote what fits after the capacity changed (under the same lock as answers)."""
    return promote_waitlist(lock_activity(activity), now)
