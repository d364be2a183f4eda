"""Imports every feature's models, so that metadata and Alembic see all tables."""

from app.audit.models import AuditEntry
from app.auth.models import User
from app.events.models import Activity, ActivitySeries, MonthlyTheme
from app.feeds.models import FeedChange, FeedToken
from app.invitations.models import Invitation, InvitationToken, SavedList, SavedListEntry
from app.mail.models import OutboxMessage
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
from app.reminders.models import Reminder
from app.workcal.models import ArrangedDay, HolidayArrangement

__all__ = [
    "ActivityFeedback",
    "ActivityPhoto",
    "ActivityRecord",
    "FollowUp",
    "Outcome",
    "Problem",
    "ProblemStep",
    "Activity",
    "ActivitySeries",
    "AllianceMembership",
    "ArrangedDay",
    "AuditEntry",
    "FeedChange",
    "FeedToken",
    "HolidayArrangement",
    "InstructorAssignment",
    "Invitation",
    "InvitationToken",
    "MonthlyTheme",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Reminder",
    "SavedList",
    "SavedListEntry",
    "User",
    "Venue",
]
