"""Mails sent the moment a problem moves: 交办 (to the department's liaisons), 办结 (to the
enterprise, with a link to rate how it was resolved) and a problem raised through feedback that
waits for assignment (to the organisers).

Each mail is queued in the outbox in the transaction of the step that caused it (`enqueue`
flushes, never commits), so a refused step sends nothing; at send time `outdated` withdraws a
mail whose news is no longer true. The rating link is the invitee's own
answer-link feedback page when the problem came from an activity the enterprise was invited to
and that page is still open; otherwise a token of its own (`RatingLink`: 256 random bits, only
the sha256 kept, valid PROBLEM_RATING_LINK_DAYS days) that opens /problems/rate/<token>.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.events.models import ActivityStatus
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.invitations.tokens import feedback_until, hash_token, issue_token
from app.mail.messages import MAIL_LOCALE, text_message
from app.mail.models import Channel
from app.mail.notices import notices_of
from app.mail.services import notice_key_of
from app.notify.models import OUTBOX_NOTICE_KINDS, NoticeKind
from app.notify.services import deliver
from app.notify.sms_texts import sms_body
from app.orgs.models import Person
from app.problems.models import Problem, ProblemStatus, RatingLink
from app.problems.reminders import (
    WITH_DEPARTMENT,
    liaisons,
    organisers,
    problem_details,
    problem_link,
)
from app.problems.signals import problem_assigned
from app.shortlinks.services import short_url

ASSIGNED = "problem.assigned"
RESOLVED = "problem.resolved"
UNASSIGNED = "problem.unassigned"
OUTBOX_KINDS = (ASSIGNED, RESOLVED, UNASSIGNED)
# How the outbox page names each problem mail.
OUTBOX_KIND_LABELS = {
    ASSIGNED: _l("Problem assigned"),
    RESOLVED: _l("Problem resolved: please rate"),
    UNASSIGNED: _l("Problem waiting to be assigned"),
}
RATING_LINK_DAYS = 30  # default of PROBLEM_RATING_LINK_DAYS


def _queue(kind: str, problem: Problem, person: Person, subject: str, intro: str, link: str, link_line: str, now: datetime, key: str) -> None:
    lines = [_("Dear %(name)s,", name=person.name), "", intro, *problem_details(problem)]
    lines += ["", link_line, "", _("This message was sent automatically by Linghang.")]
    notice_key = f"{kind}:{problem.id}:{key}:{person.id}"
    # No activity_id on the rows: the activity checks at send time (cancelled, started) concern
    # invitations, not a problem raised at an activity that is long over.
    deliver(
        person, OUTBOX_NOTICE_KINDS[kind], outbox_kind=kind, now=now,
        email=lambda: text_message(person.name, person.email or "", subject, lines, link),
        notice_key=notice_key, email_dedupe_key=notice_key,
    )


def _step_key(problem: Problem) -> str:
    # One mail per step: a problem assigned again (转办, 重办) gets a new mail.
    return str(problem.steps[-1].id) if problem.steps else "0"


def notify_assigned(problem: Problem, now: datetime) -> None:
    """交办/转办: tell the liaisons of the department that now has the problem."""
    if problem.department_id is None:
        return
    db.session.flush()
    problem_assigned.send(problem, now=now, step_key=_step_key(problem))
    with force_locale(MAIL_LOCALE):
        for person in liaisons(problem.department_id):
            _queue(
                ASSIGNED, problem, person,
                _("Problem assigned to your department: %(enterprise)s (no. %(id)d)", enterprise=problem.enterprise.name, id=problem.id),
                _("Problem no. %(id)d has been assigned to your department; please handle it before the deadline.", id=problem.id),
                problem_link(problem.id), _("Details: %(link)s", link=problem_link(problem.id)), now, _step_key(problem),
            )


def notify_unassigned(problem: Problem, now: datetime) -> None:
    """A problem raised through feedback waits for assignment: tell the organisers."""
    db.session.flush()
    with force_locale(MAIL_LOCALE):
        for person in organisers(problem):
            _queue(
                UNASSIGNED, problem, person,
                _("New problem to assign: %(enterprise)s (no. %(id)d)", enterprise=problem.enterprise.name, id=problem.id),
                _("An enterprise raised problem no. %(id)d in its feedback; please assign it to a department.", id=problem.id),
                problem_link(problem.id), _("Details: %(link)s", link=problem_link(problem.id)), now, "raised",
            )


def enterprise_contact(problem: Problem) -> Person | None:
    """Who rates a resolved problem: the person who raised it if reachable, else the enterprise's first contact."""
    raiser = problem.raised_by
    if raiser is not None and raiser.active and raiser.email and raiser.organisation_id == problem.enterprise_id:
        return raiser
    return db.session.scalar(
        select(Person)
        .where(
            Person.organisation_id == problem.enterprise_id, Person.active.is_(True),
            Person.is_contact.is_(True), Person.email.is_not(None),
        )
        .order_by(Person.id)
        .limit(1)
    )


def _invitation_feedback_link(problem: Problem, person: Person, now: datetime) -> str | None:
    """The answer link's feedback page of the enterprise's invitation to the problem's activity, while open."""
    activity = problem.activity
    if activity is None or activity.status == ActivityStatus.cancelled or feedback_until(activity) <= now or activity.ends_at > now:
        return None
    invitation = db.session.scalar(
        select(Invitation)
        .where(
            Invitation.activity_id == activity.id, Invitation.organisation_id == problem.enterprise_id,
            (Invitation.answer == Answer.accepted) | Invitation.checked_in_at.is_not(None),
        )
        .order_by((Invitation.person_id == person.id).desc(), Invitation.id)
        .limit(1)
    )
    if invitation is None:
        return None
    return f"{current_app.config['BASE_URL']}/rsvp/{issue_token(invitation, now)}/feedback"


def issue_rating_link(problem: Problem, person: Person | None, now: datetime) -> str:
    """A new rating link of the problem (only its hash is kept); it expires after PROBLEM_RATING_LINK_DAYS."""
    token = secrets.token_urlsafe(32)
    days = int(current_app.config.get("PROBLEM_RATING_LINK_DAYS", RATING_LINK_DAYS))
    db.session.add(RatingLink(problem=problem, person=person, token_hash=hash_token(token), created_at=now, expires_at=now + timedelta(days=days)))
    db.session.flush()
    return f"{current_app.config['BASE_URL']}/problems/rate/{token}"


def rating_link_for(token: str, now: datetime) -> RatingLink | None:
    """The rating link of a token, or None when unknown or expired (the caller cannot tell which)."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(RatingLink).where(RatingLink.token_hash == hash_token(token)))
    if link is None or link.expires_at <= now:
        return None
    return link


def notify_resolved(problem: Problem, now: datetime) -> None:
    """办结: tell the enterprise how it was resolved and ask it to rate that, by a link that needs no account."""
    person = enterprise_contact(problem)
    if person is None:
        return
    db.session.flush()
    link = _invitation_feedback_link(problem, person, now) or issue_rating_link(problem, person, now)
    with force_locale(MAIL_LOCALE):
        _queue(
            RESOLVED, problem, person,
            _("Your problem was resolved, please rate it: %(enterprise)s (no. %(id)d)", enterprise=problem.enterprise.name, id=problem.id),
            _("Problem no. %(id)d has been resolved: %(resolution)s", id=problem.id, resolution=(problem.resolution or "")[:300]),
            link, _("Please tell us whether you are satisfied: %(link)s", link=link), now, _step_key(problem),
        )


# What the problem must still be when its mail is sent; otherwise the mail is withdrawn.
STILL_TRUE = {
    ASSIGNED: lambda problem: problem.status in WITH_DEPARTMENT,
    RESOLVED: lambda problem: problem.status == ProblemStatus.resolved and problem.satisfaction is None,
    UNASSIGNED: lambda problem: problem.status == ProblemStatus.accepted,
}


def outdated(row, now: datetime) -> bool:
    """Send-time check (any time `now`): a problem mail whose news is no longer true (e.g. assigned, then withdrawn
    before delivery; rated before the 办结 mail went out) is withdrawn.

    The problem's id is the second part of the notice key `_queue` gives every problem notice.
    """
    if row.kind not in STILL_TRUE:
        return False
    parts = notice_key_of(row).split(":")
    problem = db.session.get(Problem, int(parts[1])) if len(parts) == 4 and parts[1].isdigit() else None
    return problem is None or not STILL_TRUE[row.kind](problem)


def render_problem_sms(row, now: datetime) -> bytes | None:
    """The SMS of a problem notice, built when sent: the problem's page, or the rating link, as a short link."""
    parts = notice_key_of(row).split(":")
    problem = db.session.get(Problem, int(parts[1])) if len(parts) == 4 and parts[1].isdigit() else None
    if problem is None:
        return None
    days = int(current_app.config.get("PROBLEM_RATING_LINK_DAYS", RATING_LINK_DAYS))
    if row.kind == RESOLVED:
        person = db.session.get(Person, row.person_id) if row.person_id else None
        target = issue_rating_link(problem, person, now).removeprefix(current_app.config["BASE_URL"])
        kind = NoticeKind.problem_resolved
    else:
        target, kind = f"/problems/{problem.id}", NoticeKind.problem_assigned
    link = short_url(target, expires_at=now + timedelta(days=days), now=now)
    return sms_body(kind, {"enterprise": problem.enterprise.display_name, "number": str(problem.id), "link": link})


def register(app: Flask) -> None:
    """Declare the problem notices' outbox kinds (mails built when queued, SMS when sent) and their send-time check."""
    registry = notices_of(app)
    for kind in OUTBOX_KINDS:
        registry.add_prebuilt(kind, text_message)
        registry.add_kind_label(kind, OUTBOX_KIND_LABELS[kind])
    registry.add_channel_renderer(Channel.sms.value, ASSIGNED, render_problem_sms)
    registry.add_channel_renderer(Channel.sms.value, RESOLVED, render_problem_sms)
    registry.add_send_time_check(outdated)
