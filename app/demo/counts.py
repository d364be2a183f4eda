"""Row counts of the demo tables, to show that a second load adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.events.models import Activity, ActivitySeries, MonthlyTheme
from app.extensions import db
from app.invitations.models import Invitation
from app.orgs.models import AllianceMembership, InstructorAssignment, Organisation, Person, Venue
from app.problems.models import FollowUp, Outcome, Problem


def counts() -> dict[str, int]:
    """Row counts of every demo table, to show that a second load adds nothing."""
    models = [
        Organisation, AllianceMembership, Person, User, InstructorAssignment, Venue, MonthlyTheme,
        Activity, ActivitySeries, Invitation, Problem, Outcome, FollowUp,
    ]
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in models
    }
