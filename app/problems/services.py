"""Recording problems, attendee feedback and outcomes; every function flushes and never commits.

The steps a problem then goes through live in app/problems/transitions.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import created, record
from app.auth.models import Role, User
from app.core.errors import ValidationFailed
from app.events.models import Activity, ActivityKind
from app.extensions import db
from app.invitations.models import Invitation
from app.invitations.services import feedback_open
from app.orgs.models import AllianceMembership, InstructorAssignment, Organisation, OrgKind, Person
from app.problems.deadlines import default_deadline, local_date
from app.problems.models import (
    ActivityFeedback,
    Outcome,
    OutcomeKind,
    Problem,
    ProblemCategory,
    ProblemSource,
    ProblemStatus,
    ProblemStep,
    Satisfaction,
)
from app.problems.notices import notify_assigned, notify_resolved, notify_unassigned
from app.problems.signals import problem_recorded
from app.problems.transitions import (
    add_step,
    department_or_refuse,
    give_satisfaction,
    lock_problem,
    required,
)

S = ProblemStatus


def record_problem(
    *,
    enterprise_id: int,
    category: ProblemCategory,
    description: str,
    now: datetime,
    recorder: Person | None,
    activity: Activity | None = None,
    department_id: int | None = None,
    resolved_on_site: bool = False,
    resolution: str | None = None,
    raised_by: Person | None = None,
    source: ProblemSource = ProblemSource.on_site,
) -> Problem:
    """Enter what an enterprise raised: 受理; 交办 at once when a department took it on the spot;
    办结 at once when it was solved on site. `source`: where it came in (现场, 12345热线, …)."""
    enterprise = db.session.get(Organisation, enterprise_id)
    if enterprise is None or enterprise.kind != OrgKind.enterprise:
        raise ValidationFailed(_("Choose the enterprise that raised it."), "enterprise")
    description = required(description, "description", _("Say what the enterprise raised."))
    department = department_or_refuse(department_id) if department_id else None
    if resolved_on_site:
        resolution = required(resolution, "resolution", _("Say how it was solved on site."))
    problem = Problem(
        enterprise=enterprise, category=category, source=ProblemSource(source), description=description, activity=activity,
        department=department, raised_by=raised_by, recorded_by=recorder, raised_at=now,
        status=ProblemStatus.accepted, created_at=now, updated_at=now,
    )
    db.session.add(problem)
    db.session.flush()
    db.session.add(ProblemStep(problem=problem, at=now, actor=recorder, action="record", from_status=None, to_status=S.accepted))
    record(problem, "create", created(problem), now=now)
    problem_recorded.send(problem, now=now)
    if resolved_on_site:
        problem.resolved_on_site = True
        problem.resolution = resolution
        problem.resolved_on = local_date(now)
        add_step(problem, recorder, "resolve_on_site", S.resolved, resolution, now)
        notify_resolved(problem, now)
    elif department is not None:
        # The department took it on the spot: 交办 at once, with the category's deadline.
        problem.deadline = default_deadline(category, local_date(now))
        add_step(problem, recorder, "assign", S.assigned, department.name, now, {"department_id": [None, department.id]})
        notify_assigned(problem, now)
    db.session.flush()
    return problem


def enterprises_for_activity(activity: Activity | None, user: User) -> list[Organisation]:
    """Enterprises to offer on the entry page: those concerned by the activity first.

    Order: the activity's invitees, the visit's
    site, co-hosts, the alliance's members, then every other enterprise the account may record for.
    """
    first: list[int] = []
    if activity is not None:
        first.extend(invited_enterprise_ids(activity))
        if activity.site_id:
            first.append(activity.site_id)
        first.extend(o.id for o in activity.cohosts if o.kind == OrgKind.enterprise)
        if activity.alliance_id:
            first.extend(
                db.session.scalars(
                    select(AllianceMembership.enterprise_id).where(AllianceMembership.alliance_id == activity.alliance_id)
                )
            )
    statement = select(Organisation).where(Organisation.kind == OrgKind.enterprise, Organisation.active.is_(True))
    if user.role == Role.contact:
        statement = statement.where(Organisation.id == user.organisation_id)
    elif user.role == Role.instructor:
        # The enterprises the instructor serves, and those the activity concerns directly.
        served = select(InstructorAssignment.enterprise_id).where(InstructorAssignment.instructor_id == user.person_id)
        concerned = attending_enterprise_ids(activity) if activity is not None else []
        statement = statement.where(Organisation.id.in_(served) | Organisation.id.in_(concerned))
    everyone = list(db.session.scalars(statement.order_by(Organisation.name)))
    rank = {org_id: index for index, org_id in enumerate(dict.fromkeys(first))}
    return sorted(everyone, key=lambda org: rank.get(org.id, len(rank)))


def preselected_enterprise(activity: Activity | None, offered: list[Organisation]) -> int | None:
    """The enterprise the entry form starts with: a visit's enterprise, or the only enterprise invited."""
    if activity is None:
        return None
    offered_ids = {org.id for org in offered}
    if activity.kind == ActivityKind.visit and activity.site_id in offered_ids:
        return activity.site_id
    invited = [org_id for org_id in dict.fromkeys(invited_enterprise_ids(activity)) if org_id in offered_ids]
    return invited[0] if len(invited) == 1 else None


def invited_enterprise_ids(activity: Activity) -> list[int]:
    """The organisations invited to (or checked in as walk-ins at) the activity, first invited first."""
    return list(
        db.session.scalars(
            select(Invitation.organisation_id)
            .where(Invitation.activity_id == activity.id)
            .order_by(Invitation.id)
        )
    )


def attending_enterprise_ids(activity: Activity) -> set[int]:
    """The organisations that took part: the invitees (walk-ins included) and a visit's enterprise."""
    ids = set(invited_enterprise_ids(activity))
    if activity.site_id:
        ids.add(activity.site_id)
    return ids


# -- attendee outcomes --------------------------------------------------------

def awaiting_confirmation(enterprise: Organisation, activity: Activity) -> list[Problem]:
    """The enterprise's resolved problems it has not yet said it is satisfied with, this activity's first."""
    return list(
        db.session.scalars(
            select(Problem)
            .where(Problem.enterprise_id == enterprise.id, Problem.status == ProblemStatus.resolved, Problem.satisfaction.is_(None))
            .order_by((Problem.activity_id == activity.id).desc(), Problem.id)
        )
    )


def feedback_of(activity: Activity, enterprise: Organisation) -> ActivityFeedback | None:
    """The enterprise's feedback on the activity, if it gave one."""
    return db.session.scalar(
        select(ActivityFeedback).where(ActivityFeedback.activity_id == activity.id, ActivityFeedback.enterprise_id == enterprise.id)
    )


def record_attendee_feedback(
    activity: Activity,
    enterprise: Organisation,
    person: Person | None,
    rating: int | None,
    comment: str | None,
    resolved_problem_ids: list[int],
    new_problem: dict | None,
    now: datetime,
):
    """An attending enterprise rates the activity (1–5), confirms what was resolved for it
    (satisfied with those problems) and may raise a new problem (受理, awaiting assignment).

    The invitation's answer link and the contact's own page both call this.
    `new_problem` is None or {"category": ProblemCategory, "description": str}.
    """
    if enterprise.id not in attending_enterprise_ids(activity):
        raise ValidationFailed(_("Only organisations invited to the activity can give feedback on it."))
    if not feedback_open(activity, now):
        raise ValidationFailed(_("Feedback opens once the activity has taken place."))
    if rating is None or not 1 <= rating <= 5:
        raise ValidationFailed(_("Rate the activity from 1 to 5."), "rating")
    problems = list(
        db.session.scalars(
            select(Problem).where(Problem.id.in_(resolved_problem_ids or []), Problem.enterprise_id == enterprise.id)
        )
    )
    if len(problems) != len(set(resolved_problem_ids or [])):
        raise ValidationFailed(_("Not a valid choice."), "resolved")
    feedback = feedback_of(activity, enterprise)
    if feedback is None:
        feedback = ActivityFeedback(activity_id=activity.id, enterprise=enterprise, created_at=now)
        db.session.add(feedback)
    feedback.person_id = person.id if person else None
    feedback.rating = rating
    feedback.comment = (comment or "").strip() or None
    feedback.updated_at = now
    db.session.flush()
    record(feedback, "feedback", {"rating": [None, rating]}, now=now)
    for problem in problems:
        # Locked first: a problem someone else confirmed or reopened meanwhile is left as it is.
        lock_problem(problem)
        if problem.status == ProblemStatus.resolved and problem.satisfaction is None:
            give_satisfaction(problem, person, satisfaction=Satisfaction.satisfied, comment=_("Confirmed after the activity."), now=now)
    raised = None
    if new_problem and (new_problem.get("description") or "").strip():
        raised = record_problem(
            enterprise_id=enterprise.id, category=new_problem.get("category") or ProblemCategory.other,
            description=new_problem["description"], now=now, recorder=person, activity=activity, raised_by=person,
        )
        notify_unassigned(raised, now)
    return feedback, raised


def record_outcome(
    *, kind, recorded_on: date, note: str, now: datetime, amount_wan: Decimal | None = None,
    enterprise_count: int | None = None, cases: int | None = None, alliance_id: int | None = None,
    department_id: int | None = None,
):
    """Record loans reported by banks (amount and enterprises reached) or disputes mediated (cases)."""
    if recorded_on > local_date(now):
        raise ValidationFailed(_("The date cannot be in the future."), "recorded_on")
    if kind == OutcomeKind.loan and (not amount_wan or not enterprise_count):
        raise ValidationFailed(_("Give the amount and how many enterprises the loans reached."), "amount_wan")
    if kind == OutcomeKind.mediation and not cases:
        raise ValidationFailed(_("Give the number of cases mediated."), "cases")
    outcome = Outcome(
        kind=kind, recorded_on=recorded_on, note=required(note, "note", _("Say where the figure comes from.")),
        amount_wan=amount_wan if kind == OutcomeKind.loan else None,
        enterprise_count=enterprise_count or 0 if kind == OutcomeKind.loan else 0,
        cases=cases or 0 if kind == OutcomeKind.mediation else 0,
        alliance_id=alliance_id or None, department_id=department_id or None, created_at=now,
    )
    db.session.add(outcome)
    db.session.flush()
    record(outcome, "create", {"kind": [None, kind], "amount_wan": [None, str(amount_wan) if amount_wan else None], "cases": [None, outcome.cases]}, now=now)
    return outcome
