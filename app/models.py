"""Imports every feature's models, so that metadata and Alembic see all tables."""

from app.audit.models import AuditEntry
from app.auth.models import User
from app.calendar.models import FeedState, FeedToken
from app.events.models import Activity, MonthlyTheme
from app.invitations.models import Invitation
from app.mail.models import OutboxMessage
from app.orgs.models import AllianceMembership, InstructorAssignment, Organisation, Person, Venue

__all__ = [
    "Activity",
    "AllianceMembership",
    "AuditEntry",
    "FeedState",
    "FeedToken",
    "InstructorAssignment",
    "Invitation",
    "MonthlyTheme",
    "Organisation",
    "OutboxMessage",
    "Person",
    "User",
    "Venue",
]
