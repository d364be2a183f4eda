"""Rules of invitations: choosing invitees, links, answers, seats and waitlist, nudges, check-in.

Services flush and never commit; they take `now` as an argument. Every mail is queued in the
outbox inside the caller's transaction, so a rolled-back change sends nothing.

Answer links: `/rsvp/<token>` with 256 random bits (`secrets.token_urlsafe(32)`), nothing derived
from ids. Only sha256(token) is stored, in `invitation_token` (one row per link handed out). The
token exists in clear only while its mail is built, so every mail that carries a link (invitation,
update, nudge, promotion) gets a fresh token; links from earlier mails keep working, because their
hashes stay in the table, until the activity ends (then every link answers the same 404 as an
unknown one). `Invitation.token_hash` holds the newest hash.

Seats: confirmed seats are the accepted, non-waitlisted invitations. An answer locks the activity
row first (SELECT … FOR UPDATE on PostgreSQL; on SQLite a no-op write takes the write lock), so
concurrent answers are counted one after another and never oversubscribe.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.emails import build_message
from app.invitations.models import (
    Answer,
    AnswerChannel,
    Invitation,
    InvitationToken,
    SavedList,
    SavedListEntry,
)
from app.mail.services import enqueue
from app.orgs.models import (
    AllianceMembership,
    InstructorAssignment,
    Organisation,
    OrgKind,
    Person,
)
from app.reminders import services as reminders

MAX_SEATS = 10
NUDGE_PAUSE = timedelta(minutes=10)
# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CLOSED = (ActivityStatus.cancelled, ActivityStatus.completed)


# -- tokens and codes ---------------------------------------------------------

def hash_token(token: str) -> str:
    """The stored form of an answer-link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(invitation: Invitation, now: datetime) -> str:
    """A new personal link token (256 random bits); only its hash is kept.

    Links sent earlier stay valid until the activity ends.
    """
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    invitation.token_hash = digest
    db.session.add(InvitationToken(invitation=invitation, token_hash=digest, created_at=now))
    db.session.flush()
    return token


FEEDBACK_DAYS = 30  # default of INVITATION_FEEDBACK_DAYS


def feedback_until(activity: Activity) -> datetime:
    """Until when an answer link opens the feedback page: INVITATION_FEEDBACK_DAYS after the end."""
    days = int(current_app.config.get("INVITATION_FEEDBACK_DAYS", FEEDBACK_DAYS))
    return activity.ends_at + timedelta(days=days)


def invitation_for_token(token: str, now: datetime, *, for_feedback: bool = False) -> Invitation | None:
    """The invitation of a link, or None when unknown or expired (the caller cannot tell which).

    The rule: a link answers until the activity ends. With for_feedback=True (the feedback page
    only, which authorises nothing but that invitation's enterprise and activity) it stays
    valid until `feedback_until` — INVITATION_FEEDBACK_DAYS (30) days after the end — unless
    the activity was cancelled.
    """
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(
        select(Invitation)
        .join(InvitationToken, InvitationToken.invitation_id == Invitation.id)
        .where(InvitationToken.token_hash == hash_token(token))
    )
    if invitation is None:
        return None
    activity = invitation.activity
    if for_feedback:
        if activity.status == ActivityStatus.cancelled or feedback_until(activity) <= now:
            return None
        return invitation
    if activity.ends_at <= now:
        return None
    return invitation


def new_checkin_code() -> str:
    """A short unique check-in code from an unambiguous alphabet."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Invitation.id).where(Invitation.checkin_code == code)) is None:
            return code


# -- choosing invitees ----------------------------------------------------------

@dataclass
class Selection:
    """Whom to invite; every part is optional and the union is taken."""

    organisation_ids: list[int] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)
    alliance_ids: list[int] = field(default_factory=list)
    chain_leaders: bool = False
    all_departments: bool = False
    instructor_ids: list[int] = field(default_factory=list)
    saved_list_ids: list[int] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.organisation_ids or self.person_ids or self.alliance_ids or self.chain_leaders
            or self.all_departments or self.instructor_ids or self.saved_list_ids
        )


def _org_ids(selection: Selection) -> set[int]:
    ids = set(selection.organisation_ids)
    if selection.alliance_ids:
        ids |= set(
            db.session.scalars(
                select(AllianceMembership.enterprise_id).where(
                    AllianceMembership.alliance_id.in_(selection.alliance_ids)
                )
            )
        )
    if selection.chain_leaders:
        ids |= set(
            db.session.scalars(
                select(AllianceMembership.enterprise_id).where(AllianceMembership.is_chain_leader.is_(True))
            )
        )
    if selection.all_departments:
        ids |= set(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.department)))
    if selection.instructor_ids:
        ids |= set(
            db.session.scalars(
                select(InstructorAssignment.enterprise_id).where(
                    InstructorAssignment.instructor_id.in_(selection.instructor_ids)
                )
            )
        )
    if selection.saved_list_ids:
        ids |= {
            i
            for i in db.session.scalars(
                select(SavedListEntry.organisation_id).where(
                    SavedListEntry.saved_list_id.in_(selection.saved_list_ids)
                )
            )
            if i is not None
        }
    return ids


def resolve_invitees(selection: Selection) -> list[Person]:
    """The active people a selection reaches: organisations' active contacts and single people."""
    org_ids = _org_ids(selection)
    person_ids = set(selection.person_ids)
    if selection.saved_list_ids:
        person_ids |= {
            i
            for i in db.session.scalars(
                select(SavedListEntry.person_id).where(SavedListEntry.saved_list_id.in_(selection.saved_list_ids))
            )
            if i is not None
        }
    people: dict[int, Person] = {}
    if org_ids:
        for person in db.session.scalars(
            select(Person)
            .join(Organisation, Organisation.id == Person.organisation_id)
            .where(
                Person.organisation_id.in_(org_ids),
                Person.is_contact.is_(True),
                Person.active.is_(True),
                Organisation.active.is_(True),
            )
        ):
            people[person.id] = person
    if person_ids:
        for person in db.session.scalars(
            select(Person).where(Person.id.in_(person_ids), Person.active.is_(True))
        ):
            people[person.id] = person
    return sorted(people.values(), key=lambda p: (p.organisation_id, p.id))


@dataclass
class InviteReport:
    created: list[Invitation] = field(default_factory=list)
    already: int = 0
    without_email: int = 0
    mailed: int = 0


def _check_open(activity: Activity, now: datetime) -> None:
    if activity.status in CLOSED:
        raise ValidationFailed(_("This activity is cancelled or completed; nothing can be changed."))
    if activity.ends_at <= now:
        raise ValidationFailed(_("This activity is over."))


def invite(activity: Activity, selection: Selection, *, now: datetime) -> InviteReport:
    """Invite everyone a selection reaches (once each); mail them if the activity is published."""
    _check_open(activity, now)
    if selection.is_empty():
        raise ValidationFailed(_("Choose at least one organisation, person or group to invite."))
    people = resolve_invitees(selection)
    if not people:
        raise ValidationFailed(_("The selection reaches nobody: no active contacts were found."))
    existing = set(
        db.session.scalars(select(Invitation.person_id).where(Invitation.activity_id == activity.id))
    )
    report = InviteReport()
    for person in people:
        if person.id in existing:
            report.already += 1
            continue
        invitation = Invitation(
            activity=activity,
            person=person,
            organisation_id=person.organisation_id,
            answer=Answer.pending,
            seats=0,
            token_hash=secrets.token_hex(32),  # replaced by issue_token below
            checkin_code=new_checkin_code(),
            created_at=now,
            updated_at=now,
        )
        db.session.add(invitation)
        db.session.flush()
        existing.add(person.id)
        report.created.append(invitation)
        token = issue_token(invitation, now)
        if not person.email:
            report.without_email += 1
        elif activity.status == ActivityStatus.published:
            _mail(invitation, "invitation", now, token=token)
            invitation.sent_at = now
            report.mailed += 1
    if report.created:
        reminders.plan_for_invitations(report.created, now)
        record(
            activity,
            "invite",
            {"invited": [None, [i.person_id for i in report.created]]},
            note=_("%(n)s invited", n=len(report.created)),
            now=now,
        )
    db.session.flush()
    return report


def _mail(invitation: Invitation, kind: str, now: datetime, *, token: str | None = None,
          dedupe_key: str | None = None, changes: dict | None = None):
    """Queue one mail to an invitee (a fresh link token unless given)."""
    if not invitation.person.email:
        return None
    if token is None and kind != "cancellation":
        token = issue_token(invitation, now)
    message = build_message(invitation, kind, token, changes)
    return enqueue(
        message,
        kind=f"invitation.{kind}",
        now=now,
        activity_id=invitation.activity_id,
        invitation_id=invitation.id,
        dedupe_key=dedupe_key,
    )


def send_pending_invitations(activity: Activity, now: datetime) -> int:
    """Mail everyone invited while the activity was a draft (on publication)."""
    sent = []
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.activity_id == activity.id, Invitation.sent_at.is_(None),
                                 Invitation.is_walk_in.is_(False))
    ):
        if _mail(invitation, "invitation", now, dedupe_key=f"invitation-{invitation.id}") is not None:
            invitation.sent_at = now
            sent.append(invitation)
    db.session.flush()
    reminders.plan_for_invitations(sent, now)
    return len(sent)


def send_update(activity: Activity, now: datetime, changes: dict | None = None) -> int:
    """Tell everyone who got an invitation (and did not decline) about a new time or place."""
    count = 0
    for invitation in db.session.scalars(
        select(Invitation).where(
            Invitation.activity_id == activity.id,
            Invitation.sent_at.is_not(None),
            Invitation.answer != Answer.declined,
        )
    ):
        key = f"update-{invitation.id}-{activity.sequence}"
        if _mail(invitation, "update", now, dedupe_key=key, changes=changes) is not None:
            count += 1
    db.session.flush()
    return count


def send_cancellation(activity: Activity, now: datetime) -> int:
    """Send METHOD:CANCEL to everyone who got an invitation."""
    count = 0
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.activity_id == activity.id, Invitation.sent_at.is_not(None))
    ):
        if _mail(invitation, "cancellation", now, dedupe_key=f"cancel-{invitation.id}") is not None:
            count += 1
    db.session.flush()
    return count


# -- answers, seats and the waitlist ---------------------------------------------

def capacity_of(activity: Activity) -> int | None:
    """Seats available: the activity's own limit, else its venue's, else unlimited."""
    if activity.capacity:
        return activity.capacity
    if activity.venue is not None:
        return activity.venue.capacity
    return None


def lock_activity(activity: Activity) -> Activity:
    """Serialise answers to one activity (SELECT … FOR UPDATE on PostgreSQL)."""
    statement = select(Activity).where(Activity.id == activity.id)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    else:
        # SQLite: a no-op write takes the database's write lock before anything is counted.
        db.session.execute(text("UPDATE activity SET id = id WHERE id = :id"), {"id": activity.id})
    return db.session.execute(statement.execution_options(populate_existing=True)).scalar_one()


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
    db.session.refresh(invitation)
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
    record(invitation, "answer", changes, note=channel.value, now=now)
    # Declining stops this contact's reminders; accepting plans them (a waiting seat: none yet).
    reminders.on_answer_changed(invitation, now)
    promote_waitlist(activity, now)
    return invitation


def promote_waitlist(activity: Activity, now: datetime) -> list[Invitation]:
    """Confirm the earliest waiting acceptances that fit in the free seats, and tell them."""
    capacity = capacity_of(activity)
    waiting = list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.activity_id == activity.id,
                Invitation.answer == Answer.accepted,
                Invitation.waitlisted_at.is_not(None),
            )
            .order_by(Invitation.waitlisted_at, Invitation.id)
        )
    )
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
        reminders.on_answer_changed(invitation, now)
        _mail(invitation, "promotion", now, dedupe_key=f"promotion-{invitation.id}-{now.isoformat()}")
    db.session.flush()
    return promoted


def refresh_waitlist(activity: Activity, now: datetime) -> list[Invitation]:
    """Promote what fits after the capacity changed (under the same lock as answers)."""
    return promote_waitlist(lock_activity(activity), now)


# -- non-responders --------------------------------------------------------------

def non_responders(activity: Activity) -> list[Invitation]:
    """Invitations without an answer."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.activity_id == activity.id, Invitation.answer == Answer.pending,
                   Invitation.is_walk_in.is_(False))
            .order_by(Invitation.organisation_id, Invitation.id)
        )
    )


def nudge(invitation: Invitation, now: datetime) -> bool:
    """Mail one non-responder again (once per 10 minutes); True when a mail was queued."""
    activity = invitation.activity
    _check_open(activity, now)
    if (
        activity.status != ActivityStatus.published
        or now >= activity.starts_at
        or invitation.answer != Answer.pending
        or not invitation.person.email
    ):
        return False
    if invitation.last_nudged_at is not None and now - invitation.last_nudged_at < NUDGE_PAUSE:
        return False
    bucket = int(now.timestamp() // NUDGE_PAUSE.total_seconds())
    _mail(invitation, "nudge", now, dedupe_key=f"nudge-{invitation.id}-{bucket}")
    invitation.last_nudged_at = now
    invitation.sent_at = invitation.sent_at or now
    record(invitation, "nudge", {}, now=now)
    db.session.flush()
    return True


def nudge_all(activity: Activity, now: datetime) -> int:
    """Nudge every non-responder; returns how many mails were queued."""
    return sum(1 for invitation in non_responders(activity) if nudge(invitation, now))


# -- check-in -------------------------------------------------------------------

def find_by_code(activity: Activity, code: str) -> Invitation | None:
    """The invitation of a check-in code at this activity (case and spaces ignored)."""
    code = "".join((code or "").split()).upper()
    if not code:
        return None
    return db.session.scalar(
        select(Invitation).where(Invitation.activity_id == activity.id, Invitation.checkin_code == code)
    )


def check_in(invitation: Invitation, *, now: datetime, count: int | None = None) -> Invitation:
    """Mark an invitee present with the number of people who came; refuses a second check-in."""
    activity = lock_activity(invitation.activity)
    db.session.refresh(invitation)
    if activity.status == ActivityStatus.cancelled:
        raise ValidationFailed(_("This activity is cancelled."))
    if invitation.checked_in_at is not None:
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
    if activity.status == ActivityStatus.cancelled:
        raise ValidationFailed(_("This activity is cancelled."))
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
    absent: int  # confirmed seats that did not come
    walk_ins: int

    @property
    def rate(self) -> float | None:
        """Attendance rate: the share of expected seats that came (None when nobody was expected)."""
        if self.expected == 0:
            return None
        return (self.expected - self.absent) / self.expected


def attendance_summary(activity_id: int) -> AttendanceSummary:
    """Invitation and attendance counts of an activity."""
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
        absent=absent,
        walk_ins=walk_ins,
    )


# -- saved lists ------------------------------------------------------------------

def save_list(name: str, selection: Selection) -> SavedList:
    """Keep the organisations and people of a selection under a name for later invitations."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Please enter a name for the list."), "list_name")
    if db.session.scalar(select(SavedList.id).where(SavedList.name == name)) is not None:
        raise ValidationFailed(_("A list with this name already exists."), "list_name")
    org_ids = _org_ids(selection)
    saved = SavedList(name=name[:120])
    saved.entries = [SavedListEntry(organisation_id=i) for i in sorted(org_ids)] + [
        SavedListEntry(person_id=i) for i in sorted(set(selection.person_ids))
    ]
    if not saved.entries:
        raise ValidationFailed(_("Choose at least one organisation, person or group to invite."))
    db.session.add(saved)
    db.session.flush()
    record(saved, "create", {"name": [None, saved.name]})
    return saved
