"""The SMS of invitation notices (invitation, update, cancellation, nudge, promotion, reminders).

Built at send time from the activity as it is then (`Notices.add_channel_renderer`), with the
invitee's answer link as a short link (`/r/<code>`) that expires when the answer link does
(when the activity ends). The text is a template's parameters: see app/notify/sms_texts.py.
"""

from __future__ import annotations

from datetime import datetime

from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.invitations.models import Invitation
from app.invitations.tokens import issue_token
from app.notify.models import OUTBOX_NOTICE_KINDS, NoticeKind
from app.notify.sms_texts import short_time, sms_body
from app.shortlinks.services import short_url


def short_place(activity: Activity) -> str:
    """Where, in a few characters: the venue's name, else the site."""
    if activity.venue is not None:
        return activity.venue.name
    return activity.site.display_name if activity.site is not None else "—"


def answer_short_link(invitation: Invitation, now: datetime) -> str:
    """A short link to a fresh answer link of the invitee, expiring with the activity."""
    token = issue_token(invitation, now)
    return short_url(f"/rsvp/{token}", expires_at=invitation.activity.ends_at, now=now)


def invitation_sms(invitation: Invitation, kind: NoticeKind, now: datetime) -> bytes | None:
    """The SMS body of one notice to an invitee (None: nothing to send any more)."""
    activity = invitation.activity
    if activity.ends_at <= now:
        return None
    params = {
        "org": activity.host.display_name,
        "title": activity.title,
        "time": short_time(activity.starts_at),
        "place": short_place(activity),
    }
    if kind is not NoticeKind.cancellation:
        if activity.status != ActivityStatus.published:
            return None
        params["link"] = answer_short_link(invitation, now)
    return sms_body(kind, params)


def render_invitation_sms(row, now: datetime) -> bytes | None:
    """Channel renderer of the invitation outbox kinds on the SMS channel."""
    invitation = db.session.get(Invitation, row.invitation_id) if row.invitation_id else None
    if invitation is None:
        return None
    return invitation_sms(invitation, OUTBOX_NOTICE_KINDS[row.kind], now)
