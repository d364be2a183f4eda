"""Reminder mails: time, place, the answer link and an iCalendar REQUEST with the current sequence.

Each builder takes (reminder, now) and returns an EmailMessage (or None to withdraw it); they
run at send time, so the mail shows the activity as it is then. `hooks.register` adds them to the
app's notice registry; the problem ledger registers the builders of its kinds itself.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.core.i18n import format_dt, format_range
from app.events.models import Activity
from app.extensions import db
from app.invitations.emails import answer_link as invitation_link
from app.invitations.emails import calendar_bytes, calendar_part
from app.invitations.models import Invitation
from app.invitations.reply_address import reply_address
from app.invitations.tokens import issue_token
from app.mail.messages import MAIL_LOCALE, text_message
from app.notify.models import REMINDER_NOTICE_KINDS
from app.notify.preferences import unsubscribe_url
from app.reminders.models import Reminder
from app.reminders.planning import answer_deadline


def answer_link(invitation: Invitation, now: datetime) -> str:
    """The invitee's personal answer link, with a fresh token (only its hash is stored).

    Called while the outbox row is built: the token row commits with the built message, which
    is stored and reused for every delivery attempt (see app/mail/dispatch.py), so a failed or
    repeated delivery never carries a link that does not work.
    """
    return invitation_link(issue_token(invitation, now))


def activity_link(activity: Activity) -> str:
    """The activity's page."""
    return f"{current_app.config['BASE_URL']}/activities/{activity.id}"


def _invitation_of(reminder: Reminder) -> Invitation | None:
    return db.session.get(Invitation, reminder.subject_id)


def _invitee_mail(reminder: Reminder, now: datetime, compose) -> EmailMessage | None:
    """A mail to an invitee about their activity: greeting, what and when, the answer link, the
    calendar entry. `compose(activity, when, link)` gives the intro, the action lines and the subject."""
    invitation = _invitation_of(reminder)
    if invitation is None:
        return None
    activity, person = invitation.activity, invitation.person
    link = answer_link(invitation, now)
    kind = REMINDER_NOTICE_KINDS.get(reminder.kind)
    unsubscribe = unsubscribe_url(person, kind) if kind is not None else None
    with force_locale(MAIL_LOCALE):
        when = format_range(activity.starts_at, activity.ends_at)
        intro, action, subject = compose(activity, when, link)
        lines = [
            _("Dear %(name)s,", name=person.name),
            "",
            intro,
            activity.title,
            _("Time: %(when)s", when=when),
            _("Place: %(place)s", place=activity.place or "—"),
            "",
            *action,
            "",
            _("This message was sent automatically by Linghang."),
        ]
        if unsubscribe:
            lines.append(_("To stop receiving this kind of notice by e-mail: %(link)s", link=unsubscribe))
    message = text_message(person.name, person.email or reminder.email, subject, lines, link)
    _attach_calendar(message, invitation, link, now)
    return message


def activity_reminder(reminder: Reminder, now: datetime) -> EmailMessage | None:
    """To an invitee who accepted: the activity is coming, with time, place and calendar entry."""

    def compose(activity, when, link):
        return (
            _("A reminder that you are expected at the following activity:"),
            [
                _("If your plans have changed, please update your answer: %(link)s", link=link),
                _("Details: %(link)s", link=activity_link(activity)),
            ],
            _("Reminder: %(title)s, %(when)s", title=activity.title, when=when),
        )

    return _invitee_mail(reminder, now, compose)


def answer_nudge(reminder: Reminder, now: datetime) -> EmailMessage | None:
    """To an invitee who has not answered yet: please answer before the deadline."""
    def compose(activity, when, link):
        deadline = format_dt(answer_deadline(activity))
        return (
            _("You have been invited to the following activity and have not answered yet:"),
            [_("Please answer by %(deadline)s: %(link)s", deadline=deadline, link=link)],
            _("Please answer: %(title)s", title=activity.title),
        )

    return _invitee_mail(reminder, now, compose)


def _attach_calendar(message: EmailMessage, invitation: Invitation, link: str, now: datetime) -> None:
    """The iTIP REQUEST of the shared builder, with the recipient as ATTENDEE and their answer."""
    with force_locale(MAIL_LOCALE):
        ics = calendar_bytes(invitation, "REQUEST", link, now)
    message.attach(calendar_part(ics, "REQUEST"))
    # Like the invitation mails: a calendar's answer (and a reply by mail) reaches the reply mailbox.
    replies_to = reply_address(invitation)
    if replies_to and "Reply-To" not in message:
        message["Reply-To"] = replies_to
