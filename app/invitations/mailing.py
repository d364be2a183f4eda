"""Invitation mails: queuing one mail to an invitee, the mails that follow the activity's life
(publication, update, cancellation) and nudges to non-responders.

Every mail is queued in the outbox inside the caller's transaction, so a rolled-back change sends
nothing. A nudge locks its invitation row and re-checks the pause after the lock, so two
organisers clicking at once queue one mail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.core.errors import ValidationFailed
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.emails import build_message
from app.invitations.locks import lock_invitation
from app.invitations.models import Answer, Invitation
from app.invitations.signals import invitations_sent
from app.invitations.tokens import issue_token
from app.notify.models import OUTBOX_NOTICE_KINDS
from app.notify.services import deliver, new_notice_key, reachable

NUDGE_PAUSE = timedelta(minutes=10)
CLOSED = (ActivityStatus.cancelled, ActivityStatus.completed)


def check_open(activity: Activity, now: datetime) -> None:
    """Refuse changes to a cancelled, completed or finished activity."""
    if activity.status in CLOSED:
        raise ValidationFailed(_("This activity is cancelled or completed; nothing can be changed."))
    if activity.ends_at <= now:
        raise ValidationFailed(_("This activity is over."))


def queue_mail(invitation: Invitation, kind: str, now: datetime, *, token: str | None = None,
          dedupe_key: str | None = None, changes: dict | None = None):
    """Queue one notice to an invitee through the channels they want (e-mail with a fresh link
    token unless given, SMS built when sent); returns the first row queued, or None."""
    person = invitation.person
    if not reachable(person):
        return None

    def email():
        link_token = token
        if link_token is None and kind != "cancellation":
            link_token = issue_token(invitation, now)
        return build_message(invitation, kind, link_token, changes, now=now)

    outbox_kind = f"invitation.{kind}"
    rows = deliver(
        person,
        OUTBOX_NOTICE_KINDS[outbox_kind],
        outbox_kind=outbox_kind,
        now=now,
        email=email,
        notice_key=dedupe_key or new_notice_key(outbox_kind, invitation.id),
        email_dedupe_key=dedupe_key,
        activity_id=invitation.activity_id,
        invitation_id=invitation.id,
    )
    return rows[0] if rows else None


def series_rows(invitation: Invitation) -> list[Invitation]:
    """The invitee's whole-series invitations to the series of this invitation's activity."""
    return list(
        db.session.scalars(
            select(Invitation)
            .join(Activity, Activity.id == Invitation.activity_id)
            .where(
                Activity.series_id == invitation.activity.series_id,
                Invitation.person_id == invitation.person_id,
                Invitation.whole_series.is_(True),
            )
            .order_by(Activity.starts_at, Activity.id)
        )
    )


def asks_for_the_answer(invitation: Invitation) -> bool:
    """False for a whole-series row after the invitee's first: the series' answer is asked once."""
    if not invitation.whole_series or invitation.activity.series_id is None:
        return True
    rows = series_rows(invitation)
    return not rows or rows[0].id == invitation.id


def covered_by_series_mail(invitation: Invitation, now: datetime) -> bool:
    """On publication: True when the invitee's series mail went out already (this row is marked sent).

    Otherwise the caller mails this row, and every row of the invitee's series counts as sent.
    """
    rows = series_rows(invitation)
    if any(row.sent_at is not None for row in rows):
        invitation.sent_at = invitation.sent_at or now
        return True
    for row in rows:
        if row is not invitation:
            row.sent_at = now
    return False


def send_pending_invitations(activity: Activity, now: datetime) -> int:
    """Mail everyone invited while the activity was a draft (on publication)."""
    sent = []
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.activity_id == activity.id, Invitation.sent_at.is_(None),
                                 Invitation.is_walk_in.is_(False))
    ):
        if invitation.whole_series and activity.series_id is not None and covered_by_series_mail(invitation, now):
            continue
        if queue_mail(invitation, "invitation", now, dedupe_key=f"invitation-{invitation.id}") is not None:
            invitation.sent_at = now
            sent.append(invitation)
    db.session.flush()
    invitations_sent.send(tuple(sent), now=now)
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
        if queue_mail(invitation, "update", now, dedupe_key=key, changes=changes) is not None:
            count += 1
    db.session.flush()
    return count


def send_cancellation(activity: Activity, now: datetime) -> int:
    """Send METHOD:CANCEL to everyone who got an invitation."""
    count = 0
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.activity_id == activity.id, Invitation.sent_at.is_not(None))
    ):
        if queue_mail(invitation, "cancellation", now, dedupe_key=f"cancel-{invitation.id}") is not None:
            count += 1
    db.session.flush()
    return count


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
    """Mail one non-responder again (once per 10 minutes); True when a mail was queued.

    The invitation row is locked and the rules checked after the lock: of two nudges at once,
    the second sees the first one's time and sends nothing.
    """
    activity = invitation.activity
    check_open(activity, now)
    if activity.status != ActivityStatus.published or now >= activity.starts_at:
        return False
    invitation = lock_invitation(invitation)
    if invitation.answer != Answer.pending or not reachable(invitation.person):
        return False
    if invitation.last_nudged_at is not None and now - invitation.last_nudged_at < NUDGE_PAUSE:
        return False
    bucket = int(now.timestamp() // NUDGE_PAUSE.total_seconds())
    queue_mail(invitation, "nudge", now, dedupe_key=f"nudge-{invitation.id}-{bucket}")
    invitation.last_nudged_at = now
    invitation.sent_at = invitation.sent_at or now
    record(invitation, "nudge", {}, now=now)
    db.session.flush()
    return True


def nudge_all(activity: Activity, now: datetime) -> int:
    """Nudge every non-responder; returns how many mails were queued."""
    return sum(1 for invitation in non_responders(activity) if nudge(invitation, now))
