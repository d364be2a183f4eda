"""Follow-up visits (回访) planned from a problem and what they found; flush, never commit."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from app.core.errors import ValidationFailed
from app.events.models import Activity, ActivityKind, ActivityStatus, VisitKind
from app.extensions import db
from app.orgs.models import Person
from app.problems.models import FollowUp, Problem
from app.problems.transitions import add_step, handled_elsewhere, lock_for, lock_problem, required


def schedule_follow_up(problem: Problem, actor: Person | None, *, host_id: int, starts_at: datetime, ends_at: datetime, now: datetime, seen: int | None = None) -> FollowUp:
    """回访: plan a follow-up visit at the enterprise, linked to the problem."""
    lock_for(problem, "follow_up", seen)
    if starts_at < now:
        raise ValidationFailed(_("The visit cannot be in the past."), "starts_at")
    if ends_at <= starts_at:
        raise ValidationFailed(_("The end must be after the start."), "ends_at")
    label = problem.enterprise.short_name or problem.enterprise.name
    activity = Activity(
        kind=ActivityKind.visit, visit_kind=VisitKind.follow_up, title=_("Follow-up visit: %(name)s", name=label),
        host_id=host_id, site=problem.enterprise, starts_at=starts_at, ends_at=ends_at,
        status=ActivityStatus.published, organiser=actor, agenda=problem.description[:500],
        created_at=now, updated_at=now,
    )
    db.session.add(activity)
    follow_up = FollowUp(problem=problem, activity=activity)
    db.session.add(follow_up)
    db.session.flush()
    add_step(problem, actor, "schedule_follow_up", None, activity.title, now)
    return follow_up


def record_follow_up(follow_up: FollowUp, actor: Person | None, *, outcome: str | None, now: datetime) -> FollowUp:
    """Say what the follow-up visit found; the visit is then completed."""
    outcome = required(outcome, "outcome", _("Say what the visit found."))
    recorded = follow_up.outcome
    lock_problem(follow_up.problem)
    db.session.refresh(follow_up)
    if follow_up.outcome != recorded:
        raise handled_elsewhere()
    follow_up.outcome = outcome
    follow_up.recorded_at = now
    if follow_up.activity.status == ActivityStatus.published:
        follow_up.activity.status = ActivityStatus.completed
    add_step(follow_up.problem, actor, "follow_up_outcome", None, outcome, now)
    return follow_up
