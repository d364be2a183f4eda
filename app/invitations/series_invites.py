"""Invitations to a whole series: one invitation row per open occurrence, one mail, one answer.

Each occurrence keeps its own invitation row (`whole_series` set), so seats, the waiting list,
check-in, reminders and attendance stay per meeting, exactly as for a single activity: an
acceptance takes its seats in every open occurrence, and an occurrence that is full puts this
invitee on *its* waiting list only. What the invitee sees is one thing: one mail with the series
as one calendar entry (app/ical/recurring.py), one answer link whose answer is applied to every
open occurrence, and later a CANCEL naming one occurrence by RECURRENCE-ID when it is cancelled.
The mail and its link belong to the invitee's row of the first open occurrence (the "anchor").
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.events.checks import invitee_warnings
from app.events.models import Activity, ActivityStatus
from app.events.series import occurrences
from app.extensions import db
from app.invitations.mailing import CLOSED, check_open, queue_mail, series_rows
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.invitations.seats import answer
from app.invitations.selection import InviteReport, Selection, new_invitation, resolve_invitees
from app.invitations.signals import invitations_sent
from app.invitations.tokens import issue_token


def open_occurrences(activity: Activity, now: datetime) -> list[Activity]:
    """The occurrences of the activity's series that are neither closed nor over, in order."""
    return [a for a in occurrences(activity.series) if a.status not in CLOSED and a.ends_at > now]


def _widen_to_series(rows: list[Invitation]) -> None:
    """Rows of someone invited to single meetings before now join the series invitation.

    organisation_id is named in the SET list so that the feed triggers (which fire on UPDATE OF
    activity_id, person_id, organisation_id) see the change: the feeds then show the series.
    """
    if not rows:
        return
    db.session.flush()
    db.session.execute(
        update(Invitation)
        .where(Invitation.id.in_([row.id for row in rows]))
        .values(whole_series=True, organisation_id=Invitation.organisation_id)
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        db.session.refresh(row)


def invite_series(activity: Activity, selection: Selection, *, now: datetime) -> InviteReport:
    """Invite everyone a selection reaches to every open occurrence of the activity's series.

    Each new invitee gets one mail (when the series is published); `report.created` holds one
    invitation per invitee, its anchor.
    """
    if activity.series is None:
        raise ValidationFailed(_("This activity is not part of a series."))
    check_open(activity, now)
    if selection.is_empty():
        raise ValidationFailed(_("Choose at least one organisation, person or group to invite."))
    people = resolve_invitees(selection)
    if not people:
        raise ValidationFailed(_("The selection reaches nobody: no active contacts were found."))
    meetings = open_occurrences(activity, now)
    invited = {
        (row.activity_id, row.person_id): row
        for row in db.session.scalars(
            select(Invitation).where(Invitation.activity_id.in_([a.id for a in meetings]))
        )
    }
    report = InviteReport()
    rows: list[Invitation] = []
    for person in people:
        mine = [invited.get((meeting.id, person.id)) for meeting in meetings]
        if all(row is not None and row.whole_series for row in mine):
            report.already += 1
            continue
        created = [
            row or new_invitation(meeting, person, now, whole_series=True) for meeting, row in zip(meetings, mine, strict=True)
        ]
        _widen_to_series([row for row in mine if row is not None and not row.whole_series])
        rows += created
        anchor = created[0]
        report.created.append(anchor)
        token = issue_token(anchor, now)
        if not person.email:
            report.without_email += 1
        elif anchor.activity.status == ActivityStatus.published:
            queue_mail(anchor, "invitation", now, token=token, dedupe_key=f"series-invitation-{anchor.id}")
            for row in created:
                row.sent_at = now
            report.mailed += 1
    if rows:
        invitations_sent.send(tuple(rows), now=now)
        record(
            activity.series, "invite",
            {"invited": [None, [i.person_id for i in report.created]]},
            note=_("%(n)s invited", n=len(report.created)), now=now,
        )
    db.session.flush()
    # Clashes are warned for each meeting of the series the new invitees were invited to.
    invited_orgs = [i.organisation_id for i in report.created]
    report.warnings = list(dict.fromkeys(w for meeting in meetings for w in invitee_warnings(meeting, invited_orgs)))
    return report


def answer_series(invitation: Invitation, *, reply: Answer, seats: int | None, names: str | None,
                  note: str | None, channel: AnswerChannel, now: datetime) -> Invitation:
    """Answer an invitation; for a whole-series one, the answer goes to every open occurrence.

    Occurrences are answered in time order (each locks its activity, then the row), so two
    invitees answering at once take the locks in the same order.
    """
    options = {"reply": reply, "seats": seats, "names": names, "note": note, "channel": channel, "now": now}
    if not invitation.whole_series or invitation.activity.series_id is None:
        return answer(invitation, **options)
    result = answer(invitation, **options)
    for row in series_rows(invitation):
        if row is invitation or row.activity.status in CLOSED or row.activity.starts_at <= now:
            continue
        answer(row, **options)
    return result
