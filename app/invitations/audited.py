"""What the audit log records of invitations and saved invitation lists."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.audit.subjects import AuditedField, AuditedModel, choice, moment, text
from app.invitations.models import ANSWER_LABELS, AnswerChannel, Invitation, SavedList

CHANNEL_LABELS = {
    AnswerChannel.link: _l("through the answer link"),
    AnswerChannel.account: _l("through the account"),
    AnswerChannel.phone: _l("by phone (entered by the organiser)"),
    AnswerChannel.letter: _l("by letter (entered by the organiser)"),
    AnswerChannel.walk_in: _l("at the door"),
    AnswerChannel.calendar: _l("from the calendar"),
}


def _waiting(value: object) -> str:
    return str(_l("on the waiting list")) if value else "—"


def _invitation_title(invitation: Invitation) -> str:
    return f"{invitation.person.name} · {invitation.activity.title}"


INVITATION = AuditedModel(
    Invitation, _l("Invitation"),
    {
        "answer": choice(_l("Answer"), ANSWER_LABELS),
        "seats": text(_l("Number of people")),
        "waitlisted_at": AuditedField(_l("Waiting list"), _waiting),
        "channel": choice(_l("How answered"), CHANNEL_LABELS),
        "checked_in_count": text(_l("Checked in")),
        "sent_at": moment(_l("Sent")),
    },
    title=_invitation_title,
    url=lambda invitation: url_for("invitations.manage", activity_id=invitation.activity_id),
    actions={
        "answer": lazy_pgettext("audit action", "Answered"),
        "answer_calendar": _l("Answered from the calendar"),
        "promote": _l("Moved up from the waiting list"),
        "nudge": _l("Reminded to answer"),
        "check_in": _l("Checked in"),
        "walk_in": _l("Walk-in checked in"),
    },
)

SAVED_LIST = AuditedModel(
    SavedList, _l("Saved list"),
    {"name": text(_l("Name"))},
    title=lambda saved: saved.name,
)

AUDITED = [INVITATION, SAVED_LIST]
