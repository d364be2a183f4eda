"""Invitation e-mails: plain text, HTML and an iTIP calendar part (METHOD:REQUEST or CANCEL).

Mails are always written in the county's language (zh_CN), whoever triggered them.
"""

from __future__ import annotations

from datetime import datetime
from email import encoders
from email.message import EmailMessage
from email.mime.base import MIMEBase

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from app.events.series import describe, occurrences
from app.ical.builder import PARTSTAT, build_calendar, build_vevent
from app.ical.recurring import occurrence_cancel_event, series_events
from app.invitations.models import Answer, Invitation
from app.invitations.reply_address import reply_address
from app.mail.messages import header_text, mail_address
from app.notify.models import OUTBOX_NOTICE_KINDS
from app.notify.preferences import unsubscribe_url

KINDS = ("invitation", "update", "cancellation", "nudge", "promotion")
# Outbox rows of these mails have the kind "invitation.<kind>" (see mailing.queue_mail).
OUTBOX_KINDS = tuple(f"invitation.{kind}" for kind in KINDS)


def answer_link(token: str) -> str:
    """The personal answer link of a token."""
    return f"{current_app.config['BASE_URL']}/rsvp/{token}"


def _subject(kind: str, title: str) -> str:
    subjects = {
        "invitation": _("Invitation: %(title)s", title=title),
        "update": _("Changed: %(title)s", title=title),
        "cancellation": _("Cancelled: %(title)s", title=title),
        "nudge": _("Reminder, please answer: %(title)s", title=title),
        "promotion": _("A seat is free for you: %(title)s", title=title),
    }
    return subjects[kind]


def method_of(kind: str) -> str | None:
    """The iTIP method of a kind of mail (None: no calendar part)."""
    if kind == "cancellation":
        return "CANCEL"
    if kind in ("invitation", "update", "nudge", "promotion"):
        return "REQUEST"
    return None


def is_waitlisted(invitation: Invitation) -> bool:
    """Accepted, but waiting for a seat."""
    return invitation.answer == Answer.accepted and invitation.waitlisted_at is not None


def partstat_of(invitation: Invitation) -> str:
    """The ATTENDEE's PARTSTAT: a waitlisted invitee is TENTATIVE, never ACCEPTED, so their
    calendar does not show them as attending before a seat is theirs."""
    if is_waitlisted(invitation):
        return "TENTATIVE"
    return PARTSTAT[invitation.answer.value]


def calendar_bytes(invitation: Invitation, method: str, link: str | None, now: datetime) -> bytes:
    """The iCalendar object of the mail, with this recipient as the one ATTENDEE; `now` (when
    the message is made) is its DTSTAMP."""
    base_url = current_app.config["BASE_URL"]
    parts = [_("Your answer: %(link)s", link=link)] if link else []
    if method == "REQUEST" and is_waitlisted(invitation):
        parts.insert(0, waitlist_notice())
    options = {
        "attendee": invitation.person,
        "partstat": partstat_of(invitation) if method == "REQUEST" else "NEEDS-ACTION",
        "extra_description": "\n".join(parts) or None,
        "stamp": now,
        # The reply mailbox (when configured) receives the calendar's REPLY: see reply_address.
        "organizer_email": reply_address(invitation),
    }
    activity = invitation.activity
    if is_series_invitation(invitation) and method == "CANCEL":
        events = [occurrence_cancel_event(activity, base_url=base_url, **options)]
    elif is_series_invitation(invitation):
        events = series_events(activity.series, occurrences(activity.series), base_url=base_url, method=method, **options)
    else:
        events = [build_vevent(activity, base_url=base_url, method=method, **options)]
    return build_calendar(events, method=method).to_ical()


def is_series_invitation(invitation: Invitation) -> bool:
    """An invitation to a whole series whose activity still belongs to one: its mails carry the series."""
    return invitation.whole_series and invitation.activity.series is not None


def waitlist_notice() -> str:
    """What a waitlisted invitee reads in every mail about the activity."""
    return _("You are on the waiting list: you do not have a seat yet. We will write to you as soon as one is free.")


def calendar_part(ics: bytes, method: str) -> MIMEBase:
    """The text/calendar part, base64 so its CRLF line ends reach the client intact.

    Built as a plain-header part so the header is written exactly as clients expect it:
    `text/calendar; charset=utf-8; method=REQUEST` (Outlook compares it with the body's METHOD).
    """
    part = MIMEBase("text", "calendar")
    part.set_payload(ics)
    encoders.encode_base64(part)
    del part["MIME-Version"]
    part.replace_header("Content-Type", f"text/calendar; charset=utf-8; method={method}")
    return part


def _as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def previous_times(activity, changes: dict | None) -> tuple[datetime, datetime] | None:
    """The old start and end of a rescheduled activity, from the signal's changes."""
    changes = changes or {}
    if "starts_at" not in changes and "ends_at" not in changes:
        return None
    start = _as_datetime(changes.get("starts_at", [activity.starts_at])[0])
    end = _as_datetime(changes.get("ends_at", [activity.ends_at])[0])
    if start is None or end is None:
        return None
    return start, end


def build_message(
    invitation: Invitation, kind: str, token: str | None, changes: dict | None = None, *, now: datetime
) -> EmailMessage:
    """The complete message for one invitee; `token` is the fresh answer-link token, `now` the
    time the message is made (the calendar part's DTSTAMP)."""
    if kind not in KINDS:
        raise ValueError(kind)
    person = invitation.person
    activity = invitation.activity
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        link = answer_link(token) if token and kind != "cancellation" else None
        context = {
            "kind": kind,
            "invitation": invitation,
            "activity": activity,
            "person": person,
            "link": link,
            "changes": changes or {},
            "previous": previous_times(activity, changes) if kind == "update" else None,
            "series_words": describe(activity.series.rrule) if is_series_invitation(invitation) else None,
            "waitlisted": is_waitlisted(invitation) and kind != "cancellation",
            "waitlist_notice": waitlist_notice(),
            "unsubscribe": unsubscribe_url(person, OUTBOX_NOTICE_KINDS[f"invitation.{kind}"]),
        }
        message = EmailMessage()
        message["To"] = mail_address(person.name, person.email)
        message["Subject"] = header_text(_subject(kind, activity.title))
        replies_to = reply_address(invitation)
        if replies_to:
            message["Reply-To"] = replies_to
        message.set_content(render_template("invitations/mail/message.txt", **context))
        message.add_alternative(render_template("invitations/mail/message.html", **context), subtype="html")
        method = method_of(kind)
        if method is not None:
            message.attach(calendar_part(calendar_bytes(invitation, method, link, now), method))
    return message
