"""Imports every feature's models, so that metadata and Alembic see all tables."""

from app.audit.models import AuditEntry
from app.auth.models import User
from app.events.models import Activity, MonthlyTheme
from app.orgs.models import AllianceMembership, InstructorAssignment, Organisation, Person, Venue
from app.problems.models import (
    ActivityFeedback,
    ActivityPhoto,
    ActivityRecord,
    FollowUp,
    Outcome,
    Problem,
    ProblemStep,
)

__all__ = [
    "ActivityFeedback",
    "ActivityPhoto",
    "ActivityRecord",
    "FollowUp",
    "Outcome",
    "Problem",
    "ProblemStep",
    "Activity",
    "AllianceMembership",
    "AuditEntry",
    "InstructorAssignment",
    "MonthlyTheme",
    "Organisation",
    "Person",
    "User",
    "Venue",
]
