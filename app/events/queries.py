"""Which activities an account may see."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import Role, User
from app.core.inputs import arg_choice, arg_id
from app.events import conflicts
from app.events.models import Activity, ActivityKind, ActivityStatus, activity_cohost
from app.extensions import db
from app.orgs.models import AllianceMembership, InstructorAssignment

SHOWN_TO_MEMBERS = (ActivityStatus.published, ActivityStatus.cancelled, ActivityStatus.completed)


def visibility_clause(user: User):
    """A WHERE clause limiting activities to those the account may see."""
    if user.role in (Role.admin, Role.organiser):
        return None
    org_id = user.organisation_id
    own_org = or_(
        Activity.host_id == org_id,
        Activity.site_id == org_id,
        exists().where(activity_cohost.c.activity_id == Activity.id, activity_cohost.c.organisation_id == org_id),
    )
    # Open activities of the account's alliances; visits stay private to their enterprise.
    alliance_open = (Activity.kind != ActivityKind.visit) & Activity.alliance_id.in_(
        select(AllianceMembership.alliance_id).where(AllianceMembership.enterprise_id == org_id)
    )
    county_open = (Activity.kind != ActivityKind.visit) & Activity.alliance_id.is_(None)
    clauses = [own_org, alliance_open, county_open]
    if user.role == Role.instructor:
        # Instructors belong to the committee, which hosts every visit: through their
        # organisation they see its open activities only, and the visits they make or whose
        # enterprise is assigned to them (below).
        clauses[0] = own_org & (Activity.kind != ActivityKind.visit)
        clauses.append(Activity.organiser_id == user.person_id)
        clauses.append(
            Activity.site_id.in_(
                select(InstructorAssignment.enterprise_id).where(
                    InstructorAssignment.instructor_id == user.person_id
                )
            )
        )
    if user.role in (Role.liaison, Role.instructor):
        # Departments and instructors see every open activity of the county.
        clauses.append(Activity.kind != ActivityKind.visit)
    visible = or_(*clauses) & Activity.status.in_(SHOWN_TO_MEMBERS)
    if user.role == Role.liaison:
        # A co-hosting department prepares drafts with the organisers.
        visible = visible | (own_org & (Activity.status == ActivityStatus.draft))
    return visible


def visible_activities(user: User) -> Select[tuple[Activity]]:
    """A select() of the activities the account may see."""
    statement = select(Activity)
    clause = visibility_clause(user)
    return statement if clause is None else statement.where(clause)


FILTERS = ("kind", "alliance", "theme", "organisation", "status")


def filtered(statement: Select, args) -> Select:
    """Apply the calendar filters (kind, alliance, theme, organisation, status) from a query string."""
    from app.events.models import ActivityKind as Kind

    kind = arg_choice("kind", Kind, args=args)
    if kind:
        statement = statement.where(Activity.kind == Kind(kind))
    status = arg_choice("status", ActivityStatus, args=args)
    if status:
        statement = statement.where(Activity.status == ActivityStatus(status))
    alliance = arg_id("alliance", args=args)
    if alliance:
        statement = statement.where(Activity.alliance_id == alliance)
    theme = arg_id("theme", args=args)
    if theme:
        statement = statement.where(Activity.theme_id == theme)
    org = arg_id("organisation", args=args)
    if org:
        statement = statement.where(
            or_(
                Activity.host_id == org,
                Activity.site_id == org,
                exists().where(activity_cohost.c.activity_id == Activity.id, activity_cohost.c.organisation_id == org),
            )
        )
    return statement


def in_range(user: User, starts: datetime, ends: datetime, args) -> list[Activity]:
    """Visible, filtered activities overlapping [starts, ends), in order, with what lists show."""
    statement = (
        filtered(visible_activities(user), args)
        .where(Activity.starts_at < ends, Activity.starts_at > starts - conflicts.MAX_DURATION, Activity.ends_at > starts)
        .order_by(Activity.starts_at, Activity.id)
        .options(selectinload(Activity.venue), selectinload(Activity.site))
    )
    return list(db.session.scalars(statement))


def visible_activity_or_404(user: User, activity_id: int) -> Activity:
    """The activity if the account may see it; otherwise 404 (never telling that it exists)."""
    statement = select(Activity).where(Activity.id == activity_id)
    clause = visibility_clause(user)
    if clause is not None:
        statement = statement.where(clause)
    activity = db.session.scalar(statement)
    if activity is None:
        abort(404)
    return activity
