"""Reminder mails: time, place, the answer link and an iCalendar REQUEST with the current sequence.

Each builder takes (reminder, now) and returns an EmailMessage (or None to withdraw it); they
run at send time, so the mail shows the activity as it is then. `builders` maps reminder kinds
to builders: the problem ledger may replace the generic problem builders with its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from app.core.i18n import format_range
from app.events.models import Activity
from app.extensions import db
from app.invitations.emails import answer_link as invitation_link
from app.invitations.emails import calendar_bytes, calendar_part
from app.invitations.models import Invitation
from app.invitations.services import issue_token
from app.reminders.models import REMINDER_KIND_LABELS, Reminder, ReminderKind

MAIL_LOCALE = "zh_CN"


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


def _message(to_name: str, to_email: str, subject: str, lines: list[str], link: str | None) -> EmailMessage:
    message = EmailMessage()
    message["To"] = formataddr((to_name, to_email))
    message["Subject"] = subject
    message.set_content("\n".join(lines) + "\n")
    html = "".join(f"<p>{escape(line)}</p>" if line else "" for line in lines)
    if link:
        html += f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    return message


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
    message = _message(person.name, person.email or reminder.email, subject, lines, link)
    _attach_calendar(message, invitation, link)
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
    from app.core.i18n import format_dt
    from app.reminders.services import answer_deadline

    def compose(activity, when, link):
        deadline = format_dt(answer_deadline(activity))
        return (
            _("You have been invited to the following activity and have not answered yet:"),
            [_("Please answer by %(deadline)s: %(link)s", deadline=deadline, link=link)],
            _("Please answer: %(title)s", title=activity.title),
        )

    return _invitee_mail(reminder, now, compose)


def _attach_calendar(message: EmailMessage, invitation: Invitation, link: str) -> None:
    """The iTIP REQUEST of the shared builder, with the recipient as ATTENDEE and their answer."""
    with force_locale(MAIL_LOCALE):
        ics = calendar_bytes(invitation, "REQUEST", link)
    message.attach(calendar_part(ics, "REQUEST"))


def problem_reminder(reminder: Reminder, now: datetime) -> EmailMessage | None:
    """Generic mail for the problem kinds: what is due, and the link to the problem."""
    link = f"{current_app.config['BASE_URL']}/problems/{reminder.subject_id}"
    with force_locale(MAIL_LOCALE):
        label = str(REMINDER_KIND_LABELS.get(reminder.kind, reminder.kind))  # type: ignore[call-overload]
        texts = {
            ReminderKind.problem_due.value: _("The deadline of problem no. %(id)d is approaching; please deal with it in time."),
            ReminderKind.problem_overdue.value: _("Problem no. %(id)d is past its deadline; please deal with it at once."),
            ReminderKind.problem_escalation.value: _("Problem no. %(id)d is still overdue; please follow it up with the department."),
            ReminderKind.follow_up_due.value: _("A follow-up visit on problem no. %(id)d is due."),
        }
        lines = [
            texts.get(reminder.kind, label) % {"id": reminder.subject_id},
            _("Details: %(link)s", link=link),
            "",
            _("This message was sent automatically by Linghang."),
        ]
        subject = f"{label}（#{reminder.subject_id}）"
    return _message(reminder.email, reminder.email, subject, lines, link)


builders: dict[str, Callable[[Reminder, datetime], EmailMessage | None]] = {
    ReminderKind.activity_upcoming.value: activity_reminder,
    ReminderKind.answer_nudge.value: answer_nudge,
    ReminderKind.problem_due.value: problem_reminder,
    ReminderKind.problem_overdue.value: problem_reminder,
    ReminderKind.problem_escalation.value: problem_reminder,
    ReminderKind.follow_up_due.value: problem_reminder,
}
