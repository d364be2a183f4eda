"""Check-in at the door (by code or by ticking a name), walk-ins, and attendance counts.

Check-in opens CHECKIN_OPENS_MINUTES_BEFORE the start (two hours by default); absences and the
attendance rate exist only once the activity has started (before, nobody can have missed it).
A check-in locks the activity and then the invitation row and re-checks after the lock: of two
organisers checking in the same invitee at once, one succeeds and the other is told.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.core.errors import ConcurrentChange, ValidationFailed
from app.core.i18n import format_dt
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.locks import lock_activity, lock_invitation
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.invitations.seats import MAX_SEATS
from app.invitations.tokens import new_checkin_code
from app.orgs.models import Organisation, Person


def find_by_code(activity: Activity, code: str) -> Invitation | None:
    """The invitation of a check-in code at this activity (case and spaces ignored)."""
    code = "".join((code or "").split()).upper()
    if not code:
        return None
    return db.session.scalar(
        select(Invitation).where(Invitation.activity_id == activity.id, Invitation.checkin_code == code)
    )


def checkin_opens_at(activity: Activity) -> datetime:
    """When check-in at the door opens: CHECKIN_OPENS_MINUTES_BEFORE the start."""
    return activity.starts_at - timedelta(minutes=int(current_app.config["CHECKIN_OPENS_MINUTES_BEFORE"]))


def check_door_open(activity: Activity, now: datetime) -> None:
    """Refuse a check-in or walk-in for a cancelled activity or before check-in opens."""
    if activity.status == ActivityStatus.cancelled:
        raise ValidationFailed(_("This activity is cancelled."))
    opens = checkin_opens_at(activity)
    if now < opens:
        raise ValidationFailed(_("Check-in opens at %(when)s.", when=format_dt(opens)), "code")


def check_in(invitation: Invitation, *, now: datetime, count: int | None = None) -> Invitation:
    """Mark an invitee present with the number of people who came; refuses a second check-in.

    The rows are locked and re-read first: when someone else checked this invitee in since the
    caller loaded it, the caller gets ConcurrentChange (and nothing is written twice).
    """
    seen_checked_in = invitation.checked_in_at  # as the caller loaded it
    activity = lock_activity(invitation.activity)
    invitation = lock_invitation(invitation)
    check_door_open(activity, now)
    if invitation.checked_in_at is not None:
        if seen_checked_in is None:
            raise ConcurrentChange(
                _("%(name)s was checked in by someone else a moment ago.", name=invitation.person.name), "code"
            )
        raise ValidationFailed(
            _("%(name)s is already checked in.", name=invitation.person.name), "code"
        )
    count = count if count is not None else max(invitation.seats, 1)
    if count < 1 or count > MAX_SEATS:
        raise ValidationFailed(_("The number of people must be between 1 and %(max)s.", max=MAX_SEATS), "count")
    invitation.checked_in_at = now
    invitation.checked_in_count = count
    invitation.updated_at = now
    db.session.flush()
    record(invitation, "check_in", {"checked_in_count": [0, count]}, now=now)
    return invitation


def check_in_code(activity: Activity, code: str, now: datetime) -> Invitation:
    """Check in by code; an unknown code is refused."""
    invitation = find_by_code(activity, code)
    if invitation is None:
        raise ValidationFailed(_("No invitation to this activity has this check-in code."), "code")
    return check_in(invitation, now=now)


def add_walk_in(
    activity: Activity, *, organisation_id: int, name: str, phone: str | None, count: int, now: datetime
) -> Invitation:
    """Someone came without an invitation: a person of their organisation, checked in at once."""
    check_door_open(activity, now)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not organisation.active:
        raise ValidationFailed(_("Not a valid choice."), "organisation")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Please enter the name."), "name")
    if count < 1 or count > MAX_SEATS:
        raise ValidationFailed(_("The number of people must be between 1 and %(max)s.", max=MAX_SEATS), "count")
    person = Person(name=name[:60], phone=phone, organisation=organisation, is_contact=False, active=True,
                    created_at=now, updated_at=now)
    db.session.add(person)
    db.session.flush()
    invitation = Invitation(
        activity=activity,
        person=person,
        organisation_id=organisation.id,
        answer=Answer.accepted,
        seats=count,
        channel=AnswerChannel.walk_in,
        answered_at=now,
        token_hash=secrets.token_hex(32),  # no link is ever sent to a walk-in
        checkin_code=new_checkin_code(),
        checked_in_at=now,
        checked_in_count=count,
        is_walk_in=True,
        created_at=now,
        updated_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    record(invitation, "walk_in", {"checked_in_count": [0, count]}, note=name, now=now)
    return invitation


@dataclass
class AttendanceSummary:
    """Counts of one activity for its page and the dashboard."""

    invited: int
    answered: int
    pending: int
    accepted: int
    declined: int
    tentative: int
    waitlisted: int
    expected: int  # 应到: confirmed seats
    present: int  # 实到: everyone checked in, walk-ins included
    absent: int | None  # confirmed seats that did not come; None before the start
    walk_ins: int
    started: bool = True

    @property
    def rate(self) -> float | None:
        """Attendance rate: the share of expected seats that came (None before the start or when
        nobody was expected)."""
        if self.expected == 0 or self.absent is None:
            return None
        return (self.expected - self.absent) / self.expected


def attendance_summary(activity_id: int, now: datetime) -> AttendanceSummary:
    """Invitation and attendance counts of an activity; absences only once it has started."""
    starts_at = db.session.scalar(select(Activity.starts_at).where(Activity.id == activity_id))
    started = starts_at is not None and starts_at <= now
    rows = db.session.execute(
        select(
            Invitation.answer,
            Invitation.seats,
            Invitation.waitlisted_at.is_not(None),
            Invitation.is_walk_in,
            Invitation.checked_in_count,
        ).where(Invitation.activity_id == activity_id)
    ).all()
    counts = {a: 0 for a in Answer}
    expected = present = absent = walk_ins = waitlisted = invited = 0
    for reply, seats, waiting, walk_in, came in rows:
        present += came or 0
        if walk_in:
            walk_ins += came or 0
            continue
        invited += 1
        counts[reply] += 1
        if reply == Answer.accepted and waiting:
            waitlisted += 1
        elif reply == Answer.accepted:
            expected += seats
            absent += max(seats - (came or 0), 0)
    return AttendanceSummary(
        invited=invited,
        answered=invited - counts[Answer.pending],
        pending=counts[Answer.pending],
        accepted=counts[Answer.accepted],
        declined=counts[Answer.declined],
        tentative=counts[Answer.tentative],
        waitlisted=waitlisted,
        expected=expected,
        present=present,
        absent=absent if started else None,
        walk_ins=walk_ins,
        started=started,
    )
