"""Reminders about problems (催办) and follow-up visits (回访), planned on app/reminders.

`plan_problem(problem, now)` recomputes every reminder of one problem from its current state
(called by the services after each step; it flushes only):

- while the problem is with a department (交办/办理中) and has a deadline: the department's
  liaisons are reminded PROBLEM_REMIND_WORKING_DAYS (2) working days before the deadline, and on
  the morning after the deadline the liaisons get an overdue reminder and the organisers an
  escalation (the organiser who assigned it, else the one who recorded it, else all organisers);
- every published follow-up visit still to come: its organiser (the instructor) is reminded
  PROBLEM_FOLLOW_UP_REMIND_HOURS (15) hours before the start (e.g. 17:30 the day before a
  08:30 visit).

Times of day are PROBLEM_REMIND_HOUR (9) o'clock in the display zone. Resolving, returning,
withdrawing or closing the problem plans nothing, so its pending reminders are suppressed; the
"problem" subject check below catches a change made without re-planning at send time.

`register(app)` (called by create_app's register_features) connects the follow-up visit
receivers and adds the subject check and the mail builders to the app's notice registry.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from email.message import EmailMessage

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, literal, or_, select

from app.auth.models import Role, User
from app.core.clock import display_zone
from app.core.i18n import format_dt
from app.events.models import Activity, ActivityStatus
from app.events.signals import activity_published, activity_updated
from app.extensions import db
from app.mail.messages import MAIL_LOCALE, text_message
from app.mail.notices import notices_of
from app.orgs.models import Person
from app.problems.models import FollowUp, Problem, ProblemStatus, ProblemStep
from app.reminders import planning as reminders
from app.reminders.models import Reminder, ReminderKind, SubjectType
from app.workcal.services import is_working_day

WITH_DEPARTMENT = (ProblemStatus.assigned, ProblemStatus.in_progress)
DEADLINE_KINDS = (ReminderKind.problem_due.value, ReminderKind.problem_overdue.value, ReminderKind.problem_escalation.value)


def _setting(name: str, default: int) -> int:
    try:
        return int(current_app.config.get(name, default))
    except (TypeError, ValueError):
        return default


def _at_morning(day: date) -> datetime:
    hour = _setting("PROBLEM_REMIND_HOUR", 9)
    return datetime.combine(day, time(hour), tzinfo=display_zone())


def working_days_before(day: date, days: int) -> date:
    """The date `days` working days before `day` (China's working calendar)."""
    current = day
    while days > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            days -= 1
    return current


def due_times(deadline: date) -> tuple[datetime, datetime]:
    """(the reminder before the deadline, the overdue reminder the morning after it), tz-aware."""
    before = working_days_before(deadline, _setting("PROBLEM_REMIND_WORKING_DAYS", 2))
    return _at_morning(before), _at_morning(deadline + timedelta(days=1))


def liaisons(department_id: int) -> list[Person]:
    """Who is reminded for a department: people with an active liaison account there, else its
    active contacts with an e-mail address."""
    people = list(
        db.session.scalars(
            select(Person)
            .join(User, User.person_id == Person.id)
            .where(
                Person.organisation_id == department_id, Person.active.is_(True), Person.email.is_not(None),
                User.active.is_(True), User.role == Role.liaison,
            )
            .order_by(Person.id)
        )
    )
    if people:
        return people
    return list(
        db.session.scalars(
            select(Person)
            .where(
                Person.organisation_id == department_id, Person.active.is_(True),
                Person.is_contact.is_(True), Person.email.is_not(None),
            )
            .order_by(Person.id)
        )
    )


def _organiser_person(person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    return db.session.scalar(
        select(Person)
        .join(User, User.person_id == Person.id)
        .where(Person.id == person_id, Person.email.is_not(None), User.active.is_(True), User.role == Role.organiser)
    )


def organisers(problem: Problem) -> list[Person]:
    """Who an overdue problem escalates to: the organiser who assigned it (last 交办/转办), else the
    one who recorded it, else every active organiser."""
    assigned_by = db.session.scalar(
        select(ProblemStep.actor_id)
        .where(ProblemStep.problem_id == problem.id, ProblemStep.action.in_(["assign", "reassign"]))
        .order_by(ProblemStep.id.desc())
        .limit(1)
    )
    for person_id in (assigned_by, problem.recorded_by_id):
        person = _organiser_person(person_id)
        if person is not None:
            return [person]
    return list(
        db.session.scalars(
            select(Person)
            .join(User, User.person_id == Person.id)
            .where(Person.active.is_(True), Person.email.is_not(None), User.active.is_(True), User.role == Role.organiser)
            .order_by(Person.id)
        )
    )


def _planned(kind: ReminderKind, problem: Problem, person: Person, due_at: datetime, activity_id: int | None = None):
    return reminders.Planned(
        kind=kind.value, subject_type=SubjectType.problem.value, subject_id=problem.id, due_at=due_at,
        email=person.email or "", person_id=person.id, activity_id=activity_id,
    )


def planned_for(problem: Problem) -> list:
    """The reminders a problem should have now."""
    planned = []
    if problem.status in WITH_DEPARTMENT and problem.deadline is not None and problem.department_id is not None:
        before, overdue = due_times(problem.deadline)
        for person in liaisons(problem.department_id):
            planned.append(_planned(ReminderKind.problem_due, problem, person, before))
            planned.append(_planned(ReminderKind.problem_overdue, problem, person, overdue))
        for person in organisers(problem):
            planned.append(_planned(ReminderKind.problem_escalation, problem, person, overdue))
    lead = timedelta(hours=_setting("PROBLEM_FOLLOW_UP_REMIND_HOURS", 15))
    visits = db.session.scalars(
        select(Activity)
        .join(FollowUp, FollowUp.activity_id == Activity.id)
        .where(FollowUp.problem_id == problem.id, Activity.status == ActivityStatus.published)
    )
    for visit in visits:
        instructor = visit.organiser
        if instructor is not None and instructor.email:
            planned.append(_planned(ReminderKind.follow_up_due, problem, instructor, visit.starts_at - lead, visit.id))
    return planned


def plan_problem(problem: Problem, now: datetime) -> None:
    """Make the problem's pending reminders follow its current state (flushes)."""
    db.session.flush()
    reminders.replace_pending(SubjectType.problem.value, [problem.id], planned_for(problem), now)


# -- still wanted at sweep and send time -----------------------------------------------

def problem_still_wanted(now: datetime | None):
    """Deadline reminders while the problem is with a department; a follow-up reminder while its
    visit is published and (unless now is None) has not started."""
    started = Activity.starts_at > now if now is not None else literal(True)
    return or_(
        and_(
            Reminder.kind.in_(DEADLINE_KINDS),
            exists(select(Problem.id).where(Problem.id == Reminder.subject_id, Problem.status.in_(WITH_DEPARTMENT))),
        ),
        and_(
            Reminder.kind == ReminderKind.follow_up_due.value,
            exists(
                select(FollowUp.id)
                .join(Activity, Activity.id == FollowUp.activity_id)
                .where(
                    FollowUp.problem_id == Reminder.subject_id, FollowUp.activity_id == Reminder.activity_id,
                    Activity.status == ActivityStatus.published, started,
                )
            ),
        ),
    )


# -- the mails ---------------------------------------------------------------------------

def problem_link(problem_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/problems/{problem_id}"


def problem_details(problem: Problem) -> list[str]:
    """The lines every mail about a problem shows: enterprise, category, the problem, department, deadline."""
    lines = [
        _("Enterprise: %(name)s", name=problem.enterprise.name),
        _("Category: %(category)s", category=problem.category_label),
        _("Problem: %(text)s", text=problem.description[:300]),
    ]
    if problem.department is not None:
        lines.append(_("Department: %(name)s", name=problem.department.name))
    if problem.deadline is not None:
        lines.append(_("Deadline: %(date)s", date=problem.deadline.isoformat()))
    return lines


def problem_mail(reminder: Reminder, now: datetime) -> EmailMessage | None:
    """A reminder about a problem, in Chinese: what is due, the enterprise, category, deadline, link."""
    problem = db.session.get(Problem, reminder.subject_id)
    if problem is None:
        return None
    person = db.session.get(Person, reminder.person_id) if reminder.person_id else None
    link = problem_link(problem.id)
    visit = db.session.get(Activity, reminder.activity_id) if reminder.activity_id else None
    with force_locale(MAIL_LOCALE):
        enterprise = problem.enterprise.name
        intro = {
            ReminderKind.problem_due.value: _("Problem no. %(id)d assigned to your department is due soon; please resolve it before the deadline."),
            ReminderKind.problem_overdue.value: _("Problem no. %(id)d assigned to your department is past its deadline; please deal with it at once."),
            ReminderKind.problem_escalation.value: _("Problem no. %(id)d is past its deadline and not resolved; please press the department handling it."),
            ReminderKind.follow_up_due.value: _("A follow-up visit on problem no. %(id)d is due."),
        }[reminder.kind] % {"id": problem.id}
        lines = [
            _("Dear %(name)s,", name=person.name if person else reminder.email),
            "",
            intro,
            *problem_details(problem),
        ]
        if visit is not None:
            lines.append(_("Visit: %(when)s", when=format_dt(visit.starts_at)))
        lines += ["", _("Details: %(link)s", link=link), "", _("This message was sent automatically by Linghang.")]
        subjects = {
            ReminderKind.problem_due.value: _("Problem due soon: %(enterprise)s (no. %(id)d)"),
            ReminderKind.problem_overdue.value: _("Problem overdue: %(enterprise)s (no. %(id)d)"),
            ReminderKind.problem_escalation.value: _("Overdue problem to press: %(enterprise)s (no. %(id)d)"),
            ReminderKind.follow_up_due.value: _("Follow-up visit due: %(enterprise)s (no. %(id)d)"),
        }
        subject = subjects[reminder.kind] % {"enterprise": enterprise, "id": problem.id}
    return text_message(person.name if person else reminder.email, person.email if person and person.email else reminder.email, subject, lines, link)


def _visit_changed(sender: Activity, now: datetime, **_kwargs) -> None:
    """A follow-up visit rescheduled (or published again): move its instructor's reminder."""
    problem = db.session.scalar(select(Problem).join(FollowUp, FollowUp.problem_id == Problem.id).where(FollowUp.activity_id == sender.id))
    if problem is not None:
        plan_problem(problem, now)


def register(app: Flask) -> None:
    """Connect the visit receivers; add the subject check and the mail builders to the registry."""
    activity_published.connect(_visit_changed, weak=False)
    activity_updated.connect(_visit_changed, weak=False)
    registry = notices_of(app)
    registry.add_subject_check(SubjectType.problem.value, problem_still_wanted)
    for kind in (ReminderKind.problem_due, ReminderKind.problem_overdue, ReminderKind.problem_escalation, ReminderKind.follow_up_due):
        registry.add_reminder_builder(kind.value, problem_mail)
