"""Matching a calendar's answer to its invitation and applying it as the answer page would.

A reply is applied only when everything checks out: its UID is one of ours (`activity-<id>@host`
or `series-<id>@host`, the host of BASE_URL); with reply tokens on, the ORGANIZER it answers (or
the address it was sent to) carries the invitation's token and the token checks out; the
invitation belongs to that UID; its ATTENDEE is the invitee; its SEQUENCE is not lower than the
activity's. Anything else is recorded (and logged) with its reason and changes nothing.

An answer goes through `answer_series`, the invitations' own service behind the answer page
(seats, waiting list, promotion, reminders), with the channel "calendar", which writes the audit
entry "answered from the calendar". A COUNTER (a proposed new time) is stored for the organiser.
The caller runs each mail in its own unit of work; the mail's row is added and flushed before
anything is applied, so a second reader of the same Message-ID fails on the unique key and its
transaction, answer included, rolls back.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.core.errors import ValidationFailed
from app.events.models import Activity
from app.events.series import occurrences
from app.extensions import db
from app.ical.builder import uid_for
from app.ical.recurring import series_uid
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.invitations.reply_address import invitation_id_in
from app.invitations.services import CLOSED, answer_series
from app.orgs.models import Person
from app.replies.models import CalendarReply, ReplyOutcome
from app.replies.parsing import CalendarAnswer, ReplyMail, message_id_of, read_mail

log = logging.getLogger("linghang.replies")

UID_RE = re.compile(r"^(activity|series)-(\d{1,12})@(.+)$")
PARTSTATS = {"ACCEPTED": Answer.accepted, "DECLINED": Answer.declined, "TENTATIVE": Answer.tentative}


class NotApplied(Exception):
    """A reply that is recorded but changes nothing; `outcome` says why."""

    def __init__(self, outcome: ReplyOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def already_read(message_id: str) -> bool:
    """True when a mail with this Message-ID was processed before."""
    return db.session.scalar(select(CalendarReply.id).where(CalendarReply.message_id == message_id)) is not None


def _our_uid(uid: str) -> tuple[str, int] | None:
    match = UID_RE.match(uid)
    if match is None:
        return None
    kind, number = match.group(1), int(match.group(2))
    expected = (uid_for if kind == "activity" else series_uid)(number, current_app.config["BASE_URL"])
    return (kind, number) if expected.lower() == uid.lower() else None


def _exists(kind: str, number: int) -> bool:
    """Is there an activity (or a series with activities) of this number?"""
    if kind == "activity":
        return db.session.get(Activity, number) is not None
    return db.session.scalar(select(Activity.id).where(Activity.series_id == number).limit(1)) is not None


def _by_token(answer: CalendarAnswer, mail: ReplyMail, kind: str, number: int) -> Invitation | None:
    """The invitation named by the reply token, checked; None when the reply carries no token."""
    invitation_id, valid = invitation_id_in(answer.organizer)
    if invitation_id is None:
        invitation_id, valid = invitation_id_in(" ".join(mail.recipients))
    if invitation_id is None:
        return None
    if not valid:
        raise NotApplied(ReplyOutcome.forged, "the reply token does not check out")
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotApplied(ReplyOutcome.unknown, f"invitation {invitation_id} no longer exists")
    belongs = invitation.activity_id == number if kind == "activity" else invitation.activity.series_id == number
    if not belongs and not _exists(kind, number):
        raise NotApplied(ReplyOutcome.unknown, f"no activity for {answer.uid}")
    if not belongs:
        raise NotApplied(ReplyOutcome.forged, f"the reply token is invitation {invitation.id}'s, not {answer.uid}'s")
    return invitation


def _by_attendee(answer: CalendarAnswer, kind: str, number: int, now: datetime) -> Invitation:
    """Without a token: the invitee of this activity (or series) whose address is the ATTENDEE's."""
    statement = (
        select(Invitation)
        .join(Activity, Activity.id == Invitation.activity_id)
        .join(Person, Person.id == Invitation.person_id)
        .where(db.func.lower(Person.email).in_(list(answer.attendees)))
        .order_by(Activity.starts_at, Invitation.id)
    )
    if kind == "activity":
        statement = statement.where(Invitation.activity_id == number)
    else:
        statement = statement.where(Activity.series_id == number, Invitation.whole_series.is_(True))
    rows = list(db.session.scalars(statement))
    open_rows = [row for row in rows if row.activity.status not in CLOSED and row.activity.starts_at > now]
    if not rows:
        if _exists(kind, number):
            raise NotApplied(ReplyOutcome.forged, "the ATTENDEE is not invited to this activity")
        raise NotApplied(ReplyOutcome.unknown, f"no activity for {answer.uid}")
    return (open_rows or rows)[0]


def match(answer: CalendarAnswer, mail: ReplyMail, now: datetime) -> Invitation:
    """The invitation a calendar answer is for, checked; raises NotApplied otherwise."""
    ours = _our_uid(answer.uid)
    if ours is None:
        raise NotApplied(ReplyOutcome.unknown, f"UID {answer.uid!r} is not one of this installation's")
    kind, number = ours
    invitation = _by_token(answer, mail, kind, number)
    if invitation is None:
        if current_app.config.get("MAIL_REPLY_TOKENS", True):
            raise NotApplied(ReplyOutcome.unknown, "the reply carries no invitation token")
        invitation = _by_attendee(answer, kind, number, now)
    invitee = (invitation.person.email or "").strip().lower()
    if not invitee or invitee not in answer.attendees:
        raise NotApplied(ReplyOutcome.forged, f"ATTENDEE {', '.join(answer.attendees) or 'none'} is not the invitee")
    rows = occurrences(invitation.activity.series) if kind == "series" and invitation.activity.series else []
    current = max([invitation.activity.sequence or 0, *(a.sequence or 0 for a in rows)])
    if answer.sequence < current:
        raise NotApplied(ReplyOutcome.stale, f"SEQUENCE {answer.sequence} is older than the current {current}")
    return invitation


def _first_open(invitation: Invitation, now: datetime) -> Invitation:
    """For a whole-series entry, the invitee's first meeting still open (the mail's own may be over)."""
    if not invitation.whole_series or invitation.activity.series_id is None:
        return invitation
    rows = db.session.scalars(
        select(Invitation)
        .join(Activity, Activity.id == Invitation.activity_id)
        .where(Activity.series_id == invitation.activity.series_id, Invitation.person_id == invitation.person_id,
               Invitation.whole_series.is_(True), Activity.status.not_in(CLOSED), Activity.starts_at > now)
        .order_by(Activity.starts_at, Activity.id)
        .limit(1)
    )
    return next(iter(rows), invitation)


def _apply(row: CalendarReply, invitation: Invitation, answer: CalendarAnswer, now: datetime) -> None:
    partstat = answer.attendees[(invitation.person.email or "").strip().lower()]
    row.partstat = partstat[:20]
    if answer.method == "COUNTER":
        row.outcome = ReplyOutcome.counter
        row.proposed_starts_at, row.proposed_ends_at = answer.proposed_start, answer.proposed_end
        return
    reply = PARTSTATS.get(partstat)
    if reply is None:
        raise NotApplied(ReplyOutcome.ignored, f"PARTSTAT {partstat} is not an answer")
    invitation = _first_open(invitation, now)
    row.invitation_id, row.activity_id = invitation.id, invitation.activity_id
    activity = invitation.activity
    if activity.status in CLOSED or now >= activity.starts_at:
        raise NotApplied(ReplyOutcome.refused, "the activity is closed or has started")
    if invitation.answer == reply:
        raise NotApplied(ReplyOutcome.unchanged, f"the invitation is already {reply.value}")
    keeps_seats = invitation.answer == Answer.accepted and invitation.seats >= 1
    answer_series(
        invitation,
        reply=reply,
        seats=invitation.seats if keeps_seats else 1,
        names=invitation.attendee_names,
        note=answer.comment or invitation.note,
        channel=AnswerChannel.calendar,
        now=now,
    )
    row.outcome = ReplyOutcome.applied


def process(raw: bytes, now: datetime) -> CalendarReply | None:
    """Read one mail and apply or record what it says; None when it was read before."""
    mail = read_mail(raw)
    if already_read(mail.message_id):
        return None
    answer = mail.answer
    row = CalendarReply(message_id=mail.message_id, received_at=now, sender=mail.sender or None,
                        outcome=ReplyOutcome.ignored, detail=mail.problem)
    if answer is not None:
        row.method, row.uid, row.sequence, row.comment = answer.method, answer.uid, answer.sequence, answer.comment
        row.attendee = ", ".join(answer.attendees)[:254] or None
    db.session.add(row)
    db.session.flush()  # claims the Message-ID before anything is applied
    if answer is None:
        log.info("reply %s: ignored (%s)", mail.message_id, mail.problem)
        return row
    try:
        invitation = match(answer, mail, now)
        row.invitation_id, row.activity_id = invitation.id, invitation.activity_id
        _apply(row, invitation, answer, now)
    except NotApplied as reason:
        row.outcome, row.detail = reason.outcome, reason.detail
        log.warning("reply %s from %s: %s, not applied (%s)", mail.message_id, mail.sender, reason.outcome.value, reason.detail)
    except ValidationFailed as refused:
        # Raised before the answer service changed anything (it checks, then writes).
        row.outcome, row.detail = ReplyOutcome.refused, str(refused)
        log.warning("reply %s: refused by the answer service (%s)", mail.message_id, refused)
    else:
        log.info("reply %s: %s for invitation %s", mail.message_id, row.outcome.value, row.invitation_id)
    db.session.flush()
    return row


def record_failure(raw: bytes, now: datetime, error: BaseException) -> CalendarReply | None:
    """Record a mail whose processing failed, so it is not read again (None if it already was)."""
    message_id = message_id_of(raw)
    if already_read(message_id):
        return None
    row = CalendarReply(message_id=message_id, received_at=now, outcome=ReplyOutcome.ignored,
                        detail=f"could not be processed: {error.__class__.__name__}: {error}"[:2000])
    db.session.add(row)
    db.session.flush()
    return row


def proposals(activity_id: int) -> list[CalendarReply]:
    """The new times invitees proposed for an activity from their calendars, newest first."""
    return list(
        db.session.scalars(
            select(CalendarReply)
            .where(CalendarReply.activity_id == activity_id, CalendarReply.outcome == ReplyOutcome.counter)
            .order_by(CalendarReply.received_at.desc(), CalendarReply.id.desc())
        )
    )
